use dokku_test_support::TestHost;
use insta::assert_snapshot;

use crate::{make_plugin, stderr, stdout};

#[test]
fn create_list_exists() {
    let host = TestHost::new();
    assert_snapshot!("create", host.render(&host.run(["apps:create", "demo"])));
    assert!(host.roots.app_dir("demo").is_dir());
    host.ok(["apps:create", "api-2"]);
    assert_eq!(host.ok(["apps:list"]), "=====> My Apps\napi-2\ndemo\n");
    assert_eq!(host.ok(["--quiet", "apps:list"]), "api-2\ndemo\n");
    assert_eq!(
        host.ok(["apps:list", "--format", "json"]),
        "[\"api-2\",\"demo\"]\n"
    );
    assert!(host.run(["apps:exists", "demo"]).status.success());
    let missing = host.run(["apps:exists", "nope"]);
    assert_eq!(missing.status.code(), Some(20));
    assert_eq!(stderr(&missing), " !     App nope does not exist\n");
}

#[test]
fn create_makes_the_apps_data_directories_plugins_write_into() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    for plugin in ["apps", "ps"] {
        assert!(
            host.roots
                .lib_root
                .join("data")
                .join(plugin)
                .join("demo")
                .is_dir(),
            "data/{plugin}/demo"
        );
    }
    // A Procfile put there is the app's, as Dokku's ps functions expect.
    std::fs::write(
        host.roots.lib_root.join("data/ps/demo/Procfile"),
        "web: node web.js\nworker: node worker.js\n",
    )
    .unwrap();
    assert_eq!(
        host.ok(["plugin:trigger", "procfile-get-command", "demo", "worker"]),
        "node worker.js\n"
    );
}

#[test]
fn create_rejects_bad_names_and_changes_nothing() {
    let host = TestHost::new();
    let before = host.state();
    let long = "a".repeat(64);
    for bad in [
        "Demo", "a/b", "..", "my app", "-app", &long, "a;id", "$(id)", "`id`", "app'x", "global",
        ".b", "test_app",
    ] {
        let out = host.run(["apps:create", bad]);
        assert!(!out.status.success(), "{bad:?} accepted");
        let err = stderr(&out);
        assert_eq!(
            err.lines().count(),
            1,
            "{bad:?}: one line expected, got {err:?}"
        );
        assert!(err.starts_with(" !     "), "{err}");
    }
    assert_eq!(host.state(), before, "a refused create changed state");
    assert_snapshot!(
        "create_uppercase",
        host.render(&host.run(["apps:create", "Demo"]))
    );
    assert_snapshot!(
        "create_missing_app",
        host.render(&host.run(["apps:create"]))
    );
    assert_snapshot!(
        "create_unknown_flag",
        host.render(&host.run(["apps:create", "demo", "--bogus"]))
    );
}

#[test]
fn an_app_named_before_the_underscore_rule_is_still_served() {
    let host = TestHost::new();
    std::fs::create_dir_all(host.roots.app_dir("test_app")).unwrap();
    host.ok(["plugin:trigger", "post-create", "test_app"]);
    assert!(host.ok(["apps:list"]).contains("test_app"));
    host.ok(["config:set", "--no-restart", "test_app", "A=1"]);
    assert_eq!(host.ok(["config:get", "test_app", "A"]), "1\n");
    // It can be renamed to a name of today's rule, not cloned to another old-style one.
    assert!(
        !host
            .run(["apps:clone", "test_app", "other_app"])
            .status
            .success()
    );
    host.ok(["apps:rename", "--skip-deploy", "test_app", "test-app"]);
    assert_eq!(host.ok(["config:get", "test-app", "A"]), "1\n");
}

#[test]
fn create_refuses_a_taken_name() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let created =
        std::fs::read_to_string(host.roots.config_dir().join("apps/demo/created-at")).unwrap();
    let out = host.run(["apps:create", "demo"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), " !     Name is already taken: demo\n");
    let after =
        std::fs::read_to_string(host.roots.config_dir().join("apps/demo/created-at")).unwrap();
    assert_eq!(created, after);
}

