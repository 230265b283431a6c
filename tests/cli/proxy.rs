use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

/// The `-p` flags among those docker-args-process-deploy prints (other plugins add theirs:
/// a disabled proxy adds none, as in Dokku).
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
fn a_disabled_proxy_takes_the_app_off_the_proxy_and_publishes_nothing() {
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
    assert_eq!(publish_args(&host, "web"), "");
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
    // Without a domain an undeployed app has no site (with one, it answers 502).
    host.ok(["apps:create", "quiet"]);
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

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Waits (5 s at most) until 127.0.0.1:`port` accepts connections or not, as `up` says.
fn wait_for(port: u16, up: bool) {
    let started = std::time::Instant::now();
    while answers(port) != up {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "port {port} never became {}",
            if up { "open" } else { "closed" }
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn nginx_starts_stops_shows_logs_and_finds_the_config_it_refuses() {
    let host = TestHost::new();
    dokku_test_support::require_root("root runs the host's own nginx directly");
    dokku_test_support::require_tool("nginx", "apt-get install nginx");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = host.nginx_conf();
    std::fs::write(
        conf.with_file_name("extra").join("default.conf"),
        format!("server {{ listen 127.0.0.1:{port} default_server; return 404; }}\n"),
    )
    .unwrap();
    /// Stops the host's nginx even when an assertion fails first.
    struct Quit(std::path::PathBuf);
    impl Drop for Quit {
        fn drop(&mut self) {
            let _ = std::process::Command::new("nginx")
                .args(["-s", "quit", "-c"])
                .arg(&self.0)
                .output();
        }
    }
    let _quit = Quit(conf.clone());
    let out = host.ok(["nginx:start"]);
    assert!(out.contains("Starting nginx"), "{out}");
    wait_for(port, true);
    assert!(host.ok(["nginx:start"]).contains("reloaded"));
    // A reload has taken effect when the command returns: the very next request sees it.
    let status = || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    for round in 0..20 {
        let code = if round % 2 == 0 { 418 } else { 404 };
        std::fs::write(
            conf.with_file_name("extra").join("default.conf"),
            format!("server {{ listen 127.0.0.1:{port} default_server; return {code}; }}\n"),
        )
        .unwrap();
        host.ok(["nginx:start"]);
        assert_eq!(status(), code.to_string(), "round {round}");
    }

    host.ok(["apps:create", "good"]);
    host.ok(["apps:create", "bad"]);
    assert!(host.ok(["nginx:validate-config"]).contains("accepts"));
    // A copy nginx refuses in root's tree (written by hand, or by an older nginx): the
    // dokku user's own files never reach nginx unjudged.
    let bad_copy = conf.with_file_name("dokku-rs").join("apps/bad.conf");
    std::fs::create_dir_all(bad_copy.parent().unwrap()).unwrap();
    std::fs::write(&bad_copy, "bogus_directive on;\n").unwrap();
    let out = host.run(["nginx:validate-config", "good"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(bad_copy.exists());
    let out = host.run(["nginx:validate-config"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nginx refuses the config of bad"),
        "{}",
        host.render(&out)
    );
    let out = host.ok(["nginx:validate-config", "--clean"]);
    assert!(out.contains("Removed the config of bad"), "{out}");
    assert!(!bad_copy.exists());
    assert!(host.ok(["nginx:validate-config"]).contains("accepts"));
    // An app's own config edited by hand into something its rules refuse.
    let own = host.roots.app_dir("good").join("nginx.conf");
    std::fs::write(&own, "invalid config\n").unwrap();
    let out = host.run(["nginx:validate-config", "good"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("The nginx config of good is invalid"),
        "{}",
        host.render(&out)
    );
    let out = host.ok(["nginx:validate-config", "--clean"]);
    assert!(
        out.contains("Removed the invalid nginx config of good"),
        "{out}"
    );
    assert!(!own.exists());
    assert!(host.ok(["nginx:validate-config"]).contains("accepts"));
    assert!(host.run(["nginx:reload"]).status.success());

    let log = conf.with_file_name("good-access.log");
    std::fs::write(&log, "one\ntwo\nthree\n").unwrap();
    assert_eq!(
        host.ok(["nginx:access-logs", "good", "-n", "2"]),
        "two\nthree\n"
    );
    let out = host.run(["nginx:error-logs", "good"]);
    assert_eq!(out.status.code(), Some(1), "no error log yet");
    // A scheduler other than docker-local answers for its apps' proxy; the swarm
    // scheduler's apps are served by this host's nginx, which it asks.
    std::fs::write(&own, "# the config of good\n").unwrap();
    host.ok(["scheduler:set", "good", "selected", "swarm"]);
    assert_eq!(
        host.ok(["nginx:show-config", "good"]),
        "# the config of good\n"
    );
    assert_eq!(
        host.ok(["nginx:access-logs", "good", "-n", "2"]),
        "two\nthree\n"
    );
    host.ok(["scheduler:set", "good", "selected", ""]);
    host.ok(["proxy:set", "good", "caddy"]);
    let out = host.run(["nginx:show-config", "good"]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("good is served by the caddy proxy"),
        "{}",
        host.render(&out)
    );
    host.ok(["proxy:set", "good", "nginx"]);

    host.ok(["nginx:stop"]);
    wait_for(port, false);
    host.ok(["nginx:stop"]);
}

/// root's nginx creates the log files an app's settings name: only in its log directory.
#[test]
fn log_settings_name_files_in_nginxs_log_directory_only() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let logs = host.path().join("nginx");
    crate::refused_in_one_line(
        &host,
        &[
            vec!["nginx:set", "demo", "access-log-path", "/etc/nologin"],
            vec!["nginx:set", "demo", "error-log-path", "/etc/cron.d/job"],
            vec![
                "nginx:set",
                "--global",
                "access-log-path",
                "/var/log/nginx/../../../etc/x",
            ],
            vec!["nginx:set", "demo", "access-log-path", "relative.log"],
        ],
    );
    let inside = logs.join("demo-custom.log");
    host.ok([
        "nginx:set",
        "demo",
        "access-log-path",
        inside.to_str().unwrap(),
    ]);
    host.ok(["nginx:set", "demo", "error-log-path", "off"]);
    host.ok(["nginx:set", "--global", "access-log-path", "/dev/stdout"]);
    let report = host.ok(["nginx:report", "demo", "--nginx-access-log-path"]);
    assert_eq!(report.trim(), inside.display().to_string());
}

#[test]
fn nginx_global_report_shows_global_values_only() {
    let host = TestHost::new();
    host.ok(["nginx:set", "--global", "client-max-body-size", "5m"]);
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["nginx:report", "--global", "--format", "json"])).unwrap();
    let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| k.contains("global-")), "{keys:?}");
    assert_eq!(
        host.ok([
            "nginx:report",
            "--global",
            "--nginx-global-client-max-body-size"
        ]),
        "5m\n"
    );
    let both = host.run([
        "nginx:report",
        "--global",
        "--format",
        "json",
        "--nginx-global-hsts",
    ]);
    assert!(
        stderr(&both).contains("--format flag cannot be specified when specifying an info flag")
    );
}

#[test]
fn proxy_set_takes_dokkus_older_positional_type() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["proxy:set", "demo", "caddy"]);
    assert_eq!(host.ok(["proxy:report", "demo", "--proxy-type"]), "caddy\n");
    host.ok(["proxy:set", "demo", "type", "nginx"]);
    assert_eq!(host.ok(["proxy:report", "demo", "--proxy-type"]), "nginx\n");
    let mapping = host.run(["proxy:set", "demo", "http:80:5000"]);
    assert!(
        stderr(&mapping).contains("Detected potential port mapping instead of proxy type"),
        "{}",
        stderr(&mapping)
    );
    assert_eq!(host.ok(["proxy:report", "demo", "--proxy-type"]), "nginx\n");
    assert_eq!(host.ok(["proxy:report", "demo", "--proxy-disabled"]), "\n");
    host.ok(["proxy:disable", "demo"]);
    assert_eq!(
        host.ok(["proxy:report", "demo", "--proxy-disabled"]),
        "true\n"
    );
    assert_eq!(
        host.ok(["proxy:report", "demo", "--proxy-computed-disabled"]),
        "true\n"
    );
}

#[test]
fn an_app_not_deployed_yet_answers_502_on_its_domains() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "fresh"]);
    let conf = host.roots.app_dir("fresh").join("nginx.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("server_name fresh.dokku.me;"), "{text}");
    assert!(
        text.contains("return 502;") && !text.contains("upstream"),
        "{text}"
    );
    host.ok(["domains:add", "fresh", "custom.dokku.me"]);
    let shown = host.ok(["nginx:show-config", "fresh"]);
    assert!(
        shown.contains("custom.dokku.me") && shown.contains("return 502;"),
        "{shown}"
    );
    host.ok(["proxy:disable", "fresh"]);
    assert!(!conf.exists());
}
