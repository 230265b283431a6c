//! The vector configuration the logs plugin keeps in `data/logs/vector.json`: one docker
//! source per app with a sink (and one for the global sink), each feeding the sink its
//! `vector-sink` names; cron task output split off to `vector-cron-sink` when one is set,
//! and the app label renamed to `app-label-alias` on the way out. Sinks are written as
//! Dokku users write them: `TYPE://?option=value&nested[key]=value`.

use anyhow::{Context, Result, bail};
use dokku_core::docker::CONTAINER_TYPE_LABEL;
use dokku_core::env::Roots;
use dokku_core::property::{GLOBAL, Properties};
use serde_json::{Map, Value, json};

use crate::settings::{APP_LABEL, SETTINGS};

const CRON_ID_LABEL: &str = "com.dokku.cron-id";
const CRON_ROUTE: &str = "cron";
/// Where logs go when nothing is configured: nowhere, said once a second.
const DEFAULT_SINK: &str = "blackhole://?print_interval_secs=1";

/// `data/logs/vector.json`.
pub fn config_path(roots: &Roots) -> std::path::PathBuf {
    roots.lib_root.join("data/logs/vector.json")
}

/// A sink's vector configuration: the query's options as JSON (`a[b]=c` nests, `a[]=c`
/// appends, values read as JSON where they parse as such), `type` from the scheme,
/// `inputs` when given, and `base64enc:` values decoded.
pub fn sink_config(value: &str, inputs: &[String]) -> Result<Map<String, Value>> {
    let Some((scheme, rest)) = value.split_once("://") else {
        bail!("Invalid vector sink {value:?}: expected TYPE://?OPTIONS");
    };
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-+.".contains(c));
    if !valid_scheme {
        bail!("Invalid vector sink type {scheme:?}");
    }
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let query = query.strip_prefix('&').unwrap_or(query);
    let mut data = Value::Object(Map::new());
    if !query.is_empty() {
        for part in query.split('&') {
            data = merge(data, param(part)?);
        }
    }
    let Value::Object(mut data) = data else {
        bail!("Invalid vector sink options {query:?}");
    };
    if data.get("sinks").is_some_and(|v| v != "") {
        bail!("Invalid option sinks");
    }
    data.insert(
        "type".into(),
        scheme.to_ascii_lowercase().replace('-', "_").into(),
    );
    if !inputs.is_empty() {
        data.insert("inputs".into(), json!(inputs));
    }
    for value in data.values_mut() {
        if let Some(encoded) = value.as_str().and_then(|v| v.strip_prefix("base64enc:")) {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .context("Error decoding base64")?;
            *value = String::from_utf8_lossy(&decoded).trim().to_string().into();
        }
    }
    Ok(data)
}

/// `%XX` and `+` decoded, as a query's keys and values are.
fn unescape(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .with_context(|| format!("invalid URL escape in {text:?}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).with_context(|| format!("{text:?} is not UTF-8 once decoded"))
}

/// One `key=value` of a query (split at its last `=`), as JSON: `a[b][c]=1` is
/// `{"a":{"b":{"c":1}}}`. The value is decoded once more for each level it is nested
/// (`a[b]=x%252B` is `x+`), as the query reader Dokku uses does.
fn param(part: &str) -> Result<Value> {
    let Some((raw_key, raw_value)) = part.rsplit_once('=') else {
        bail!("Invalid vector sink option {part:?}: expected key=value");
    };
    let key = unescape(raw_key)?;
    let mut pieces = key.split(['[', ']']).filter(|p| !p.is_empty());
    let levels = key
        .split(['[', ']'])
        .filter(|p| !p.is_empty())
        .count()
        .max(1);
    let mut value = raw_value.to_string();
    for _ in 0..levels {
        value = unescape(&value)?;
    }
    let Some(first) = pieces.next() else {
        bail!("Invalid vector sink option {part:?}: no key");
    };
    let typed = serde_json::from_str::<Value>(&value)
        .or_else(|_| serde_json::from_str::<Value>(&format!("\"{value}\"")))
        .with_context(|| format!("Invalid vector sink value {value:?}"))?;
    // `a[]=x` appends x to the list a.
    let appends = key.ends_with("[]");
    let mut path: Vec<&str> = std::iter::once(first).chain(pieces).collect();
    let mut leaf = if appends { json!([typed]) } else { typed };
    while let Some(name) = path.pop() {
        leaf = json!({ name: leaf });
    }
    Ok(leaf)
}

/// `b` into `a`: objects key by key, lists appended, anything else replaced.
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (key, value) in b {
                let merged = match a.remove(&key) {
                    Some(existing) => merge(existing, value),
                    None => value,
                };
                a.insert(key, merged);
            }
            Value::Object(a)
        }
        (Value::Array(mut a), Value::Array(b)) => {
            a.extend(b);
            Value::Array(a)
        }
        (_, b) => b,
    }
}

