//! `<plugin>:report` output: the stdout block, one `--<key>` value, or `--format json`.
#![allow(clippy::print_stdout)]

use anyhow::{Result, bail};

use crate::log;

/// What the user asked a report for, parsed from the args after the app.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportRequest {
    pub app: Option<String>,
    pub json: bool,
    pub key: Option<String>,
}

impl ReportRequest {
    /// Parses `[APP|--global] [--format stdout|json] [--<key>]`. Keys are dynamic, so this is
    /// not clap.
    pub fn parse(args: &[String]) -> Result<ReportRequest> {
        let mut request = ReportRequest::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "--format" {
                match it.next().map(String::as_str) {
                    Some("json") => request.json = true,
                    Some("stdout") => request.json = false,
                    Some(other) => bail!("Invalid --format value specified: {other}"),
                    None => bail!("--format requires a value: stdout or json"),
                }
            } else if let Some(format) = arg.strip_prefix("--format=") {
                match format {
                    "json" => request.json = true,
                    "stdout" => request.json = false,
                    other => bail!("Invalid --format value specified: {other}"),
                }
            } else if arg == "--global" {
                request.app = Some(arg.clone());
            } else if let Some(key) = arg.strip_prefix("--") {
                if request.key.is_some() {
                    bail!("--format flag cannot be specified with more than one info flag");
                }
                request.key = Some(key.to_string());
            } else if request.app.is_none() {
                request.app = Some(arg.clone());
            } else {
                bail!("unexpected argument '{arg}'");
            }
        }
        if request.json && request.key.is_some() {
            bail!("--format flag cannot be specified when specifying an info flag");
        }
        Ok(request)
    }
}

/// One report: rows of (flag key, value) such as (`app-dir`, `/home/dokku/demo`).
#[derive(Debug, Clone)]
pub struct Report {
    pub subject: String,
    pub plugin: String,
    pub rows: Vec<(String, String)>,
    /// The prefix of the rows' flags, when it is not the plugin's name as the heading
    /// says it (`docker-options-` under "docker options").
    key_prefix: Option<String>,
    /// Values only `--format json` shows, as they are (lists as arrays).
    json_only: Vec<(String, serde_json::Value)>,
}

impl Report {
    pub fn new(subject: &str, plugin: &str) -> Report {
        Report {
            subject: subject.into(),
            plugin: plugin.into(),
            rows: Vec::new(),
            key_prefix: None,
            json_only: Vec::new(),
        }
    }

    pub fn row(mut self, key: &str, value: impl Into<String>) -> Report {
        self.rows.push((key.into(), value.into()));
        self
    }

    pub fn key_prefix(mut self, prefix: &str) -> Report {
        self.key_prefix = Some(prefix.to_string());
        self
    }

    /// A key only the JSON form has (`deploy-list: [...]`).
    pub fn json_only(mut self, key: &str, value: serde_json::Value) -> Report {
        self.json_only.push((key.into(), value));
        self
    }

