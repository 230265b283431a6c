use std::thread;

use dokku_test_support::{TestHost, workspace_root};
use insta::assert_snapshot;

use crate::{recorded, recorder, refused_in_one_line, stderr, stdout};

/// A host with a global domain, so new apps carry no `NO_VHOST` (see the domains tests),
/// and the app `demo`.
fn host_with_demo() -> TestHost {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "demo"]);
    host
}

fn env_file(host: &TestHost, slot: &str) -> String {
    std::fs::read_to_string(host.roots.config_dir().join(slot).join("ENV")).unwrap_or_default()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(workspace_root().join("tests/fixtures/env").join(name)).unwrap()
}

#[test]
fn set_get_show_keys_unset_clear() {
    let host = host_with_demo();
    assert_snapshot!(
        "set",
        host.render(&host.run(["config:set", "demo", "A=1", "LONG_KEY=two words", "PIN=007"]))
    );
    assert_eq!(host.ok(["config:get", "demo", "PIN"]), "007\n");
    assert_eq!(host.ok(["config:get", "demo", "LONG_KEY"]), "two words\n");
    assert_eq!(
        host.ok(["config:get", "--quoted", "demo", "LONG_KEY"]),
        "'two words'\n"
    );
    let unset = host.run(["config:get", "demo", "NOPE"]);
    assert_eq!(
        (unset.status.code(), stdout(&unset).as_str()),
        (Some(1), "")
    );
    assert_eq!(
        env_file(&host, "demo"),
        "A=\"1\"\nLONG_KEY=\"two words\"\nPIN=\"007\"\n"
    );
    assert_snapshot!("show", host.render(&host.run(["config", "demo"])));
    assert_eq!(
        host.ok(["config:show", "demo"]),
        host.ok(["config", "demo"])
    );
    assert_eq!(host.ok(["config:keys", "demo"]), "A\nLONG_KEY\nPIN\n");
    assert_snapshot!(
        "unset",
        host.render(&host.run(["config:unset", "demo", "A", "MISSING"]))
    );
    assert_eq!(host.ok(["config:keys", "demo"]), "LONG_KEY\nPIN\n");
    host.ok(["config:clear", "demo"]);
    assert_eq!(host.ok(["config:keys", "demo"]), "");
    assert_eq!(env_file(&host, "demo"), "");
}

#[test]
fn awkward_values_round_trip_exactly() {
    let host = host_with_demo();
    let values = [
        "with \"double\" and 'single' quotes",
        "$HOME ${PATH} $(id) `id` !bang \\back\\slash",
        "line one\nline two\r\nline three\n",
        "a=b=c",
        "ünïcödé ✓ 日本語",
        "  leading and trailing spaces  ",
        "#not a comment",
        "",
        "007",
        "+15551234",
        "--looks-like-a-flag",
    ];
    for (i, value) in values.iter().enumerate() {
        host.ok([
            "config:set".to_string(),
            "demo".into(),
            format!("V{i}={value}"),
        ]);
    }
    let big: String = (0..100 * 1024)
        .map(|i| ['x', '"', '$', '\n', 'é'][i % 5])
        .collect();
    host.ok([
        "config:set".to_string(),
        "demo".into(),
        format!("BIG={big}"),
    ]);
    for (i, value) in values.iter().enumerate() {
        assert_eq!(
            host.ok(["config:get".to_string(), "demo".into(), format!("V{i}")]),
            format!("{value}\n"),
            "V{i}"
        );
    }
    assert_eq!(host.ok(["config:get", "demo", "BIG"]), format!("{big}\n"));
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["config:export", "--format", "json", "demo"])).unwrap();
    assert_eq!(json["V2"], values[2]);
    assert_eq!(json["BIG"].as_str().unwrap(), big);
}

