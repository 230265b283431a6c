//! Build records: `data/builds/<app>/<id>.json` beside the build's log `<id>.log`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use dokku_core::entry::Ctx;
use serde::{Deserialize, Serialize};

pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const CANCELED: &str = "canceled";
/// Shown for a record still `running` whose process is gone; never written.
pub const ABANDONED: &str = "abandoned";

pub const KINDS: [&str; 2] = ["build", "deploy"];
pub const STATUSES: [&str; 5] = [RUNNING, SUCCEEDED, FAILED, CANCELED, ABANDONED];

/// What may begin a build, and the kind of work it is: the sources that make a new image
/// are builds, the others deploy an image made before.
const SOURCES: [(&str, &str); 12] = [
    ("git-hook", "build"),
    ("ps:rebuild", "build"),
    ("git:sync", "build"),
    ("git:from-archive", "build"),
    ("git:from-image", "build"),
    ("git:load-image", "build"),
    ("ps:restart", "deploy"),
    ("ps:start", "deploy"),
    ("deploy", "deploy"),
    ("config-redeploy", "deploy"),
    ("rollback", "deploy"),
    ("unknown", "deploy"),
];

/// The kind of work a source does, `None` for a source no command uses.
pub fn kind_of(source: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(name, _)| *name == source)
        .map(|(_, kind)| *kind)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Build {
    pub id: String,
    pub app: String,
    pub kind: String,
    pub pid: i64,
    pub started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub status: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
}

impl Build {
    /// The status to show: `abandoned` for a running record whose process is gone.
    pub fn display_status(&self) -> &str {
        if self.status == RUNNING && !pid_alive(self.pid) {
            return ABANDONED;
        }
        &self.status
    }

    /// Running, and its process is there.
    pub fn is_live(&self) -> bool {
        self.status == RUNNING && pid_alive(self.pid)
    }

    pub fn is_terminal(&self) -> bool {
        [SUCCEEDED, FAILED, CANCELED].contains(&self.status.as_str())
    }

    pub fn started_secs(&self) -> u64 {
        parse_time(&self.started_at)
    }

    /// Seconds from start to finish, or to now while running.
    pub fn duration_secs(&self) -> u64 {
        let end = match &self.finished_at {
            Some(finished) => parse_time(finished),
            None => dokku_core::time::now().as_secs(),
        };
        end.saturating_sub(self.started_secs())
    }

    /// Marks the record finished with `status` and `code` now.
    pub fn finish(&mut self, status: &str, code: i64) {
        self.status = status.to_string();
        self.exit_code = Some(code);
        self.finished_at = Some(dokku_core::time::rfc3339(dokku_core::time::now().as_secs()));
    }
}

fn parse_time(text: &str) -> u64 {
    dokku_core::time::parse_utc(text).unwrap_or(0)
}

/// `kill(pid, 0)`: a process that exists, even another user's, is alive.
pub fn pid_alive(pid: i64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// `2m5s`, as Go writes a duration rounded to the second.
pub fn duration_text(secs: u64) -> String {
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m{seconds}s"),
        _ => format!("{hours}h{minutes}m{seconds}s"),
    }
}

/// One app's records.
pub struct Store<'a> {
    ctx: &'a Ctx,
    app: &'a str,
}