#[test]
fn concurrent_creates_of_one_name_exactly_one_wins() {
    let host = TestHost::new();
    for round in 0..15 {
        let name = format!("race-{round}");
        let children: Vec<_> = (0..2)
            .map(|_| {
                let mut cmd = std::process::Command::new(dokku_test_support::binary("dokku"));
                cmd.env_clear()
                    .envs(host.env())
                    .args(["apps:create", &name]);
                cmd.stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        let outcomes: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let wins = outcomes.iter().filter(|o| o.status.success()).count();
        assert_eq!(wins, 1, "round {round}: {outcomes:?}");
        let loser = outcomes.iter().find(|o| !o.status.success()).unwrap();
        assert_eq!(
            stderr(loser),
            format!(" !     Name is already taken: {name}\n")
        );
    }
}

#[test]
fn destroy_asks_for_the_name_unless_forced() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let before = host.state();
    let wrong = host
        .dokku(["apps:destroy", "demo"])
        .write_stdin("nope\n")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("Confirmation did not match demo. Aborted."));
    assert_eq!(host.state(), before);

    let typed = host
        .dokku(["apps:destroy", "demo"])
        .write_stdin("demo\n")
        .output()
        .unwrap();
    assert!(typed.status.success(), "{}", host.render(&typed));
    assert!(!host.roots.app_dir("demo").exists());

    host.ok(["apps:create", "demo"]);
    assert_snapshot!(
        "destroy_force",
        host.render(&host.run(["apps:destroy", "demo", "--force"]))
    );
    assert!(!host.roots.app_dir("demo").exists());
    assert!(!host.roots.config_dir().join("apps/demo").exists());
    assert_eq!(
        host.run(["--force", "apps:destroy", "demo"]).status.code(),
        Some(20)
    );
}

#[test]
fn destroy_fires_delete_triggers_with_the_app() {
    let host = TestHost::new();
    let log = host.path().join("triggers.log");
    let record = format!("echo \"$(basename \"$0\") $*\" >> {}", log.display());
    let plugin = host.path().join("recorder");
    make_plugin(
        &plugin,
        &[
            ("pre-delete", &record),
            ("scheduler-stop", &record),
            ("post-delete", &record),
            ("post-create", &record),
        ],
    );
    assert!(host.install_plugin(&plugin, "recorder").status.success());
    host.ok(["apps:create", "demo"]);
    host.ok(["--force", "apps:destroy", "demo"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "post-create demo\npre-delete demo \nscheduler-stop docker-local demo true\npost-delete demo \n"
    );
}

#[test]
fn rename_moves_the_app_and_fires_its_triggers() {
    let host = TestHost::new();
    let log = host.path().join("triggers.log");
    let record = format!(
        "echo \"$(basename \"$0\") $* SKIP_REBUILD=$SKIP_REBUILD\" >> {}",
        log.display()
    );
    let plugin = host.path().join("recorder");
    make_plugin(
        &plugin,
        &[
            ("post-app-rename-setup", &record),
            ("post-app-rename", &record),
        ],
    );
    assert!(host.install_plugin(&plugin, "recorder").status.success());
    host.ok(["apps:create", "old"]);
    std::fs::write(
        host.roots.config_dir().join("apps/old/deploy-source"),
        "git-push",
    )
    .unwrap();
    assert_snapshot!(
        "rename",
        host.render(&host.run(["apps:rename", "old", "new", "--skip-deploy"]))
    );
    assert!(!host.roots.app_dir("old").exists());
    assert!(host.roots.app_dir("new").is_dir());
    assert_eq!(
        host.ok(["apps:report", "new", "--app-deploy-source"]),
        "git-push\n"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "post-app-rename-setup old new SKIP_REBUILD=\npost-app-rename old new SKIP_REBUILD=true\n"
    );
    let taken = host.run(["apps:rename", "new", "new"]);
    assert_eq!(stderr(&taken), " !     Name is already taken: new\n");
    assert_eq!(
        host.run(["apps:rename", "missing", "x"]).status.code(),
        Some(20)
    );
}

#[test]
fn clone_creates_a_second_app() {
    let host = TestHost::new();
    host.ok(["apps:create", "a"]);
    let out = host.run(["apps:clone", "a", "b"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(host.ok(["--quiet", "apps:list"]), "a\nb\n");
    assert_eq!(
        stderr(&host.run(["apps:clone", "a", "b"])),
        " !     Name is already taken: b\n"
    );
    let ignored = host.run(["apps:clone", "--ignore-existing", "a", "b"]);
    assert!(ignored.status.success());
}

#[test]
fn lock_unlock_locked() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let locked = host.run(["apps:locked", "demo"]);
    assert_eq!(
        (locked.status.code(), stdout(&locked).as_str()),
        (Some(1), "Deploy lock does not exist\n")
    );
    assert_eq!(
        host.ok(["apps:lock", "demo"]),
        "-----> Deploy lock created\n"
    );
    assert_eq!(host.ok(["apps:locked", "demo"]), "Deploy lock exists\n");
    assert_eq!(host.ok(["apps:report", "demo", "--app-locked"]), "true\n");
    assert_eq!(
        host.ok(["apps:unlock", "demo"]),
        "-----> Deploy lock removed\n"
    );
    assert_eq!(host.ok(["apps:report", "demo", "--app-locked"]), "false\n");
}

#[test]
fn report_formats() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    std::fs::write(
        host.roots.config_dir().join("apps/demo/created-at"),
        "1700000000",
    )
    .unwrap();
    assert_snapshot!("report", host.render(&host.run(["apps:report", "demo"])));
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["apps:report", "demo", "--format", "json"])).unwrap();
    assert_eq!(json["app-created-at"], "1700000000");
    assert_eq!(json["app-locked"], "false");
    assert_eq!(
        host.ok(["apps:report", "demo", "--app-created-at"]),
        "1700000000\n"
    );
    assert_snapshot!(
        "report_bad_flag",
        host.render(&host.run(["apps:report", "demo", "--nope"]))
    );
    let all: serde_json::Value =
        serde_json::from_str(&host.ok(["apps:report", "--format", "json"])).unwrap();
    assert_eq!(all["demo"]["app-created-at"], "1700000000");
}