#[test]
fn encoded_values_are_base64() {
    let host = host_with_demo();
    // "multi\nline 'x' $y\n" in base64.
    host.ok([
        "config:set",
        "--encoded",
        "demo",
        "M=bXVsdGkKbGluZSAneCcgJHkK",
    ]);
    assert_eq!(
        host.ok(["config:get", "demo", "M"]),
        "multi\nline 'x' $y\n\n"
    );
    let before = host.state();
    let bad = host.run(["config:set", "--encoded", "demo", "M=not*base64"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).starts_with(" !     Invalid base64 value for M"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(host.state(), before);
}

#[test]
fn export_formats() {
    let host = host_with_demo();
    host.ok(["config:set", "demo", "A=it's", "B=x y"]);
    let mut all = String::new();
    for format in [
        "exports",
        "envfile",
        "shell",
        "docker-args",
        "docker-args-keys",
        "pack-keys",
        "json",
        "json-list",
        "pretty",
    ] {
        all.push_str(&format!(
            "--format {format}\n{}",
            host.ok(["config:export", "--format", format, "demo"])
        ));
    }
    assert_snapshot!("export_formats", all);
    assert_eq!(
        host.ok(["config:export", "demo"]),
        host.ok(["config:export", "--format=exports", "demo"])
    );
}

#[test]
fn global_and_merged() {
    let host = host_with_demo();
    host.ok(["config:set", "--global", "SHARED=global", "ONLY_GLOBAL=g"]);
    host.ok(["config:set", "demo", "SHARED=app"]);
    assert_eq!(
        env_file(&host, "--global"),
        "ONLY_GLOBAL=\"g\"\nSHARED=\"global\"\n"
    );
    assert_eq!(
        host.ok(["config:keys", "--global"]),
        "ONLY_GLOBAL\nSHARED\n"
    );
    assert_eq!(host.ok(["config:keys", "demo"]), "SHARED\n");
    assert_eq!(
        host.ok(["config:export", "--merged", "--format", "json", "demo"]),
        "{\"ONLY_GLOBAL\":\"g\",\"SHARED\":\"app\"}\n"
    );
    assert_eq!(host.ok(["config:get", "--global", "SHARED"]), "global\n");
    assert_eq!(
        host.ok(["config", "--global"]),
        "=====> global env vars\nONLY_GLOBAL:  g\nSHARED:       global\n"
    );
    host.ok(["config:unset", "--global", "ONLY_GLOBAL"]);
    assert_eq!(host.ok(["config:keys", "--global"]), "SHARED\n");
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let host = host_with_demo();
    host.ok(["config:set", "demo", "KEEP=me"]);
    let before = host.state();
    for args in [
        vec!["config:set", "demo"],
        vec!["config:set", "demo", "NOEQUALS"],
        vec!["config:set", "demo", "1BAD=x"],
        vec!["config:set", "demo", "BAD-KEY=x"],
        vec!["config:set", "demo", "=x"],
        vec!["config:set", "demo", "GOOD=1", "BAD KEY=2"],
        vec!["config:set", "nope", "A=1"],
        vec!["config:set", "Bad_App", "A=1"],
        vec!["config:set"],
        vec!["config:set", "demo", "--bogus", "A=1"],
        vec!["config:unset", "demo"],
        vec!["config:unset", "demo", "BAD-KEY"],
        vec!["config:get", "demo"],
        vec!["config:export", "--format", "yaml", "demo"],
        vec!["config:clear", "nope"],
    ] {
        let out = host.run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.starts_with(" !     "), "{args:?}: {err:?}");
    }
    assert_eq!(host.state(), before, "a refused command changed state");
    assert_snapshot!(
        "set_bad_key",
        host.render(&host.run(["config:set", "demo", "BAD-KEY=x"]))
    );
    assert_snapshot!(
        "set_no_pairs",
        host.render(&host.run(["config:set", "demo"]))
    );
}

#[test]
fn changes_fire_post_config_update_and_restart() {
    let host = host_with_demo();
    // The recorder stands in for the app's scheduler and says the app is deployed: only a
    // deployed app restarts.
    host.ok(["scheduler:set", "demo", "selected", "recorded"]);
    let log = recorder(
        &host,
        &[
            "post-config-update",
            "release-and-deploy",
            "scheduler-is-deployed",
        ],
    );
    let set = host.ok(["config:set", "demo", "A=1", "B=2"]);
    assert!(set.ends_with("-----> Restarting app demo\n"), "{set}");
    host.ok(["config:set", "--no-restart", "demo", "C=3"]);
    host.ok(["config:unset", "demo", "A", "NOT_SET"]);
    host.ok(["config:unset", "demo", "NOT_SET"]);
    host.ok(["config:set", "--global", "G=1"]);
    host.ok(["config:clear", "--no-restart", "demo"]);
    assert_eq!(
        recorded(&log),
        "post-config-update demo set A B\n\
         scheduler-is-deployed recorded demo\n\
         release-and-deploy demo  config-redeploy\n\
         post-config-update demo set C\n\
         post-config-update demo unset A\n\
         scheduler-is-deployed recorded demo\n\
         release-and-deploy demo  config-redeploy\n\
         post-config-update --global set G\n\
         post-config-update demo clear B C\n"
    );
}

#[test]
fn triggers_for_other_plugins() {
    let host = host_with_demo();
    host.ok(["config:set", "--global", "G=global", "S=g"]);
    host.ok(["config:set", "demo", "S=app value"]);
    assert_eq!(
        host.ok(["plugin:trigger", "config-get", "demo", "S"]),
        "app value"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "config-get", "demo", "G"]),
        "global"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "config-get", "demo", "NONE"]),
        ""
    );
    assert_eq!(host.ok(["plugin:trigger", "config-get-global", "S"]), "g");
    assert_eq!(
        host.ok([
            "plugin:trigger",
            "config-export",
            "demo",
            "false",
            "true",
            "shell"
        ]),
        "G='global' S='app value' "
    );
    assert_eq!(
        host.ok([
            "plugin:trigger",
            "config-export",
            "demo",
            "true",
            "false",
            "docker-args-keys"
        ]),
        "--env=G --env=S"
    );
    assert_eq!(
        host.ok([
            "plugin:trigger",
            "config-export",
            "demo",
            "false",
            "false",
            "json-layers"
        ]),
        "{\"app\":{\"S\":\"app value\"},\"global\":{\"G\":\"global\",\"S\":\"g\"}}\n"
    );
    host.ok([
        "plugin:trigger",
        "config-set",
        "--no-restart",
        "demo",
        "FROM_TRIGGER=1",
    ]);
    host.ok([
        "plugin:trigger",
        "config-unset",
        "--no-restart",
        "demo",
        "S",
    ]);
    assert_eq!(host.ok(["config:keys", "demo"]), "FROM_TRIGGER\n");
}

