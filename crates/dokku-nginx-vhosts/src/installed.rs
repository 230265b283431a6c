//! Root's copies of the apps' nginx configs. nginx's master runs as root and reads what its
//! configuration includes, so it never includes a file the dokku user can write: each
//! app's config (`$DOKKU_ROOT/<app>/nginx.conf`, the dokku user's) is judged by
//! [`policy::Rules::for_root`] and written, as judged, to `<nginx conf dir>/dokku-rs/apps/
//! <app>.conf`, a root-owned directory that nginx's configuration includes. The certificate
//! files it names are copied beside it (`dokku-rs/tls/<app>/`), read without following a
//! link. This runs as root: in the root helper for the dokku user, or in the plugin itself
//! on a host with no dokku user.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::policy;

/// Certificate files larger than this are refused.
const MAX_CERTIFICATE_BYTES: u64 = 1 << 20;

/// The directory of root's copies for an nginx configuration file.
pub fn dir_for(nginx_conf: &Path) -> PathBuf {
    nginx_conf
        .parent()
        .unwrap_or(Path::new("/etc/nginx"))
        .join("dokku-rs")
}

/// What nginx's own check said: its exit code and words.
pub type Verdict = (i32, String);

/// Root's copies under `dir` (see [`dir_for`]), with logs allowed in `log_dir`.
pub struct Installed {
    pub dir: PathBuf,
    pub log_dir: PathBuf,
}

/// What [`Installed::apply`] does with a config nginx accepts.
#[derive(Clone, Copy, PartialEq)]
pub enum Keep {
    /// It stays: the app's config as nginx serves it from the next reload on.
    Yes,
    /// The previous copy comes back either way (a check of what would be served).
    No,
}

impl Installed {
    /// Where the apps' copies are, which nginx includes.
    pub fn apps_dir(&self) -> PathBuf {
        self.dir.join("apps")
    }

    /// The app's copy.
    pub fn conf_path(&self, app: &str) -> PathBuf {
        self.apps_dir().join(format!("{app}.conf"))
    }

    fn tls_dir(&self, app: &str) -> PathBuf {
        self.dir.join("tls").join(app)
    }

    fn lock(&self) -> Result<dokku_core::fs::FileLock> {
        self.prepare()?;
        dokku_core::fs::FileLock::wait(&self.dir.join(".lock"))
    }

    fn prepare(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for (dir, mode) in [
            (self.dir.clone(), 0o755),
            (self.apps_dir(), 0o755),
            (self.dir.join("tls"), 0o700),
        ] {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    }

    /// Judges the app's config in `dokku_root` (owned by `caller`, when given) and puts the
    /// result in place of the app's copy; no config there removes the copy. nginx then
    /// checks the whole configuration (`test`): when it refuses, or `keep` is
    /// [`Keep::No`], the previous copy comes back. Returns nginx's verdict.
    pub fn apply(
        &self,
        dokku_root: &Path,
        app: &str,
        caller: Option<u32>,
        keep: Keep,
        test: &dyn Fn() -> Result<Verdict>,
    ) -> Result<Verdict> {
        let app = dokku_core::app::AppName::parse(app)?;
        let app = app.as_str();
        let _lock = self.lock()?;
        let source = dokku_core::privilege::read_file_nofollow(
            dokku_root,
            &Path::new(app).join("nginx.conf"),
            policy::MAX_CONFIG_BYTES as u64,
            caller,
        )?;
        let path = self.conf_path(app);
        let previous = dokku_core::fs::read_optional(&path)?;
        let candidate = match source {
            None => None,
            Some(bytes) => {
                let text = String::from_utf8(bytes).context("the config is not UTF-8")?;
                Some(self.judged(dokku_root, app, caller, &text)?)
            }
        };
        let put = |text: Option<&str>| match text {
            Some(text) => dokku_core::fs::write_atomic(&path, text.as_bytes(), 0o644),
            None => dokku_core::fs::remove_file_if_exists(&path),
        };
        put(candidate.as_deref())?;
        let verdict = test();
        let keep_it = matches!(&verdict, Ok((0, _))) && keep == Keep::Yes;
        if !keep_it {
            put(previous.as_deref())?;
        }
        self.drop_unused_certificates(app)?;
        verdict
    }

    /// The app's copy goes (an app that lost its site, or whose config is removed).
    pub fn remove(&self, app: &str) -> Result<()> {
        let app = dokku_core::app::AppName::parse(app)?;
        let _lock = self.lock()?;
        dokku_core::fs::remove_file_if_exists(&self.conf_path(app.as_str()))?;
        self.drop_unused_certificates(app.as_str())
    }

    /// nginx's verdict on the whole configuration without the app's copy (which is put
    /// back): whether that copy is what nginx refuses.
    pub fn test_without(&self, app: &str, test: &dyn Fn() -> Result<Verdict>) -> Result<Verdict> {
        let app = dokku_core::app::AppName::parse(app)?;
        let _lock = self.lock()?;
        let path = self.conf_path(app.as_str());
        let Some(text) = dokku_core::fs::read_optional(&path)? else {
            return test();
        };
        dokku_core::fs::remove_file_if_exists(&path)?;
        let verdict = test();
        dokku_core::fs::write_atomic(&path, text.as_bytes(), 0o644)?;
        verdict
    }

    /// The config as root gives it to nginx: judged, certificates copied.
    fn judged(
        &self,
        dokku_root: &Path,
        app: &str,
        caller: Option<u32>,
        text: &str,
    ) -> Result<String> {
        let tls_dir = self.tls_dir(app);
        let mut copy = |file: &Path| -> Result<PathBuf> {
            let rel = file
                .strip_prefix(dokku_root)
                .context("not in the app's directory")?;
            let bytes = dokku_core::privilege::read_file_nofollow(
                dokku_root,
                rel,
                MAX_CERTIFICATE_BYTES,
                caller,
            )?
            .context("no such file")?;
            let name = file
                .file_name()
                .and_then(|n| n.to_str())
                .context("no file name")?;
            std::fs::create_dir_all(&tls_dir)?;
            let copy = tls_dir.join(format!("{:016x}-{name}", content_hash(&bytes)));
            dokku_core::fs::write_atomic(&copy, &bytes, 0o600)?;
            Ok(copy)
        };
        let mut rules =
            policy::Rules::for_root(app, dokku_root.join(app), self.log_dir.clone(), &mut copy);
        policy::vet(text, &mut rules)
            .map_err(|err| anyhow::anyhow!("the nginx config of {app} is refused: {err}"))
    }

    /// Removes the app's certificate copies its config no longer names.
    fn drop_unused_certificates(&self, app: &str) -> Result<()> {
        let tls_dir = self.tls_dir(app);
        let conf = dokku_core::fs::read_optional(&self.conf_path(app))?.unwrap_or_default();
        let Ok(entries) = std::fs::read_dir(&tls_dir) else {
            return Ok(());
        };
        for entry in entries {
            let path = entry?.path();
            if !conf.contains(&path.display().to_string()) {
                dokku_core::fs::remove_file_if_exists(&path)?;
            }
        }
        if conf.is_empty() {
            let _ = std::fs::remove_dir(&tls_dir);
        }
        Ok(())
    }
}

/// A name for a file's contents: the same contents, the same name, so the copy a running
/// config names is never overwritten by a different certificate.
fn content_hash(bytes: &[u8]) -> u64 {
    // FNV-1a: stable across builds, unlike the standard library's hasher.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
