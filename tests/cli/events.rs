use dokku_test_support::TestHost;

#[test]
fn trigger_calls_are_logged_while_events_are_on() {
    let host = TestHost::new();
    let log = host.roots.logs_dir.join("events.log");
    std::fs::create_dir_all(&host.roots.logs_dir).unwrap();
    std::fs::write(&log, "").unwrap();
    assert!(host.ok(["events:help"]).contains("Manage event logging"));
    let list = host.run(["events:list"]);
    assert!(String::from_utf8_lossy(&list.stderr).contains("Events logger disabled"));

    host.ok(["apps:create", "quiet"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");

    assert!(
        host.ok(["events:on"])
            .contains("Enabling dokku events logger")
    );
    host.ok(["apps:create", "demo"]);
    let logged = std::fs::read_to_string(&log).unwrap();
    let line = logged
        .lines()
        .find(|l| l.contains("INVOKED: post-create( demo )"))
        .unwrap_or_else(|| panic!("{logged}"));
    assert!(line.contains(" dokku-event["), "{line}");
    assert!(
        line.contains(" NAME=") && line.contains(" DOKKU_PID="),
        "{line}"
    );
    assert!(host.ok(["events"]).contains("INVOKED: post-create( demo )"));
    assert!(host.ok(["events:list"]).lines().any(|l| l == "post-create"));

    assert!(
        host.ok(["events:off"])
            .contains("Disabling dokku events logger")
    );
    let before = std::fs::read_to_string(&log).unwrap();
    host.ok(["apps:create", "later"]);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), before);
}
