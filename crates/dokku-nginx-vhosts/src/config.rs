//! An app's nginx config from what the other plugins say about it: a `server` per http
//! (and, with a certificate, https) port mapping (`ports-get`) answering the app's domains
//! (`domains-list`), proxying to an upstream of every web container in place
//! (`scheduler-app-containers`). With a certificate, http answers with a redirect to https.

use dokku_core::ask::AppContainer;

/// A web container reached at its own address, every port its own (a static listener,
/// a stand-in while none runs).
pub fn at_address(ip: &str) -> AppContainer {
    AppContainer {
        dyno: "web.1".into(),
        id: String::new(),
        ip: ip.into(),
        port: String::new(),
        published: None,
    }
}

/// How long nginx waits for a connection to a container on another host before it tries
/// the next one.
const REMOTE_CONNECT_TIMEOUT: &str = "3s";

/// What one app's config is made from.
#[derive(Debug, Default)]
pub struct Site {
    pub app: String,
    /// `(scheme, host port, container port)`.
    pub mappings: Vec<(String, u16, u16)>,
    pub domains: Vec<String>,
    /// The web containers, with where each is reached.
    pub web: Vec<AppContainer>,
    pub bind_address: String,
    /// An IPv6 address to listen on as well, when one was set for the app or the host
    /// (`bind-address-ipv6`): never by default, so a host without IPv6 keeps working.
    pub bind_address_v6: Option<String>,
    pub client_max_body_size: String,
    pub proxy_read_timeout: String,
    pub access_log: String,
    pub error_log: String,
    /// A directory of `*.conf` snippets included in every server block.
    pub includes: String,
    /// The certificate and key, when the app has them (`certs-paths`).
    pub tls: Option<(String, String)>,
    /// `Strict-Transport-Security` on https, and whether it covers subdomains.
    pub hsts: bool,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
    /// Seconds browsers keep to https.
    pub hsts_max_age: String,
    /// Lines other plugins add to every server block (`nginx-config`).
    pub extra_lines: Vec<String>,
    /// Directives set away from their defaults, for each server block and for each proxied
    /// location (`client_body_timeout 30s`, `proxy_buffer_size 16k`).
    pub server_directives: Vec<String>,
    pub proxy_directives: Vec<String>,
    /// The `X-Forwarded-For`, `-Port` and `-Proto` values, and `X-Forwarded-Ssl` when set.
    pub forwarded: [String; 3],
    pub forwarded_ssl: String,
    pub access_log_format: String,
    /// Idle connections each upstream keeps open to the app (`keepalive`), when set.
    pub keepalive: String,
}

fn upstream_name(app: &str, port: u16) -> String {
    format!("{app}-{port}")
}

/// The mappings served: http always; https (and grpcs) only with a certificate, when each
/// `http:80:X` also gets its `https:443:X` twin, as Dokku does.
pub fn served(site: &Site) -> Vec<(String, u16, u16)> {
    let mut mappings: Vec<(String, u16, u16)> = site
        .mappings
        .iter()
        .filter(|(scheme, _, _)| scheme == "http" || (site.tls.is_some() && scheme == "https"))
        .cloned()
        .collect();
    if site.tls.is_some() {
        for (scheme, host, container) in site.mappings.iter() {
            let twin = ("https".to_string(), 443, *container);
            if scheme == "http" && *host == 80 && !mappings.contains(&twin) {
                mappings.push(twin);
            }
        }
    }
    mappings
}

