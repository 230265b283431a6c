use dokku_test_support::TestHost;
use insta::assert_snapshot;

use crate::{refused_in_one_line, stderr};

/// A host with the app `demo` and a host directory outside every root.
fn host_with_demo() -> (TestHost, String) {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let data = host.path().join("srv/data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("keep.txt"), "precious").unwrap();
    (host, data.display().to_string())
}

fn docker_args(host: &TestHost, trigger: &str, app: &str, stdin: &str) -> String {
    let out = host
        .dokku(["plugin:trigger", trigger, app, "latest"])
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", host.render(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn mount_list_report_unmount() {
    let (host, data) = host_with_demo();
    let spec = format!("{data}:/app/storage");
    assert_snapshot!(
        "mount",
        host.render(&host.run(["storage:mount", "demo", &spec]))
    );
    host.ok([
        "storage:mount",
        "demo",
        &format!("{data}//logs/./:/app/logs:ro"),
    ]);
    let list = host.ok(["storage:list", "demo"]);
    let mut lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.remove(0), "-----> demo volume bind-mounts:");
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("       {data}/logs:/app/logs:ro"),
            format!("       {data}:/app/storage")
        ]
    );
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:list", "demo", "--format", "json"])).unwrap();
    let logs = json
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["container_path"] == "/app/logs")
        .unwrap();
    assert_eq!(logs["host_path"], format!("{data}/logs"));
    assert_eq!(logs["readonly"], true);
    assert!(logs.get("volume_options").is_none());
    assert!(logs["entry_name"].as_str().unwrap().starts_with("legacy-"));
    let report = host.ok(["storage:report", "demo"]);
    for line in [
        "=====> demo storage information".to_string(),
        "       Storage attachment 1 container path: /app/storage".to_string(),
        format!("       Storage attachment 2 host path:      {data}/logs"),
        "       Storage attachment 2 readonly:       true".to_string(),
        "       Storage build mounts:".to_string(),
    ] {
        assert!(report.lines().any(|l| l == line), "{line:?} in\n{report}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:report", "demo", "--format", "json"])).unwrap();
    assert_eq!(json["attachment.2.readonly"], "true");
    assert_eq!(json["storage-attachment.2.readonly"], "true");
    assert_eq!(json["attachment.2.process-type"], "_default_");
    let run_mounts = host.ok(["storage:report", "demo", "--storage-run-mounts"]);
    let mut run_mounts: Vec<&str> = run_mounts
        .trim_end()
        .trim_start_matches("-v ")
        .split(" -v ")
        .collect();
    run_mounts.sort();
    assert_eq!(
        run_mounts,
        [
            format!("{data}/logs:/app/logs:ro"),
            format!("{data}:/app/storage")
        ]
    );
    let duplicate = host.run(["storage:mount", "demo", &spec]);
    assert!(stderr(&duplicate).contains("Mount path already exists"));
    let clash = host.run(["storage:mount", "demo", "/srv/other:/app/storage"]);
    assert!(
        stderr(&clash).contains("already mounted at /app/storage"),
        "{}",
        stderr(&clash)
    );

    host.ok(["storage:unmount", "demo", &spec]);
    assert_eq!(
        host.ok(["storage:list", "demo", "--format", "json"]),
        format!(
            "[{{\"container_path\":\"/app/logs\",\"entry_name\":\"{}\",\"host_path\":\"{data}/logs\",\"readonly\":true}}]\n",
            logs["entry_name"].as_str().unwrap()
        )
    );
    assert_eq!(
        std::fs::read_to_string(format!("{data}/keep.txt")).unwrap(),
        "precious"
    );
    let missing = host.run(["storage:unmount", "demo", &spec]);
    assert!(stderr(&missing).contains("Mount path does not exist"));
}

#[test]
fn mounts_reach_containers_only_through_docker_args() {
    let (host, data) = host_with_demo();
    host.ok(["storage:mount", "demo", &format!("{data}:/data")]);
    host.ok(["volume:create", "shared", "/var/shared", "/var/cache"]);
    host.ok(["volume:link", "demo", "shared"]);
    let volumes = host.roots.lib_root.join("data/volume/shared/data");
    let expected = format!(
        "--rm -v {data}:/data -v {}/0:/var/shared -v {}/1:/var/cache",
        volumes.display(),
        volumes.display()
    );
    assert_eq!(
        docker_args(&host, "docker-args-deploy", "demo", "--rm"),
        expected
    );
    assert_eq!(
        docker_args(&host, "docker-args-run", "demo", "--rm\n"),
        expected
    );
    host.ok(["apps:create", "bare"]);
    assert_eq!(
        docker_args(&host, "docker-args-deploy", "bare", "--rm"),
        "--rm"
    );
}

