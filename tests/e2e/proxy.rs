use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::build::push;
use crate::run::{web_app, web_scenario};
use crate::{commit, free_port};
use dokku_test_support::TestHost;

/// A private nginx on 127.0.0.1: its http block answers unknown hosts with 404 and
/// includes every app config of the test host; stopped when dropped.
pub struct Nginx {
    pub conf: PathBuf,
    pub port: u16,
}

impl Nginx {
    /// Starts nginx on the host's own configuration, with a server that answers unknown
    /// hosts with 404 on a free port.
    pub fn start(host: &TestHost) -> Nginx {
        let nginx = dokku_test_support::require_tool("nginx", "apt-get install nginx");
        let port = free_port();
        let conf = host.nginx_conf();
        std::fs::write(
            conf.with_file_name("extra").join("default.conf"),
            format!("server {{ listen 127.0.0.1:{port} default_server; return 404; }}\n"),
        )
        .unwrap();
        crate::run(
            Command::new(nginx)
                .args(["-c"])
                .arg(&conf)
                .arg("-p")
                .arg(conf.parent().unwrap()),
        );
        Nginx { conf, port }
    }

    /// `GET /` with this `Host` once nginx answers `status` (a reload takes effect a moment
    /// after the signal), at most 10 s: the status code and the response.
    pub fn expect(&self, host: &str, status: u16) -> String {
        let started = std::time::Instant::now();
        loop {
            let (got, response) = self.get(host);
            if got == status || started.elapsed() > Duration::from_secs(10) {
                assert_eq!(got, status, "{host}: {response}");
                return response;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET /` with this `Host`: the status code and the response.
    fn get(&self, host: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        // A request an old worker took just before a reload may wait on a container that is
        // gone: short, and tried again.
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        write!(stream, "GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut response = String::new();
        if let Err(err) = stream.read_to_string(&mut response) {
            let log = std::fs::read_to_string(self.conf.with_file_name("error.log"));
            return (0, format!("{err}: {response}\n{}", log.unwrap_or_default()));
        }
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, response)
    }
}

/// Creates `app` with the domain `<app>.example.test` (returned), served by `nginx` on its
/// port.
pub(crate) fn routed_app(host: &TestHost, nginx: &Nginx, app: &str) -> String {
    let domain = format!("{app}.example.test");
    host.ok(["apps:create", app]);
    host.ok(["domains:set", app, &domain]);
    host.ok(["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"]);
    host.ok(["ports:set", app, &format!("http:{}:5000", nginx.port)]);
    domain
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("nginx")
            .args(["-s", "quit", "-c"])
            .arg(&self.conf)
            .output();
    }
}

#[test]
fn nginx_routes_each_domain_to_the_live_containers_and_never_takes_a_broken_config() {
    let (host, sshd, key, app, work) = web_scenario("px");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let (one, two) = (format!("{a}.example.test"), format!("www.{a}.example.test"));
    host.ok(["apps:create", a]);
    host.ok(["domains:set", a, &one, &two]);
    host.ok(["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"]);
    host.ok(["ports:set", a, &format!("http:{}:5000", nginx.port)]);
    // Not deployed yet: its names answer 502, not another site.
    nginx.expect(&one, 502);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("Configuring {one}...")), "{out}");
    assert!(out.contains("Reloading nginx"), "{out}");
    for domain in [&one, &two] {
        let body = nginx.expect(domain, 200);
        assert!(body.contains("version 1"), "{body}");
    }
    nginx.expect("unknown.example.test", 404);

    // A second app with two domains of its own behind the same nginx and port: each host
    // name reaches its own app.
    let second = crate::build::UniqueApp::new("px2");
    let b = second.0.as_str();
    let work_b = host.path().join("work-b");
    web_app(&work_b);
    commit(&work_b, "index.html", "<h1>the second app</h1>\n");
    let (three, four) = (format!("{b}.example.test"), format!("www.{b}.example.test"));
    host.ok(["apps:create", b]);
    host.ok(["domains:set", b, &three, &four]);
    host.ok(["ports:set", b, &format!("http:{}:5000", nginx.port)]);
    let (ok, out) = push(&sshd, &key, &work_b, b);
    assert!(ok, "{out}");
    for domain in [&three, &four] {
        assert!(nginx.expect(domain, 200).contains("the second app"));
    }
    for domain in [&one, &two] {
        assert!(nginx.expect(domain, 200).contains("version 1"));
    }

    // An app served by something else on this host (a static web listener) is routed
    // there, with no container of its own.
    let listener_port = crate::free_port();
    let served = host.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::write(served.join("index.html"), "served from the host\n").unwrap();
    let mut server = crate::spawn_listening(
        Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(listener_port.to_string())
            .current_dir(&served),
        listener_port,
    );
    let proxied = crate::build::UniqueApp::new("pxs");
    let p = proxied.0.as_str();
    let five = format!("{p}.example.test");
    host.ok(["apps:create", p]);
    host.ok(["builder:set", p, "selected", "null"]);
    host.ok(["domains:set", p, &five]);
    host.ok([
        "network:set",
        p,
        "static-web-listener",
        &format!("127.0.0.1:{listener_port}"),
    ]);
    host.ok([
        "ports:set",
        p,
        &format!("http:{}:{listener_port}", nginx.port),
    ]);
    host.ok(["proxy:build-config", p]);
    assert!(
        host.ok(["nginx:show-config", p])
            .contains(&format!("server 127.0.0.1:{listener_port};"))
    );
    assert!(nginx.expect(&five, 200).contains("served from the host"));
    let _ = server.kill();
    let _ = server.wait();

    // A plugin adds a line to the app's server blocks through nginx-config.
    let extra = host.path().join("extra-header");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(
        extra.join("plugin.toml"),
        "[plugin]\ndescription = \"adds a header\"\nversion = \"0.0.1\"\n[plugin.config]\n",
    )
    .unwrap();
    dokku_core::fs::write_atomic(
        &extra.join("nginx-config"),
        b"#!/bin/sh\necho 'add_header X-Extra-Plugin yes;'\n",
        0o755,
    )
    .unwrap();
    assert!(host.install_plugin(&extra, "extra-header").status.success());
    host.ok(["proxy:build-config", a]);
    let started = std::time::Instant::now();
    while !nginx.expect(&one, 200).contains("X-Extra-Plugin: yes") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no header from nginx-config"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A bash plugin on Dokku's helper library does it from its property store.
    let notes = dokku_test_support::workspace_root().join("tests/fixtures/plugins/notes-bash");
    assert!(host.install_plugin(&notes, "notes").status.success());
    host.ok(["notes:set", a, "header", "from notes"]);
    host.ok(["proxy:build-config", a]);
    let started = std::time::Instant::now();
    while !nginx.expect(&one, 200).contains("X-Note: from notes") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no header from the notes plugin's nginx-config"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // Scale 2: both web containers are upstream servers.
    host.ok(["ps:scale", a, "web=2"]);
    let conf = host.ok(["nginx:show-config", a]);
    assert_eq!(conf.matches(":5000;").count(), 2, "{conf}");
    nginx.expect(&one, 200);

    // A snippet that is not an app's nginx config: the changed config is refused, naming
    // the snippet and its line, and the old one stays and serves.
    let snippets = host.roots.app_dir(a).join("nginx.conf.d");
    std::fs::create_dir_all(&snippets).unwrap();
    std::fs::write(snippets.join("broken.conf"), "this is not nginx;\n").unwrap();
    let third = format!("api.{a}.example.test");
    let out = host.run(["domains:add", a, &third]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("the nginx config of {a} is refused")),
        "{stderr}"
    );
    assert!(
        stderr.contains("nginx.conf.d/broken.conf line 1"),
        "{stderr}"
    );
    assert_eq!(host.ok(["nginx:show-config", a]), conf);
    // One that nginx itself refuses, the same.
    std::fs::write(snippets.join("broken.conf"), "client_max_body_size lots;\n").unwrap();
    let out = host.run(["proxy:build-config", a]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nginx refused the new config"), "{stderr}");
    assert_eq!(host.ok(["nginx:show-config", a]), conf);
    // nginx never read the dokku user's files: another app's change is not held up.
    host.ok(["domains:add", b, &format!("extra.{b}.example.test")]);
    nginx.expect(&one, 200);
    nginx.expect(&third, 404);
    std::fs::remove_file(snippets.join("broken.conf")).unwrap();
    host.ok(["proxy:build-config", a]);
    nginx.expect(&third, 200);

    // A certificate: https serves with it, http redirects there, a key that does not
    // match is refused.
    let https = free_port();
    host.ok([
        "ports:set",
        a,
        &format!("http:{}:5000", nginx.port),
        &format!("https:{https}:5000"),
    ]);
    let out = host.ok(["certs:generate", a, &one]);
    assert!(out.contains("Reloading nginx"), "{out}");
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(host.roots.app_dir(a).join("tls/server.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600);
    let redirect = nginx.expect(&one, 301);
    assert!(
        redirect.contains(&format!("Location: https://{one}:{https}/")),
        "{redirect}"
    );
    let ca = host.path().join("ca.crt");
    std::fs::write(&ca, host.ok(["certs:show", a, "crt"])).unwrap();
    let curl_with = |url: &str, options: &[&str]| {
        Command::new(dokku_test_support::require_tool(
            "curl",
            "apt-get install curl",
        ))
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(&ca)
        .arg("--resolve")
        .arg(format!("{one}:{https}:127.0.0.1"))
        .args(options)
        .arg(url)
        .output()
        .unwrap()
    };
    let curl = |url: &str| curl_with(url, &[]);
    let started = std::time::Instant::now();
    loop {
        let out = curl(&format!("https://{one}:{https}/"));
        if String::from_utf8_lossy(&out.stdout).contains("version 1") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // HSTS, as Dokku keeps it: a snippet every server includes, there only while https
    // is served with HSTS on; nginx reloads when only the snippet changed.
    assert!(
        out.contains("Enabling HSTS (using built-in template)"),
        "{out}"
    );
    let hsts = host.roots.app_dir(a).join("nginx.conf.d/hsts.conf");
    let header = |url: &str| {
        let out = curl_with(url, &["-D", "-", "-o", "/dev/null"]);
        String::from_utf8_lossy(&out.stdout).to_lowercase()
    };
    assert!(
        std::fs::read_to_string(&hsts)
            .unwrap()
            .contains("max-age=15724800; includeSubdomains"),
    );
    let https_url = format!("https://{one}:{https}/");
    assert!(header(&https_url).contains("strict-transport-security: max-age=15724800"));
    host.ok(["nginx:set", a, "hsts-max-age", "120"]);
    let out = host.ok(["proxy:build-config", a]);
    assert!(out.contains("Reloading nginx"), "{out}");
    assert!(header(&https_url).contains("strict-transport-security: max-age=120;"));
    host.ok(["nginx:set", a, "hsts", "false"]);
    let out = host.ok(["proxy:build-config", a]);
    assert!(!out.contains("Enabling HSTS"), "{out}");
    assert!(!hsts.exists());
    assert!(!header(&https_url).contains("strict-transport-security"));
    host.ok(["nginx:set", a, "hsts"]);
    host.ok(["nginx:set", a, "hsts-max-age"]);
    // A replaced certificate is served at once, though the config's text is the same.
    let (crt, tls_key) = (host.path().join("new.crt"), host.path().join("new.key"));
    dokku_test_support::self_signed_certificate(&one, &crt, &tls_key);
    host.ok([
        "certs:update",
        a,
        crt.to_str().unwrap(),
        tls_key.to_str().unwrap(),
    ]);
    std::fs::copy(&crt, &ca).unwrap();
    let started = std::time::Instant::now();
    while !curl(&format!("https://{one}:{https}/")).status.success() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the new certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let report = host.ok(["certs:report", a]);
    assert!(
        report.contains(&format!("CN = {one}")) || report.contains(&format!("CN={one}")),
        "{report}"
    );
    assert!(report.contains("self signed"), "{report}");
    let other_key = host.path().join("other.key");
    crate::run(
        Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-out"])
            .arg(&other_key),
    );
    let out = host.run([
        "certs:add",
        a,
        ca.to_str().unwrap(),
        other_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match"),
        "{}",
        host.render(&out)
    );
    host.ok(["certs:remove", a]);
    nginx.expect(&one, 200);

    // A new release is served once it is in place.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let started = std::time::Instant::now();
    while !nginx.expect(&one, 200).contains("version 2") {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
    }

    host.ok(["--force", "apps:destroy", a]);
    assert!(!host.roots.app_dir(a).join("nginx.conf").exists());
    nginx.expect(&one, 404);
}

/// An app template in Dokku's style: the app's own header marks configs it made.
const APP_TEMPLATE: &str = r#"{{ range $map := .PROXY_PORT_MAP | split " " }}
{{ $parts := $map | split ":" }}
{{ if eq (index $parts 0) "http" }}
server {
  listen {{ if $.NGINX_BIND_ADDRESS_IP4 }}{{ $.NGINX_BIND_ADDRESS_IP4 }}:{{ end }}{{ index $parts 1 }};
  server_name {{ $.NOSSL_SERVER_NAME }};
  location / {
    proxy_pass http://{{ $.APP }}-{{ index $parts 2 }};
    proxy_set_header X-Forwarded-For {{ $.PROXY_X_FORWARDED_FOR }};
    add_header X-Template "{{ var "TEMPLATE_MARK" }}";
  }
}
{{ end }}{{ end }}
{{ range $port := $.PROXY_UPSTREAM_PORTS | split " " }}
upstream {{ $.APP }}-{{ $port }} {
{{ range $listener := $.DOKKU_APP_WEB_LISTENERS | split " " }}
  server {{ index ($listener | split ":") 0 }}:{{ $port }};{{ end }}
}
{{ end }}
"#;

#[test]
fn an_apps_own_template_is_used_and_a_broken_one_never_replaces_the_config_that_serves() {
    let (host, sshd, key, app, work) = web_scenario("tp");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let domain = routed_app(&host, &nginx, a);
    host.ok([
        "config:set",
        "--no-restart",
        a,
        "TEMPLATE_MARK=from-the-app",
    ]);
    commit(&work, "nginx.conf.sigil", APP_TEMPLATE);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "Configuring {domain}...(using app-supplied template)"
        )),
        "{out}"
    );
    // Built as Dokku builds it: once the web processes are deployed, and again once
    // they are in place (the first deploy has none in place before).
    let overriding = "Overriding default nginx.conf with detected nginx.conf.sigil";
    assert!(
        out.contains("Triggering early nginx proxy rebuild"),
        "{out}"
    );
    assert_eq!(out.matches(overriding).count(), 1, "{out}");
    let out = host.ok(["ps:rebuild", a]);
    assert_eq!(out.matches(overriding).count(), 2, "{out}");
    let response = nginx.expect(&domain, 200);
    assert!(response.contains("X-Template: from-the-app"), "{response}");
    assert!(response.contains("version 1"), "{response}");

    // A template nginx refuses fails the deploy before anything changes.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    commit(
        &work,
        "nginx.conf.sigil",
        &APP_TEMPLATE.replace(
            "add_header X-Template",
            "client_max_body_size lots;\n    add_header X-Template",
        ),
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("nginx refused the new config"), "{out}");
    // It is checked before anything is built.
    assert!(
        out.contains("Pre-validating custom nginx.conf.sigil"),
        "{out}"
    );
    assert!(
        out.contains("Custom nginx.conf.sigil failed nginx -t validation"),
        "{out}"
    );
    assert!(!out.contains(&format!("Building {a}")), "{out}");
    let response = nginx.expect(&domain, 200);
    assert!(response.contains("version 1"), "{response}");
    assert!(response.contains("X-Template: from-the-app"), "{response}");

    // What a deploy key must not get through its template: root's nginx writing outside
    // its log directory, another app's domain, a port that is not the app's, a catch-all.
    let outside = host.path().join("cron.d");
    std::fs::create_dir_all(&outside).unwrap();
    host.ok(["apps:create", "other"]);
    host.ok(["domains:set", "other", "other.example.test"]);
    let attacks = [
        (
            format!(
                "server_name {{{{ $.NOSSL_SERVER_NAME }}}};\n  access_log {}/root-job;",
                outside.display()
            ),
            "\"access_log",
        ),
        (
            "server_name {{ $.NOSSL_SERVER_NAME }} other.example.test;".to_string(),
            "server_name \"other.example.test\" is another app's domain",
        ),
        (
            "server_name {{ $.NOSSL_SERVER_NAME }};\n  listen 127.0.0.1:22;".to_string(),
            "port 22 is not one of the app's ports",
        ),
        (
            "server_name {{ $.NOSSL_SERVER_NAME }};\n  listen 127.0.0.1:1 default_server;"
                .to_string(),
            "default_server",
        ),
    ];
    for (line, refusal) in attacks {
        commit(
            &work,
            "nginx.conf.sigil",
            &APP_TEMPLATE.replace("server_name {{ $.NOSSL_SERVER_NAME }};", &line),
        );
        let (ok, out) = push(&sshd, &key, &work, a);
        assert!(!ok, "{out}");
        assert!(
            out.contains(&format!("the nginx config of {a} is refused: line")),
            "{out}"
        );
        assert!(out.contains(refusal), "{refusal}: {out}");
        let response = nginx.expect(&domain, 200);
        assert!(response.contains("version 1"), "{response}");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "root's nginx created nothing outside its log directory"
    );
    host.ok(["--force", "apps:destroy", "other"]);

    // One that does not parse fails the build.
    commit(&work, "nginx.conf.sigil", "{{ if .APP }}never closed\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("nginx.conf.sigil does not parse"), "{out}");
    assert!(nginx.expect(&domain, 200).contains("version 1"));

    // Without one, the built-in config serves the new release.
    crate::run(
        Command::new("git")
            .args(["rm", "-q", "nginx.conf.sigil"])
            .current_dir(&work),
    );
    crate::run(
        Command::new("git")
            .args(["commit", "-q", "-m", "no template"])
            .current_dir(&work),
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("(using built-in template)"), "{out}");
    let started = std::time::Instant::now();
    loop {
        let response = nginx.expect(&domain, 200);
        if response.contains("version 2") {
            assert!(!response.contains("X-Template"), "{response}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{response}");
        std::thread::sleep(Duration::from_millis(100));
    }
    host.ok(["--force", "apps:destroy", a]);
}

/// A host whose name has no dot has no global domain: its apps have no vhost and answer
/// on the host's name and their ports, as Dokku's do, in the push output, `urls` and
/// through nginx.
#[test]
fn an_app_on_a_host_without_a_global_domain_answers_on_the_host_name() {
    let (host, sshd, key, app, work) = web_scenario("nv");
    let a = app.0.as_str();
    let _nginx = Nginx::start(&host);
    assert_eq!(
        host.ok(["domains:report", "--global", "--domains-global-vhosts"])
            .trim(),
        ""
    );
    let port = free_port();
    host.ok(["apps:create", a]);
    host.ok(["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"]);
    host.ok(["ports:set", a, &format!("http:{port}:5000")]);
    let name = String::from_utf8(crate::run(Command::new("hostname").arg("-f")).stdout)
        .unwrap()
        .trim()
        .to_string();
    let url = format!("http://{name}:{port}");

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let deployed: Vec<&str> = out
        .lines()
        .skip_while(|line| !line.contains("Application deployed:"))
        .skip(1)
        .take(1)
        .map(|line| line.trim_start_matches("remote:").trim())
        .collect();
    assert_eq!(deployed, [url.as_str()], "{out}");
    assert_eq!(host.ok(["urls", a]), format!("{url}\n"));
    assert_eq!(host.ok(["url", a]), format!("{url}\n"));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET / HTTP/1.0\r\nHost: {name}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.contains("version 1"), "{response}");
    host.ok(["--force", "apps:destroy", a]);
}

/// The event listener, run as install.sh runs it, for this host; its process group is
/// stopped when dropped.
pub(crate) struct EventListener(std::process::Child);

impl EventListener {
    /// Started with `env` added to the host's environment (a test engine's DOCKER_HOST).
    pub(crate) fn start(host: &TestHost, env: &[(&str, &str)]) -> EventListener {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(dokku_test_support::binary("dokku-event-listener"))
            .env_clear()
            .envs(host.env())
            .env("DOKKU_BIN", dokku_test_support::binary("dokku"))
            .envs(env.iter().copied())
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Connected once it has built every app's routing.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.contains("Connected to the docker engine"), "{first}");
        std::thread::spawn(move || lines.for_each(drop));
        EventListener(child)
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A container that starts again (its restart policy, an engine restart) has a new
/// address, and its old one may go to another container: routing follows the engine's
/// live addresses, never the ones written at deploy time.
#[test]
fn routing_follows_containers_that_come_back_with_new_addresses() {
    use crate::build::{BASE_IMAGE, docker, docker_ok};
    use crate::run::container_ip;
    let (host, sshd, key, app, work) = web_scenario("ev");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let domain = routed_app(&host, &nginx, a);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(nginx.expect(&domain, 200).contains("version 1"));
    let web = format!("{a}.web.1");
    // The container comes back after another one started in between: whatever address
    // it had may now be the other's.
    // Other tests' containers come and go meanwhile and may hand the address back: each
    // try starts one more intruder, up to three.
    let come_back = |intruder: &str| {
        let before = container_ip(&web);
        for attempt in 1..=3 {
            docker(&["container", "stop", "--time", "0", &web]);
            docker(&[
                "container",
                "run",
                "--detach",
                "--rm",
                "--name",
                &format!("{intruder}-{attempt}"),
                BASE_IMAGE,
                "python3",
                "-m",
                "http.server",
                "5000",
            ]);
            docker(&["container", "start", &web]);
            let after = container_ip(&web);
            if after != before {
                return after;
            }
        }
        panic!("the container came back on {before} three times");
    };
    // (While the container is down the app answers 502: its config names no address.)
    let upstream_is = |ip: &str| {
        let conf = host.run(["nginx:show-config", a]);
        String::from_utf8_lossy(&conf.stdout).contains(&format!("server {ip}:5000;"))
    };

    // Without the listener, ps:restore (what runs at boot) builds routing from the
    // engine's addresses.
    let intruder = format!("{a}-intruder-1");
    let live = come_back(&intruder);
    host.ok(["ps:restore", a]);
    assert!(upstream_is(&live), "{}", host.ok(["nginx:show-config", a]));
    assert!(nginx.expect(&domain, 200).contains("version 1"));
    assert_eq!(
        std::fs::read_to_string(host.roots.app_dir(a).join("IP.web.1")).unwrap(),
        live
    );

    // With the listener, routing follows by itself.
    let _listener = EventListener::start(&host, &[]);
    let intruder2 = format!("{a}-intruder-2");
    let live = come_back(&intruder2);
    let started = std::time::Instant::now();
    // Followed once the config names the new address and nginx serves it.
    while !(upstream_is(&live) && nginx.expect(&domain, 200).contains("version 1")) {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the listener did not follow the new address: {}",
            host.render(&host.run(["nginx:show-config", a]))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in [&intruder, &intruder2] {
        for attempt in 1..=3 {
            docker_ok(&["container", "rm", "--force", &format!("{name}-{attempt}")]);
        }
    }
    host.ok(["--force", "apps:destroy", a]);
}

/// A request through `nginx` for `path` with this `Host`, waiting up to 30 s for the
/// answer: the response, or the error that ended it.
fn slow_get(nginx_port: u16, host: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", nginx_port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    match stream.read_to_string(&mut response) {
        Ok(_) => response,
        Err(err) => format!("{err}: {response}"),
    }
}

fn container_state(id: &str) -> String {
    crate::build::docker(&["container", "inspect", "--format", "{{.State.Status}}", id])
}

#[test]
fn old_containers_are_told_to_stop_once_nginx_has_no_request_in_flight_to_them() {
    let (host, sshd, key, app, work) = web_scenario("drain");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let domain = routed_app(&host, &nginx, a);
    // A server that dies at once on SIGTERM (python's default), with a slow page.
    std::fs::write(
        work.join("serve.py"),
        "import http.server, os, time\n\
         class Page(http.server.BaseHTTPRequestHandler):\n\
         \x20   def do_GET(self):\n\
         \x20       if self.path == '/slow':\n\
         \x20           time.sleep(8)\n\
         \x20       body = open('index.html', 'rb').read()\n\
         \x20       self.send_response(200)\n\
         \x20       self.send_header('Content-Length', str(len(body)))\n\
         \x20       self.end_headers()\n\
         \x20       self.wfile.write(body)\n\
         http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), Page).serve_forever()\n",
    )
    .unwrap();
    commit(&work, "Procfile", "web: python3 serve.py\n");
    host.ok(["checks:set", a, "wait-to-retire", "600"]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    nginx.expect(&domain, 200);
    let old = crate::build::docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{a}.web.1"),
    ]);

    // A request in flight to the old container when the traffic switches finishes: the old
    // container is signalled only once nginx's old worker has let it go.
    let port = nginx.port;
    let in_flight = {
        let domain = domain.clone();
        std::thread::spawn(move || slow_get(port, &domain, "/slow"))
    };
    std::thread::sleep(Duration::from_millis(500));
    let out = host.ok(["ps:restart", a]);
    assert!(
        out.contains("Shutting down old containers in 600 seconds"),
        "{out}"
    );
    assert_eq!(
        container_state(&old),
        "running",
        "signalled with a request in flight"
    );
    let response = in_flight.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("version 1"), "{response}");

    // Then it is told at once, and exits long before its wait-to-retire ends; it is not
    // removed until then, and the new container serves.
    let started = std::time::Instant::now();
    while container_state(&old) != "exited" {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the old container still runs: {}",
            container_state(&old)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let web = crate::build::docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{a}.web.1"),
    ]);
    assert_ne!(web, old);
    assert_eq!(container_state(&web), "running");
    nginx.expect(&domain, 200);
}
