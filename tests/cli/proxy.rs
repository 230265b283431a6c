use dokku_test_support::TestHost;

use crate::refused_in_one_line;

/// The `-p` flags among those docker-args-process-deploy prints (other plugins add theirs).
fn publish_args(host: &TestHost, process: &str) -> String {
    host.ok([
        "plugin:trigger",
        "docker-args-process-deploy",
        "demo",
        "dockerfile",
        "latest",
        process,
        "1",
    ])
    .split_whitespace()
    .collect::<Vec<_>>()
    .windows(2)
    .filter(|pair| pair[0] == "-p")
    .map(|pair| format!("-p {}", pair[1]))
    .collect::<Vec<_>>()
    .join(" ")
}

#[test]
fn a_disabled_proxy_publishes_the_web_ports_on_the_host() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["plugin:trigger", "proxy-is-enabled", "demo"])
            .trim(),
        "true"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "proxy-type", "demo"]).trim(),
        "nginx"
    );
    assert_eq!(publish_args(&host, "web"), "");

    let out = host.ok(["proxy:disable", "demo"]);
    assert!(out.contains("Disabling proxy for app"), "{out}");
    assert_eq!(
        host.ok(["plugin:trigger", "proxy-is-enabled", "demo"])
            .trim(),
        "false"
    );
    host.ok(["ports:set", "demo", "http:8080:5000", "udp:5353:53"]);
    assert_eq!(publish_args(&host, "web"), "-p 8080:5000 -p 5353:53/udp");
    assert_eq!(publish_args(&host, "worker"), "");
    assert!(
        host.ok(["proxy:disable", "demo"])
            .contains("already disabled")
    );
    assert_eq!(
        host.ok(["proxy:report", "demo", "--proxy-enabled"]).trim(),
        "false"
    );
    host.ok(["proxy:enable", "demo"]);
    assert_eq!(publish_args(&host, "web"), "");

    host.ok(["proxy:set", "--global", "type", "caddy"]);
    assert_eq!(
        host.ok(["plugin:trigger", "proxy-type", "demo"]).trim(),
        "caddy"
    );
    host.ok(["proxy:set", "demo", "type", "nginx"]);
    assert_eq!(
        host.ok(["plugin:trigger", "proxy-type", "demo"]).trim(),
        "nginx"
    );
    host.ok(["proxy:build-config", "--all"]);
    host.ok(["proxy:clear-config", "demo"]);
    refused_in_one_line(
        &host,
        &[
            vec!["proxy:set", "demo", "type", "Nginx;rm"],
            vec!["proxy:set", "demo", "proxy-port", "70000"],
            vec!["proxy:disable", "missing"],
            vec!["proxy:enable", "--all", "demo"],
        ],
    );
}

/// A `nginx` ahead of the real one on PATH that only notes how it was called.
fn recording_nginx(host: &TestHost) -> (std::path::PathBuf, String) {
    let bin = host.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = host.path().join("nginx-calls");
    let script = bin.join("nginx");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    (calls, path)
}

#[test]
fn destroying_an_app_reloads_nginx_only_when_it_had_a_site() {
    let host = TestHost::new();
    dokku_test_support::require_root("nginx is called directly only by root");
    let (calls, path) = recording_nginx(&host);
    host.ok(["apps:create", "quiet"]);
    host.ok(["domains:add", "quiet", "quiet.example.com"]);
    let destroy = |app: &str| {
        let out = host
            .dokku(["apps:destroy", app, "--force"])
            .env("PATH", &path)
            .write_stdin("")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", host.render(&out));
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    };
    destroy("quiet");
    assert!(
        !calls.exists(),
        "nginx was called for an app without a site"
    );

    host.ok(["apps:create", "served"]);
    std::fs::write(
        host.roots.app_dir("served").join("nginx.conf"),
        "server { listen 80; }\n",
    )
    .unwrap();
    destroy("served");
    let called = std::fs::read_to_string(&calls).unwrap();
    let called: Vec<&str> = called.lines().collect();
    assert!(called[0].starts_with("-t -q"), "{called:?}");
    assert!(called[1].starts_with("-s reload"), "{called:?}");

    // The real nginx checks the host's own configuration; none runs it, and that is said
    // as a note, not a failure.
    host.ok(["apps:create", "again"]);
    std::fs::write(
        host.roots.app_dir("again").join("nginx.conf"),
        "server { listen 127.0.0.1:80; }\n",
    )
    .unwrap();
    let out = host.run(["apps:destroy", "again", "--force"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nginx is not running"),
        "{}",
        host.render(&out)
    );
}
