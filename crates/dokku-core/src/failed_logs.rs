//! What the processes of an app's last failed deploy printed, for `logs:failed`
//! (`scheduler-logs-failed SCHEDULER APP`). Dokku leaves a failed deploy's containers
//! in place until the next deploy so their logs can be read; a scheduler here keeps their
//! output instead, in `data/<scheduler plugin>/<app>/failed-deploy.log`, removes the
//! containers at once, and forgets the output when the next deploy starts.

use std::path::PathBuf;

use anyhow::Result;

use crate::cmd::Cmd;
use crate::entry::Ctx;
use crate::env::Roots;

/// How many of each process's last lines are kept.
pub const KEPT_LINES: &str = "1000";

pub struct FailedLogs {
    path: PathBuf,
}

impl FailedLogs {
    /// The failed deploy output the scheduler `plugin` keeps for `app`.
    pub fn of(roots: &Roots, plugin: &str, app: &str) -> FailedLogs {
        FailedLogs {
            path: roots.data_dir(plugin, app).join("failed-deploy.log"),
        }
    }

    /// A deploy starts: the output of the one that failed before it is forgotten.
    pub fn forget(&self) -> Result<()> {
        crate::fs::remove_file_if_exists(&self.path)
    }

    /// Keeps what each process printed: `(name, command that prints its output)`, each
    /// line as `APP[NAME]: line`, as `dokku logs` shows lines. A process whose output
    /// cannot be read any more is said so in its place. A failed deploy goes on failing
    /// with its own error: not keeping its output is only warned of.
    pub fn keep(&self, app: &str, processes: &[(String, Cmd)]) {
        if let Err(err) = self.write(app, processes) {
            crate::log::warn(&format!(
                "The output of the failed deploy was not kept: {err:#}"
            ));
        }
    }

    fn write(&self, app: &str, processes: &[(String, Cmd)]) -> Result<()> {
        let mut text = String::new();
        for (name, logs) in processes {
            let printed = logs
                .output_merged()
                .ok()
                .filter(|out| out.code == 0)
                .map(|out| out.stdout_str());
            match printed {
                Some(printed) => {
                    for line in printed.lines() {
                        text.push_str(&format!("{app}[{name}]: {line}\n"));
                    }
                }
                None => text.push_str(&format!("{app}[{name}]: (its output is gone)\n")),
            }
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fs::write_atomic(&self.path, text.as_bytes(), 0o600)
    }

    /// Prints what was kept, or warns that no deploy failed since the last one.
    pub fn show(&self) -> Result<()> {
        match crate::fs::read_optional(&self.path)? {
            Some(text) => crate::log::raw(text.as_bytes()),
            None => crate::log::warn("No failed containers found"),
        }
        Ok(())
    }
}

/// `scheduler-logs-failed SCHEDULER APP`, answered by the scheduler named `scheduler`
/// (whose plugin is `plugin`) from what its last failed deploy kept.
pub fn answer(ctx: &Ctx, args: &[String], scheduler: &str, plugin: &str) -> Result<()> {
    let [named, app] = crate::entry::exactly::<2>("scheduler-logs-failed", args)?;
    if named != scheduler {
        return Ok(());
    }
    FailedLogs::of(&ctx.roots, plugin, app).show()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_output_is_shown_per_process_until_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed-deploy.log");
        let logs = FailedLogs { path: path.clone() };
        let echo = |words: &str| Cmd::new("sh").args(["-c", words]);
        logs.keep(
            "demo",
            &[
                ("web.1".into(), echo("echo out; echo err >&2")),
                ("web.2".into(), echo("exit 1")),
            ],
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "demo[web.1]: out\ndemo[web.1]: err\ndemo[web.2]: (its output is gone)\n"
        );
        logs.forget().unwrap();
        assert!(!path.exists());
        logs.forget().unwrap();
    }
}
