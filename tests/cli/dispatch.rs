use dokku_test_support::TestHost;
use insta::assert_snapshot;

use crate::{make_plugin, stderr, stdout};

#[test]
fn help_lists_core_plugins_in_columns() {
    let host = TestHost::new();
    assert_snapshot!("dokku_help", host.render(&host.run(["help"])));
    assert_eq!(host.ok(Vec::<&str>::new()), host.ok(["help"]));
    let all = host.ok(["help", "--all"]);
    assert!(all.contains("    apps:create <app>"), "{all}");
    assert!(
        all.contains("    plugin:install [--core|<path>|<git-url>]"),
        "{all}"
    );
    assert!(
        !all.contains("install-core"),
        "hidden commands stay hidden: {all}"
    );
}

#[test]
fn unknown_command_prints_two_lines_and_exits_1() {
    let host = TestHost::new();
    assert_snapshot!(
        "unknown_command",
        host.render(&host.run(["frobnicate", "demo"]))
    );
    let empty_sub = host.run(["apps:"]);
    assert_eq!(empty_sub.status.code(), Some(1));
    assert!(stderr(&empty_sub).contains("`apps:` is not a dokku command."));
}

#[test]
fn a_bare_words_help_is_its_help_line() {
    let host = TestHost::new();
    let out = host.ok(["cleanup:help"]);
    assert_eq!(
        out.trim(),
        "cleanup [<app>]  Cleans up exited/dead Docker containers and removes dangling images"
    );
}

#[test]
fn a_plugins_usage_may_word_it_apart_from_its_listing() {
    let host = TestHost::new();
    assert!(
        host.ok(["buildpacks:help"])
            .contains("\nManage buildpacks settings for an app\n")
    );
    assert!(
        host.ok(["help"])
            .contains("Manage buildpack settings for an app")
    );
}

#[test]
fn version() {
    let host = TestHost::new();
    let expected = format!("dokku version {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(host.ok(["version"]), expected);
    assert_eq!(host.ok(["--version"]), expected);
}

#[test]
fn global_flags_count_anywhere() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(host.ok(["apps:list", "--quiet"]), "demo\n");
    assert_eq!(host.ok(["--quiet", "--trace", "apps:list"]).trim(), "demo");
    assert!(host.run(["--app", "demo", "apps:exists"]).status.success());
    assert!(host.run(["apps:exists", "--app", "demo"]).status.success());
    assert_eq!(
        host.run(["--app", "nope", "apps:exists"]).status.code(),
        Some(20)
    );
    // Dokku's client names the app both ways: it counts once.
    host.ok(["--app", "second", "apps:create", "second"]);
    assert!(host.run(["apps:exists", "second"]).status.success());
    assert!(
        host.run(["apps:destroy", "demo", "--force"])
            .status
            .success()
    );
}

#[test]
fn trace_shows_the_children_run() {
    let host = TestHost::new();
    let out = host.run(["--trace", "plugin:trigger", "app-exists", "nope"]);
    assert!(stderr(&out).contains("+ "), "{}", host.render(&out));
}

#[test]
fn dokkurc_assignments_are_read_as_data_never_run() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let witness = host.path().join("ran");
    std::fs::write(
        host.roots.dokku_root.join("dokkurc"),
        format!(
            "export DOKKU_QUIET_OUTPUT=1\ntouch {}\nX=$(touch {})\n",
            witness.display(),
            witness.display()
        ),
    )
    .unwrap();
    assert_eq!(host.ok(["apps:list"]), "demo\n");
    assert!(!witness.exists(), "a dokkurc line was executed");
}

#[test]
fn ssh_original_command_is_split_without_a_shell() {
    let host = TestHost::new();
    let ssh = |command: &str| {
        host.dokku(Vec::<&str>::new())
            .env("SSH_ORIGINAL_COMMAND", command)
            .write_stdin("")
            .output()
            .unwrap()
    };
    assert!(ssh("apps:create 'demo'").status.success());
    assert!(host.roots.app_dir("demo").is_dir());
    let witness = host.path().join("pwned");
    for attack in [
        format!("apps:list; touch {}", witness.display()),
        format!("apps:list && touch {}", witness.display()),
        format!("$(touch {})", witness.display()),
        format!("`touch {}`", witness.display()),
        format!("apps:create x$(touch {})", witness.display()),
        "bash".to_string(),
        "sh -c id".to_string(),
    ] {
        let out = ssh(&attack);
        assert!(
            !out.status.success(),
            "{attack:?} succeeded:\n{}",
            host.render(&out)
        );
        assert!(!witness.exists(), "{attack:?} executed something");
    }
    assert_eq!(host.ok(["--quiet", "apps:list"]), "demo\n");
    let unbalanced = ssh("apps:create 'demo");
    assert_eq!(
        stderr(&unbalanced),
        " !     Invalid command: unbalanced quotes\n"
    );
}

#[test]
fn user_auth_can_deny_commands() {
    let host = TestHost::new();
    let plugin = host.path().join("guard");
    make_plugin(
        &plugin,
        &[(
            "user-auth",
            "[[ $1 == \"${SSH_USER}\" && $2 == \"${SSH_NAME}\" ]] || exit 2\n[[ $3 != apps:destroy ]]",
        )],
    );
    assert!(host.install_plugin(&plugin, "guard").status.success());
    host.ok(["apps:create", "demo"]);
    let denied = host.run(["apps:destroy", "demo", "--force"]);
    assert_eq!(
        (denied.status.code(), stderr(&denied).as_str()),
        (Some(1), " !     Access denied\n")
    );
    assert!(host.roots.app_dir("demo").is_dir());
}

