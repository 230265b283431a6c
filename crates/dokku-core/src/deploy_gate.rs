//! A push's deploy and its pusher: until the new release takes the app's traffic, a pusher
//! who goes away stops the push, and the old release serves on; from then on the deploy
//! completes. The push's owner (git), the build and the scheduler all take part.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::Error;

/// Set once this process was asked to stop (SIGTERM or SIGHUP: the pusher went away and
/// the push's process group is being stopped). The pipeline's owner survives the signal to
/// undo what it began; the trigger it was running stops, and nothing further starts.
pub fn stop_requested() -> &'static std::sync::atomic::AtomicBool {
    use std::sync::Arc;
    use std::sync::OnceLock;
    use std::sync::atomic::AtomicBool;
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            let _ = signal_hook::flag::register(signal, flag.clone());
        }
        flag
    })
}

/// Fails with [`Error::OutputClosed`] once this process was asked to stop.
pub fn check_stop() -> Result<()> {
    if stop_requested().load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::OutputClosed.into());
    }
    Ok(())
}

/// Names the gate of the push this process serves ([`DeployGate`]).
pub const DEPLOY_GATE_ENV: &str = "DOKKU_DEPLOY_GATE";

/// The point past which a push's deploy is no longer stopped when its pusher goes. Until
/// the new containers take the app's traffic, a pusher who disconnects stops the push
/// (SIGTERM to its process group) and the old release serves on. Once the scheduler has
/// passed the gate ([`commit_deploy`]) the deploy completes, the release is recorded and
/// git moves the branch: what serves, what the releases say and what the branch holds
/// never part. The gate is a file the push's owner creates; both sides hold its lock
/// while they decide, so a stop and a commit never cross.
pub struct DeployGate {
    path: PathBuf,
}

impl DeployGate {
    /// A new, closed gate (an empty file only this user may read).
    pub fn create() -> Result<DeployGate> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = std::env::temp_dir().join(format!(
            "dokku-deploy-gate-{}-{}",
            std::process::id(),
            crate::time::now().as_nanos()
        ));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(DeployGate { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `stop` unless the deploy has passed the gate; true when it ran.
    pub fn stop_unless_committed(&self, stop: impl FnOnce()) -> bool {
        let Ok(file) = std::fs::OpenOptions::new().read(true).open(&self.path) else {
            stop();
            return true;
        };
        let _ = file.lock();
        if std::fs::read(&self.path).is_ok_and(|content| content == b"committed") {
            return false;
        }
        stop();
        true
    }
}

impl Drop for DeployGate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The scheduler, about to give the app's traffic to the new containers: fails with
/// [`Error::OutputClosed`] when the deploy was asked to stop, else passes the push's gate
/// (when there is one) so that nothing stops the deploy from here on.
pub fn commit_deploy() -> Result<()> {
    let stopped = stop_requested();
    let Some(path) = crate::env::var(DEPLOY_GATE_ENV) else {
        return check_stop();
    };
    let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.lock()?;
    // A stop decided while we waited for the lock has been delivered by now.
    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::OutputClosed.into());
    }
    file.write_all(b"committed")?;
    Ok(())
}

/// Makes this process survive a stop request (SIGTERM, SIGHUP) until it asks
/// ([`commit_deploy`]): a scheduler that started containers removes them itself.
pub fn hold_stop_requests() {
    stop_requested();
}
