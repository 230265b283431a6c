use dokku_test_support::TestHost;

#[test]
fn trace_mode_is_turned_on_for_later_commands_and_off_again() {
    let host = TestHost::new();
    let help = host.ok(["trace"]);
    assert!(help.contains("Manage trace mode"), "{help}");
    assert_eq!(host.ok(["trace:help"]), help);
    let switch = host.roots.dokku_root.join(".dokkurc/DOKKU_TRACE");
    host.ok(["trace:on"]);
    assert!(switch.exists());
    // A later command runs in trace mode: what it runs is shown as it starts.
    let traced = host.run(["apps:create", "demo"]);
    assert!(traced.status.success());
    assert!(
        String::from_utf8_lossy(&traced.stderr).contains("+ "),
        "{}",
        host.render(&traced)
    );
    host.ok(["trace:off"]);
    assert!(!switch.exists());
    let quiet = host.run(["apps:create", "other"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("+ "));
}