#[test]
fn dangerous_or_malformed_mounts_are_refused_and_change_nothing() {
    let (host, data) = host_with_demo();
    let before = host.state();
    let dokku_root = format!("{}:/data", host.roots.dokku_root.display());
    let ssh = format!("{}/.ssh:/data", host.roots.dokku_root.display());
    let lib = format!("{}:/data", host.roots.lib_root.display());
    let dotdot = format!("{data}/../../etc:/data");
    for spec in [
        "/:/data",
        "/etc:/data",
        "/etc/ssl:/data",
        "/var/lib/docker:/data",
        "/var:/data",
        dokku_root.as_str(),
        ssh.as_str(),
        lib.as_str(),
        dotdot.as_str(),
        "relative/dir:/data",
        "./dir:/data",
        "/srv/x:relative",
        "/srv/x:/",
        "/srv/x",
        "/srv/x:/data:ro;rm",
        "/srv/x:/a:/b:ro",
    ] {
        let out = host.run(["storage:mount", "demo", spec]);
        assert!(!out.status.success(), "{spec:?} accepted");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{spec:?}: {err:?}");
        assert!(err.starts_with(" !     "), "{spec:?}: {err:?}");
    }
    refused_in_one_line(
        &host,
        &[
            vec!["storage:mount", "nope", "/srv/x:/data"],
            vec!["storage:mount", "demo"],
            vec!["storage:list", "demo", "--format", "yaml"],
            vec!["storage:ensure-directory", "../escape"],
            vec!["storage:ensure-directory", "ok", "--chown", "nobody"],
            vec!["volume:create", "bad/name", "/data"],
            vec!["volume:create", "v", "relative"],
            vec!["volume:create", "v", "/"],
            vec!["volume:create", "v"],
            vec!["volume:link", "demo", "missing"],
            vec!["volume:destroy", "missing"],
        ],
    );
    assert_eq!(host.state(), before, "a refused command changed state");
    assert_snapshot!(
        "refused_etc",
        host.render(&host.run(["storage:mount", "demo", "/etc:/data"]))
    );
}

#[test]
fn ensure_directory() {
    let host = TestHost::new();
    let out = host.run(["storage:ensure-directory", "uploads", "--chown", "false"]);
    assert_snapshot!("ensure_directory", host.render(&out));
    assert!(host.roots.lib_root.join("data/storage/uploads").is_dir());
    if nix_is_root() {
        host.ok(["storage:ensure-directory", "herokuish-owned"]);
        let meta =
            std::fs::metadata(host.roots.lib_root.join("data/storage/herokuish-owned")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((meta.uid(), meta.gid()), (32767, 32767));
        host.ok([
            "storage:ensure-directory",
            "paketo-owned",
            "--chown",
            "paketo",
        ]);
        let meta =
            std::fs::metadata(host.roots.lib_root.join("data/storage/paketo-owned")).unwrap();
        assert_eq!(meta.uid(), 2000);
    } else {
        let out = host.run(["storage:ensure-directory", "herokuish-owned"]);
        assert!(stderr(&out).contains("needs root"), "{}", stderr(&out));
        assert!(
            !host
                .roots
                .lib_root
                .join("data/storage/herokuish-owned")
                .exists()
        );
    }
    let spec = format!(
        "{}/data/storage/uploads:/app/uploads",
        host.roots.lib_root.display()
    );
    host.ok(["apps:create", "demo"]);
    host.ok(["storage:mount", "demo", &spec]);
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        })
        .unwrap_or(false)
}

