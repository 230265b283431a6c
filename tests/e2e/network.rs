use crate::build::{docker, docker_ok, push};
use crate::run::{http_get, web_scenario};

/// Removes the test's networks even when it failed midway.
struct Networks(Vec<String>);

impl Drop for Networks {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = std::process::Command::new(dokku_test_support::docker_bin())
                .args(["network", "rm", name])
                .output();
        }
    }
}

#[test]
fn containers_start_on_join_and_publish_what_the_network_settings_say() {
    let (host, sshd, key, app, work) = web_scenario("net");
    let a = app.0.as_str();
    let names: Vec<String> = ["initial", "create", "deploy"]
        .iter()
        .map(|n| format!("{a}-{n}"))
        .collect();
    let networks = Networks(names.clone());
    let [initial, create, deploy] = [&names[0], &names[1], &names[2]];
    for name in &networks.0 {
        host.ok(["network:create", name]);
    }
    assert!(!host.run(["network:create", initial]).status.success());
    host.ok(["network:exists", initial]);
    assert!(
        !host
            .run(["network:exists", &format!("{a}-missing")])
            .status
            .success()
    );
    let list: serde_json::Value =
        serde_json::from_str(&host.ok(["network:list", "--format", "json"])).unwrap();
    let managed = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|n| n["Name"] == name)
            .map(|n| n["DokkuManaged"].clone())
    };
    assert_eq!(managed("bridge"), Some(serde_json::Value::Bool(false)));
    assert_eq!(managed(initial), Some(serde_json::Value::Bool(true)));
    assert!(
        !host
            .ok(["network:list", "--dokku-managed"])
            .lines()
            .any(|l| l == "bridge")
    );

    host.ok(["apps:create", a]);
    host.ok(["network:set", a, "initial-network", initial]);
    host.ok(["network:set", a, "attach-post-create", create]);
    host.ok(["network:set", a, "attach-post-deploy", deploy]);
    host.ok(["network:set", a, "bind-all-interfaces", "true"]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("Associating app with network {deploy}")),
        "{out}"
    );

    let web = format!("{a}.web.1");
    let inspect = |format: &str| docker(&["container", "inspect", "--format", format, &web]);
    assert_eq!(inspect("{{.HostConfig.NetworkMode}}"), *initial);
    let joined = inspect("{{range $name, $n := .NetworkSettings.Networks}}{{$name}} {{end}}");
    for name in [initial, create, deploy] {
        assert!(joined.split_whitespace().any(|n| n == name), "{joined}");
    }
    let aliases = inspect(&format!(
        "{{{{json (index .NetworkSettings.Networks \"{deploy}\").Aliases}}}}"
    ));
    assert!(aliases.contains(&format!("\"{a}.web\"")), "{aliases}");
    assert!(!docker(&["container", "port", &web]).is_empty());
    // The app answers at its address on the network it started on, which routing uses.
    let ip = inspect(&format!(
        "{{{{(index .NetworkSettings.Networks \"{initial}\").IPAddress}}}}"
    ));
    assert!(http_get(&ip, 5000).contains("version 1"));
    let listeners = host.ok(["network:report", a, "--network-web-listeners"]);
    assert_eq!(listeners.trim(), format!("{ip}:5000"));

    // A network in use stays; once the app is gone it can go.
    assert!(
        !host
            .run(["--force", "network:destroy", create])
            .status
            .success()
    );
    host.ok(["--force", "apps:destroy", a]);
    for name in [initial, create, deploy] {
        host.ok(["--force", "network:destroy", name]);
        assert!(!docker_ok(&["network", "inspect", name]));
    }
}