#[test]
fn help_lists_every_command() {
    let host = TestHost::new();
    assert_snapshot!("help", host.render(&host.run(["apps:help"])));
    assert_eq!(host.ok(["apps"]), host.ok(["apps:help"]));
}

#[test]
fn set_disable_autocreation_is_global_only() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["apps:set", "--global", "disable-autocreation", "true"]),
        "=====> Setting disable-autocreation to true\n"
    );
    let maybe = host.run(["plugin:trigger", "app-maybe-create", "fresh"]);
    assert!(!maybe.status.success());
    assert!(stderr(&maybe).contains("automatic creation is disabled"));
    let per_app = host.run(["apps:set", "demo", "disable-autocreation", "true"]);
    assert!(!per_app.status.success());
    assert!(
        stderr(&per_app).contains("Property can only be specified globally"),
        "{}",
        stderr(&per_app)
    );
    assert!(
        !host
            .run(["apps:set", "--global", "bogus", "1"])
            .status
            .success()
    );
    host.ok(["apps:set", "--global", "disable-autocreation"]);
    host.ok(["plugin:trigger", "app-maybe-create", "fresh"]);
    assert!(host.roots.app_dir("fresh").is_dir());

    // Where an app's code came from is the app's own to say.
    host.ok(["apps:set", "demo", "deploy-source", "git"]);
    assert_eq!(
        host.ok(["apps:report", "demo", "--app-deploy-source"]),
        "git\n"
    );
    for key in ["deploy-source", "deploy-source-metadata"] {
        let global = host.run(["apps:set", "--global", key, "x"]);
        assert!(
            stderr(&global).contains("Property cannot be specified globally"),
            "{}",
            stderr(&global)
        );
    }
}

#[test]
fn ps_report_shows_the_state_of_each_container_last_deployed() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    std::fs::write(
        host.roots.app_dir("demo").join("CONTAINER.web.1"),
        "0123456789abcdef\n",
    )
    .unwrap();
    let out = host.ok(["ps:report", "demo"]);
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("Status web 1:")
                && l.ends_with("missing (CID: 0123456789a)")),
        "{out}"
    );
    assert_eq!(
        host.ok(["ps:report", "demo", "--status-web.1"]).trim(),
        "missing (CID: 0123456789a)"
    );
}

#[test]
fn ps_commands_over_all_apps_run_some_at_a_time() {
    let host = TestHost::new();
    for app in ["one", "two", "three"] {
        host.ok(["apps:create", app]);
    }
    // Each app's triggers run under that app's deploy lock, whichever thread holds it.
    let dir = host.path().join("lock-witness");
    let log = host.path().join("locked-for");
    let script = format!("echo \"$2 $DOKKU_DEPLOY_LOCKED\" >> {}", log.display());
    crate::make_plugin(&dir, &[("scheduler-stop", script.as_str())]);
    assert!(host.install_plugin(&dir, "lock-witness").status.success());
    let out = host.ok(["ps:stop", "--all", "--parallel", "2"]);
    for app in ["one", "two", "three"] {
        assert!(out.contains(&format!("Stopping {app}")), "{out}");
        assert_eq!(host.ok(["ps:report", app, "--restore"]).trim(), "false");
    }
    let mut seen: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    seen.sort();
    assert_eq!(seen, ["one one", "three three", "two two"]);
    host.ok(["ps:stop", "--all", "--parallel", "-1"]);
    crate::refused_in_one_line(
        &host,
        &[
            vec!["ps:stop", "--all", "--parallel", "0"],
            vec!["ps:stop", "--all", "one"],
        ],
    );
}