#[test]
fn older_env_files_are_read_and_migrated_without_loss() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    for app in ["modern", "bashera", "alt"] {
        host.ok(["apps:create", app]);
        // Apps from before the move have no record of it.
        let record = host
            .roots
            .config_dir()
            .join("config")
            .join(app)
            .join("env-migrated");
        std::fs::remove_file(record).unwrap();
    }
    let root = &host.roots.dokku_root;
    std::fs::create_dir_all(host.roots.config_dir().join("modern")).unwrap();
    std::fs::write(
        host.roots.config_dir().join("modern/ENV"),
        fixture("dokku-0.38.env"),
    )
    .unwrap();
    std::fs::write(root.join("bashera/ENV"), fixture("bash-plugin.env")).unwrap();
    std::fs::write(root.join("alt/ENV"), fixture("dokku-alt.env")).unwrap();
    std::fs::write(root.join("ENV"), fixture("global.env")).unwrap();

    // Dokku 0.38's own file is read as it is, including its unquoted numbers.
    assert_snapshot!(
        "modern_json",
        host.ok(["config:export", "--format", "json", "modern"])
    );
    assert_eq!(
        host.ok(["config:get", "modern", "PRICE"]),
        "$5 \"each\" `now`!\n"
    );

    // An old file is readable before any migration ran (the first touch migrates it).
    assert_eq!(host.ok(["config:get", "bashera", "PIN"]), "007\n");
    assert!(!root.join("bashera/ENV").exists());

    // The install trigger migrates the rest.
    host.ok(["plugin:install"]);
    assert!(!root.join("alt/ENV").exists());
    assert!(!root.join("ENV").exists());
    assert_snapshot!("migrated_bashera", env_file(&host, "bashera"));
    assert_eq!(
        env_file(&host, "alt"),
        "LEGACY=\"true\"\nURL=\"http://example.com/?a=b&c=d\"\n"
    );
    assert_eq!(env_file(&host, "--global"), "global_test=\"true\"\n");
    assert_eq!(
        host.ok(["config:get", "bashera", "MULTI"]),
        "first\nsecond\n"
    );
    assert_eq!(
        host.ok(["config:get", "bashera", "MOTTO"]),
        "it's $HOME and `date`\n"
    );
    let migrated = host.roots.config_dir().join("config/alt/env-migrated");
    assert_eq!(std::fs::read_to_string(migrated).unwrap(), "true");

    // An old file that comes back after its migration: identical -> deleted; different ->
    // set aside, never imported, never lost.
    std::fs::write(root.join("alt/ENV"), fixture("dokku-alt.env")).unwrap();
    host.ok(["plugin:install"]);
    assert!(!root.join("alt/ENV").exists());
    std::fs::write(root.join("alt/ENV"), "export LEGACY=false\n").unwrap();
    let out = host.run(["config:get", "alt", "LEGACY"]);
    assert_eq!(stdout(&out), "true\n");
    assert!(
        stderr(&out).contains("the current config takes precedence for LEGACY"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("alt/ENV.migrated")).unwrap(),
        "export LEGACY=false\n"
    );
}

