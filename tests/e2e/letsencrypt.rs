use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::Duration;

use dokku_test_support::{TestHost, require_tool};

use crate::build::push;
use crate::proxy::Nginx;
use crate::run::web_scenario;
use crate::{free_port, spawn_listening};

/// A private ACME server: Debian's pebble on 127.0.0.1 with its own TLS certificate (from
/// a CA made here), resolving every name to 127.0.0.1 through pebble-challtestsrv, and
/// validating HTTP-01 on `http_port` (where the test's nginx listens).
struct Pebble {
    directory: String,
    management: u16,
    /// pebble-challtestsrv's management port: where TXT records for DNS-01 are set.
    dns_management: u16,
    /// The CA that signed pebble's own TLS certificate (lego and curl trust it).
    tls_ca: PathBuf,
    dns: Child,
    server: Child,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in [&mut self.dns, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Pebble {
    fn start(dir: &Path, http_port: u16) -> Pebble {
        let pebble = require_tool("pebble", "apt-get install pebble");
        let challtestsrv = require_tool("pebble-challtestsrv", "apt-get install pebble");
        let openssl = require_tool("openssl", "apt-get install openssl");
        std::fs::create_dir_all(dir).unwrap();
        let path = |name: &str| dir.join(name);
        crate::run(
            Command::new(&openssl)
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", "/CN=pebble test CA", "-keyout"])
                .arg(path("ca.key"))
                .arg("-out")
                .arg(path("ca.pem")),
        );
        crate::run(
            Command::new(&openssl)
                .args([
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    "/CN=localhost",
                ])
                .arg("-keyout")
                .arg(path("key.pem"))
                .arg("-out")
                .arg(path("server.csr")),
        );
        std::fs::write(
            path("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        crate::run(
            Command::new(&openssl)
                .args(["x509", "-req", "-days", "2", "-in"])
                .arg(path("server.csr"))
                .arg("-CA")
                .arg(path("ca.pem"))
                .arg("-CAkey")
                .arg(path("ca.key"))
                .args(["-CAcreateserial", "-extfile"])
                .arg(path("san.ext"))
                .arg("-out")
                .arg(path("cert.pem")),
        );
        let (acme, management, dns) = (free_port(), free_port(), free_port());
        std::fs::write(
            path("pebble.json"),
            format!(
                r#"{{"pebble": {{"listenAddress": "127.0.0.1:{acme}",
                   "managementListenAddress": "127.0.0.1:{management}",
                   "certificate": "{}", "privateKey": "{}",
                   "httpPort": {http_port}, "tlsPort": {},
                   "ocspResponderURL": "", "externalAccountBindingRequired": false}}}}"#,
                path("cert.pem").display(),
                path("key.pem").display(),
                free_port()
            ),
        )
        .unwrap();
        // Its DNS is UDP; its management port (TCP) says when it is up.
        let dns_management = free_port();
        let resolver = spawn_listening(
            Command::new(challtestsrv)
                .args(["-dns01", &format!("127.0.0.1:{dns}")])
                .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
                .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
                .args(["-management", &format!("127.0.0.1:{dns_management}")]),
            dns_management,
        );
        let server = spawn_listening(
            Command::new(pebble)
                .arg("-config")
                .arg(path("pebble.json"))
                .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
                .env("PEBBLE_VA_NOSLEEP", "1")
                .env("PEBBLE_WFE_NONCEREJECT", "0"),
            acme,
        );
        Pebble {
            directory: format!("https://127.0.0.1:{acme}/dir"),
            management,
            dns_management,
            tls_ca: path("ca.pem"),
            dns: resolver,
            server,
        }
    }

    /// Makes lego on `host` trust pebble's TLS certificate (through the defaults file).
    fn trusted_by(&self, host: &TestHost) {
        let defaults = host.path().join("etc-default-dokku");
        let mut text = std::fs::read_to_string(&defaults).unwrap();
        text.push_str(&format!("LEGO_CA_CERTIFICATES={}\n", self.tls_ca.display()));
        std::fs::write(&defaults, text).unwrap();
    }

    /// Pebble's root CA (it makes a new one each start): what issued certificates chain to.
    fn root(&self, dir: &Path) -> PathBuf {
        let out = curl(&[
            "--cacert",
            self.tls_ca.to_str().unwrap(),
            &format!("https://127.0.0.1:{}/roots/0", self.management),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let root = dir.join("pebble-root.pem");
        std::fs::write(&root, &out.stdout).unwrap();
        root
    }
}

fn curl(args: &[&str]) -> Output {
    Command::new(require_tool("curl", "apt-get install curl"))
        .args(["-sS", "--max-time", "5"])
        .args(args)
        .output()
        .unwrap()
}

/// The serial of the certificate the app serves.
fn serial(host: &TestHost, app: &str) -> String {
    let file = host.path().join("served.crt");
    std::fs::write(&file, host.ok(["certs:show", app, "crt"])).unwrap();
    let out = crate::run(
        Command::new("openssl")
            .args(["x509", "-noout", "-serial", "-in"])
            .arg(&file),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn letsencrypt_gets_renews_and_gives_back_a_certificate_pebble_issued() {
    let (host, sshd, key, app, work) = web_scenario("le");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let pebble = Pebble::start(&host.path().join("pebble"), nginx.port);
    pebble.trusted_by(&host);

    let domain = format!("{a}.example.test");
    let https = free_port();
    host.ok(["apps:create", a]);
    host.ok(["domains:set", a, &domain]);
    host.ok(["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"]);
    host.ok([
        "ports:set",
        a,
        &format!("http:{}:5000", nginx.port),
        &format!("https:{https}:5000"),
    ]);
    // Without an address to register, nothing is asked of the server.
    let out = host.run(["letsencrypt:enable", a]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("e-mail address"),
        "{}",
        host.render(&out)
    );
    host.ok(["letsencrypt:set", "--global", "email", "ops@example.com"]);
    host.ok(["letsencrypt:set", "--global", "server", &pebble.directory]);
    // An app without a proxy has no nginx site to answer the challenge (one not deployed
    // yet has its 502 site, which answers it).
    host.ok(["proxy:disable", a]);
    let out = host.run(["letsencrypt:enable", a]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no nginx site"));
    host.ok(["proxy:enable", a]);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    nginx.expect(&domain, 200);

    let out = host.ok(["letsencrypt:enable", a]);
    assert!(out.contains("via HTTP-01"), "{out}");
    assert!(out.contains("Installing the certificate"), "{out}");
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "true");
    // The served certificate chains to pebble's root.
    let root = pebble.root(host.path());
    let https_get = || {
        curl(&[
            "--cacert",
            root.to_str().unwrap(),
            "--resolve",
            &format!("{domain}:{https}:127.0.0.1"),
            &format!("https://{domain}:{https}/"),
        ])
    };
    let started = std::time::Instant::now();
    loop {
        let out = https_get();
        if String::from_utf8_lossy(&out.stdout).contains("version 1") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "https with pebble's certificate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let redirect = nginx.expect(&domain, 301);
    assert!(redirect.contains(&format!("https://{domain}:{https}/")));
    let list = host.ok(["letsencrypt:list"]);
    assert!(list.lines().any(|l| l.starts_with(a)), "{list}");
    let report = host.ok(["letsencrypt:report", a, "--letsencrypt-active"]);
    assert_eq!(report.trim(), "true");

    // Outside its grace period a certificate is left alone; inside it, renewed.
    let first = serial(&host, a);
    let out = host.ok(["letsencrypt:auto-renew", a]);
    assert!(out.contains("before renewal"), "{out}");
    assert_eq!(serial(&host, a), first);
    host.ok(["letsencrypt:set", a, "graceperiod", "3153600000"]);
    let out = host.ok(["letsencrypt:auto-renew"]);
    assert!(out.contains(&format!("{a} needs renewal")), "{out}");
    let renewed = serial(&host, a);
    assert_ne!(renewed, first, "auto-renew gave no new certificate");
    assert!(https_get().status.success());

    // Revoked at the server, then removed: plain http again.
    let out = host.ok(["letsencrypt:revoke", a]);
    assert!(out.contains("Certificate revoked"), "{out}");
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "false");
    nginx.expect(&domain, 200);

    host.ok(["letsencrypt:enable", a]);
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "true");
    host.ok(["letsencrypt:disable", a]);
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "false");
    assert!(!host.roots.app_dir(a).join("tls").exists());
    assert!(!host.ok(["nginx:show-config", a]).contains("acme-challenge"));
    nginx.expect(&domain, 200);
    host.ok(["--force", "apps:destroy", a]);
}

#[test]
fn letsencrypt_answers_dns_01_through_a_provider_with_its_credentials() {
    let host = TestHost::with_system_user();
    let pebble = Pebble::start(&host.path().join("pebble"), free_port());
    pebble.trusted_by(&host);
    // A DNS provider's API for lego's `httpreq` provider: with its credentials, the TXT
    // record goes to the DNS server pebble asks.
    let api = dns_api(pebble.dns_management);

    let app = crate::build::UniqueApp::new("dns");
    let a = app.0.as_str();
    let domain = format!("{a}.example.test");
    host.ok(["apps:create", a]);
    // DNS-01 needs no site (and this host's nginx logs are not where root's nginx rules
    // put them).
    host.ok(["proxy:disable", a]);
    host.ok(["domains:set", a, &domain]);
    host.ok(["letsencrypt:set", a, "email", "ops@example.com"]);
    host.ok(["letsencrypt:set", a, "server", &pebble.directory]);
    host.ok(["letsencrypt:set", a, "dns-provider", "httpreq"]);
    host.ok(["letsencrypt:set", a, "lego-args", "--dns.disable-cp"]);
    host.ok([
        "letsencrypt:set",
        a,
        "dns-provider-HTTPREQ_ENDPOINT",
        &format!("http://127.0.0.1:{api}"),
    ]);
    host.ok(["letsencrypt:set", a, "dns-provider-HTTPREQ_USERNAME", "dns"]);
    // Without its credential the provider fails, and nothing is installed.
    let out = host.run(["letsencrypt:enable", a]);
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "false");

    host.ok([
        "letsencrypt:set",
        a,
        "dns-provider-HTTPREQ_PASSWORD",
        "sekrit",
    ]);
    let out = host.ok(["letsencrypt:enable", a]);
    assert!(out.contains("via DNS-01"), "{out}");
    assert_eq!(host.ok(["letsencrypt:active", a]).trim(), "true");
    let report = host.ok(["certs:report", a]);
    assert!(report.to_lowercase().contains("pebble"), "{report}");
    assert!(
        !host.ok(["letsencrypt:report", a]).contains("sekrit"),
        "credentials stay out of reports"
    );
    host.ok(["--force", "apps:destroy", a]);
}

