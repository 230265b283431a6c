use crate::build::{docker, docker_ok, push};
use crate::commit;
use crate::run::{container_ip, http_get, web_scenario};

fn web_id(web: &str) -> String {
    docker(&["container", "inspect", "--format", "{{.Id}}", web])
}

/// The ids of the app's images, each once: a rollback builds none.
fn image_ids(app: &str) -> Vec<String> {
    let mut ids: Vec<String> = docker(&["image", "ls", "--quiet", &format!("dokku/{app}")])
        .lines()
        .map(String::from)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

pub fn env_of(web: &str) -> String {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        web,
    ])
}

#[test]
fn each_change_is_a_release_and_rollback_redeploys_one_without_building() {
    let (host, sshd, key, app, work) = web_scenario("rel");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Release v1: Deploy "), "{out}");
    host.ok(["checks:set", a, "wait-to-retire", "0"]);
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Release v2: Deploy "), "{out}");
    host.ok(["config:set", a, "GREETING=hello"]);
    // A restart runs the same image and config: no new release.
    host.ok(["ps:restart", a]);

    let list = host.ok(["releases", a]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].contains(&format!("{a} releases")), "{list}");
    assert!(lines[1].trim_start().starts_with("v3"), "{list}");
    assert!(
        lines[1].ends_with("Set GREETING config var (current)"),
        "{list}"
    );
    assert!(lines[2].trim_start().starts_with("v2"), "{list}");
    assert!(lines[3].trim_start().starts_with("v1"), "{list}");
    assert_eq!(lines.len(), 4, "{list}");
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["releases", a, "--format", "json"])).unwrap();
    assert_eq!(json[0]["version"], "v3");
    assert_eq!(json[0]["current"], true);
    let keys = json[0]["config_keys"].as_array().unwrap();
    assert!(
        keys.contains(&"GIT_REV".into()) && keys.contains(&"GREETING".into()),
        "{json}"
    );
    assert!(
        !json.to_string().contains("hello"),
        "values never show: {json}"
    );
    let info = host.ok(["releases:info", a, "v2"]);
    assert!(
        info.contains("Current:") && info.contains("false"),
        "{info}"
    );
    assert!(info.contains("build-2"), "{info}");

    // Back to v1: its image and its config (no GREETING), as a new release, no build.
    let images_before = image_ids(a);
    let before = web_id(&web);
    let out = host.ok(["releases:rollback", a, "v1"]);
    assert!(out.contains("Rolling back"), "{out}");
    assert!(!out.contains("Building"), "{out}");
    assert_ne!(web_id(&web), before);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    assert!(!env_of(&web).contains("GREETING"), "{}", env_of(&web));
    assert!(!host.run(["config:get", a, "GREETING"]).status.success());
    assert_eq!(image_ids(a), images_before);
    let list = host.ok(["releases", a]);
    assert!(
        list.lines()
            .nth(1)
            .unwrap()
            .ends_with("Rollback to v1 (current)"),
        "{list}"
    );

    // Forward again: the release before the current one is v3 (version 2, GREETING).
    host.ok(["releases:rollback", a]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    assert!(env_of(&web).contains("GREETING=hello"));
    assert_eq!(host.ok(["config:get", a, "GREETING"]).trim(), "hello");

    // Refusals: one line each, nothing changes.
    let serving = web_id(&web);
    for (args, says) in [
        (vec!["releases:rollback", a, "v9"], "has no release v9"),
        (vec!["releases:rollback", a, "v5"], "already"),
        (vec!["releases:rollback", a, "latest"], "Invalid release"),
        (vec!["releases:info", a, "v0"], "Invalid release"),
        (vec!["releases:set", a, "keep", "0"], "1 to 100"),
    ] {
        let out = host.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(web_id(&web), serving);

    // Only the newest releases are kept, and the builds they need.
    host.ok(["releases:set", a, "keep", "2"]);
    host.ok(["config:set", a, "GREETING=bye"]);
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["releases", a, "--format", "json"])).unwrap();
    let versions: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["v6", "v5"]);
    let out = host.run(["releases:rollback", a, "v1"]);
    assert!(!out.status.success());

    // With skip-deploy a change is released but not deployed: the same container runs.
    host.ok(["ps:set", a, "skip-deploy", "true"]);
    let before = web_id(&web);
    let out = host.ok(["config:set", a, "GREETING=skipped"]);
    assert!(out.contains("Skipping deployment"), "{out}");
    assert_eq!(web_id(&web), before);
    host.ok(["ps:set", a, "skip-deploy"]);

    // A release also carries the app's registry repository name, when it has its own.
    let repo = format!("e2e-registry/{a}");
    host.ok(["registry:set", a, "image-repo", &repo]);
    host.ok(["config:set", a, "GREETING=named"]);
    let tagged = docker_ok(&["image", "inspect", &format!("{repo}:latest")]);
    let _ = docker_ok(&["image", "rm", &format!("{repo}:latest")]);
    for tag in docker(&["image", "ls", "--format", "{{.Tag}}", &repo]).lines() {
        let _ = docker_ok(&["image", "rm", &format!("{repo}:{tag}")]);
    }
    assert!(tagged, "no {repo}:latest");

    host.ok(["--force", "apps:destroy", a]);
    assert!(!host.roots.data_dir("releases", a).exists());
    assert!(!docker_ok(&["image", "inspect", &app.image("latest")]));
}