/// The config text; empty when the app has no mapping it can serve. An app with domains
/// but no web container running (not deployed yet, stopped) answers 502 on them, as
/// Dokku's does, rather than leaving its names to whichever site nginx picks.
pub fn render(site: &Site) -> String {
    let mut mappings = served(site);
    let placeholder = site.web.is_empty();
    if placeholder {
        if site.domains.is_empty() {
            return String::new();
        }
        if site.mappings.is_empty() {
            mappings.push(("http".to_string(), 80, 5000));
        }
    }
    if mappings.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut container_ports: Vec<u16> = mappings.iter().map(|(_, _, c)| *c).collect();
    container_ports.sort_unstable();
    container_ports.dedup();
    for port in container_ports.iter().filter(|_| !placeholder) {
        out.push_str(&format!(
            "upstream {} {{\n",
            upstream_name(&site.app, *port)
        ));
        if !site.keepalive.is_empty() {
            out.push_str(&format!("  keepalive {};\n", site.keepalive));
        }
        for container in &site.web {
            out.push_str(&format!("  server {};\n", container.address(*port)));
        }
        out.push_str("}\n\n");
    }
    // An app without domains answers on its ports whatever the host name, as the only
    // server there: it names none.
    let names = site.domains.join(" ");
    let bind = if site.bind_address.is_empty() {
        String::new()
    } else {
        format!("{}:", site.bind_address)
    };
    let https_port = mappings
        .iter()
        .find(|(scheme, _, _)| scheme == "https")
        .map(|(_, host, _)| *host);
    for (scheme, host_port, container_port) in &mappings {
        let tls = if scheme == "https" {
            site.tls.as_ref()
        } else {
            None
        };
        out.push_str("server {\n");
        let tls_flags = if tls.is_some() { " ssl http2" } else { "" };
        if let Some(v6) = &site.bind_address_v6 {
            out.push_str(&format!("  listen [{v6}]:{host_port}{tls_flags};\n"));
        }
        out.push_str(&format!("  listen {bind}{host_port}{tls_flags};\n"));
        if !names.is_empty() {
            out.push_str(&format!("  server_name {names};\n"));
        }
        if site.access_log_format.is_empty() || site.access_log == "off" {
            out.push_str(&format!("  access_log  {};\n", site.access_log));
        } else {
            out.push_str(&format!(
                "  access_log  {} {};\n",
                site.access_log, site.access_log_format
            ));
        }
        out.push_str(&format!("  error_log   {};\n", site.error_log));
        for line in &site.server_directives {
            out.push_str(&format!("  {line}\n"));
        }
        if let (None, Some(port)) = (tls, https_port) {
            // The redirect is a location, so plugins' own locations (an ACME challenge
            // answered over plain http) still match ahead of it.
            out.push_str(&format!(
                "  location / {{\n    return 301 https://$host:{port}$request_uri;\n  }}\n"
            ));
            push_plugin_lines(&mut out, site);
            continue;
        }
        if let Some((crt, key)) = tls {
            out.push_str(&format!("  ssl_certificate {crt};\n"));
            out.push_str(&format!("  ssl_certificate_key {key};\n"));
            out.push_str("  ssl_protocols TLSv1.2 TLSv1.3;\n");
        }
        if !site.client_max_body_size.is_empty() {
            out.push_str(&format!(
                "  client_max_body_size {};\n",
                site.client_max_body_size
            ));
        }
        if placeholder {
            out.push_str("  location / {\n    return 502;\n  }\n");
            push_plugin_lines(&mut out, site);
            continue;
        }
        out.push_str("  location / {\n");
        out.push_str(&format!(
            "    proxy_pass http://{};\n",
            upstream_name(&site.app, *container_port)
        ));
        let [forwarded_for, forwarded_port, forwarded_proto] = &site.forwarded;
        for line in [
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection \"upgrade\";",
            "proxy_set_header Host $http_host;",
            &format!("proxy_set_header X-Forwarded-For {forwarded_for};"),
            &format!("proxy_set_header X-Forwarded-Port {forwarded_port};"),
            &format!("proxy_set_header X-Forwarded-Proto {forwarded_proto};"),
            "proxy_set_header X-Request-Start $msec;",
        ] {
            out.push_str(&format!("    {line}\n"));
        }
        if !site.forwarded_ssl.is_empty() {
            out.push_str(&format!(
                "    proxy_set_header X-Forwarded-Ssl {};\n",
                site.forwarded_ssl
            ));
        }
        for line in &site.proxy_directives {
            out.push_str(&format!("    {line}\n"));
        }
        // Containers on other hosts: a host that went down answers nothing, and nginx
        // tries the next server only once its connection attempt times out (a minute by
        // default), unless the app set its own.
        let remote = site.web.iter().any(|c| c.published.is_some());
        let own_timeout = site
            .proxy_directives
            .iter()
            .any(|l| l.starts_with("proxy_connect_timeout "));
        if remote && !own_timeout {
            out.push_str(&format!(
                "    proxy_connect_timeout {REMOTE_CONNECT_TIMEOUT};\n"
            ));
        }
        out.push_str(&format!(
            "    proxy_read_timeout {};\n",
            site.proxy_read_timeout
        ));
        out.push_str("  }\n");
        push_plugin_lines(&mut out, site);
    }
    out
}

