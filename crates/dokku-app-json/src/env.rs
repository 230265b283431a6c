//! Heroku's app.json `env`: the config an app declares it needs, set before the predeploy
//! task of a build. On the app's first deploy every variable that has no value yet gets
//! one (its `value`, a `secret` of 64 hex characters, or what the user types when the
//! deploy has a terminal); later deploys set only the `sync` variables again. A required
//! variable (the default) that gets no value fails the deploy.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::SETTINGS;

/// Recorded once an app's declared variables were first processed.
const PROCESSED: &str = "appjson-env-processed";

/// One declared variable: a plain string is its value.
#[derive(Debug, Default, PartialEq)]
struct Declared {
    description: String,
    value: String,
    required: bool,
    secret: bool,
    sync: bool,
}

/// The `env` object of an app.json, by name (sorted).
fn declared(app_json: &str) -> Result<BTreeMap<String, Declared>> {
    let json: serde_json::Value =
        serde_json::from_str(app_json).context("reading the app.json env")?;
    let Some(env) = json.get("env").and_then(|e| e.as_object()) else {
        return Ok(BTreeMap::new());
    };
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    env.iter()
        .map(|(name, spec)| {
            let declared = match spec {
                serde_json::Value::String(value) => Declared {
                    value: value.clone(),
                    required: true,
                    ..Declared::default()
                },
                serde_json::Value::Object(_) => Declared {
                    description: text(spec, "description"),
                    value: text(spec, "value"),
                    required: spec.get("required").and_then(|r| r.as_bool()) != Some(false),
                    secret: text(spec, "generator") == "secret",
                    sync: spec.get("sync").and_then(|s| s.as_bool()) == Some(true),
                },
                _ => bail!("Invalid app.json: env.{name} must be a string or an object"),
            };
            Ok((name.clone(), declared))
        })
        .collect()
}

/// 32 random bytes, hex encoded.
fn secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Asks the user at the terminal for a value.
fn prompt(name: &str, declared: &Declared) -> Result<String> {
    let question = if declared.description.is_empty() {
        format!("Enter value for {name}")
    } else {
        format!("Enter value for {name} ({})", declared.description)
    };
    log::info1(&question);
    let mut stdout = std::io::stdout();
    stdout.write_all(b"> ")?;
    stdout.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Sets the variables `app_json` declares, as its first deploy or a later one asks.
pub fn apply(ctx: &Ctx, app: &str, app_json: &str, first_deploy: bool) -> Result<()> {
    let declared = declared(app_json)?;
    if declared.is_empty() {
        return Ok(());
    }
    log::info1("Processing app.json env vars");
    let props = SETTINGS.properties(ctx);
    let processed = props.get(app, PROCESSED)?.as_deref() == Some("executed");
    let current = dokku_core::ask::app_config(ctx, app)?;
    let interactive = std::io::stdin().is_terminal();
    // Every variable the first time, then the sync ones only.
    let every = first_deploy && !processed;
    let mut to_set: Vec<(String, String)> = Vec::new();
    for (name, declared) in &declared {
        if !every && !declared.sync {
            continue;
        }
        let has_value = current.get(name).is_some_and(|v| !v.is_empty());
        if has_value && !declared.sync {
            continue;
        }
        let value = if declared.secret {
            secret()?
        } else if !declared.value.is_empty() {
            declared.value.clone()
        } else if interactive {
            let typed = prompt(name, declared)?;
            if typed.is_empty() && declared.required {
                bail!("required env var {name} cannot be empty");
            }
            typed
        } else if declared.required {
            bail!("required env var {name} has no value, no default, and no TTY for prompt");
        } else {
            continue;
        };
        if !value.is_empty() {
            to_set.push((name.clone(), value));
        }
    }
    if to_set.is_empty() {
        log::verbose("No env vars to set from app.json");
        if !first_deploy {
            props.set(app, PROCESSED, "executed")?;
        }
        return Ok(());
    }
    log::info1(&format!(
        "Setting {} env var(s) from app.json",
        to_set.len()
    ));
    ctx.trigger("config-set")
        .args(["--no-restart", app])
        .args(to_set.iter().map(|(k, v)| format!("{k}={v}")))
        .stream()?;
    props.set(app, PROCESSED, "executed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_a_required_value_and_an_object_says_the_rest() {
        let env = declared(
            r#"{"env": {"A": "x", "B": {"description": "d", "required": false},
                "C": {"generator": "secret", "sync": true}}}"#,
        )
        .unwrap();
        assert_eq!(
            env["A"],
            Declared {
                value: "x".into(),
                required: true,
                ..Declared::default()
            }
        );
        assert!(!env["B"].required && env["B"].description == "d");
        assert!(env["C"].required && env["C"].secret && env["C"].sync);
        assert!(declared(r#"{"env": {"A": 1}}"#).is_err());
        assert!(declared("{}").unwrap().is_empty());
    }

    #[test]
    fn a_secret_is_64_hex_characters() {
        let made = secret().unwrap();
        assert_eq!(made.len(), 64);
        assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(made, secret().unwrap());
    }
}