impl<'a> Store<'a> {
    pub fn new(ctx: &'a Ctx, app: &'a str) -> Store<'a> {
        Store { ctx, app }
    }

    pub fn dir(&self) -> PathBuf {
        self.ctx.roots.data_dir("builds", self.app)
    }

    fn record_path(&self, id: &str) -> Result<PathBuf> {
        let valid = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            anyhow::bail!("Invalid build id {id:?}");
        }
        Ok(self.dir().join(format!("{id}.json")))
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        dokku_core::builds::log_path(self.ctx, self.app, id)
    }

    /// The record, `None` when there is none.
    pub fn read(&self, id: &str) -> Result<Option<Build>> {
        let path = self.record_path(id)?;
        let Some(text) = dokku_core::fs::read_optional(&path)? else {
            return Ok(None);
        };
        let build = serde_json::from_str(&text)
            .with_context(|| format!("reading the build record {}", path.display()))?;
        Ok(Some(build))
    }

    pub fn write(&self, build: &Build) -> Result<()> {
        let path = self.record_path(&build.id)?;
        let text = serde_json::to_string_pretty(build)?;
        dokku_core::fs::write_atomic(&path, format!("{text}\n").as_bytes(), 0o644)
    }

    /// Every record, newest first; one that cannot be read is said and skipped.
    pub fn all(&self) -> Result<Vec<Build>> {
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return Ok(Vec::new());
        };
        let mut builds = Vec::new();
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            match self.read(id) {
                Ok(Some(build)) => builds.push(build),
                Ok(None) => {}
                Err(err) => dokku_core::log::warn(&format!(
                    "Skipping unreadable build record {}/{name}: {err:#}",
                    self.app
                )),
            }
        }
        builds.sort_by(|a, b| (b.started_secs(), &b.id).cmp(&(a.started_secs(), &a.id)));
        Ok(builds)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        dokku_core::fs::remove_file_if_exists(&self.record_path(id)?)?;
        dokku_core::fs::remove_file_if_exists(&self.log_path(id))
    }

    /// Running records whose process is gone are finished as failed (exit code -1).
    pub fn reap_abandoned(&self) -> Result<()> {
        for mut build in self.all()? {
            if build.status == RUNNING && !pid_alive(build.pid) {
                build.finish(FAILED, -1);
                self.write(&build)?;
            }
        }
        Ok(())
    }

    /// Reaps abandoned records, then keeps the newest `retention` finished ones (live
    /// builds always stay).
    pub fn prune(&self, retention: usize) -> Result<()> {
        self.reap_abandoned()?;
        let finished: Vec<Build> = self.all()?.into_iter().filter(|b| !b.is_live()).collect();
        for build in finished.iter().skip(retention) {
            self.remove(&build.id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(65), "1m5s");
        assert_eq!(duration_text(3600), "1h0m0s");
    }

    #[test]
    fn sources_have_their_kind() {
        assert_eq!(kind_of("git-hook"), Some("build"));
        assert_eq!(kind_of("rollback"), Some("deploy"));
        assert_eq!(kind_of("ps:restart"), Some("deploy"));
        assert_eq!(kind_of("rm -rf"), None);
    }

    #[test]
    fn this_process_is_alive_and_pid_zero_is_not() {
        assert!(pid_alive(i64::from(std::process::id())));
        assert!(!pid_alive(0));
        assert!(!pid_alive(-5));
    }

    fn store_in(dir: &std::path::Path) -> Ctx {
        let mut ctx = Ctx::from_env();
        ctx.roots.lib_root = dir.to_path_buf();
        ctx
    }

    fn finished(id: &str, started: &str) -> Build {
        Build {
            id: id.into(),
            app: "app".into(),
            kind: "build".into(),
            pid: 0,
            started_at: started.into(),
            finished_at: Some(started.into()),
            status: SUCCEEDED.into(),
            source: "git-hook".into(),
            exit_code: Some(0),
        }
    }

    #[test]
    fn prune_keeps_the_newest_and_reaps_the_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = store_in(dir.path());
        let store = Store::new(&ctx, "app");
        for (id, at) in [
            ("a", "2026-01-01T00:00:01Z"),
            ("b", "2026-01-01T00:00:02Z"),
            ("c", "2026-01-01T00:00:03.250Z"),
        ] {
            store.write(&finished(id, at)).unwrap();
        }
        let mut ghost = finished("ghost", "2026-01-01T00:00:00Z");
        (ghost.status, ghost.finished_at, ghost.exit_code) = (RUNNING.into(), None, None);
        store.write(&ghost).unwrap();
        store.prune(2).unwrap();
        let left: Vec<String> = store.all().unwrap().into_iter().map(|b| b.id).collect();
        assert_eq!(left, ["c", "b"]);
        assert!(store.read("../x").is_err());
    }
}
