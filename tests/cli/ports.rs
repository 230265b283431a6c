use dokku_test_support::TestHost;

use crate::refused_in_one_line;

fn effective(host: &TestHost) -> String {
    host.ok(["plugin:trigger", "ports-get", "demo"])
}

#[test]
fn port_mappings_are_set_detected_and_defaulted() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "demo"]);
    assert_eq!(effective(&host), "http:80:5000\n");
    // Without vhosts the app answers on a free port of its own, kept, until they are back.
    host.ok(["domains:disable", "demo"]);
    let own = effective(&host);
    assert!(
        own.starts_with("http:") && !own.starts_with("http:80:"),
        "{own}"
    );
    assert_eq!(effective(&host), own);
    let port = own.split(':').nth(1).unwrap();
    let urls = host.ok(["urls", "demo"]);
    assert!(urls.contains(&format!("http://dokku.me:{port}")), "{urls}");
    host.ok(["domains:enable", "demo"]);
    assert_eq!(effective(&host), "http:80:5000\n");
    // The proxy's global proxy-port moves the default mapping.
    host.ok(["proxy:set", "--global", "proxy-port", "30999"]);
    assert_eq!(effective(&host), "http:30999:5000\n");
    assert_eq!(
        host.ok(["plugin:trigger", "ports-get-property", "demo", "proxy-port"]),
        "30999\n"
    );
    assert!(
        host.ok(["urls", "demo"])
            .contains("http://demo.dokku.me:30999")
    );
    host.ok(["proxy:set", "--global", "proxy-port"]);
    assert_eq!(effective(&host), "http:80:5000\n");
    assert_eq!(
        host.ok(["plugin:trigger", "ports-get-property", "demo", "proxy-port"]),
        "80\n"
    );
    host.ok([
        "plugin:trigger",
        "ports-set-detected",
        "demo",
        "http:5000:5000 udp:53:53",
    ]);
    assert_eq!(effective(&host), "http:5000:5000\nudp:53:53\n");

    host.ok(["ports:add", "demo", "http:8080:5000"]);
    assert_eq!(
        effective(&host),
        "http:5000:5000\nhttp:8080:5000\nudp:53:53\n",
        "kept sorted, as Dokku keeps them"
    );
    host.ok(["ports:remove", "demo", "5000"]);
    host.ok(["ports:remove", "demo", "udp:53:53"]);
    assert_eq!(effective(&host), "http:8080:5000\n");
    host.ok(["ports:set", "demo", "http:80:8000", "https:443:8000"]);
    assert_eq!(effective(&host), "http:80:8000\nhttps:443:8000\n");
    let list = host.ok(["ports:list", "demo"]);
    assert!(list.contains("Port mappings for demo"), "{list}");
    assert!(
        list.lines()
            .any(|l| l.split_whitespace().eq(["https", "443", "8000"])),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["ports:list", "demo", "--format", "json"])).unwrap();
    assert_eq!(json[0]["host_port"], 80);
    assert_eq!(
        host.ok(["ports:report", "demo", "--ports-map"]).trim(),
        "http:80:8000 https:443:8000"
    );
    assert_eq!(
        host.ok(["ports:report", "demo", "--ports-map-detected"])
            .trim(),
        "http:5000:5000 udp:53:53"
    );
    host.ok(["ports:clear", "demo"]);
    assert_eq!(effective(&host), "http:5000:5000\nudp:53:53\n");

    refused_in_one_line(
        &host,
        &[
            vec!["ports:add", "demo", "tcp:80:5000"],
            vec!["ports:add", "demo", "http:80"],
            vec!["ports:set", "demo", "http:99999:5000"],
            vec!["ports:remove", "demo", "port"],
            vec!["ports:add", "missing", "http:80:5000"],
            // One mapping per host port, and no mapping twice.
            vec!["ports:set", "demo", "http:1234:5001", "http:1234:5002"],
            vec!["ports:add", "demo", "http:12345:5002", "http:12345:5004"],
            vec!["ports:add", "demo", "http:5000:5003"],
            vec!["ports:add", "demo", "http:5000:5000"],
        ],
    );
    assert_eq!(effective(&host), "http:5000:5000\nudp:53:53\n");
    host.ok(["apps:destroy", "--force", "demo"]);
    assert!(!host.roots.config_dir().join("ports/demo").exists());
}

#[test]
fn a_certificate_brings_https_443_and_takes_it_away() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["ports:report", "demo", "--ports-map-detected"]),
        "http:80:5000\n",
        "before any build, the default"
    );
    host.ok(["ports:set", "demo", "http:80:5000"]);
    host.ok(["certs:generate", "demo", "demo.example.com"]);
    let map = || host.ok(["ports:report", "demo", "--ports-map"]);
    assert_eq!(map(), "http:80:5000 https:443:5000\n");
    let ssl = |flag: &str| host.ok(["certs:report", "demo", flag]);
    assert_eq!(ssl("--ssl-hostnames"), "demo.example.com\n");
    assert_eq!(ssl("--ssl-subject"), "CN=demo.example.com\n");
    assert_eq!(ssl("--ssl-verified"), "self signed\n");
    assert_eq!(ssl("--ssl-enabled"), "true\n");
    assert!(ssl("--ssl-dir").trim_end().ends_with("/demo/tls"));
    assert_eq!(
        host.ok(["certs:report", "--global", "--format", "json"]),
        "{}\n"
    );
    let out = host.run(["certs:show", "demo"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("specify either 'key' or 'crt'"));
    host.ok(["certs:remove", "demo"]);
    assert_eq!(map(), "http:80:5000\n");
    assert_eq!(ssl("--ssl-enabled"), "false\n");
    // A map never set follows the certificate by itself: its own map stays empty.
    host.ok(["ports:clear", "demo"]);
    let detected = || host.ok(["ports:report", "demo", "--ports-map-detected"]);
    host.ok(["certs:generate", "demo", "demo.example.com"]);
    assert_eq!(map(), "\n");
    assert_eq!(detected(), "http:80:5000 https:443:5000\n");
    host.ok(["certs:remove", "demo"]);
    assert_eq!(detected(), "http:80:5000\n");
    let out = host.run(["plugin:trigger", "certs-remove", "demo"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SSL endpoint is not defined"),
        "{}",
        host.render(&out)
    );
}