/// What one source collects and where it goes: an app's, or the global one.
struct Scope {
    source: String,
    include_labels: Vec<String>,
    sink_id: String,
    cron_sink_id: String,
    router: String,
    cron_remap: String,
    relabel: String,
    /// The label the app name ships under.
    alias: String,
    /// Apps the global source collects whose own alias differs from the global one.
    overrides: Vec<(String, String)>,
    sink: String,
    cron_sink: String,
}

/// `.label."NAME"`.
fn label_path(label: &str) -> String {
    format!(".label.{label:?}")
}

fn rename_label(alias: &str) -> String {
    format!("{} = del({})", label_path(alias), label_path(APP_LABEL))
}

/// The remap program renaming the app label to the scope's alias (with a branch per app
/// whose own alias differs, on the global scope); empty when nothing is renamed.
fn relabel_program(scope: &Scope) -> String {
    if scope.overrides.is_empty() {
        return if scope.alias == APP_LABEL {
            String::new()
        } else {
            rename_label(&scope.alias)
        };
    }
    let mut clauses: Vec<(String, String)> = Vec::new();
    let mut retained = Vec::new();
    for (app, alias) in &scope.overrides {
        if alias == APP_LABEL {
            retained.push(format!("app != {app:?}"));
        } else {
            clauses.push((format!("app == {app:?}"), rename_label(alias)));
        }
    }
    if scope.alias != APP_LABEL {
        clauses.push((retained.join(" && "), rename_label(&scope.alias)));
    }
    if clauses.is_empty() {
        return String::new();
    }
    let chain = if clauses.len() == 1 && clauses[0].0.is_empty() {
        clauses[0].1.clone()
    } else {
        clauses
            .iter()
            .map(|(condition, statement)| {
                let head = if condition.is_empty() {
                    String::new()
                } else {
                    format!("if {condition} ")
                };
                format!("{head}{{\n  {statement}\n}}")
            })
            .collect::<Vec<_>>()
            .join(" else ")
    };
    format!(
        "app = to_string({}) ?? \"\"\n{chain}",
        label_path(APP_LABEL)
    )
}

