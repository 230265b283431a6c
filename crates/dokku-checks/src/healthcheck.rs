//! Healthchecks as app.json declares them (`healthchecks.<type>`: `path` + `content` over
//! http, `command` run in the container, or `uptime`), the legacy `CHECKS` file turned
//! into the same form, and running one against a container.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Healthcheck {
    #[serde(default)]
    pub name: String,
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub initial_delay: u64,
    #[serde(default)]
    pub path: String,
    pub port: Option<u16>,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    pub uptime: Option<u64>,
    #[serde(default = "default_wait")]
    pub wait: u64,
}

fn default_attempts() -> u32 {
    3
}
fn default_timeout() -> u64 {
    5
}
fn default_wait() -> u64 {
    5
}

/// What a check runs against.
/// The container a check looks into, wherever its process runs.
pub trait Container {
    /// Runs `command` in it, killed after `timeout`: its exit code and its output.
    fn exec(&self, command: &[String], timeout: Duration) -> Result<(i32, String)>;
    /// Running, and never restarted since it started.
    fn up(&self) -> Result<bool>;
}

pub struct Target<'a> {
    pub container: &'a dyn Container,
    pub ip: &'a str,
    /// The process's port (web), used when a check names none.
    pub port: Option<u16>,
    /// The `Host` header of http checks.
    pub host: &'a str,
}

/// The checks of one process type in an app.json (none when it declares none). A
/// malformed entry is an error, not a check quietly dropped.
pub fn from_app_json(app_json: &serde_json::Value, kind: &str) -> Result<Vec<Healthcheck>> {
    let Some(list) = app_json.get("healthchecks").and_then(|h| h.get(kind)) else {
        return Ok(Vec::new());
    };
    let checks: Vec<Healthcheck> = serde_json::from_value(list.clone())
        .map_err(|e| anyhow::anyhow!("Invalid healthchecks.{kind} in app.json: {e}"))?;
    for check in &checks {
        let kinds = [!check.command.is_empty(), check.uptime.is_some()];
        if kinds.iter().filter(|k| **k).count() > 1
            || (!check.path.is_empty() && kinds.iter().any(|k| *k))
        {
            bail!(
                "Invalid healthchecks.{kind} in app.json: a check has one of path, command or uptime"
            );
        }
        if check.attempts == 0 || check.attempts > 100 || check.timeout == 0 {
            bail!("Invalid healthchecks.{kind} in app.json: attempts 1 to 100, timeout above 0");
        }
    }
    Ok(checks)
}

/// The legacy `CHECKS` file: `WAIT=`, `TIMEOUT=`, `ATTEMPTS=` lines (defaults from the
/// app's settings) and `PATH [CONTENT]` lines, each an http check of the web process.
/// `WAIT` is the delay before the first attempt, as Dokku read it.
pub fn from_checks_file(text: &str, wait: u64, timeout: u64, attempts: u32) -> Vec<Healthcheck> {
    let (mut wait, mut timeout, mut attempts) = (wait, timeout, attempts);
    let mut paths = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once('=')
            && !key.contains('/')
        {
            match (key.trim(), value.trim().parse::<u64>()) {
                ("WAIT", Ok(n)) => wait = n,
                ("TIMEOUT", Ok(n)) if n > 0 => timeout = n,
                ("ATTEMPTS", Ok(n)) if n > 0 => attempts = n.min(100) as u32,
                _ => {}
            }
            continue;
        }
        let (path, content) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        paths.push((path.to_string(), content.trim().to_string()));
    }
    paths
        .into_iter()
        .map(|(path, content)| Healthcheck {
            name: format!("CHECKS {path}"),
            attempts,
            command: Vec::new(),
            content,
            initial_delay: wait,
            path: strip_host(&path),
            port: None,
            timeout,
            uptime: None,
            wait: default_wait(),
        })
        .collect()
}

/// `//host/path` (a CHECKS line naming a host) -> `/path`.
fn strip_host(path: &str) -> String {
    match path.strip_prefix("//") {
        Some(rest) => format!("/{}", rest.split_once('/').map_or("", |(_, p)| p)),
        None => path.to_string(),
    }
}

impl Healthcheck {
    /// The name shown in output: the one given, else what it checks.
    pub fn label(&self) -> String {
        if !self.name.is_empty() {
            return self.name.clone();
        }
        if !self.command.is_empty() {
            return format!("command {}", self.command.join(" "));
        }
        if let Some(secs) = self.uptime {
            return format!("uptime {secs}s");
        }
        format!("path {}", self.path_or_root())
    }