#[test]
fn an_unreadable_old_file_is_kept() {
    let host = host_with_demo();
    let old = host.roots.dokku_root.join("demo/ENV");
    std::fs::write(&old, "export A='never closed\n").unwrap();
    let out = host.run(["config:get", "demo", "A"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unterminated single quote"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&old).unwrap(),
        "export A='never closed\n"
    );
}

#[test]
fn rename_clone_and_destroy_carry_config() {
    let host = host_with_demo();
    host.ok(["config:set", "demo", "A=1"]);
    host.ok(["apps:clone", "demo", "copy"]);
    assert_eq!(host.ok(["config:get", "copy", "A"]), "1\n");
    host.ok(["apps:rename", "demo", "renamed"]);
    assert_eq!(host.ok(["config:get", "renamed", "A"]), "1\n");
    assert!(!host.roots.config_dir().join("demo/ENV").exists());
    host.ok(["--force", "apps:destroy", "renamed"]);
    assert!(!host.roots.config_dir().join("renamed").exists());
    assert_eq!(host.ok(["config:get", "copy", "A"]), "1\n");
}

#[test]
fn a_concurrent_set_storm_loses_no_key() {
    let host = host_with_demo();
    thread::scope(|s| {
        for writer in ["A", "B"] {
            let host = &host;
            s.spawn(move || {
                for i in 0..200 {
                    host.ok([
                        "config:set".to_string(),
                        "--no-restart".into(),
                        "demo".into(),
                        format!("{writer}_{i}={writer} value {i}"),
                    ]);
                }
            });
        }
    });
    let keys = host.ok(["config:keys", "demo"]);
    assert_eq!(keys.lines().count(), 400, "lost keys");
    for writer in ["A", "B"] {
        for i in 0..200 {
            assert!(keys.contains(&format!("{writer}_{i}\n")));
        }
    }
    assert_eq!(host.ok(["config:get", "demo", "B_199"]), "B value 199\n");
}

#[test]
fn a_restart_refused_by_a_running_deploy_fails_the_command_and_keeps_the_value() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    // A scheduler that says the app runs, so a change restarts it.
    let plugin = host.path().join("deployed-src");
    crate::make_plugin(&plugin, &[("scheduler-is-deployed", "exit 0")]);
    let out = host.install_plugin(&plugin, "scheduler-fake");
    assert!(out.status.success(), "{}", host.render(&out));
    host.ok(["scheduler:set", "demo", "selected", "fake"]);
    host.ok(["apps:lock", "demo"]);
    let out = host.run(["config:set", "demo", "GREETING=hello"]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    let err = stderr(&out);
    assert!(
        err.contains("The config of demo is saved but its containers do not have it")
            && err.contains("locked"),
        "{err}"
    );
    assert_eq!(host.ok(["config:get", "demo", "GREETING"]), "hello\n");
}

#[test]
fn import_sets_from_a_file_stdin_or_json_and_replace_keeps_only_those() {
    let host = host_with_demo();
    host.ok([
        "config:set",
        "--no-restart",
        "demo",
        "first_key=first_value",
    ]);
    let file = host.path().join("vars.env");
    std::fs::write(
        &file,
        "# a comment\nexport second_key='second value'\nthird=\"3\"\n",
    )
    .unwrap();
    let out = host.ok(["config:import", "demo", file.to_str().unwrap()]);
    assert!(out.contains("Setting config vars"), "{out}");
    let get = |key: &str| host.ok(["config:get", "demo", key]);
    assert_eq!(get("first_key"), "first_value\n");
    assert_eq!(get("second_key"), "second value\n");
    assert_eq!(get("third"), "3\n");

    let piped = host
        .dokku(["config:import", "demo", "-"])
        .write_stdin("test_var=TESTING2\n")
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", host.render(&piped));
    assert_eq!(get("test_var"), "TESTING2\n");

    let json = host.path().join("vars.json");
    std::fs::write(&json, r#"{"only": "this", "port": 5000}"#).unwrap();
    host.ok([
        "config:import",
        "--replace",
        "--format",
        "json",
        "demo",
        json.to_str().unwrap(),
    ]);
    assert_eq!(host.ok(["config:keys", "demo"]), "only\nport\n");
    assert_eq!(get("port"), "5000\n");

    let empty = host.path().join("empty.env");
    std::fs::write(&empty, "# nothing\n").unwrap();
    let bad_key = host.path().join("bad.env");
    std::fs::write(&bad_key, "1x=y\n").unwrap();
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["config:import", "demo", empty.to_str().unwrap()],
            vec!["config:import", "demo", bad_key.to_str().unwrap()],
            vec!["config:import", "demo", "/does/not/exist"],
            vec![
                "config:import",
                "--format",
                "xml",
                "demo",
                json.to_str().unwrap(),
            ],
            vec!["config:import", "demo"],
        ],
    );
    assert_eq!(host.state(), before);
}