/// The vector configuration for these scopes.
fn build(scopes: &[Scope]) -> Result<Value> {
    let mut sources = Map::new();
    let mut transforms = Map::new();
    let mut sinks = Map::new();
    for scope in scopes {
        if scope.sink.is_empty() && scope.cron_sink.is_empty() {
            continue;
        }
        let mut source = json!({ "type": "docker_logs" });
        if !scope.include_labels.is_empty() {
            source["include_labels"] = json!(scope.include_labels);
        }
        sources.insert(scope.source.clone(), source);
        let relabel = relabel_program(scope);
        let mut inputs = vec![scope.source.clone()];
        if !scope.cron_sink.is_empty() {
            let mut remap = format!(
                ".dokku_app = to_string({}) ?? \"\"\n.dokku_cron_id = to_string({}) ?? \"\"",
                label_path(APP_LABEL),
                label_path(CRON_ID_LABEL)
            );
            if !relabel.is_empty() {
                remap = format!("{remap}\n{relabel}");
            }
            transforms.insert(
                scope.router.clone(),
                json!({
                    "type": "route",
                    "inputs": [scope.source],
                    "reroute_unmatched": !scope.sink.is_empty(),
                    "route": { CRON_ROUTE: {
                        "type": "vrl",
                        "source": format!("{} == {CRON_ROUTE:?}", label_path(CONTAINER_TYPE_LABEL)),
                    }},
                }),
            );
            transforms.insert(
                scope.cron_remap.clone(),
                json!({
                    "type": "remap",
                    "inputs": [format!("{}.{CRON_ROUTE}", scope.router)],
                    "source": remap,
                }),
            );
            inputs = vec![format!("{}._unmatched", scope.router)];
            sinks.insert(
                scope.cron_sink_id.clone(),
                Value::Object(sink_config(
                    &scope.cron_sink,
                    std::slice::from_ref(&scope.cron_remap),
                )?),
            );
        }
        if !scope.sink.is_empty() {
            if !relabel.is_empty() {
                transforms.insert(
                    scope.relabel.clone(),
                    json!({ "type": "remap", "inputs": inputs, "source": relabel }),
                );
                inputs = vec![scope.relabel.clone()];
            }
            sinks.insert(
                scope.sink_id.clone(),
                Value::Object(sink_config(&scope.sink, &inputs)?),
            );
        }
    }
    if sources.is_empty() {
        sources.insert(
            "docker-null-source".into(),
            json!({ "type": "docker_logs", "include_labels": ["com.dokku.vector-null"] }),
        );
    }
    if sinks.is_empty() {
        sinks.insert(
            "docker-null-sink".into(),
            Value::Object(sink_config(
                DEFAULT_SINK,
                &["docker-null-source".to_string()],
            )?),
        );
    }
    let mut config = json!({ "sources": sources, "sinks": sinks });
    if !transforms.is_empty() {
        config["transforms"] = Value::Object(transforms);
    }
    Ok(config)
}

/// Every app's scope, then the global one.
fn scopes(roots: &Roots) -> Result<Vec<Scope>> {
    let props = Properties::new(roots, SETTINGS.namespace);
    let own =
        |slot: &str, key: &str| -> Result<String> { Ok(props.get(slot, key)?.unwrap_or_default()) };
    let global_alias = props.computed(GLOBAL, "app-label-alias", APP_LABEL)?;
    let mut scopes = Vec::new();
    let mut overrides = Vec::new();
    for app in dokku_core::app::list(roots)? {
        let app = app.as_str();
        let id = app.replace('.', "-");
        let alias = props.computed(app, "app-label-alias", APP_LABEL)?;
        if alias != global_alias {
            overrides.push((app.to_string(), alias.clone()));
        }
        scopes.push(Scope {
            source: format!("docker-source:{id}"),
            include_labels: vec![format!("{APP_LABEL}={app}")],
            sink_id: format!("docker-sink:{id}"),
            cron_sink_id: format!("docker-cron-sink:{id}"),
            router: format!("docker-router:{id}"),
            cron_remap: format!("docker-cron-remap:{id}"),
            relabel: format!("docker-relabel:{id}"),
            alias,
            overrides: Vec::new(),
            sink: own(app, "vector-sink")?,
            cron_sink: own(app, "vector-cron-sink")?,
        });
    }
    overrides.sort();
    scopes.push(Scope {
        source: "docker-global-source".into(),
        include_labels: vec![APP_LABEL.into()],
        sink_id: "docker-global-sink".into(),
        cron_sink_id: "docker-global-cron-sink".into(),
        router: "docker-global-router".into(),
        cron_remap: "docker-global-cron-remap".into(),
        relabel: "docker-global-relabel".into(),
        alias: global_alias,
        overrides,
        sink: own(GLOBAL, "vector-sink")?,
        cron_sink: own(GLOBAL, "vector-cron-sink")?,
    });
    Ok(scopes)
}

