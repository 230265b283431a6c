use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

#[test]
fn network_properties_are_set_checked_and_reported_as_dokkus() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let help = host.ok(["network:help"]);
    assert!(
        help.contains("Manage network settings for an app"),
        "{help}"
    );
    assert_eq!(host.ok(["network"]), help);

    host.ok(["network:set", "--global", "tld", "dokku.test"]);
    let global: serde_json::Value =
        serde_json::from_str(&host.ok(["network:report", "--global", "--format", "json"])).unwrap();
    assert_eq!(global["network-global-tld"], "dokku.test");
    assert_eq!(global["global-tld"], "dokku.test");
    assert_eq!(global["computed-tld"], "dokku.test");
    assert!(global.get("network-tld").is_none());
    assert!(host.ok(["network:report", "--global"]).contains("--global"));

    let report = |key: &str| host.ok(["network:report", "demo", &format!("--network-{key}")]);
    assert_eq!(report("computed-bind-all-interfaces"), "false\n");
    host.ok(["network:set", "demo", "bind-all-interfaces", "true"]);
    assert_eq!(report("bind-all-interfaces"), "true\n");
    host.ok(["network:set", "demo", "bind-all-interfaces"]);
    assert_eq!(report("bind-all-interfaces"), "\n");

    host.ok(["network:set", "demo", "attach-post-create", "one", "two"]);
    assert_eq!(report("attach-post-create"), "one,two\n");
    let taken = host.run(["network:set", "demo", "attach-post-deploy", "two"]);
    assert!(
        stderr(&taken).contains("Network name already associated with this app: two"),
        "{}",
        stderr(&taken)
    );
    host.ok(["network:set", "demo", "attach-post-deploy", "three"]);
    assert_eq!(
        host.ok([
            "plugin:trigger",
            "network-get-property",
            "demo",
            "attach-post-deploy"
        ]),
        "three\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["network:report", "demo", "--format", "json"])).unwrap();
    assert_eq!(json["web-listeners"], "");
    assert_eq!(json["network-computed-tld"], "dokku.test");

    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["network:set", "demo", "attach-post-create", "host"],
            vec!["network:set", "demo", "attach-post-create", "bridge"],
            vec!["network:set", "demo", "initial-network", "bad name"],
            vec!["network:set", "demo", "bind-all-interfaces", "yes"],
            vec!["network:set", "demo", "tld", "a..b"],
            vec!["network:set", "demo", "bogus", "x"],
            vec!["network:set", "missing", "tld", "x"],
            vec!["plugin:trigger", "network-get-property", "demo", "bogus"],
        ],
    );
    assert_eq!(host.state(), before);
}