#[test]
fn volumes_are_shared_and_never_lose_data() {
    let host = TestHost::new();
    host.ok(["apps:create", "web"]);
    host.ok(["apps:create", "worker"]);
    assert_snapshot!(
        "volume_create",
        host.render(&host.run(["volume:create", "assets", "/app/public/assets"]))
    );
    host.ok(["volume:link", "web", "assets"]);
    host.ok(["volume:link", "worker", "assets"]);
    let already = host.run(["volume:link", "web", "assets"]);
    assert!(stderr(&already).contains("already linked"));
    let data = host.roots.lib_root.join("data/volume/assets/data/0/file");
    std::fs::write(&data, "shared bytes").unwrap();
    assert_eq!(host.ok(["volume:list"]), "=====> Volumes\nassets\n");
    assert_snapshot!(
        "volume_info",
        host.render(&host.run(["volume:info", "assets"]))
    );
    assert_eq!(
        host.ok(["volume:report", "web", "--volume-links"]),
        "assets\n"
    );

    let refused = host.run(["volume:destroy", "assets", "--force"]);
    assert_snapshot!("volume_destroy_linked", host.render(&refused));
    host.ok(["volume:unlink", "web", "assets"]);
    host.ok(["--force", "apps:destroy", "worker"]);
    assert_eq!(std::fs::read_to_string(&data).unwrap(), "shared bytes");

    let unconfirmed = host
        .dokku(["volume:destroy", "assets"])
        .write_stdin("wrong\n")
        .output()
        .unwrap();
    assert!(!unconfirmed.status.success());
    assert!(data.exists());
    host.dokku(["volume:destroy", "assets"])
        .write_stdin("assets\n")
        .assert()
        .success();
    assert!(!host.roots.lib_root.join("data/volume/assets").exists());
    assert_eq!(host.ok(["volume:list"]), "=====> Volumes\n");
}

#[test]
fn rename_clone_and_destroy_carry_mounts_and_keep_data() {
    let (host, data) = host_with_demo();
    host.ok(["storage:mount", "demo", &format!("{data}:/data")]);
    host.ok(["volume:create", "v", "/v"]);
    host.ok(["volume:link", "demo", "v"]);
    host.ok(["apps:clone", "demo", "copy"]);
    host.ok(["apps:rename", "demo", "renamed"]);
    for app in ["copy", "renamed"] {
        assert_eq!(
            host.ok(["storage:report", app, "--storage-deploy-mounts"]),
            format!("-v {data}:/data\n")
        );
        assert_eq!(host.ok(["volume:report", app, "--volume-links"]), "v\n");
    }
    host.ok(["--force", "apps:destroy", "renamed"]);
    host.ok(["--force", "apps:destroy", "copy"]);
    assert_eq!(
        std::fs::read_to_string(format!("{data}/keep.txt")).unwrap(),
        "precious"
    );
    host.ok(["volume:destroy", "v", "--force"]);
}

/// One of the storage plugin's `bin/` scripts, as a plugin written for Dokku runs it.
fn storage_script(host: &TestHost, script: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(
        host.roots
            .plugin_available()
            .join("storage/bin")
            .join(script),
    )
    .args(args)
    .env_clear()
    .envs(host.env())
    .output()
    .unwrap()
}

