use dokku_test_support::TestHost;

use crate::refused_in_one_line;

#[test]
fn swarm_settings_and_node_addresses_are_checked_before_any_engine_is_asked() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok([
        "scheduler-swarm:set",
        "demo",
        "image-distribution",
        "registry",
    ]);
    host.ok(["scheduler-swarm:set", "--global", "deploy-timeout", "120"]);
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["scheduler-swarm:report", "demo", "--format", "json"]))
            .unwrap();
    assert_eq!(
        json["scheduler-swarm-computed-image-distribution"], "registry",
        "{json}"
    );
    assert_eq!(
        json["scheduler-swarm-computed-deploy-timeout"], "120",
        "{json}"
    );
    refused_in_one_line(
        &host,
        &[
            vec!["scheduler-swarm:set", "demo", "image-distribution", "ftp"],
            vec!["scheduler-swarm:set", "demo", "network", "overlay"],
            vec!["scheduler-swarm:set", "--global", "network", "-bad"],
            vec!["scheduler-swarm:set", "--global", "deploy-timeout", "soon"],
            vec!["scheduler-swarm:cluster:add", "tcp://10.0.0.2:2375"],
            vec!["scheduler-swarm:cluster:add", "ssh://-oProxyCommand=touch"],
            vec![
                "scheduler-swarm:cluster:add",
                "--role",
                "king",
                "ssh://root@node",
            ],
            vec![
                "scheduler-swarm:initialize",
                "--advertise-addr",
                "not-an-ip",
            ],
            vec!["scheduler-swarm:reconcile", "no-such-app"],
        ],
    );
}