/// A DNS provider's HTTP API on 127.0.0.1 in the shape lego's `httpreq` provider calls
/// (`POST /present` and `/cleanup` with `{"fqdn": ..., "value": ...}`, basic auth): with the
/// credentials `dns:sekrit`, a present sets the TXT record in pebble's DNS server through
/// its management API. Serves 20 requests at most. Returns its port.
fn dns_api(dns_management: u16) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut authorized) = (0, false);
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorized = value.trim() == "Basic ZG5zOnNla3JpdA==",
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if !authorized {
                "401 Unauthorized"
            } else if request_line.starts_with("POST /present") {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let record = serde_json::json!({"host": body["fqdn"], "value": body["value"]});
                let mut dns = std::net::TcpStream::connect(("127.0.0.1", dns_management)).unwrap();
                let record = record.to_string();
                write!(
                    dns,
                    "POST /set-txt HTTP/1.0\r\nContent-Length: {}\r\n\r\n{record}",
                    record.len()
                )
                .unwrap();
                let mut answer = String::new();
                dns.read_to_string(&mut answer).unwrap();
                if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                    "200 OK"
                } else {
                    "502 Bad Gateway"
                }
            } else {
                "200 OK"
            };
            let _ = write!(stream, "HTTP/1.0 {status}\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}
