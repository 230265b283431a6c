use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use dokku_test_support::TestHost;

use crate::{make_plugin, refused_in_one_line, stderr, stdout};

/// A record as a build leaves it (finished, or still running under `pid`).
fn record(host: &TestHost, app: &str, id: &str, status: &str, pid: u32, kind: &str) -> PathBuf {
    let dir = host.roots.data_dir("builds", app);
    std::fs::create_dir_all(&dir).unwrap();
    let finished = match status {
        "running" => String::new(),
        _ => "\"finished_at\": \"2026-12-01T10:00:05Z\", \"exit_code\": 0,".into(),
    };
    let json = format!(
        r#"{{"id": "{id}", "app": "{app}", "kind": "{kind}", "pid": {pid},
            "started_at": "2026-12-01T10:00:00.5Z", {finished} "status": "{status}",
            "source": "git-hook"}}"#
    );
    std::fs::write(dir.join(format!("{id}.json")), json).unwrap();
    let log = dir.join(format!("{id}.log"));
    std::fs::write(&log, "").unwrap();
    log
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn build_records_are_listed_filtered_shown_and_pruned() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert!(
        host.ok(["builds"])
            .contains("Manage running and historical builds")
    );
    assert!(
        host.ok(["builds:list", "demo"])
            .contains("No builds recorded for this app")
    );
    assert!(
        host.ok(["builds:list"])
            .contains("No builds currently running")
    );

    record(&host, "demo", "b1", "succeeded", 1001, "build");
    record(&host, "demo", "d1", "succeeded", 1002, "deploy");
    // A running record whose process is gone shows as abandoned.
    record(&host, "demo", "ghost", "running", 999_999, "build");
    let list = host.ok(["builds:list", "demo"]);
    let header = list.lines().next().unwrap();
    assert!(header.starts_with("Build ID  Kind"), "{list}");
    assert!(
        list.contains("abandoned") && list.contains("git-hook"),
        "{list}"
    );
    let builds = host.ok(["builds:list", "demo", "--kind", "build"]);
    assert!(builds.contains("b1") && !builds.contains("d1"), "{builds}");
    let deploys = host.ok(["builds:list", "demo", "--kind=deploy"]);
    assert!(
        deploys.contains("d1") && !deploys.contains("b1"),
        "{deploys}"
    );
    let bad = host.run(["builds:list", "demo", "--kind=garbage"]);
    assert!(stderr(&bad).contains("Invalid --kind"), "{}", stderr(&bad));
    let listed = json(&host.ok(["builds:list", "demo", "--format", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 3);

    let info = host.ok(["builds:info", "demo", "b1"]);
    assert!(info.contains("Build ID:") && info.contains("b1"), "{info}");
    assert!(
        info.contains("succeeded") && info.contains("Log:"),
        "{info}"
    );
    assert!(info.contains("Duration:   5s"), "{info}");
    let info = json(&host.ok(["builds:info", "demo", "b1", "--format", "json"]));
    assert_eq!(info["id"], "b1");
    assert_eq!(info["display_status"], "succeeded");
    assert!(
        info["log_path"]
            .as_str()
            .unwrap()
            .ends_with("builds/demo/b1.log")
    );
    assert!(
        !host
            .run(["builds:info", "demo", "nonexistent"])
            .status
            .success()
    );

    std::fs::write(
        host.roots.data_dir("builds", "demo").join("b1.log"),
        "step one\n",
    )
    .unwrap();
    assert_eq!(host.ok(["builds:output", "demo", "b1"]), "step one\n");

    // Prune: the abandoned record is finished as failed, then only the newest stay.
    host.ok(["builds:set", "demo", "retention", "2"]);
    host.ok(["builds:prune", "demo"]);
    let left = std::fs::read_dir(host.roots.data_dir("builds", "demo"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "json")
        .count();
    assert_eq!(left, 2);
    record(&host, "demo", "ghost2", "running", 999_999, "build");
    host.ok(["builds:prune", "demo"]);
    assert!(
        host.ok(["builds:info", "demo", "ghost2"])
            .contains("failed")
    );
    // A live build stays running.
    record(
        &host,
        "demo",
        "alive",
        "running",
        std::process::id(),
        "build",
    );
    host.ok(["builds:prune", "demo"]);
    assert!(
        host.ok(["builds:info", "demo", "alive"])
            .contains("running")
    );

    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!host.roots.data_dir("builds", "demo").exists());
}

#[test]
fn retention_is_set_checked_and_reported_with_the_newest_build() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let report = |flag: &str| host.ok(["builds:report", "demo", flag]);
    assert_eq!(report("--builds-computed-retention"), "20\n");
    host.ok(["builds:set", "demo", "retention", "5"]);
    assert_eq!(report("--builds-retention"), "5\n");
    host.ok(["builds:set", "--global", "retention", "7"]);
    host.ok(["builds:set", "demo", "retention"]);
    assert_eq!(report("--builds-retention"), "\n");
    assert_eq!(report("--builds-computed-retention"), "7\n");
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["builds:set", "demo", "retention", "0"],
            vec!["builds:set", "demo", "retention", "abc"],
            vec!["builds:set", "demo", "keep", "3"],
        ],
    );
    assert_eq!(host.state(), before);

    record(&host, "demo", "r1", "succeeded", 1234, "build");
    let report = json(&host.ok(["builds:report", "demo", "--format", "json"]));
    for key in [
        "retention",
        "builds-retention",
        "global-retention",
        "builds-global-retention",
        "computed-retention",
        "builds-computed-retention",
    ] {
        assert!(report.get(key).is_some(), "{key}: {report}");
    }
    assert_eq!(report["build-id"], "r1");
    assert_eq!(report["build-exit-code"], "0");
}

