//! An app's own `nginx.conf.sigil`: a Go `text/template`, rendered as Dokku's `sigil` does
//! it, with the variables Dokku passes and sigil's `split`, `join`, `default` and `var` (the
//! app's config) added to Go's own functions. The engine is the `gtmpl` crate, a port of
//! Go's `text/template` (pipelines, variables, `range`, `if`/`else if`, trim markers),
//! rather than a subset written here: the templates users copy from Dokku's use all of it.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use anyhow::{Result, anyhow};
use gtmpl::{Context, FuncError, Template, Value};

thread_local! {
    /// The app's config while a template renders: `var` reads it (gtmpl's functions are
    /// plain function pointers, so they cannot carry it).
    static APP_ENV: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

fn text_arg(args: &[Value], index: usize, name: &str) -> Result<String, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Nil | Value::NoValue) => Ok(String::new()),
        Some(other) => Ok(other.to_string()),
        None => Err(FuncError::ExactlyXArgs(name.into(), index + 1)),
    }
}

/// `split SEP TEXT` (sigil's order, so `TEXT | split SEP` reads naturally): the pieces,
/// none for empty text.
fn split(args: &[Value]) -> Result<Value, FuncError> {
    let (sep, text) = (text_arg(args, 0, "split")?, text_arg(args, 1, "split")?);
    if text.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        text.split(sep.as_str())
            .filter(|piece| !(sep == " " && piece.is_empty()))
            .map(|piece| Value::String(piece.to_string()))
            .collect(),
    ))
}

/// `join SEP LIST`.
fn join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = text_arg(args, 0, "join")?;
    let Some(Value::Array(items)) = args.get(1) else {
        return Err(FuncError::ExactlyXArgs("join".into(), 2));
    };
    let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    Ok(Value::String(items.join(&sep)))
}

/// `default FALLBACK VALUE`: VALUE unless it is empty.
fn default(args: &[Value]) -> Result<Value, FuncError> {
    let (fallback, value) = (text_arg(args, 0, "default")?, text_arg(args, 1, "default")?);
    Ok(Value::String(if value.is_empty() {
        fallback
    } else {
        value
    }))
}

/// `var NAME`: the app's config value, empty when unset.
fn var(args: &[Value]) -> Result<Value, FuncError> {
    let name = text_arg(args, 0, "var")?;
    Ok(Value::String(APP_ENV.with(|env| {
        env.borrow().get(&name).cloned().unwrap_or_default()
    })))
}

fn template(text: &str) -> Result<Template> {
    let mut template = Template::default();
    template.add_funcs(&[
        ("split", split as gtmpl::Func),
        ("join", join as gtmpl::Func),
        ("default", default as gtmpl::Func),
        ("var", var as gtmpl::Func),
    ]);
    template
        .parse(text)
        .map_err(|err| anyhow!("nginx.conf.sigil does not parse: {err}"))?;
    Ok(template)
}

/// Fails with the parser's message when `text` is not a template.
pub fn check(text: &str) -> Result<()> {
    template(text).map(|_| ())
}

/// The template rendered with `vars` (each `{{ $.NAME }}`) and the app's config for
/// `var`; runs of blank lines are squeezed to one, as Dokku's `cat -s` does.
pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    app_env: &BTreeMap<String, String>,
) -> Result<String> {
    let template = template(text)?;
    let context: HashMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    APP_ENV.with(|env| *env.borrow_mut() = app_env.clone());
    let rendered = template.render(&Context::from(Value::from(context)));
    APP_ENV.with(|env| env.borrow_mut().clear());
    let rendered = rendered.map_err(|err| anyhow!("nginx.conf.sigil does not render: {err}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
