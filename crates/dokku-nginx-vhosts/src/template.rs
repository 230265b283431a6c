//! An app's own `nginx.conf.sigil`, rendered by the `sigil` crate (the engine the `sigil`
//! command uses) with the variables Dokku passes, `var` reading the app's config.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow};

/// Fails with the parser's message when `text` is not a template.
pub fn check(text: &str) -> Result<()> {
    sigil::check(text).map_err(|e| anyhow!("nginx.conf.sigil {e}"))
}

/// The template rendered with `vars` (each `{{ $.NAME }}`) and the app's config for
/// `var`; runs of blank lines are squeezed to one, as Dokku's `cat -s` does.
pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    app_env: &BTreeMap<String, String>,
    access: sigil::Access,
) -> Result<String> {
    let rendered =
        sigil::render(text, vars, app_env, access).map_err(|e| anyhow!("nginx.conf.sigil {e}"))?;
    let mut out = String::new();
    let mut blank = false;
    for line in rendered.lines() {
        let is_blank = line.trim().is_empty();
        if !(is_blank && blank) {
            out.push_str(if is_blank { "" } else { line });
            out.push('\n');
        }
        blank = is_blank;
    }
    Ok(out.trim_start_matches('\n').to_string())
}

/// What a template still uses that Dokku has deprecated, in Dokku's words.
pub fn deprecations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (old, new) in [
        ("DOKKU_APP_LISTENERS", "DOKKU_APP_WEB_LISTENERS"),
        ("NGINX_SSL_PORT", "PROXY_SSL_PORT"),
        ("NGINX_PORT", "PROXY_PORT"),
    ] {
        if text.contains(old) {
            out.push(format!(
                "Deprecated: Usage of {old} within nginx.conf.sigil templates is deprecated in favor of {new}"
            ));
        }
    }
    let http2_listen = text.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("listen")
            && words.any(|w| w == "http2" || w == "http2;" || w.starts_with("http2;"))
    });
    if http2_listen {
        out.push("Deprecated: Usage of 'listen ... http2' within nginx.conf.sigil templates is deprecated since nginx 1.25.1 in favor of the standalone 'http2 on;' directive".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deprecated_usages_are_named() {
        assert!(deprecations("server {\n  listen 80;\n}\n").is_empty());
        let found = deprecations(
            "server {\n  listen [::]:443 ssl http2;\n  x {{ $.DOKKU_APP_LISTENERS }} {{ $.NGINX_PORT }}\n}\n",
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[2].contains("'listen ... http2'"));
        assert!(deprecations("  listen 443 ssl http2;").len() == 1);
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn dokku_style_templates_render() {
        let text = r#"{{ range $map := .PROXY_PORT_MAP | split " " }}
{{ $parts := $map | split ":" }}{{ $scheme := index $parts 0 }}
{{ if eq $scheme "http" }}
server {
  listen {{ if $.NGINX_BIND_ADDRESS_IP4 }}{{ $.NGINX_BIND_ADDRESS_IP4 }}:{{ end }}{{ index $parts 1 }};
  server_name {{ $.NOSSL_SERVER_NAME }};
  {{- if $.SSL_INUSE }} ssl_on;{{ end }}
  location / { proxy_pass http://{{ $.APP }}-{{ index $parts 2 }}; }
  add_header X-Env {{ var "GREETING" | default "none" }};
}
{{ else if eq $scheme "https" }}# https {{ index $parts 1 }}{{ end }}
{{ end }}
upstream {{ .APP }}-5000 {
{{ range $l := $.DOKKU_APP_WEB_LISTENERS | split " " }}  server {{ $l }};
{{ end }}}
"#;
        let out = render(
            text,
            &vars(&[
                ("APP", "demo"),
                ("PROXY_PORT_MAP", "http:80:5000 https:443:5000"),
                ("NGINX_BIND_ADDRESS_IP4", ""),
                ("NOSSL_SERVER_NAME", "demo.example.com"),
                ("SSL_INUSE", ""),
                ("DOKKU_APP_WEB_LISTENERS", "172.17.0.2:5000 172.17.0.3:5000"),
            ]),
            &vars(&[("GREETING", "hi")]),
            sigil::Access::Text,
        )
        .expect("renders");
        assert!(out.contains("  listen 80;\n"), "{out}");
        assert!(
            out.contains("server_name demo.example.com;\n  location"),
            "{out}"
        );
        assert!(out.contains("proxy_pass http://demo-5000;"), "{out}");
        assert!(out.contains("X-Env hi;"), "{out}");
        assert!(out.contains("# https 443"), "{out}");
        assert!(out.contains("  server 172.17.0.2:5000;\n  server 172.17.0.3:5000;\n"));
        assert!(!out.contains("\n\n\n"), "blank runs are squeezed: {out}");
    }

    #[test]
    fn an_apps_template_cannot_reach_the_host() {
        let dir = tempfile::tempdir().expect("tempdir");
        let canary = dir.path().join("canary");
        let text = format!(r#"{{{{ sh "touch {}" }}}}"#, canary.display());
        let err =
            render(&text, &vars(&[]), &vars(&[]), sigil::Access::Text).expect_err("sh refused");
        assert!(
            err.to_string().contains("not available to this template"),
            "{err}"
        );
        assert!(!canary.exists());
        let err = render(
            r#"{{ file "/etc/hostname" }}"#,
            &vars(&[]),
            &vars(&[]),
            sigil::Access::Text,
        )
        .expect_err("file refused");
        assert!(err.to_string().contains("not available"), "{err}");
    }

    #[test]
    fn broken_templates_are_refused_with_the_parsers_words() {
        let err = check("{{ if .APP }}no end").expect_err("unclosed if");
        assert!(
            err.to_string()
                .starts_with("nginx.conf.sigil does not parse")
        );
        assert!(check("{{ .APP | nosuchfunc }}").is_err());
        assert!(check("{{ .APP }}").is_ok());
    }
}