#[test]
fn install_drains_old_env_files_before_plugins_move_their_variables_to_properties() {
    let host = host_with_demo();
    // Once drained, the host is on record: an ENV file that shows up later is never
    // imported over the config set since.
    host.ok(["plugin:trigger", "config-migrate-env"]);
    host.ok(["config:set", "--no-restart", "demo", "KEEP=new"]);
    let legacy = host.roots.app_dir("demo").join("ENV");
    std::fs::write(&legacy, "export KEEP=old\nexport RESURRECTED=yes\n").unwrap();
    let out = host.run(["plugin:trigger", "config-migrate-env"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(
        stderr(&out).contains("the current config takes precedence for KEEP RESURRECTED"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("ENV.migrated"), "{}", stderr(&out));
    assert_eq!(host.ok(["config:get", "demo", "KEEP"]), "new\n");
    assert!(
        !host
            .run(["config:get", "demo", "RESURRECTED"])
            .status
            .success()
    );
    assert!(!legacy.exists());

    // An app from before: its ENV is drained first, then the checks plugin's variables
    // become its properties.
    host.ok(["apps:create", "older"]);
    std::fs::remove_file(host.roots.config_dir().join("config/older/env-migrated")).unwrap();
    let old_env = host.roots.app_dir("older").join("ENV");
    std::fs::write(
        &old_env,
        "export DOKKU_CHECKS_SKIPPED=worker\nexport KEPT=1\n",
    )
    .unwrap();
    let out = host.ok(["plugin:install"]);
    assert!(
        out.contains("Migrating deprecated DOKKU_CHECKS_SKIPPED to checks skipped property"),
        "{out}"
    );
    assert_eq!(
        host.ok(["checks:report", "older", "--checks-skipped-list"]),
        "worker\n"
    );
    let shown = host.ok(["config:show", "older"]);
    assert!(
        !shown.contains("DOKKU_CHECKS_SKIPPED") && shown.contains("KEPT"),
        "{shown}"
    );
    assert!(!old_env.exists());
}