#[test]
fn cancel_says_what_it_found_and_marks_the_record() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let cancel = || host.ok(["builds:cancel", "demo"]);
    assert!(cancel().contains("App not currently deploying"));

    // A lock file naming a finished build leaves it alone.
    record(&host, "demo", "done01", "succeeded", 1234, "build");
    let lock = host.roots.lib_root.join("data/apps/demo/.deploy.lock");
    std::fs::write(&lock, "done01\n").unwrap();
    assert!(cancel().contains("no longer running"));
    // One naming a build whose process is gone marks it failed.
    record(&host, "demo", "abnd01", "running", 999_999, "build");
    std::fs::write(&lock, "abnd01\n").unwrap();
    assert!(cancel().contains("already terminated"));
    assert!(
        host.ok(["builds:info", "demo", "abnd01"])
            .contains("failed")
    );
    assert!(!lock.exists());

    // A live build is stopped: its process gets SIGTERM and the record says canceled.
    let mut build = std::process::Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    record(&host, "demo", "live01", "running", build.id(), "build");
    assert!(cancel().contains("Killing app deploy"));
    let status = build.wait().unwrap();
    assert!(!status.success());
    let info = json(&host.ok(["builds:info", "demo", "live01", "--format", "json"]));
    assert_eq!(info["status"], "canceled");
    assert_eq!(info["exit_code"], -1);
}

#[test]
fn a_plugin_recording_its_build_gets_a_record_and_a_log() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let src = host.path().join("capture-src");
    make_plugin(
        &src,
        &[(
            "commands",
            r#"source "$PLUGIN_CORE_AVAILABLE_PATH/common/functions"
[[ "$1" == "capture:run" ]] || exit "$DOKKU_NOT_IMPLEMENTED_EXIT"
acquire_app_deploy_lock "$2" exclusive
dokku_setup_build_capture "$2" deploy
echo "compiling things"
echo "a warning" >&2
release_app_deploy_lock "$2" 3
"#,
        )],
    );
    let out = host.install_plugin(&src, "capture");
    assert!(out.status.success(), "{}", host.render(&out));
    let out = host.run(["capture:run", "demo"]);
    assert!(
        stdout(&out).contains("compiling things"),
        "{}",
        host.render(&out)
    );
    let listed = json(&host.ok(["builds:list", "demo", "--format", "json"]));
    let build = &listed[0];
    assert_eq!(build["source"], "deploy");
    assert_eq!(build["kind"], "deploy");
    assert_eq!(build["status"], "failed");
    assert_eq!(build["exit_code"], 3);
    let id = build["id"].as_str().unwrap();
    assert_eq!(id.len(), 14, "{id}");
    let log = host.ok(["builds:output", "demo", id]);
    assert!(
        log.contains("compiling things") && log.contains("a warning"),
        "{log}"
    );
}
