//! `config:export --format F`: the same variables in the shapes shells, docker and
//! programs want.

use anyhow::{Result, bail};
use dokku_core::log;

use crate::envfile::{self, Env};

pub const FORMATS: &[&str] = &[
    "docker-args",
    "docker-args-keys",
    "envfile",
    "exports",
    "json",
    "json-list",
    "pack-keys",
    "pretty",
    "shell",
];

/// The `config-export` format that answers the global config and the app's own as one
/// JSON object (`{"global": {..}, "app": {..}}`), so a deploy asks once for both.
pub const LAYERS: &str = "json-layers";

/// `value` in single quotes, as a POSIX shell reads it back (`'` becomes `'\''`).
fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The export, without a trailing newline (printing adds one).
pub fn render(env: &Env, format: &str) -> Result<String> {
    let each = |f: &dyn Fn(&str, &str) -> String, sep: &str| -> String {
        env.iter()
            .map(|(k, v)| f(k, v))
            .collect::<Vec<_>>()
            .join(sep)
    };
    Ok(match format {
        "exports" => each(&|k, v| format!("export {k}={}", single_quoted(v)), "\n"),
        "envfile" => envfile::serialize(env).trim_end_matches('\n').to_string(),
        "shell" => each(&|k, v| format!("{k}={} ", single_quoted(v)), ""),
        "docker-args" => each(&|k, v| format!("--env={k}={}", single_quoted(v)), " "),
        "docker-args-keys" => each(&|k, _| format!("--env={k}"), " "),
        "pack-keys" => each(&|k, _| format!("--env {k}"), " "),
        "json" => serde_json::to_string(env)?,
        "json-list" => serde_json::to_string(
            &env.iter()
                .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
                .collect::<Vec<_>>(),
        )?,
        "pretty" => log::columns(
            &env.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>(),
        )
        .join("\n"),
        other => bail!(
            "Unknown export format: {other} (one of {})",
            FORMATS.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Env {
        [("A", "it's"), ("B_KEY", "x y")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_format() {
        let e = sample();
        let out = |f| render(&e, f).unwrap();
        assert_eq!(out("exports"), "export A='it'\\''s'\nexport B_KEY='x y'");
        assert_eq!(out("envfile"), "A=\"it's\"\nB_KEY=\"x y\"");
        assert_eq!(out("shell"), "A='it'\\''s' B_KEY='x y' ");
        assert_eq!(out("docker-args"), "--env=A='it'\\''s' --env=B_KEY='x y'");
        assert_eq!(out("docker-args-keys"), "--env=A --env=B_KEY");
        assert_eq!(out("pack-keys"), "--env A --env B_KEY");
        assert_eq!(out("json"), r#"{"A":"it's","B_KEY":"x y"}"#);
        assert_eq!(
            out("json-list"),
            r#"[{"name":"A","value":"it's"},{"name":"B_KEY","value":"x y"}]"#
        );
        assert_eq!(out("pretty"), "A:      it's\nB_KEY:  x y");
        assert!(render(&e, "yaml").is_err());
    }

    #[test]
    fn shell_exports_read_back_exactly() {
        let e = sample();
        let words = shell_words_split(&render(&e, "shell").unwrap());
        assert_eq!(words, vec!["A=it's", "B_KEY=x y"]);
    }

    #[allow(clippy::disallowed_methods)]
    fn shell_words_split(s: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {s}; do printf '%s\\0' \"$w\"; done"))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    }
}
