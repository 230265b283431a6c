use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

fn vector_json(host: &TestHost) -> serde_json::Value {
    let text = std::fs::read_to_string(host.roots.lib_root.join("data/logs/vector.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sinks_write_the_vector_configuration_and_reports_hide_their_credentials() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let out = host.ok([
        "logs:set",
        "demo",
        "vector-sink",
        "loki://?endpoint=https://host&encoding[codec]=text&auth[token]=foobar%3D&auth[strategy]=bearer",
    ]);
    assert!(out.contains("Setting vector-sink"), "{out}");
    assert!(out.contains("Writing updated vector config to"), "{out}");
    let config = vector_json(&host);
    let sink = &config["sinks"]["docker-sink:demo"];
    assert_eq!(sink["type"], "loki");
    assert_eq!(sink["auth"]["token"], "foobar=");
    assert_eq!(sink["inputs"][0], "docker-source:demo");
    assert_eq!(
        config["sources"]["docker-source:demo"]["include_labels"][0],
        "com.dokku.app-name=demo"
    );
    assert!(config.get("transforms").is_none());

    // Only JSON and the sink's own flag show it whole.
    let report = host.ok(["logs:report", "demo"]);
    assert_eq!(report.matches("loki://redacted").count(), 2, "{report}");
    assert!(!report.contains("foobar"));
    assert!(
        host.ok(["logs:report", "demo", "--logs-vector-sink"])
            .contains("auth[token]=foobar%3D")
    );
    assert_eq!(
        host.ok(["logs:report", "demo", "--logs-computed-vector-sink"]),
        "loki://redacted\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["logs:report", "demo", "--format", "json"])).unwrap();
    assert!(
        json["computed-vector-sink"]
            .as_str()
            .unwrap()
            .contains("foobar")
    );
    assert_eq!(json["logs-computed-max-size"], "10m");

    // A cron sink splits cron containers' output off.
    host.ok([
        "logs:set",
        "demo",
        "vector-cron-sink",
        "console://?encoding[codec]=text",
    ]);
    let config = vector_json(&host);
    assert_eq!(config["transforms"]["docker-router:demo"]["type"], "route");
    assert_eq!(
        config["sinks"]["docker-sink:demo"]["inputs"][0],
        "docker-router:demo._unmatched"
    );
    assert_eq!(
        config["sinks"]["docker-cron-sink:demo"]["inputs"][0],
        "docker-cron-remap:demo"
    );

    // The configuration follows renames and destroys.
    host.ok(["apps:rename", "--skip-deploy", "demo", "renamed"]);
    let config = vector_json(&host);
    assert!(config["sources"].get("docker-source:demo").is_none());
    assert!(config["sources"].get("docker-source:renamed").is_some());
    host.ok(["--force", "apps:destroy", "renamed"]);
    let config = vector_json(&host);
    assert!(config["sources"].get("docker-null-source").is_some());
    assert_eq!(config["sinks"]["docker-null-sink"]["type"], "blackhole");
}

#[test]
fn settings_are_checked_and_report_keys_are_dokkus() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["logs:set"],
            vec!["logs:set", "missing"],
            vec!["logs:set", "demo"],
            vec!["logs:set", "demo", "invalid", "value"],
            vec![
                "logs:set",
                "demo",
                "vector-image",
                "timberio/vector:latest-debian",
            ],
            vec!["logs:set", "demo", "max-size", "10"],
            vec!["logs:set", "demo", "app-label-alias", "not a label"],
            vec!["logs:set", "demo", "vector-sink", "console://?sinks=x"],
            vec!["logs:set", "--global", "vector-networks", "bridge"],
            vec!["logs:set", "--global", "vector-networks", "a,"],
        ],
    );
    assert_eq!(host.state(), before);
    assert!(
        stderr(&host.run(["logs:set"])).contains("Please specify an app to run the command on")
    );
    assert!(
        stderr(&host.run(["logs:set", "demo", "vector-image", "x"]))
            .contains("vector-image may only be set globally with --global")
    );
    let invalid = host.run(["logs:report", "demo", "--invalid-flag"]);
    assert!(stderr(&invalid).contains(
        "Invalid flag passed, valid flags: --logs-app-label-alias, --logs-computed-app-label-alias, --logs-computed-max-size, --logs-computed-vector-cron-sink, --logs-computed-vector-image, --logs-computed-vector-networks, --logs-computed-vector-sink, --logs-global-app-label-alias, --logs-global-max-size, --logs-global-vector-cron-sink, --logs-global-vector-image, --logs-global-vector-networks, --logs-global-vector-sink, --logs-max-size, --logs-vector-cron-sink, --logs-vector-sink"
    ), "{}", stderr(&invalid));
    host.ok(["logs:set", "--global", "max-size", "20m"]);
    assert_eq!(
        host.ok(["logs:report", "demo", "--logs-computed-max-size"]),
        "20m\n"
    );
    host.ok(["logs:set", "demo", "max-size", "unlimited"]);
    assert_eq!(
        host.ok(["plugin:trigger", "logs-get-property", "demo", "max-size"]),
        "unlimited\n"
    );
    let global: serde_json::Value =
        serde_json::from_str(&host.ok(["logs:report", "--global", "--format", "json"])).unwrap();
    assert_eq!(global["logs-global-max-size"], "20m");
    assert_eq!(
        global["logs-computed-vector-image"],
        "timberio/vector:0.57.0-debian"
    );
    assert!(global.get("logs-max-size").is_none());
}

#[test]
fn max_size_reaches_containers_whose_log_driver_takes_it() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["logs:set", "demo", "max-size", "20m"]);
    let args = || {
        let out = host
            .dokku(["plugin:trigger", "docker-args-process-deploy", "demo"])
            .write_stdin("")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    host.ok(["docker-options:add", "demo", "deploy", "--log-driver=local"]);
    assert_eq!(args(), "--log-opt=max-size=20m --restart=on-failure:10");
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "--log-driver=journald",
    ]);
    assert_eq!(args(), "--restart=on-failure:10");
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "--log-driver=json-file",
    ]);
    host.ok(["logs:set", "demo", "max-size", "unlimited"]);
    assert_eq!(args(), "--restart=on-failure:10");
}

#[test]
fn failed_shows_what_each_apps_last_failed_deploy_kept() {
    let host = TestHost::new();
    let out = host.run(["logs:failed"]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    host.ok(["apps:create", "calm"]);
    host.ok(["apps:create", "broken"]);
    let kept = host
        .roots
        .data_dir("scheduler-docker-local", "broken")
        .join("failed-deploy.log");
    std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
    std::fs::write(&kept, "broken[web.1]: no such module\n").unwrap();
    assert_eq!(
        host.ok(["logs:failed", "broken"]),
        "broken[web.1]: no such module\n"
    );
    let out = host.run(["logs:failed", "calm"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No failed containers found"),
        "{}",
        host.render(&out)
    );
    let all = host.ok(["logs:failed", "--all"]);
    assert!(all.contains("broken failed deploy logs"), "{all}");
    assert!(all.contains("broken[web.1]: no such module"), "{all}");
    assert!(all.contains("calm failed deploy logs"), "{all}");
    let out = host.run(["logs:failed", "missing"]);
    assert!(!out.status.success(), "{}", host.render(&out));
    host.ok(["apps:destroy", "--force", "broken"]);
    assert!(!kept.exists());
}
