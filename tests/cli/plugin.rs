use dokku_test_support::{TestHost, workspace_root};
use insta::assert_snapshot;

use crate::{make_plugin, refused_in_one_line, stderr};

fn hello_bash() -> std::path::PathBuf {
    workspace_root().join("tests/fixtures/plugins/hello-bash")
}

#[test]
fn list_shows_core_plugins() {
    let host = TestHost::new();
    assert_snapshot!("plugin_list", host.render(&host.run(["plugin:list"])));
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["plugin:list", "--format", "json"])).unwrap();
    assert_eq!(json[0]["name"], "00_dokku-standard");
    assert_eq!(json[0]["core"], true);
    assert!(host.run(["plugin:installed", "apps"]).status.success());
    assert_eq!(
        host.run(["plugin:installed", "nope"]).status.code(),
        Some(1)
    );
}

#[test]
fn install_from_a_path_enables_and_runs_install_triggers() {
    let host = TestHost::new();
    let src = host.path().join("src-plugin");
    let log = host.path().join("order");
    make_plugin(
        &src,
        &[
            (
                "dependencies",
                &format!("echo dependencies >> {}", log.display()),
            ),
            ("install", &format!("echo install >> {}", log.display())),
        ],
    );
    let out = host.run([
        "plugin:install",
        &format!("file://{}", src.display()),
        "--name",
        "extra",
    ]);
    assert_snapshot!("install_path", host.render(&out));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "install\n");
    host.ok(["plugin:install-dependencies"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "install\ndependencies\n"
    );
    assert!(
        host.ok(["plugin:list"])
            .contains("  extra                0.0.1 enabled    test plugin")
    );
    let again = host.run(["plugin:install", src.to_str().unwrap(), "--name", "extra"]);
    assert_eq!(
        stderr(&again),
        " !     Plugin extra is already installed; use plugin:update to update it\n"
    );
}

#[test]
fn install_rejects_bad_sources_and_names_without_changes() {
    let host = TestHost::new();
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["plugin:install", "/does/not/exist"],
            vec!["plugin:install", "ftp://example.invalid/x"],
            vec![
                "plugin:install",
                hello_bash().to_str().unwrap(),
                "--name",
                "../escape",
            ],
            vec![
                "plugin:install",
                hello_bash().to_str().unwrap(),
                "--name",
                ".hidden",
            ],
        ],
    );
    assert_eq!(host.state(), before);
}

#[test]
fn failing_install_trigger_removes_the_plugin_again() {
    let host = TestHost::new();
    let src = host.path().join("broken");
    make_plugin(
        &src,
        &[("install", "echo ' !     cannot install here' >&2; exit 1")],
    );
    let out = host.run(["plugin:install", src.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot install here"));
    assert!(!host.roots.plugin_available().join("broken").exists());
    assert!(!host.roots.plugin_enabled().join("broken").exists());
}

#[test]
fn enable_disable_uninstall() {
    let host = TestHost::new();
    assert!(host.install_plugin(&hello_bash(), "hello").status.success());
    assert_eq!(host.ok(["hello:world"]), "hello world\n");
    assert_eq!(
        host.ok(["plugin:disable", "hello"]),
        "-----> Plugin hello disabled\n"
    );
    assert_eq!(host.run(["hello:world"]).status.code(), Some(1));
    assert_eq!(
        stderr(&host.run(["plugin:disable", "hello"])),
        " !     Plugin already disabled\n"
    );
    assert_eq!(
        host.ok(["plugin:enable", "hello"]),
        "-----> Plugin hello enabled\n"
    );
    assert_eq!(host.ok(["hello:world"]), "hello world\n");
    assert_eq!(
        stderr(&host.run(["plugin:disable", "apps"])),
        " !     Cannot disable a core plugin\n"
    );
    assert_eq!(
        stderr(&host.run(["plugin:uninstall", "apps"])),
        " !     Cannot uninstall a core plugin\n"
    );
    assert_eq!(
        host.ok(["plugin:uninstall", "hello"]),
        "-----> Plugin hello uninstalled\n"
    );
    assert!(!host.roots.plugin_available().join("hello").exists());
    assert_eq!(
        stderr(&host.run(["plugin:uninstall", "hello"])),
        " !     Plugin does not exist\n"
    );
}

#[test]
fn install_from_git_and_update() {
    let host = TestHost::new();
    let repo = host.path().join("hello-git");
    dokku_core::fs::copy_tree(&hello_bash(), &repo).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "v1"]);
    let out = host.run([
        "plugin:install",
        &format!("file://{}", repo.display()),
        "--name",
        "hello",
    ]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(host.ok(["hello:world"]), "hello world\n");
    let list: serde_json::Value =
        serde_json::from_str(&host.ok(["plugin:list", "--format", "json"])).unwrap();
    let plugin = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    let hello = plugin("hello");
    assert_eq!(hello["source_url"], repo.display().to_string());
    assert_eq!(hello["committish"].as_str().unwrap().len(), 40);
    assert!(!hello["branch"].as_str().unwrap().is_empty());
    assert_eq!(plugin("apps")["source_url"], "");
    crate::script(&repo.join("subcommands/world"), "echo updated world");
    git(&["commit", "-qam", "v2"]);
    let updated = host.run(["plugin:update", "hello"]);
    assert!(updated.status.success(), "{}", host.render(&updated));
    assert_eq!(host.ok(["hello:world"]), "updated world\n");
    assert!(stderr(&host.run(["plugin:update", "apps"])).contains("Cannot update a core plugin"));
}
