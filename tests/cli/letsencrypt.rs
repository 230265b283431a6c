use dokku_test_support::TestHost;

use crate::refused_in_one_line;

#[test]
fn settings_are_checked_and_reported() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    refused_in_one_line(
        &host,
        &[
            vec!["letsencrypt:set", "demo", "email", "not-an-address"],
            vec!["letsencrypt:set", "demo", "server", "ftp://acme.example"],
            vec!["letsencrypt:set", "demo", "graceperiod", "soon"],
            vec!["letsencrypt:set", "demo", "lego-args", "--path /etc"],
            vec!["letsencrypt:set", "demo", "dns-provider", "a b"],
            vec!["letsencrypt:set", "demo", "colour", "blue"],
            vec!["letsencrypt:set", "missing", "email", "ops@example.com"],
            vec!["letsencrypt:set", "demo", "dns-provider-lower_case", "x"],
            vec!["letsencrypt:set", "demo", "dns-provider-", "x"],
            // Names that would load or run a program of the admin's choosing as the dokku
            // user, or steer lego itself.
            vec![
                "letsencrypt:set",
                "demo",
                "dns-provider-LD_PRELOAD",
                "/tmp/x.so",
            ],
            vec![
                "letsencrypt:set",
                "demo",
                "dns-provider-LD_LIBRARY_PATH",
                "/tmp",
            ],
            vec!["letsencrypt:set", "demo", "dns-provider-GCONV_PATH", "/tmp"],
            vec!["letsencrypt:set", "demo", "dns-provider-PATH", "/tmp"],
            vec!["letsencrypt:set", "demo", "dns-provider-HOME", "/tmp"],
            vec![
                "letsencrypt:set",
                "demo",
                "dns-provider-EXEC_PATH",
                "/tmp/x",
            ],
            vec!["letsencrypt:set", "demo", "dns-provider-LEGO_PATH", "/tmp"],
            vec![
                "letsencrypt:set",
                "--global",
                "dns-provider-SSL_CERT_FILE",
                "/x",
            ],
            vec!["letsencrypt:set", "demo", "dns-provider", "exec"],
        ],
    );
    // Values may look like flags; credentials are stored but never reported.
    host.ok(["letsencrypt:set", "demo", "lego-args", "--key-type rsa2048"]);
    host.ok([
        "letsencrypt:set",
        "demo",
        "dns-provider-CF_DNS_API_TOKEN",
        "sekrit",
    ]);
    assert!(!host.ok(["letsencrypt:report", "demo"]).contains("sekrit"));
    host.ok(["letsencrypt:set", "demo", "dns-provider-CF_DNS_API_TOKEN"]);
    host.ok(["letsencrypt:set", "--global", "email", "ops@example.com"]);
    host.ok(["letsencrypt:set", "demo", "server", "staging"]);
    host.ok(["letsencrypt:set", "demo", "graceperiod", "86400"]);
    let report = host.ok(["letsencrypt:report", "demo", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["letsencrypt-computed-email"], "ops@example.com");
    assert_eq!(report["letsencrypt-server"], "staging");
    assert_eq!(report["letsencrypt-computed-graceperiod"], "86400");
    assert_eq!(report["letsencrypt-active"], "false");
    assert_eq!(report["letsencrypt-autorenew"], "false");
    assert_eq!(host.ok(["letsencrypt:active", "demo"]).trim(), "false");
    assert!(
        host.ok(["letsencrypt:report", "--global"])
            .contains("ops@example.com")
    );
}

#[test]
fn enable_asks_nothing_of_a_server_without_domains_an_address_or_a_site() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let enable = |expected: &str| {
        let out = host.run(["letsencrypt:enable", "demo"]);
        assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{}", host.render(&out));
        assert_eq!(stderr.lines().count(), 1, "{}", host.render(&out));
    };
    enable("No domains detected for demo");
    host.ok(["domains:set", "demo", "demo.example.com"]);
    enable("without an e-mail address");
    host.ok(["letsencrypt:set", "demo", "email", "ops@example.com"]);
    // (An undeployed app's 502 site answers the challenge too; one without a proxy none.)
    host.ok(["proxy:disable", "demo"]);
    enable("no nginx site");
    assert!(
        !host.roots.lib_root.join("data/letsencrypt/demo").exists(),
        "a refused enable leaves no state"
    );
    let out = host.run(["letsencrypt:enable"]);
    assert_eq!(out.status.code(), Some(1));
    let out = host.run(["letsencrypt:revoke", "demo"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no letsencrypt certificate"));
    assert!(
        host.ok(["letsencrypt:auto-renew", "demo"])
            .contains("not enabled")
    );
}

#[test]
fn lego_runs_with_a_clean_environment_and_the_providers_credentials() {
    use std::os::unix::fs::PermissionsExt;
    let host = TestHost::new();
    let bin = host.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = host.path().join("lego-env");
    // A stand-in for lego that records the environment it was given.
    std::fs::write(
        bin.join("lego"),
        format!("#!/bin/sh\nenv > {}\nexit 1\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("lego"), std::fs::Permissions::from_mode(0o755)).unwrap();
    host.ok(["apps:create", "demo"]);
    host.ok(["domains:set", "demo", "demo.example.com"]);
    host.ok(["letsencrypt:set", "demo", "email", "ops@example.com"]);
    host.ok(["letsencrypt:set", "demo", "dns-provider", "httpreq"]);
    host.ok([
        "letsencrypt:set",
        "demo",
        "dns-provider-HTTPREQ_PASSWORD",
        "sekrit",
    ]);
    // A name stored before the rules held is never handed over.
    let stored = host
        .roots
        .lib_root
        .join("config/letsencrypt/demo/dns-provider-LD_PRELOAD");
    std::fs::write(&stored, "/tmp/evil.so").unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = host
        .dokku(["letsencrypt:enable", "demo"])
        .env("PATH", path)
        .env("LD_PRELOAD", "")
        .env("INHERITED_SECRET", "x")
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    let env = std::fs::read_to_string(&seen).unwrap();
    assert!(env.contains("HTTPREQ_PASSWORD=sekrit\n"), "{env}");
    assert!(env.contains("PATH=/usr/local/bin:/usr/bin:/bin\n"), "{env}");
    for absent in ["LD_PRELOAD", "INHERITED_SECRET", "DOKKU_ROOT", "HOME="] {
        assert!(!env.contains(absent), "{absent}: {env}");
    }
}