#[test]
fn ps_properties_reach_the_scheduler_through_ps_get_property() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let property = |key: &str| host.ok(["plugin:trigger", "ps-get-property", "demo", key]);
    assert_eq!(property("stop-timeout-seconds").trim(), "30");
    assert_eq!(property("skip-deploy").trim(), "false");
    host.ok(["ps:set", "demo", "stop-timeout-seconds", "5"]);
    host.ok(["ps:set", "--global", "skip-deploy", "true"]);
    assert_eq!(property("stop-timeout-seconds").trim(), "5");
    assert_eq!(property("skip-deploy").trim(), "true");
    crate::refused_in_one_line(
        &host,
        &[
            vec!["ps:set", "demo", "stop-timeout-seconds", "soon"],
            vec!["ps:set", "demo", "skip-deploy", "maybe"],
        ],
    );
}

#[test]
fn ps_start_commands_and_scale_read_as_dokku_reads_them() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    for key in ["start-cmd", "dockerfile-start-cmd"] {
        let report: serde_json::Value =
            serde_json::from_str(&host.ok(["ps:report", "demo", "--format", "json"])).unwrap();
        assert_eq!(report[format!("ps-{key}")], "");
        assert_eq!(report[format!("ps-computed-{key}")], "");
        host.ok(["ps:set", "demo", key, "node app.js --port $PORT"]);
        assert_eq!(
            host.ok(["ps:report", "demo", &format!("--ps-computed-{key}")]),
            "node app.js --port $PORT\n"
        );
        host.ok(["ps:set", "demo", key]);
        assert_eq!(host.ok(["ps:report", "demo", &format!("--ps-{key}")]), "\n");
    }
    let unbalanced = host.run(["ps:set", "demo", "start-cmd", "echo 'oops"]);
    assert!(!unbalanced.status.success());
    let policy = host.run(["ps:set", "demo", "restart-policy", "bogus"]);
    assert!(stderr(&policy).contains("Invalid restart-policy specified"));

    std::fs::write(
        host.roots.config_dir().join("ps/demo/scale"),
        "web=4\nworker=1\nbeat      =0\nweb   =0",
    )
    .unwrap();
    assert_eq!(
        host.ok(["--quiet", "ps:scale", "demo"]),
        "beat: 0\nweb:  4\nworker: 1\n"
    );
    assert_eq!(
        host.ok(["ps:scale", "demo", "--format", "json"]),
        r#"[{"process_type":"beat","quantity":0},{"process_type":"web","quantity":4},{"process_type":"worker","quantity":1}]"#.to_string() + "\n"
    );
}

#[test]
fn procfile_get_command_expands_the_port_and_the_apps_config() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    std::fs::write(
        host.roots.lib_root.join("data/ps/demo/Procfile"),
        "web: node web.js --port $PORT\nworker: node worker.js $DYNO\nrelease: interpolated $ENV_VAR ${ENV_VAR}\n",
    )
    .unwrap();
    host.ok(["config:set", "--no-restart", "demo", "ENV_VAR=value"]);
    let get = |args: &[&str]| {
        let mut all = vec!["plugin:trigger", "procfile-get-command", "demo"];
        all.extend_from_slice(args);
        host.ok(all)
    };
    assert_eq!(get(&["web", "5001"]), "node web.js --port 5001\n");
    assert_eq!(get(&["web"]), "node web.js --port 5000\n");
    assert_eq!(get(&["worker"]), "node worker.js $DYNO\n");
    assert_eq!(get(&["release", "5001"]), "interpolated value value\n");
    assert_eq!(get(&["missing"]), "");
}

#[test]
fn apps_list_says_when_there_are_none_and_the_global_report_has_autocreation() {
    let host = TestHost::new();
    let empty = host.run(["apps:list"]);
    assert!(stderr(&empty).contains("You haven't deployed any applications yet"));
    assert_eq!(
        host.ok([
            "apps:report",
            "--global",
            "--app-global-disable-autocreation"
        ]),
        "\n"
    );
    host.ok(["apps:set", "--global", "disable-autocreation", "true"]);
    let global: serde_json::Value =
        serde_json::from_str(&host.ok(["apps:report", "--global", "--format", "json"])).unwrap();
    assert_eq!(global["global-disable-autocreation"], "true");
    assert_eq!(global["app-global-disable-autocreation"], "true");
    host.ok(["apps:create", "demo"]);
    assert!(!stderr(&host.run(["apps:list"])).contains("You haven't"));
    assert_eq!(
        host.ok(["apps:report", "demo", "--app-global-disable-autocreation"]),
        "true\n"
    );
}
