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
    assert_snapshot!("list", host.render(&host.run(["storage:list", "demo"])));
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["storage:list", "demo", "--format", "json"])).unwrap();
    assert_eq!(json[1]["host_path"], format!("{data}/logs"));
    assert_eq!(json[1]["container_path"], "/app/logs");
    assert_eq!(json[1]["volume_options"], "ro");
    assert_snapshot!("report", host.render(&host.run(["storage:report", "demo"])));
    assert_eq!(
        host.ok(["storage:report", "demo", "--storage-run-mounts"]),
        format!("-v {data}:/app/storage -v {data}/logs:/app/logs:ro\n")
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
            "[{{\"container_path\":\"/app/logs\",\"host_path\":\"{data}/logs\",\"volume_options\":\"ro\"}}]\n"
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
        "/srv/x:/data:bogus",
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
