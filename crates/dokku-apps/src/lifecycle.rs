//! Creating and destroying apps, shared by the commands and the API triggers.

use std::io;

use anyhow::{Context, Result};
use dokku_core::env::Roots;
use dokku_core::fs::{AppLock, AppPresence, LockMode, remove_dir_all_if_exists};
use dokku_core::property::Properties;
use dokku_core::trigger::Trigger;
use dokku_core::{AppName, Error, log};

pub const NAMESPACE: &str = "apps";

pub fn properties(roots: &Roots) -> Properties {
    Properties::new(roots, NAMESPACE)
}

/// Makes `$DOKKU_ROOT/<app>` (atomically: of two racing creates exactly one wins) and the
/// app's data directory `data/apps/<app>` (where its deploy lock lives: made now, it is
/// the dokku user's, as in Dokku), records `created-at`, then lets every plugin set the
/// app up through `post-create`.
/// Holds the app's existence lock throughout, so a racing destroy of the same name waits
/// for the app to be whole and never leaves half of it behind.
pub fn create(roots: &Roots, app: &AppName) -> Result<()> {
    app.check_new()?;
    let _presence = AppPresence::exclusive(&roots.lib_root, app.as_str())?;
    std::fs::create_dir_all(&roots.dokku_root)
        .with_context(|| format!("creating {}", roots.dokku_root.display()))?;
    let dir = roots.app_dir(app.as_str());
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(Error::AppExists(app.to_string()).into());
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
    }
    log::info1_quiet(&format!("Creating {app}..."));
    let data = roots.data_dir(NAMESPACE, app.as_str());
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let now = dokku_core::time::now().as_secs();
    properties(roots).set(app.as_str(), "created-at", &now.to_string())?;
    if let Err(err) = Trigger::with_roots("post-create", roots.clone())
        .arg(app.as_str())
        .stream()
    {
        // A half-made app would block the name; undo what the plugins did, keep the error.
        let _ = teardown(roots, app);
        return Err(err);
    }
    Ok(())
}

/// Asks the user to type the app's name, unless `--force` was given.
pub fn confirm_destroy(app: &AppName) -> Result<()> {
    log::confirm_destructive(
        &format!("app {app} and everything attached to it"),
        app.as_str(),
    )
}

/// Destroys an app under its lock: `pre-delete`, the scheduler stops and removes its
/// containers, `post-delete` lets every plugin remove its state, then the app dir goes.
/// The existence lock keeps every per-app write out until the app is gone (a write that
/// waited then finds no app).
pub fn destroy(roots: &Roots, app: &AppName) -> Result<()> {
    let set_aside = set_aside_foreign_data_dir(roots, app)?;
    let _lock = AppLock::acquire(&roots.lib_root, app.as_str(), LockMode::Exclusive)?;
    let presence = AppPresence::exclusive(&roots.lib_root, app.as_str())?;
    if !dokku_core::app::exists(roots, app) {
        return Err(Error::AppNotFound(app.to_string()).into());
    }
    log::info1_quiet(&format!("Destroying {app} (including all add-ons)"));
    teardown(roots, app)?;
    presence.remove_file()?;
    if let Some(aside) = set_aside
        && remove_dir_all_if_exists(&aside).is_err()
    {
        log::warn(&format!(
            "{} held files another user made in {app}'s data directory; as root, remove it: rm -rf {}",
            aside.display(),
            aside.display()
        ));
    }
    Ok(())
}

/// An app data directory this user cannot write (made by root, say, before the app
/// existed) holds no lock anyone could have taken: it is moved aside, within `data/apps`,
/// so the app's lock and its removal can go on. Its new path, when it was moved.
fn set_aside_foreign_data_dir(roots: &Roots, app: &AppName) -> Result<Option<std::path::PathBuf>> {
    use std::os::unix::fs::MetadataExt;
    let dir = roots.data_dir(NAMESPACE, app.as_str());
    let foreign = std::fs::symlink_metadata(&dir).is_ok_and(|m| {
        m.uid() != nix::unistd::geteuid().as_raw() && !nix::unistd::geteuid().is_root()
    });
    if !foreign {
        return Ok(None);
    }
    let aside = dir.with_file_name(format!(".{app}.foreign-{}", std::process::id()));
    std::fs::rename(&dir, &aside).with_context(|| {
        format!(
            "{} belongs to another user; as root, remove it: rm -rf {}",
            dir.display(),
            dir.display()
        )
    })?;
    log::warn(&format!(
        "{} belonged to another user; it was moved aside to {}",
        dir.display(),
        aside.display()
    ));
    Ok(Some(aside))
}

fn teardown(roots: &Roots, app: &AppName) -> Result<()> {
    let trigger = |name: &str| Trigger::with_roots(name, roots.clone());
    trigger("pre-delete").args([app.as_str(), ""]).stream()?;
    let ctx = dokku_core::entry::Ctx {
        roots: roots.clone(),
    };
    let scheduler = dokku_core::ask::scheduler(&ctx, app.as_str())?;
    trigger("scheduler-stop")
        .args([scheduler.as_str(), app.as_str(), "true"])
        .stream()?;
    trigger("scheduler-post-delete")
        .args([scheduler.as_str(), app.as_str(), ""])
        .stream()?;
    trigger("post-delete").args([app.as_str(), ""]).stream()?;
    remove_dir_all_if_exists(&roots.app_dir(app.as_str()))
}

/// True when `apps:lock` is in place or a deploy holds the lock right now.
pub fn is_locked(roots: &Roots, app: &AppName) -> bool {
    AppLock::marker_path(&roots.lib_root, app.as_str()).exists()
        || AppLock::is_held(&roots.lib_root, app.as_str())
}