    fn path_or_root(&self) -> &str {
        if self.path.is_empty() {
            "/"
        } else {
            &self.path
        }
    }

    /// Runs the check, `attempts` times at most (`wait` seconds apart) after
    /// `initialDelay`; `say` hears each failed attempt.
    pub fn run(&self, target: &Target, say: &mut dyn FnMut(&str)) -> Result<()> {
        std::thread::sleep(Duration::from_secs(self.initial_delay));
        if let Some(secs) = self.uptime {
            return uptime(target.container, secs);
        }
        let mut last = None;
        for attempt in 1..=self.attempts {
            let outcome = if self.command.is_empty() {
                self.http(target)
            } else {
                self.exec(target)
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(err) => {
                    say(&format!(
                        "Failure in {} (attempt {attempt}/{}): {err:#}",
                        self.label(),
                        self.attempts
                    ));
                    last = Some(err);
                }
            }
            if attempt < self.attempts {
                std::thread::sleep(Duration::from_secs(self.wait));
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt was made")))
    }

    fn http(&self, target: &Target) -> Result<()> {
        let Some(port) = self.port.or(target.port) else {
            bail!("no port to check: set the check's port");
        };
        let body = crate::http::get(
            target.ip,
            port,
            target.host,
            self.path_or_root(),
            Duration::from_secs(self.timeout),
        )?;
        if !self.content.is_empty() && !body.contains(&self.content) {
            bail!("the response does not contain {:?}", self.content);
        }
        Ok(())
    }

    fn exec(&self, target: &Target) -> Result<()> {
        let (code, output) = target
            .container
            .exec(&self.command, Duration::from_secs(self.timeout))?;
        if code != 0 {
            bail!("exit code {code}: {}", output.trim());
        }
        Ok(())
    }
}

/// Running, unrestarted, for `secs` seconds since it started.
fn uptime(container: &dyn Container, secs: u64) -> Result<()> {
    let started = Instant::now();
    loop {
        if !container.up()? {
            bail!("the container did not stay up for {secs} s");
        }
        if started.elapsed() >= Duration::from_secs(secs) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_json_checks_take_dokku_defaults() {
        let json = serde_json::json!({"healthchecks": {"web": [
            {"type": "startup", "name": "ready", "path": "/health", "attempts": 2, "description": "x"},
            {"uptime": 3},
            {"command": ["/bin/true"], "timeout": 2}
        ]}});
        let checks = from_app_json(&json, "web").expect("valid");
        assert_eq!(checks.len(), 3);
        assert_eq!(checks[0].path, "/health");
        assert_eq!(checks[0].attempts, 2);
        assert_eq!((checks[0].timeout, checks[0].wait), (5, 5));
        assert_eq!(checks[1].uptime, Some(3));
        assert_eq!(checks[1].label(), "uptime 3s");
        assert_eq!(checks[2].command, ["/bin/true"]);
        assert!(from_app_json(&json, "worker").expect("none").is_empty());
    }

    #[test]
    fn malformed_app_json_checks_are_refused() {
        for bad in [
            serde_json::json!({"healthchecks": {"web": {"path": "/"}}}),
            serde_json::json!({"healthchecks": {"web": [{"path": "/", "uptime": 2}]}}),
            serde_json::json!({"healthchecks": {"web": [{"attempts": 0}]}}),
            serde_json::json!({"healthchecks": {"web": [{"timeout": "soon"}]}}),
        ] {
            assert!(from_app_json(&bad, "web").is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_files_become_http_checks() {
        let text = "WAIT=2\nTIMEOUT=7\nATTEMPTS=4\n# comment\n/ Hello\n/health\n//example.com/status  OK then\n";
        let checks = from_checks_file(text, 5, 30, 5);
        assert_eq!(checks.len(), 3);
        assert_eq!(
            (
                checks[0].path.as_str(),
                checks[0].content.as_str(),
                checks[0].initial_delay
            ),
            ("/", "Hello", 2)
        );
        assert_eq!((checks[1].timeout, checks[1].attempts), (7, 4));
        assert_eq!(checks[1].content, "");
        assert_eq!(checks[2].path, "/status");
        assert_eq!(checks[2].content, "OK then");
        let defaults = from_checks_file("/\n", 5, 30, 5);
        assert_eq!(
            (
                defaults[0].initial_delay,
                defaults[0].timeout,
                defaults[0].attempts
            ),
            (5, 30, 5)
        );
    }
}
