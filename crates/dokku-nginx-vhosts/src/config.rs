//! An app's nginx config from what the other plugins say about it: a `server` per http
//! port mapping (`ports-get`) answering the app's domains (`domains-list`), proxying to an
//! upstream of every web container in place (`scheduler-app-containers`).

/// What one app's config is made from.
#[derive(Debug, Default)]
pub struct Site {
    pub app: String,
    /// `(scheme, host port, container port)`.
    pub mappings: Vec<(String, u16, u16)>,
    pub domains: Vec<String>,
    /// The web containers' addresses.
    pub web_ips: Vec<String>,
    pub bind_address: String,
    pub client_max_body_size: String,
    pub proxy_read_timeout: String,
    pub access_log: String,
    pub error_log: String,
    /// A directory of `*.conf` snippets included in every server block.
    pub includes: String,
}

fn upstream_name(app: &str, port: u16) -> String {
    format!("{app}-{port}")
}

/// The config text; empty when the app has nothing to route to (no web container, or no
/// http mapping).
pub fn render(site: &Site) -> String {
    let http: Vec<&(String, u16, u16)> = site
        .mappings
        .iter()
        .filter(|(scheme, _, _)| scheme == "http")
        .collect();
    if http.is_empty() || site.web_ips.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut container_ports: Vec<u16> = http.iter().map(|(_, _, c)| *c).collect();
    container_ports.sort_unstable();
    container_ports.dedup();
    for port in &container_ports {
        out.push_str(&format!(
            "upstream {} {{\n",
            upstream_name(&site.app, *port)
        ));
        for ip in &site.web_ips {
            out.push_str(&format!("  server {ip}:{port};\n"));
        }
        out.push_str("}\n\n");
    }
    let names = if site.domains.is_empty() {
        site.app.clone()
    } else {
        site.domains.join(" ")
    };
    let bind = if site.bind_address.is_empty() {
        String::new()
    } else {
        format!("{}:", site.bind_address)
    };
    for (_, host_port, container_port) in http {
        out.push_str("server {\n");
        out.push_str(&format!("  listen {bind}{host_port};\n"));
        out.push_str(&format!("  server_name {names};\n"));
        out.push_str(&format!("  access_log {};\n", site.access_log));
        out.push_str(&format!("  error_log {};\n", site.error_log));
        if !site.client_max_body_size.is_empty() {
            out.push_str(&format!(
                "  client_max_body_size {};\n",
                site.client_max_body_size
            ));
        }
        out.push_str("  location / {\n");
        out.push_str(&format!(
            "    proxy_pass http://{};\n",
            upstream_name(&site.app, *container_port)
        ));
        for line in [
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection \"upgrade\";",
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Forwarded-For $remote_addr;",
            "proxy_set_header X-Forwarded-Port $server_port;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Request-Start $msec;",
        ] {
            out.push_str(&format!("    {line}\n"));
        }
        out.push_str(&format!(
            "    proxy_read_timeout {};\n",
            site.proxy_read_timeout
        ));
        out.push_str("  }\n");
        out.push_str(&format!("  include {}/*.conf;\n", site.includes));
        out.push_str("}\n");
    }
    out
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
            web_ips: vec!["172.17.0.2".into(), "172.17.0.3".into()],
            bind_address: "127.0.0.1".into(),
            client_max_body_size: "10m".into(),
            proxy_read_timeout: "60s".into(),
            access_log: "/var/log/nginx/demo-access.log".into(),
            error_log: "/var/log/nginx/demo-error.log".into(),
            includes: "/home/dokku/demo/nginx.conf.d".into(),
        }
    }

    #[test]
    fn every_web_container_is_an_upstream_server_and_each_http_port_a_server() {
        let text = render(&site());
        assert_eq!(text.matches("upstream demo-5000 {").count(), 1);
        assert!(text.contains("  server 172.17.0.2:5000;\n  server 172.17.0.3:5000;\n"));
        assert!(text.contains("listen 127.0.0.1:80;"));
        assert!(text.contains("listen 127.0.0.1:8080;"));
        assert!(!text.contains(":443"), "https needs a certificate: {text}");
        assert_eq!(
            text.matches("server_name demo.example.com www.example.com;")
                .count(),
            2
        );
        assert!(text.contains("client_max_body_size 10m;"));
        assert!(text.contains("proxy_pass http://demo-5000;"));
        assert!(text.contains("include /home/dokku/demo/nginx.conf.d/*.conf;"));
    }

    #[test]
    fn nothing_to_route_to_is_no_config() {
        let mut no_containers = site();
        no_containers.web_ips.clear();
        assert_eq!(render(&no_containers), "");
        let mut no_http = site();
        no_http.mappings.retain(|(scheme, _, _)| scheme != "http");
        assert_eq!(render(&no_http), "");
    }
}
