use dokku_test_support::{SYSTEM_USER, TestHost, require_tool};

/// The crontab of the host's dokku user, as cron holds it.
fn installed_crontab() -> String {
    let out = std::process::Command::new(require_tool("crontab", "apt-get install cron"))
        .args(["-l", "-u", SYSTEM_USER])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn scheduled_tasks_reach_the_dokku_users_crontab_and_leave_with_their_app() {
    let host = TestHost::with_system_user();
    host.ok(["apps:create", "cronapp"]);
    let app_json = host.roots.data_dir("app-json", "cronapp").join("app.json");
    std::fs::create_dir_all(app_json.parent().unwrap()).unwrap();
    std::fs::write(
        &app_json,
        r#"{"cron": [{"schedule": "0 3 * * *", "command": "python3 nightly.py"}]}"#,
    )
    .unwrap();
    let (uid, gid) = dokku_test_support::system_user();
    for path in [
        app_json.parent().unwrap().parent().unwrap(),
        app_json.parent().unwrap(),
        &app_json,
    ] {
        nix::unistd::chown(path, Some(uid.into()), Some(gid.into())).unwrap();
    }
    // Another app's schedule with a no-break space (a deploy key's app.json): refused
    // alone, with a warning, and it keeps no other app's tasks from cron.
    host.ok(["apps:create", "badcron"]);
    let bad_json = host.roots.data_dir("app-json", "badcron").join("app.json");
    std::fs::create_dir_all(bad_json.parent().unwrap()).unwrap();
    std::fs::write(
        &bad_json,
        "{\"cron\": [{\"schedule\": \"0\u{a0}3 * * *\", \"command\": \"true\"}]}",
    )
    .unwrap();
    dokku_test_support::chown_tree(bad_json.parent().unwrap().parent().unwrap(), uid, gid);
    let out = host.run(["plugin:trigger", "post-deploy", "cronapp", "", "", "latest"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("badcron: Invalid cron schedule"),
        "{}",
        host.render(&out)
    );
    host.ok(["--force", "apps:destroy", "badcron"]);
    let tasks = host.ok(["cron:list", "cronapp"]);
    assert!(
        tasks.contains("0 3 * * *") && tasks.contains("python3 nightly.py"),
        "{tasks}"
    );
    let crontab = installed_crontab();
    let line = crontab
        .lines()
        .find(|l| l.starts_with("0 3 * * * ") && l.contains(" cron:run cronapp "))
        .unwrap_or_else(|| panic!("{crontab}"));
    assert!(
        !line.contains("nightly"),
        "the command stays out of cron's shell: {line}"
    );
    assert!(crontab.contains(&format!("DOKKU_ROOT={}", host.roots.dokku_root.display())));

    // A suspended task, or an app in maintenance, leaves cron until it resumes.
    let id = line.split_whitespace().last().unwrap().to_string();
    host.ok(["cron:suspend", "cronapp", &id]);
    assert!(!installed_crontab().contains("cron:run cronapp"));
    assert!(host.ok(["cron:list", "cronapp"]).contains("true (task)"));
    assert_eq!(
        host.ok([
            "cron:report",
            "cronapp",
            &format!("--cron-maintenance-{id}")
        ]),
        "true\n"
    );
    host.ok(["cron:resume", "cronapp", &id]);
    assert!(installed_crontab().contains(&format!("cron:run cronapp {id}")));
    host.ok(["cron:set", "cronapp", "maintenance", "true"]);
    assert!(host.ok(["cron:list", "cronapp"]).contains("true (app)"));
    assert!(!installed_crontab().contains("cron:run cronapp"));
    host.ok(["cron:set", "cronapp", "maintenance"]);
    host.ok(["cron:set", "--global", "mailto", "admin@example.com"]);
    assert!(installed_crontab().contains("MAILTO=admin@example.com"));
    let global: serde_json::Value =
        serde_json::from_str(&host.ok(["cron:report", "--global", "--format", "json"])).unwrap();
    assert_eq!(global["cron-computed-mailto"], "admin@example.com");
    assert!(global.get("cron-maintenance").is_none());
    host.ok(["cron:set", "--global", "mailto"]);
    assert_eq!(
        host.ok(["cron:report", "cronapp", "--cron-task-count"]),
        "1\n"
    );
    for (args, says) in [
        (
            vec!["cron:set", "--global", "maintenance.x", "true"],
            "Task maintenance properties cannot be set globally",
        ),
        (
            vec!["cron:set", "cronapp", "maintenance.nope", "true"],
            "no matching task ID found: maintenance.nope",
        ),
        (
            vec!["cron:set", "cronapp", "mailto", "a@b.c"],
            "Property cannot be specified on a per-app basis",
        ),
        (
            vec!["cron:suspend", "cronapp", "nope"],
            "no matching task ID",
        ),
    ] {
        let out = host.run(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            host.render(&out)
        );
    }

    host.ok(["apps:destroy", "--force", "cronapp"]);
    assert!(!installed_crontab().contains("cron:run cronapp"));

    // Plugins add their own lines (`cron-entries`): letsencrypt's daily renewal.
    assert!(host.ok(["letsencrypt:cron-job"]).contains("not enabled"));
    host.ok(["letsencrypt:cron-job", "--add"]);
    let crontab = installed_crontab();
    let renewal = crontab
        .lines()
        .find(|l| l.contains("letsencrypt:auto-renew"))
        .unwrap_or_else(|| panic!("{crontab}"));
    assert!(renewal.starts_with("24 6 * * * "), "{renewal}");
    assert!(
        renewal.ends_with(&format!(
            " &>> {}/letsencrypt.log",
            host.roots.logs_dir.display()
        )),
        "{renewal}"
    );
    assert!(host.ok(["letsencrypt:cron-job"]).contains("is enabled"));
    // A plugin whose cron-entries fails (a test that did not match) adds nothing and keeps
    // nobody else's lines out.
    for dir in [host.roots.plugin_available(), host.roots.plugin_enabled()] {
        let plugin = dir.join("k3s-only");
        std::fs::create_dir_all(&plugin).unwrap();
        std::fs::write(
            plugin.join("plugin.toml"),
            "[plugin]\ndescription = \"test\"\nversion = \"0.0.1\"\n",
        )
        .unwrap();
        let script = plugin.join("cron-entries");
        std::fs::write(
            &script,
            "#!/bin/bash\n[[ $1 == 'k3s' ]] && echo '@daily;/bin/true'\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    host.ok(["plugin:trigger", "scheduler-cron-write"]);
    assert!(installed_crontab().contains("letsencrypt:auto-renew"));
    assert!(!installed_crontab().contains("/bin/true"));
    let global: serde_json::Value =
        serde_json::from_str(&host.ok(["cron:list", "--global", "--format", "json"])).unwrap();
    assert_eq!(global[0]["global"], true, "{global}");
    assert_eq!(global[0]["schedule"], "24 6 * * *", "{global}");
    host.ok(["letsencrypt:cron-job", "--remove"]);
    assert!(!installed_crontab().contains("letsencrypt:auto-renew"));
    let out = host.run(["letsencrypt:cron-job", "--sometimes"]);
    assert_eq!(out.status.code(), Some(1));
}
