//! Triggers: every enabled plugin's executable of that name, in bytewise
//! order of plugin names, one at a time; stdout captured and concatenated (or streamed),
//! stderr to the user; the first non-zero exit stops the chain and is returned.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd::Cmd;
use crate::env::Roots;
use crate::error::Error;
use crate::log;

/// Enabled plugin names in bytewise order.
pub fn enabled_plugins(roots: &Roots) -> Vec<String> {
    let Ok(entries) = fs::read_dir(roots.plugin_enabled()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort_unstable();
    names
}

/// Set (to `1`) in the environment of a plugin binary asked to answer a trigger for many
/// calls ([`Trigger::output_each`]): the environment, not an argument, so no call's own
/// arguments can ever be taken for it.
pub const EACH_ENV: &str = "DOKKU_TRIGGER_EACH";

#[derive(Debug, Clone)]
enum Input {
    Inherit,
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Trigger {
    name: String,
    args: Vec<OsString>,
    input: Input,
    env: Vec<(String, String)>,
    only: Option<String>,
    except: Option<String>,
    timeout: Option<std::time::Duration>,
    roots: Roots,
}

impl Trigger {
    pub fn with_roots(name: &str, roots: Roots) -> Trigger {
        Trigger {
            name: name.to_string(),
            args: Vec::new(),
            input: Input::Inherit,
            env: Vec::new(),
            only: None,
            except: None,
            timeout: None,
            roots,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Trigger {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Trigger
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Gives every implementer these bytes on stdin (instead of the caller's stdin).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Trigger {
        self.input = Input::Bytes(bytes.into());
        self
    }

    /// An extra variable for the implementers (Dokku passes `SKIP_REBUILD` this way).
    pub fn env(mut self, key: &str, value: &str) -> Trigger {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Kills an implementer that runs longer than `limit` (its call then fails).
    pub fn timeout(mut self, limit: std::time::Duration) -> Trigger {
        self.timeout = Some(limit);
        self
    }

    /// Runs only this plugin's implementation (`plugin:install` runs the new plugin's own).
    pub fn only(mut self, plugin: &str) -> Trigger {
        self.only = Some(plugin.to_string());
        self
    }

    /// Every implementer but `plugin` (a plugin that answers the trigger itself in process
    /// and fires it for the others).
    pub fn except(mut self, plugin: &str) -> Trigger {
        self.except = Some(plugin.to_string());
        self
    }

    /// `(plugin, executable)` for every enabled plugin that has a file of this name.
    /// A file that is not executable is skipped with plugn's warning. A plugin that
    /// declared the trigger has nothing for these arguments is left out
    /// ([`crate::plugins::index::Index::skips`]).
    pub fn implementers(&self) -> Vec<(String, PathBuf)> {
        let enabled = self.roots.plugin_enabled();
        let passes_nothing = matches!(&self.input, Input::Bytes(bytes) if bytes.is_empty());
        let args: Vec<&str> = self.args.iter().filter_map(|a| a.to_str()).collect();
        let index = (!args.is_empty() && args.len() == self.args.len())
            .then(|| crate::plugins::index::Index::read(&self.roots));
        let build_tag = self
            .env
            .iter()
            .find(|(k, _)| k == crate::build_files::BUILD_TAG_ENV)
            .map(|(_, v)| v.clone())
            .or_else(|| crate::env::var(crate::build_files::BUILD_TAG_ENV));
        let skipped = |plugin: &str| {
            index.as_ref().is_some_and(|index| {
                index.skips(
                    &self.roots,
                    plugin,
                    &self.name,
                    &args,
                    passes_nothing,
                    build_tag.as_deref(),
                )
            })
        };
        enabled_plugins(&self.roots)
            .into_iter()
            .filter(|p| self.only.as_ref().is_none_or(|only| only == p))
            .filter(|p| self.except.as_ref() != Some(p))
            .filter(|p| !skipped(p))
            .filter_map(|plugin| {
                let path = enabled.join(&plugin).join(&self.name);
                if !path.exists() {
                    return None;
                }
                if !crate::fs::is_executable(&path) {
                    log::warn(&format!(
                        "Trigger '{}' is not executable, skipping plugin ({plugin})",
                        self.name
                    ));
                    return None;
                }
                Some((plugin, path))
            })
            .collect()
    }

    /// [`Trigger::implementers`] of a call that runs them: the call is in the event log.
    fn called(&self) -> Vec<(String, PathBuf)> {
        crate::events::trigger_called(&self.roots, &self.name, &self.args);
        self.implementers()
    }

    /// Does any enabled plugin implement this trigger?
    pub fn exists(&self) -> bool {
        !self.implementers().is_empty()
    }

    fn command(&self, path: &Path) -> Cmd {
        if let Some(log) = crate::env::var(crate::env::DOKKU_SPAWN_LOG) {
            crate::fs::append_line(&log, &self.name);
        }
        // A script without a `#!` line runs as a shell runs one (execve refuses it): by bash,
        // as plugn runs it.
        let mut cmd = match has_interpreter_or_binary(path) {
            true => Cmd::new(path),
            false => Cmd::new("bash").arg(path),
        }
        .args(&self.args);
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        if let Some(limit) = self.timeout {
            cmd = cmd.timeout(limit);
        }
        match &self.input {
            Input::Inherit => cmd,
            Input::Bytes(b) => cmd.stdin_bytes(b.clone()),
        }
    }

    fn failed(&self, plugin: &str, code: i32) -> anyhow::Error {
        Error::TriggerFailed {
            trigger: self.name.clone(),
            plugin: plugin.to_string(),
            code,
            third_party: !crate::plugins::is_core(&self.roots, plugin),
        }
        .into()
    }

    /// Captures the implementers' stdout, concatenated in plugin order.
    pub fn output(&self) -> Result<Vec<u8>> {
        let mut stdout = Vec::new();
        for (plugin, path) in self.called() {
            let out = self.command(&path).stdout_unchecked()?;
            stdout.extend_from_slice(&out.stdout);
            if out.code != 0 {
                return Err(self.failed(&plugin, out.code));
            }
        }
        Ok(stdout)
    }

    /// For many calls of this trigger, each with its own arguments (the trigger's own are
    /// not used): each call's output as [`Trigger::output_string`] gives it. An implementer
    /// whose binary answers batches ([`crate::plugins::Answers::batches`]) is started once
    /// for all the calls ([`EACH_ENV`], the calls as a JSON array of argument arrays on stdin,
    /// their outputs as a JSON array of strings on stdout); any other once per call.
    pub fn output_each(&self, calls: &[Vec<String>]) -> Result<Vec<String>> {
        let mut outputs = vec![Vec::new(); calls.len()];
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        if crate::events::enabled() {
            for call in calls {
                let args: Vec<OsString> = call.iter().map(OsString::from).collect();
                crate::events::trigger_called(&self.roots, &self.name, &args);
            }
        }
        for (plugin, path) in self.implementers() {
            let batches = path.parent().is_some_and(|dir| {
                crate::plugins::Answers::of_installed(dir).is_ok_and(|a| a.batches)
            });
            if batches {
                let batch = Trigger {
                    args: Vec::new(),
                    input: Input::Bytes(serde_json::to_vec(calls)?),
                    ..self.clone()
                }
                .env(EACH_ENV, "1");
                let out = batch.command(&path).stdout_unchecked()?;
                if out.code != 0 {
                    return Err(self.failed(&plugin, out.code));
                }
                let each: Vec<String> = serde_json::from_slice(&out.stdout)
                    .map_err(|e| anyhow::anyhow!("{} of {plugin}: {e}", self.name))?;
                if each.len() != calls.len() {
                    anyhow::bail!(
                        "{} of {plugin} answered {} of {} calls",
                        self.name,
                        each.len(),
                        calls.len()
                    );
                }
                for (output, answer) in outputs.iter_mut().zip(each) {
                    output.extend(answer.into_bytes());
                }
                continue;
            }
            for (output, call) in outputs.iter_mut().zip(calls) {
                let single = Trigger {
                    args: call.iter().map(OsString::from).collect(),
                    ..self.clone()
                };
                let out = single.command(&path).stdout_unchecked()?;
                output.extend(out.stdout);
                if out.code != 0 {
                    return Err(self.failed(&plugin, out.code));
                }
            }
        }
        Ok(outputs
            .into_iter()
            .map(|o| {
                String::from_utf8_lossy(&o)
                    .trim_end_matches('\n')
                    .to_string()
            })
            .collect())
    }

    /// Captured stdout as text, trailing newlines trimmed (a shell's `$(...)`).
    pub fn output_string(&self) -> Result<String> {
        let out = self.output()?;
        Ok(String::from_utf8_lossy(&out)
            .trim_end_matches('\n')
            .to_string())
    }

    /// Non-empty stdout lines.
    pub fn output_lines(&self) -> Result<Vec<String>> {
        Ok(self
            .output_string()?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect())
    }

    /// Streams every implementer's output to the user.
    /// A filter trigger's output (`docker-args-*`) as words, split as a shell would and
    /// never evaluated; the trigger reads empty stdin unless given some.
    pub fn output_words(&self) -> Result<Vec<String>> {
        let text = self.output_string()?;
        shell_words::split(&text)
            .map_err(|_| anyhow::anyhow!("{} printed unbalanced quotes", self.name))
    }

    /// A `docker-args-*` trigger's words for `app`, judged before they reach docker
    /// ([`crate::docker::options::judge`]).
    pub fn output_docker_args(
        &self,
        app: &str,
        phase: crate::docker::options::Phase,
    ) -> Result<Vec<String>> {
        let words = self.output_words()?;
        crate::docker::options::judge(&self.roots, app, &words, phase)?;
        Ok(words)
    }

    /// Streams a deprecated trigger, when any plugin still answers it, with Dokku's warning
    /// naming the trigger that replaces it.
    pub fn stream_deprecated(&self, replacement: &str) -> Result<()> {
        if !self.exists() {
            return Ok(());
        }
        log::warn(&format!(
            "Deprecated: please upgrade plugin to use '{replacement}' plugin trigger instead of {}",
            self.name
        ));
        self.stream()
    }

    pub fn stream(&self) -> Result<()> {
        for (plugin, path) in self.called() {
            let code = self.command(&path).status()?;
            if code != 0 {
                return Err(self.failed(&plugin, code));
            }
        }
        Ok(())
    }

    /// Exit status as an answer: `Ok(true)` when every implementer exits 0 and at least one
    /// exists (boolean triggers such as `app-exists`).
    pub fn succeeds(&self) -> Result<bool> {
        if !self.exists() {
            return Ok(false);
        }
        match self.output() {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.downcast_ref(), Some(Error::TriggerFailed { .. })) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Whether the file starts as something execve runs: a `#!` line or an ELF binary.
fn has_interpreter_or_binary(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let read = fs::File::open(path).and_then(|mut f| f.read(&mut head));
    match read {
        Ok(n) => head[..n].starts_with(b"#!") || head[..n].starts_with(b"\x7fELF"),
        Err(_) => true,
    }
}

/// `plugin:trigger NAME ARGS...`: streams the trigger with the caller's stdin; the
/// arguments pass through untouched. The dispatcher and the `plugin` plugin both answer it.
pub fn run_from_cli(roots: &Roots, args: &[String]) -> Result<()> {
    let Some((name, rest)) = args.split_first() else {
        anyhow::bail!("Please specify a trigger name");
    };
    crate::plugins::validate_entry_name(name)?;
    Trigger::with_roots(name, roots.clone())
        .args(rest.iter().cloned())
        .stream()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::write_atomic;

    fn host() -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        (dir, roots)
    }

    fn plugin(roots: &Roots, name: &str, trigger: &str, script: &str) {
        let dir = roots.plugin_available().join(name);
        write_atomic(
            &dir.join(trigger),
            format!("#!/bin/sh\n{script}\n").as_bytes(),
            0o755,
        )
        .unwrap();
        fs::create_dir_all(roots.plugin_enabled()).unwrap();
        let link = roots.plugin_enabled().join(name);
        if !link.exists() {
            std::os::unix::fs::symlink(&dir, link).unwrap();
        }
    }

    #[test]
    fn runs_in_bytewise_order_and_concatenates() {
        let (_d, roots) = host();
        plugin(&roots, "b", "t", "echo b $1");
        plugin(&roots, "B", "t", "echo B $1");
        plugin(&roots, "a", "t", "echo a $1");
        plugin(&roots, "c", "other", "echo c");
        let out = Trigger::with_roots("t", roots)
            .arg("x")
            .output_string()
            .unwrap();
        assert_eq!(out, "B x\na x\nb x");
    }

    #[test]
    fn first_failure_stops_the_chain() {
        let (dir, roots) = host();
        let marker = dir.path().join("ran");
        plugin(&roots, "a", "t", "exit 7");
        plugin(&roots, "b", "t", &format!("touch {}", marker.display()));
        let err = Trigger::with_roots("t", roots).output().unwrap_err();
        let Some(Error::TriggerFailed { plugin, code, .. }) = err.downcast_ref() else {
            panic!("{err:?}")
        };
        assert_eq!((plugin.as_str(), *code), ("a", 7));
        assert!(!marker.exists());
    }

    #[test]
    fn stdin_bytes_reach_every_implementer() {
        let (_d, roots) = host();
        plugin(&roots, "a", "t", "cat; echo --a");
        plugin(&roots, "b", "t", "cat; echo --b");
        let out = Trigger::with_roots("t", roots)
            .stdin("in\n")
            .output_string()
            .unwrap();
        assert_eq!(out, "in\n--a\nin\n--b");
    }

    #[test]
    fn unimplemented_trigger_is_silent_success() {
        let (_d, roots) = host();
        plugin(&roots, "a", "t", "echo a");
        let t = Trigger::with_roots("nobody", roots.clone());
        assert!(!t.exists());
        assert_eq!(t.output().unwrap(), b"");
        assert!(!Trigger::with_roots("nobody", roots).succeeds().unwrap());
    }

    #[test]
    fn each_call_gets_its_answer_whether_the_plugin_batches_or_not() {
        let (_d, roots) = host();
        plugin(&roots, "a", "t", "echo \"a-$1\"");
        plugin(
            &roots,
            "b",
            "t",
            "[ \"$DOKKU_TRIGGER_EACH\" = 1 ] || exit 9\nread calls\n[ \"$calls\" = '[[\"1\"],[\"2\"]]' ] || exit 8\necho '[\"b1\",\"b2\"]'",
        );
        write_atomic(
            &roots.plugin_available().join("b/.entrypoints"),
            b"trigger t\nbatches all\n",
            0o644,
        )
        .unwrap();
        let calls = vec![vec!["1".to_string()], vec!["2".to_string()]];
        let each = Trigger::with_roots("t", roots.clone())
            .output_each(&calls)
            .unwrap();
        assert_eq!(each, ["a-1\nb1", "a-2\nb2"]);
        assert!(
            Trigger::with_roots("t", roots)
                .output_each(&[])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn only_and_except_filter_the_plugins() {
        let (_d, roots) = host();
        plugin(&roots, "a", "t", "echo a");
        plugin(&roots, "b", "t", "echo b");
        plugin(&roots, "c", "t", "echo c");
        let t = || Trigger::with_roots("t", roots.clone());
        assert_eq!(t().only("b").output_string().unwrap(), "b");
        assert_eq!(t().except("b").output_string().unwrap(), "a\nc");
    }

    #[test]
    fn a_script_without_an_interpreter_line_runs_as_bash_runs_it() {
        let (_dir, roots) = host();
        plugin(&roots, "p", "t", "");
        let path = roots.plugin_available().join("p/t");
        write_atomic(&path, b"echo \"from $1\"\n", 0o755).unwrap();
        let out = Trigger::with_roots("t", roots).arg("x").output().unwrap();
        assert_eq!(out, b"from x\n");
    }

    #[test]
    fn non_executable_file_is_skipped() {
        let (_d, roots) = host();
        plugin(&roots, "a", "t", "echo a");
        let path = roots.plugin_available().join("a/t");
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Trigger::with_roots("t", roots).implementers().is_empty());
    }
}