#[test]
fn failing_trigger_stops_the_chain_and_its_message_reaches_the_user() {
    let host = TestHost::new();
    let witness = host.path().join("later-ran");
    let failing = host.path().join("aa-fail");
    make_plugin(
        &failing,
        &[(
            "post-create",
            "echo ' !     quota exceeded for this host' >&2\nexit 3",
        )],
    );
    let later = host.path().join("zz-later");
    make_plugin(
        &later,
        &[("post-create", &format!("touch {}", witness.display()))],
    );
    assert!(host.install_plugin(&failing, "aa-fail").status.success());
    assert!(host.install_plugin(&later, "zz-later").status.success());
    let out = host.run(["apps:create", "demo"]);
    assert_eq!(out.status.code(), Some(3), "{}", host.render(&out));
    assert_eq!(
        stderr(&out),
        " !     quota exceeded for this host\n !     The post-create trigger of plugin aa-fail failed (exit 3); `dokku plugin:disable aa-fail` turns the plugin off\n"
    );
    assert!(!witness.exists(), "the chain went on after a failure");
    assert!(
        !host.roots.app_dir("demo").exists(),
        "a failed create left the app behind"
    );
}

#[test]
fn plugin_trigger_passes_arguments_and_stdin_through() {
    let host = TestHost::new();
    assert_eq!(
        host.ok(["plugin:trigger", "nobody-implements-this", "x"]),
        ""
    );
    let plugin = host.path().join("echoer");
    make_plugin(&plugin, &[("echo-args", "printf '%s|' \"$@\"; cat")]);
    assert!(host.install_plugin(&plugin, "echoer").status.success());
    let out = host
        .dokku(["plugin:trigger", "echo-args", "--flag", "a b", "$(id)"])
        .write_stdin("from stdin")
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "--flag|a b|$(id)|from stdin");
    let failing = host.path().join("failer");
    make_plugin(&failing, &[("fail-now", "exit 42")]);
    assert!(host.install_plugin(&failing, "failer").status.success());
    assert_eq!(
        host.run(["plugin:trigger", "fail-now"]).status.code(),
        Some(42)
    );
}

#[test]
fn aliases_route_to_the_plugin_directory() {
    let host = TestHost::new();
    let caddy = host.path().join("caddy-vhosts");
    make_plugin(
        &caddy,
        &[(
            "subcommands/show-config",
            "echo \"caddy-vhosts answered $*\"",
        )],
    );
    let manifest = caddy.join("plugin.toml");
    let declared = std::fs::read_to_string(&manifest).unwrap()
        + "[dispatch]\nprefixes = [\"caddy\"]\nroot-only = [\"show-config\"]\n";
    std::fs::write(&manifest, declared).unwrap();
    assert!(host.install_plugin(&caddy, "caddy-vhosts").status.success());
    assert_eq!(
        host.ok(["caddy:show-config", "demo"]),
        "caddy-vhosts answered caddy:show-config demo\n"
    );
    let over_ssh = host
        .dokku(["caddy:show-config", "demo"])
        .env("SSH_ORIGINAL_COMMAND", "caddy:show-config demo")
        .output()
        .unwrap();
    assert!(!over_ssh.status.success());
    assert!(
        host.render(&over_ssh)
            .contains("caddy:show-config is for root on the host, not for SSH keys"),
        "{}",
        host.render(&over_ssh)
    );
    let clash = host.path().join("other-caddy");
    make_plugin(&clash, &[]);
    std::fs::write(
        clash.join("plugin.toml"),
        std::fs::read_to_string(&manifest).unwrap(),
    )
    .unwrap();
    let refused = host.install_plugin(&clash, "other-caddy");
    assert!(!refused.status.success());
    assert!(
        host.render(&refused)
            .contains("Plugins caddy-vhosts and other-caddy both answer commands caddy"),
        "{}",
        host.render(&refused)
    );
    host.ok(["apps:create", "demo"]);
    host.ok([
        "dockerfile:set",
        "demo",
        "dockerfile-path",
        "web.Dockerfile",
    ]);
    assert_eq!(
        host.ok([
            "builder-dockerfile:report",
            "demo",
            "--builder-dockerfile-dockerfile-path"
        ]),
        "web.Dockerfile\n"
    );
}

#[test]
fn plugins_see_the_exported_environment() {
    let host = TestHost::new();
    let plugin = host.path().join("envdump");
    let names = [
        "DOKKU_ROOT",
        "DOKKU_LIB_ROOT",
        "PLUGIN_PATH",
        "PLUGIN_ENABLED_PATH",
        "PLUGIN_CORE_AVAILABLE_PATH",
        "DOKKU_NOT_IMPLEMENTED_EXIT",
        "DOKKU_API_VERSION",
        "DOCKER_BIN",
        "DOKKU_QUIET_OUTPUT",
        "DOKKU_APP_NAME",
        "DOKKU_GLOBAL_FLAGS",
        "SSH_NAME",
    ];
    let body = names
        .iter()
        .map(|n| format!("echo {n}=${n}"))
        .collect::<Vec<_>>()
        .join("\n");
    make_plugin(&plugin, &[("subcommands/show", &body)]);
    assert!(host.install_plugin(&plugin, "envdump").status.success());
    let out = host.render(&host.run(["--quiet", "--app", "demo", "envdump:show"]));
    // The docker client is the machine's (install.sh picks the one with BuildKit).
    let out = out.replace(
        &format!("DOCKER_BIN={}", dokku_test_support::docker_bin()),
        "DOCKER_BIN=<this machine's client>",
    );
    insta::assert_snapshot!("exported_environment", out);
}