#[test]
fn storage_bin_scripts_check_their_arguments_as_dokkus_do() {
    let host = TestHost::new();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "chown-storage-dir",
            &["app", "65536"],
            "Unsupported chown permissions",
        ),
        (
            "chown-storage-dir",
            &["app", "165535"],
            "Unsupported chown permissions",
        ),
        (
            "chown-storage-dir",
            &["app", "231072"],
            "Unsupported chown permissions",
        ),
        (
            "chown-storage-dir",
            &["app", "99999999999999999999"],
            "Unsupported chown permissions",
        ),
        (
            "chown-storage-dir",
            &["app", "-1"],
            "Value must be a non-negative integer",
        ),
        (
            "chown-storage-dir",
            &["app", "abc"],
            "Value must be a non-negative integer",
        ),
        (
            "chown-storage-dir",
            &["../escape", "1000"],
            "Directory can only contain",
        ),
        (
            "chmod-storage-dir",
            &["app", "0888"],
            "Unsupported directory mode",
        ),
        (
            "chmod-storage-dir",
            &["app", "07555"],
            "Unsupported directory mode",
        ),
        (
            "chmod-storage-dir",
            &["app", "u+rwx"],
            "Unsupported directory mode",
        ),
        (
            "chmod-storage-dir",
            &["../escape", "0777"],
            "Directory can only contain",
        ),
        (
            "destroy-storage-dir",
            &["../escape"],
            "Directory can only contain",
        ),
        (
            "destroy-storage-dir",
            &[],
            "Please specify a directory to destroy",
        ),
    ];
    for (script, args, message) in cases {
        let out = storage_script(&host, script, args);
        assert!(!out.status.success(), "{script} {args:?}");
        assert_eq!(
            stderr(&out),
            format!(" !     {}", stderr(&out).trim_start_matches(" !     "))
        );
        assert!(
            stderr(&out).contains(message),
            "{script} {args:?}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    // An absent directory is nothing to destroy.
    let out = storage_script(&host, "destroy-storage-dir", &["absent"]);
    assert!(out.status.success(), "{}", host.render(&out));
}

#[test]
fn storage_bin_scripts_change_and_remove_the_storage_directory_and_nothing_beyond() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let host = TestHost::new();
    host.ok(["storage:ensure-directory", "uploads", "--chown", "false"]);
    let dir = host.roots.lib_root.join("data/storage/uploads");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::write(dir.join("nested/file"), "x").unwrap();
    let outside = host.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep"), "precious").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("nested/out")).unwrap();
    let outside_owner = std::fs::metadata(&outside).unwrap().uid();

    let out = storage_script(&host, "chmod-storage-dir", &["uploads", "0750"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    if nix_is_root() {
        let out = storage_script(&host, "chown-storage-dir", &["uploads", "1000"]);
        assert!(out.status.success(), "{}", host.render(&out));
        for path in [&dir, &dir.join("nested"), &dir.join("nested/file")] {
            assert_eq!(
                std::fs::metadata(path).unwrap().uid(),
                1000,
                "{}",
                path.display()
            );
        }
        assert_eq!(
            std::fs::symlink_metadata(dir.join("nested/out"))
                .unwrap()
                .uid(),
            1000
        );
        assert_eq!(std::fs::metadata(&outside).unwrap().uid(), outside_owner);
    }
    let out = storage_script(&host, "destroy-storage-dir", &["uploads"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(!dir.exists());
    assert_eq!(
        std::fs::read_to_string(outside.join("keep")).unwrap(),
        "precious"
    );

    std::fs::write(host.roots.lib_root.join("data/storage/plain"), "x").unwrap();
    let out = storage_script(&host, "destroy-storage-dir", &["plain"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("plain exists but is not a directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn named_entries_mount_into_apps_report_and_destroy_only_when_unmounted() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["storage:create", "uploads", "--mode", "750"]);
    let dir = host.roots.lib_root.join("data/storage/uploads");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o7777,
        0o750
    );
    let info: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:info", "uploads", "--format", "json"])).unwrap();
    assert_eq!(info["scheduler"], "docker-local");
    assert_eq!(info["mode"], "0750");
    assert_eq!(info["host_path"], dir.display().to_string());

    host.ok([
        "storage:mount",
        "demo",
        "uploads",
        "--container-dir",
        "/data",
        "--volume-options",
        "Z",
        "--volume-subpath",
        "files",
    ]);
    // Mounting again with other options rewrites the mount in place.
    host.ok([
        "storage:mount",
        "demo",
        "uploads",
        "--container-dir",
        "/data",
        "--volume-readonly",
    ]);
    let list: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:list", "demo", "--format", "json"])).unwrap();
    assert_eq!(
        list,
        serde_json::json!([{
            "entry_name": "uploads",
            "host_path": dir.display().to_string(),
            "container_path": "/data",
            "readonly": true,
        }])
    );
    assert_eq!(
        host.ok(["storage:report", "demo", "--storage-attachment.1.subpath"]),
        "\n"
    );
    assert_eq!(
        docker_args(&host, "docker-args-deploy", "demo", "--rm"),
        format!("--rm -v {}:/data:ro", dir.display())
    );
    // A mount scoped to a process type reaches that process type's containers only.
    host.ok(["storage:create", "cache"]);
    host.ok([
        "storage:mount",
        "demo",
        "cache",
        "--container-dir",
        "/cache",
        "--process-type",
        "worker",
    ]);
    let worker = host
        .dokku([
            "plugin:trigger",
            "docker-args-deploy",
            "demo",
            "latest",
            "worker",
            "1",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&worker.stdout).contains(":/cache"));
    assert!(!docker_args(&host, "docker-args-deploy", "demo", "").contains("/cache"));

    let busy = host.run(["storage:destroy", "uploads", "--force"]);
    assert!(stderr(&busy).contains("still mounted by app(s): demo"));
    std::fs::write(dir.join("keep"), "precious").unwrap();
    host.ok(["storage:unmount", "demo", "uploads"]);
    host.ok(["storage:destroy", "uploads", "--force"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("keep")).unwrap(),
        "precious"
    );
    host.ok(["storage:create", "uploads"]);
    host.ok([
        "storage:destroy",
        "uploads",
        "--force",
        "--destroy-host-dir",
    ]);
    assert!(!dir.exists());
    let entries: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:list-entries", "--format", "json"])).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 1);
}

#[test]
fn entries_refuse_bad_names_paths_and_values_without_changing_anything() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["storage:create", "data"]);
    let before = host.state();
    let long = "a".repeat(46);
    refused_in_one_line(
        &host,
        &[
            vec!["storage:create", "Under_Score"],
            vec!["storage:create", long.as_str()],
            vec!["storage:create", "legacy-mine"],
            vec!["storage:create", "etc", "/etc"],
            vec!["storage:create", "rel", "../x"],
            vec!["storage:create", "bad-chown", "--chown", "65536"],
            vec!["storage:create", "bad-chown", "--chown", "-1"],
            vec!["storage:create", "bad-mode", "--mode", "0888"],
            vec!["storage:create", "custom", "/srv/custom", "--mode", "0777"],
            vec!["storage:create", "k", "--scheduler", "k3s", "--size", "1Gi"],
            vec!["storage:set", "data", "bogus", "value"],
            vec!["storage:set", "data"],
            vec!["storage:set", "data", "mode", "0770", "--chown", "heroku"],
            vec!["storage:set", "data", "access-mode", "ReadWriteMany"],
            vec!["storage:mount", "demo", "missing", "--container-dir", "/x"],
            vec!["storage:mount", "demo", "data"],
            vec!["storage:mount", "demo", "data", "--container-dir", "/"],
            vec![
                "storage:mount",
                "demo",
                "data",
                "--container-dir",
                "/x",
                "--phase",
                "build",
            ],
            vec![
                "storage:mount",
                "demo",
                "data",
                "--container-dir",
                "/x",
                "--volume-options",
                "a b",
            ],
            vec![
                "storage:mount",
                "demo",
                "data",
                "--container-dir",
                "/x",
                "--volume-subpath",
                "../up",
            ],
            vec!["storage:unmount", "demo", "data"],
            vec!["storage:annotations:set", "missing", "k", "v"],
            vec!["storage:annotations:set", "data"],
            vec!["storage:destroy", "missing", "--force"],
        ],
    );
    let after = host.state();
    let changed: Vec<&String> = after
        .iter()
        .chain(&before)
        .filter(|item| !before.contains(item) || !after.contains(item))
        .map(|(path, _)| path)
        .collect();
    assert!(changed.is_empty(), "a refused command changed {changed:?}");
}

#[test]
fn migrate_moves_v_options_into_entries_and_annotations_change_one_key() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let legacy = host.path().join("srv/legacy");
    let option = format!("-v {}:/legacy", legacy.display());
    host.ok(["docker-options:add", "demo", "deploy,run", &option]);
    assert_eq!(
        host.ok(["storage:list", "demo", "--format", "json"]),
        "[]\n"
    );
    host.ok(["storage:migrate", "demo"]);
    assert_eq!(
        host.ok(["--quiet", "storage:list", "demo"]),
        format!("{}:/legacy\n", legacy.display())
    );
    for phase in ["deploy", "run"] {
        let report = host.ok([
            "docker-options:report",
            "demo",
            &format!("--docker-options-{phase}"),
        ]);
        assert!(!report.contains("/legacy"), "{report}");
    }
    assert_eq!(
        std::fs::read_to_string(
            host.roots
                .config_dir()
                .join("storage/demo/legacy-mounts-migrated")
        )
        .unwrap(),
        "true"
    );
    host.ok(["storage:migrate", "demo"]);
    let list: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:list", "demo", "--format", "json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    host.ok(["storage:create", "tagged"]);
    host.ok([
        "storage:annotations:set",
        "tagged",
        "backup.velero.io/volumes",
        "tagged",
    ]);
    host.ok(["storage:annotations:set", "tagged", "team", "billing"]);
    host.ok(["storage:annotations:set", "tagged", "team"]);
    assert_eq!(
        host.ok(["storage:annotations:report", "tagged", "--format", "json"]),
        "{\"backup.velero.io/volumes\":\"tagged\"}\n"
    );
    assert_eq!(
        host.ok([
            "storage:annotations:report",
            "tagged",
            "--storage-annotations.backup.velero.io/volumes"
        ]),
        "tagged\n"
    );
    host.ok(["storage:labels:set", "tagged", "tier", "cache"]);
    assert!(
        host.ok(["storage:labels:report", "tagged"])
            .contains("Label tier:")
    );
}