/// The end of a server block: other plugins' lines and the app's own snippets.
/// The `Strict-Transport-Security` header, when the site serves https with HSTS on: the
/// line of the app's `nginx.conf.d/hsts.conf`, which every server block includes.
pub fn hsts_line(site: &Site) -> Option<String> {
    if site.tls.is_none() || !site.hsts {
        return None;
    }
    let sub = if site.hsts_include_subdomains {
        "; includeSubdomains"
    } else {
        ""
    };
    let preload = if site.hsts_preload { "; preload" } else { "" };
    Some(format!(
        "add_header Strict-Transport-Security \"max-age={}{sub}{preload}\" always;\n",
        site.hsts_max_age
    ))
}

fn push_plugin_lines(out: &mut String, site: &Site) {
    for line in &site.extra_lines {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!("  include {}/*.conf;\n", site.includes));
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            app: "demo".into(),
            mappings: vec![
                ("http".into(), 80, 5000),
                ("https".into(), 443, 5000),
                ("http".into(), 8080, 5000),
            ],
            domains: vec!["demo.example.com".into(), "www.example.com".into()],
            web: vec![at_address("172.17.0.2"), at_address("172.17.0.3")],
            bind_address: "127.0.0.1".into(),
            bind_address_v6: None,
            client_max_body_size: "10m".into(),
            proxy_read_timeout: "60s".into(),
            access_log: "/var/log/nginx/demo-access.log".into(),
            error_log: "/var/log/nginx/demo-error.log".into(),
            includes: "/home/dokku/demo/nginx.conf.d".into(),
            tls: None,
            hsts: true,
            hsts_include_subdomains: true,
            hsts_preload: false,
            hsts_max_age: "15724800".into(),
            extra_lines: vec!["add_header X-Extra yes;".into()],
            server_directives: vec!["client_body_timeout 30s;".into()],
            proxy_directives: vec!["proxy_buffer_size 16k;".into()],
            forwarded: [
                "$remote_addr".into(),
                "$server_port".into(),
                "$http_x_forwarded_proto".into(),
            ],
            forwarded_ssl: String::new(),
            access_log_format: String::new(),
            keepalive: String::new(),
        }
    }

    #[test]
    fn every_web_container_is_an_upstream_server_and_each_http_port_a_server() {
        let text = render(&site());
        assert_eq!(text.matches("upstream demo-5000 {").count(), 1);
        assert!(text.contains("  server 172.17.0.2:5000;\n  server 172.17.0.3:5000;\n"));
        assert!(text.contains("listen 127.0.0.1:80;"));
        assert!(!text.contains("listen ["));
        let mut v6 = site();
        v6.bind_address_v6 = Some("::1".into());
        assert!(render(&v6).contains("  listen [::1]:80;\n  listen 127.0.0.1:80;"));
        assert!(text.contains("listen 127.0.0.1:8080;"));
        assert!(!text.contains(":443"), "https needs a certificate: {text}");
        assert_eq!(
            text.matches("server_name demo.example.com www.example.com;")
                .count(),
            2
        );
        assert!(text.contains("client_max_body_size 10m;"));
        assert!(text.contains("proxy_pass http://demo-5000;"));
        assert!(text.contains("  client_body_timeout 30s;\n"));
        assert!(text.contains("    proxy_buffer_size 16k;\n"));
        assert!(text.contains("proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;"));
        assert!(!text.contains("X-Forwarded-Ssl"));
        assert!(text.contains(
            "  add_header X-Extra yes;\n  include /home/dokku/demo/nginx.conf.d/*.conf;"
        ));
    }

    #[test]
    fn with_a_certificate_http_redirects_and_https_serves() {
        let mut tls = site();
        tls.tls = Some(("/tls/server.crt".into(), "/tls/server.key".into()));
        let text = render(&tls);
        assert!(text.contains("listen 127.0.0.1:443 ssl http2;"), "{text}");
        assert!(text.contains("ssl_certificate /tls/server.crt;"));
        assert!(text.contains("ssl_certificate_key /tls/server.key;"));
        assert_eq!(
            hsts_line(&tls).as_deref(),
            Some(
                "add_header Strict-Transport-Security \"max-age=15724800; includeSubdomains\" always;\n"
            )
        );
        assert_eq!(hsts_line(&site()), None, "no https, no HSTS");
        let mut preload = site();
        preload.tls = tls.tls.clone();
        preload.hsts_preload = true;
        preload.hsts_max_age = "31536000".into();
        assert!(
            hsts_line(&preload)
                .unwrap()
                .contains("\"max-age=31536000; includeSubdomains; preload\" always;")
        );
        preload.hsts = false;
        assert_eq!(hsts_line(&preload), None);
        assert_eq!(
            text.matches("return 301 https://$host:443$request_uri;")
                .count(),
            2,
            "{text}"
        );
        assert_eq!(
            text.matches("include /home/dokku/demo/nginx.conf.d/*.conf;")
                .count(),
            3,
            "every block, the redirects too, takes the app's snippets: {text}"
        );
        let mut odd_port = site();
        odd_port.tls = tls.tls.clone();
        odd_port.mappings = vec![("http".into(), 8080, 5000), ("https".into(), 8443, 5000)];
        let text = render(&odd_port);
        assert!(
            text.contains("return 301 https://$host:8443$request_uri;"),
            "{text}"
        );
        assert!(!text.contains(":443 "), "{text}");
    }

    #[test]
    fn a_container_on_another_host_is_reached_at_its_published_port() {
        let mut spread = site();
        spread.web = vec![
            at_address("172.17.0.2"),
            AppContainer::parse("web.2 task 10.0.0.12 32768 5000").unwrap(),
        ];
        let text = render(&spread);
        assert!(text.contains("  server 172.17.0.2:5000;\n"), "{text}");
        assert!(text.contains("  server 10.0.0.12:32768;\n"), "{text}");
        assert!(text.contains("proxy_connect_timeout 3s;"), "{text}");
        spread.proxy_directives = vec!["proxy_connect_timeout 20s;".into()];
        let own = render(&spread);
        assert_eq!(own.matches("proxy_connect_timeout").count(), 2, "{own}");
        assert!(!own.contains("proxy_connect_timeout 3s;"), "{own}");
        assert!(!render(&site()).contains("proxy_connect_timeout"));
    }

    #[test]
    fn no_container_answers_502_and_nothing_to_route_to_is_no_config() {
        let mut no_containers = site();
        no_containers.web.clear();
        let text = render(&no_containers);
        assert!(
            text.contains("return 502;") && !text.contains("upstream"),
            "{text}"
        );
        no_containers.domains.clear();
        assert_eq!(render(&no_containers), "");
        let mut no_http = site();
        no_http.mappings.retain(|(scheme, _, _)| scheme != "http");
        assert_eq!(render(&no_http), "");
    }
}
