use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

fn report(host: &TestHost, slot: &str) -> serde_json::Value {
    serde_json::from_str(&host.ok(["registry:report", slot, "--format", "json"])).unwrap()
}

#[test]
fn image_repo_server_and_push_settings_compute_as_dokkus() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert!(
        host.ok(["registry"])
            .contains("Manage registry settings for an app")
    );

    let json = report(&host, "demo");
    assert_eq!(json["registry-computed-image-repo"], "dokku/demo");
    assert_eq!(json["computed-image-repo"], "dokku/demo");
    assert_eq!(json["registry-computed-push-on-release"], "false");
    assert_eq!(json["registry-computed-server"], "");

    // A template that does not render leaves the default; one that does names the repo.
    host.ok([
        "registry:set",
        "--global",
        "image-repo-template",
        "dokku/{{ APP }}",
    ]);
    assert_eq!(
        report(&host, "demo")["registry-computed-image-repo"],
        "dokku/demo"
    );
    host.ok([
        "registry:set",
        "--global",
        "image-repo-template",
        "global-prefix/{{ .AppName }}",
    ]);
    host.ok([
        "registry:set",
        "demo",
        "image-repo-template",
        "app-prefix/{{ .AppName }}-prod",
    ]);
    let json = report(&host, "demo");
    assert_eq!(json["registry-computed-image-repo"], "app-prefix/demo-prod");
    assert_eq!(
        json["registry-global-image-repo-template"],
        "global-prefix/{{ .AppName }}"
    );
    host.ok(["registry:set", "demo", "image-repo", "my/demo"]);
    assert_eq!(
        host.ok(["plugin:trigger", "deployed-app-image-repo", "demo"]),
        "my/demo\n"
    );

    // The computed server is the images' prefix; Docker Hub has none.
    host.ok(["registry:set", "--global", "server", "ghcr.io"]);
    assert_eq!(
        host.ok(["registry:report", "demo", "--registry-computed-server"]),
        "ghcr.io/\n"
    );
    host.ok(["registry:set", "demo", "server", "docker.io"]);
    assert_eq!(
        host.ok(["registry:report", "demo", "--registry-computed-server"]),
        "\n"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "deployed-app-repository", "demo"]),
        "\n"
    );

    host.ok(["registry:set", "--global", "push-on-release", "true"]);
    host.ok([
        "registry:set",
        "--global",
        "push-extra-tags",
        "latest,stable",
    ]);
    let global = report(&host, "--global");
    assert_eq!(global["registry-computed-push-on-release"], "true");
    assert_eq!(global["registry-computed-server"], "ghcr.io/");
    assert_eq!(global["registry-computed-push-extra-tags"], "latest,stable");
    assert!(global.get("registry-image-repo").is_none(), "{global}");
    assert_eq!(
        host.ok(["plugin:trigger", "deployed-app-image-tag", "demo"]),
        "1\n"
    );

    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["registry:set", "--global", "image-repo", "x/y"],
            vec!["registry:set", "demo", "image-repo", "Bad Repo"],
            vec!["registry:set", "demo", "push-on-release", "maybe"],
            vec!["registry:set", "demo", "push-extra-tags", "ok,,bad"],
            vec!["registry:set", "demo", "server", "-oops"],
            vec!["registry:login", "--global", "ghcr.io"],
            vec!["registry:logout", "demo", "ghcr.io"],
        ],
    );
    assert_eq!(host.state(), before);
    let missing = host.run(["registry:login", "--global", "ghcr.io", "someone"]);
    assert!(
        stderr(&missing).contains("Missing password argument"),
        "{}",
        stderr(&missing)
    );

    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!host.roots.config_dir().join("registry/demo").exists());
}