/// Rewrites `data/logs/vector.json` from every app's settings (vector reloads it).
pub fn write(roots: &Roots) -> Result<()> {
    let config = build(&scopes(roots)?)?;
    dokku_core::fs::write_atomic(
        &config_path(roots),
        serde_json::to_string_pretty(&config)?.as_bytes(),
        0o600,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_read_as_dokku_reads_them() {
        let sink = sink_config(
            "loki://?endpoint=https://host&encoding[codec]=text&auth[token]=foobar%3D&auth[strategy]=bearer",
            &["in".to_string()],
        )
        .unwrap();
        assert_eq!(
            Value::Object(sink),
            json!({
                "type": "loki",
                "endpoint": "https://host",
                "encoding": {"codec": "text"},
                "auth": {"token": "foobar=", "strategy": "bearer"},
                "inputs": ["in"],
            })
        );
        let escaped = sink_config(
            "http://?uri=https%3A//loggerservice.com%3A1234/%3Ftoken%3Dabc1234%26type%3Dvector%26key%3Dvalue%2Bvalue2",
            &[],
        )
        .unwrap();
        assert_eq!(
            escaped["uri"],
            "https://loggerservice.com:1234/?token=abc1234&type=vector&key=value+value2"
        );
        let nested = sink_config("x://?auth[secret]=2932JSDJ%252BKSDSDJ", &[]).unwrap();
        assert_eq!(nested["auth"]["secret"], "2932JSDJ+KSDSDJ");
        let typed = sink_config("blackhole://?print_interval_secs=1&a[]=x&a[]=y", &[]).unwrap();
        assert_eq!(typed["print_interval_secs"], 1);
        assert_eq!(typed["a"], json!(["x", "y"]));
        let datadog = sink_config("datadog_logs://?api_key=base64enc:YWJjMTIz", &[]).unwrap();
        assert_eq!(datadog["type"], "datadog_logs");
        assert_eq!(datadog["api_key"], "abc123");
        for bad in [
            "console",
            "://x",
            "console://?sinks=x",
            "console://?novalue",
            "x://?a=%zz",
        ] {
            assert!(sink_config(bad, &[]).is_err(), "{bad:?} accepted");
        }
    }

    fn scope(sink: &str, cron_sink: &str, alias: &str) -> Scope {
        Scope {
            source: "docker-source:a".into(),
            include_labels: vec![format!("{APP_LABEL}=a")],
            sink_id: "docker-sink:a".into(),
            cron_sink_id: "docker-cron-sink:a".into(),
            router: "docker-router:a".into(),
            cron_remap: "docker-cron-remap:a".into(),
            relabel: "docker-relabel:a".into(),
            alias: alias.into(),
            overrides: Vec::new(),
            sink: sink.into(),
            cron_sink: cron_sink.into(),
        }
    }

    #[test]
    fn cron_output_is_routed_and_aliases_renamed() {
        let plain = build(&[scope("console://?encoding[codec]=json", "", APP_LABEL)]).unwrap();
        assert!(plain.get("transforms").is_none());
        assert_eq!(
            plain["sinks"]["docker-sink:a"]["inputs"][0],
            "docker-source:a"
        );

        let both = build(&[scope(
            "console://?encoding[codec]=json",
            "console://?encoding[codec]=text",
            "alt",
        )])
        .unwrap();
        let router = &both["transforms"]["docker-router:a"];
        assert_eq!(router["reroute_unmatched"], true);
        assert!(
            router["route"]["cron"]["source"]
                .as_str()
                .unwrap()
                .contains(CONTAINER_TYPE_LABEL)
        );
        assert_eq!(
            both["sinks"]["docker-cron-sink:a"]["inputs"][0],
            "docker-cron-remap:a"
        );
        assert_eq!(
            both["transforms"]["docker-relabel:a"]["inputs"][0],
            "docker-router:a._unmatched"
        );
        assert_eq!(
            both["sinks"]["docker-sink:a"]["inputs"][0],
            "docker-relabel:a"
        );
        assert_eq!(
            both["transforms"]["docker-relabel:a"]["source"],
            ".label.\"alt\" = del(.label.\"com.dokku.app-name\")"
        );

        let nothing = build(&[scope("", "", APP_LABEL)]).unwrap();
        assert_eq!(nothing["sinks"]["docker-null-sink"]["type"], "blackhole");
        assert!(nothing["sources"]["docker-null-source"].is_object());
    }

    #[test]
    fn the_global_scope_branches_for_apps_with_their_own_alias() {
        let mut global = scope("console://?x=1", "", "global_alt");
        global.overrides = vec![("app".into(), "app_alt".into())];
        let program = relabel_program(&global);
        assert!(program.starts_with("app = to_string(.label.\"com.dokku.app-name\") ?? \"\"\n"));
        assert!(program.contains("if app == \"app\" {\n  .label.\"app_alt\" = del("));
        assert!(program.contains("} else {\n  .label.\"global_alt\" = del("));
    }
}