    /// `app-dir` -> `App dir`.
    fn label(key: &str) -> String {
        let spaced = key.replace(['-', '.'], " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(c) => c.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    pub fn render_stdout(&self) -> String {
        let mut out = String::new();
        if !crate::env::quiet() {
            out.push_str(&format!(
                "=====> {} {} information\n",
                self.subject, self.plugin
            ));
        }
        // Dokku pads labels to the longest `--key` flag, at least 31 columns.
        let width = self
            .rows
            .iter()
            .map(|(key, _)| key.len() + 2)
            .max()
            .unwrap_or(0)
            .max(31);
        for (key, value) in &self.rows {
            let label = format!("{}:", Report::label(key));
            out.push_str(format!("       {label:<width$}{value}").trim_end());
            out.push('\n');
        }
        out
    }

    /// Every row under its flag name and, as Dokku 0.38 also emits them, under the name
    /// without the plugin's prefix (`checks-wait-to-retire` and `wait-to-retire`).
    pub fn json_value(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        let prefix = format!("{}-", self.key_prefix.as_deref().unwrap_or(&self.plugin));
        for (key, value) in &self.json_only {
            map.insert(key.clone(), value.clone());
        }
        for (key, value) in &self.rows {
            let value = serde_json::Value::String(value.clone());
            if let Some(stripped) = key.strip_prefix(&prefix) {
                map.entry(stripped.to_string())
                    .or_insert_with(|| value.clone());
            }
            map.insert(key.clone(), value);
        }
        serde_json::Value::Object(map)
    }

    /// Prints per the request: one value, JSON, or the block.
    pub fn print(&self, request: &ReportRequest) -> Result<()> {
        if let Some(key) = &request.key {
            let Some((_, value)) = self.rows.iter().find(|(k, _)| k == key) else {
                let mut keys: Vec<String> =
                    self.rows.iter().map(|(k, _)| format!("--{k}")).collect();
                keys.sort();
                bail!("Invalid flag passed, valid flags: {}", keys.join(", "));
            };
            log::data(value);
        } else if request.json {
            log::data(&self.json_value().to_string());
        } else {
            log::raw(self.render_stdout().as_bytes());
        }
        Ok(())
    }
}

/// `<plugin>:report [APP]`: the named app's report, or every app's (with `--format json`,
/// one object keyed by app name). `--global` is refused: plugins with global properties
/// answer it before calling this.
pub fn print_for_apps(
    request: &ReportRequest,
    roots: &crate::env::Roots,
    plugin: &str,
    build: impl Fn(&crate::AppName) -> Result<Report>,
) -> Result<()> {
    print_for_apps_prepared(request, roots, plugin, |_| Ok(()), |app, ()| build(app))
}

/// [`print_for_apps`] for a report that asks other plugins about each app: `prepare`
/// gets every app the report covers at once (to ask in one round, [`crate::trigger::Trigger::output_each`]),
/// and `build` each app with what it prepared.
pub fn print_for_apps_prepared<P>(
    request: &ReportRequest,
    roots: &crate::env::Roots,
    plugin: &str,
    prepare: impl FnOnce(&[crate::AppName]) -> Result<P>,
    build: impl Fn(&crate::AppName, &P) -> Result<Report>,
) -> Result<()> {
    let apps = match request.app.as_deref() {
        Some(crate::property::GLOBAL) => bail!("{plugin}:report has no global properties"),
        Some(name) => vec![crate::app::verify(roots, name)?],
        None => crate::app::list(roots)?,
    };
    if apps.is_empty() {
        log::warn("You haven't deployed any applications yet");
        return Ok(());
    }
    let prepared = prepare(&apps)?;
    if request.json && request.app.is_none() {
        let all: serde_json::Map<String, serde_json::Value> = apps
            .iter()
            .map(|a| Ok((a.to_string(), build(a, &prepared)?.json_value())))
            .collect::<Result<_>>()?;
        log::data(&serde_json::Value::Object(all).to_string());
        return Ok(());
    }
    for app in &apps {
        build(app, &prepared)?.print(request)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_app_format_and_key() {
        let r = ReportRequest::parse(&args(&["demo", "--format", "json"])).unwrap();
        assert_eq!(
            (r.app.as_deref(), r.json, r.key),
            (Some("demo"), true, None)
        );
        let r = ReportRequest::parse(&args(&["demo", "--app-dir"])).unwrap();
        assert_eq!(r.key.as_deref(), Some("app-dir"));
        assert!(ReportRequest::parse(&args(&["demo", "--a", "--b"])).is_err());
        assert!(ReportRequest::parse(&args(&["demo", "--format", "xml"])).is_err());
        assert!(ReportRequest::parse(&args(&["demo", "--format", "json", "--a"])).is_err());
    }

    #[test]
    fn renders_aligned_rows() {
        let report = Report::new("demo", "app")
            .row("app-dir", "/home/dokku/demo")
            .row("app-locked", "false");
        assert_eq!(
            report.render_stdout(),
            "=====> demo app information\n       App dir:                       /home/dokku/demo\n       App locked:                    false\n"
        );
        assert_eq!(
            report.json_value().to_string(),
            r#"{"app-dir":"/home/dokku/demo","app-locked":"false","dir":"/home/dokku/demo","locked":"false"}"#
        );
    }
}
