//! Where ENV files live, and every read and write of them: under a per-file lock, written
//! atomically, with a pre-0.38 file migrated the first time its app is touched.

use std::path::PathBuf;

use anyhow::{Context, Result};
use dokku_core::app::{self, AppName};
use dokku_core::env::Roots;
use dokku_core::fs::{
    FileLock, read_optional, remove_file_if_exists, remove_stale_temps, write_atomic,
};
use dokku_core::log;
use dokku_core::property::Properties;

use crate::envfile::{self, Env};

/// Whose variables: one app's or the global ones (`--global`).
pub use dokku_core::app::Target;

pub struct Store {
    roots: Roots,
}

impl Store {
    pub fn new(roots: Roots) -> Store {
        Store { roots }
    }

    fn dir(&self, target: &Target) -> PathBuf {
        self.roots.config_dir().join(target.slot())
    }

    pub fn path(&self, target: &Target) -> PathBuf {
        self.dir(target).join("ENV")
    }

    fn lock(&self, target: &Target) -> Result<FileLock> {
        FileLock::wait(&self.dir(target).join(".ENV.lock"))
    }

    /// The pre-0.38 location: `$DOKKU_ROOT/<app>/ENV`, `$DOKKU_ROOT/ENV`.
    fn legacy_path(&self, target: &Target) -> PathBuf {
        match target {
            Target::Global => self.roots.dokku_root.join("ENV"),
            Target::App(app) => self.roots.app_dir(app.as_str()).join("ENV"),
        }
    }

    fn properties(&self) -> Properties {
        Properties::new(&self.roots, "config")
    }

    pub fn load(&self, target: &Target) -> Result<Env> {
        if self.legacy_path(target).exists() {
            let _lock = self.lock(target)?;
            self.migrate_locked(target)?;
        }
        self.read(target)
    }

    /// The app's variables over the global ones.
    pub fn load_merged(&self, target: &Target) -> Result<Env> {
        let mut env = self.load(&Target::Global)?;
        if let Target::App(_) = target {
            env.extend(self.load(target)?);
        }
        Ok(env)
    }

    /// Read-modify-write under the file's lock, so concurrent writers never lose a key.
    /// The file is rewritten only when `change` altered something.
    /// An app's file is written only while the app exists (under its existence lock), so
    /// a write racing `apps:destroy` never leaves secrets for a later app of that name.
    pub fn update<T>(&self, target: &Target, change: impl FnOnce(&mut Env) -> T) -> Result<T> {
        let _app = match target {
            Target::App(app) => Some(app::lock_existing(&self.roots, app.as_str())?),
            Target::Global => None,
        };
        let _lock = self.lock(target)?;
        remove_stale_temps(&self.path(target))?;
        self.migrate_locked(target)?;
        let mut env = self.read(target)?;
        let before = env.clone();
        let result = change(&mut env);
        if env != before {
            self.write(target, &env)?;
            self.update_deploy_facts()?;
        }
        Ok(result)
    }

    fn read(&self, target: &Target) -> Result<Env> {
        let path = self.path(target);
        let Some(text) = read_optional(&path)? else {
            return Ok(Env::new());
        };
        let parsed =
            envfile::parse(&text).with_context(|| format!("reading {}", path.display()))?;
        for key in &parsed.invalid_keys {
            log::warn(&format!(
                "Ignoring invalid key {key} in the config for {}",
                target.slot()
            ));
        }
        Ok(parsed.env)
    }

    /// Inside a deploy, its facts take the deploy's app's config as it is now.
    fn update_deploy_facts(&self) -> Result<()> {
        let Some(app) = dokku_core::ask::deploy_app() else {
            return Ok(());
        };
        let Ok(app) = dokku_core::app::AppName::parse(&app) else {
            return Ok(());
        };
        dokku_core::ask::config_changed(self.read(&Target::Global)?, self.read(&Target::App(app))?)
    }

    fn write(&self, target: &Target, env: &Env) -> Result<()> {
        write_atomic(
            &self.path(target),
            envfile::serialize(env).as_bytes(),
            0o600,
        )
    }

    /// Drains a pre-0.38 ENV file into place (Dokku's `config-migrate-env`), keeping values
    /// already in the new file, and records the target as migrated (even with no file:
    /// the record is what tells a file that appears later from one never migrated). A
    /// file found after the record is never imported: deleted when it adds nothing, else
    /// set aside as `ENV.migrated` with a warning naming the keys it disagrees on.
    pub fn migrate(&self, target: &Target) -> Result<()> {
        if self.migrated(target)? && !self.legacy_path(target).exists() {
            return Ok(());
        }
        let _lock = self.lock(target)?;
        self.migrate_locked(target)?;
        self.properties().set(target.slot(), "env-migrated", "true")
    }

    fn migrated(&self, target: &Target) -> Result<bool> {
        let record = self.properties().get(target.slot(), "env-migrated")?;
        Ok(record.as_deref() == Some("true"))
    }

    /// The file's drain, under its lock, when there is a file (a first read or write of
    /// the target drains it too).
    fn migrate_locked(&self, target: &Target) -> Result<()> {
        let props = self.properties();
        let migrated = self.migrated(target)?;
        let legacy = self.legacy_path(target);
        let Some(text) = read_optional(&legacy)? else {
            return Ok(());
        };
        let old = envfile::parse(&text)
            .with_context(|| format!("migrating {}: the file is kept", legacy.display()))?
            .env;
        let mut current = self.read(target)?;
        if migrated {
            let differing: Vec<&str> = old
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, _)| k.as_str())
                .collect();
            if differing.is_empty() {
                return remove_file_if_exists(&legacy);
            }
            let aside = legacy.with_file_name("ENV.migrated");
            log::warn(&format!(
                "Not importing already-migrated ENV file {}: the current config takes precedence for {}",
                legacy.display(),
                differing.join(" ")
            ));
            log::warn(&format!(
                "Preserved at {}: re-apply anything still needed with dokku config:set, then delete it - dokku does not read it and it may hold values that were unset on purpose",
                aside.display()
            ));
            std::fs::rename(&legacy, &aside)
                .with_context(|| format!("moving {} aside", legacy.display()))?;
            return Ok(());
        }
        for (key, value) in old {
            current.entry(key).or_insert(value);
        }
        self.write(target, &current)?;
        props.set(target.slot(), "env-migrated", "true")?;
        remove_file_if_exists(&legacy)
    }

    /// Every target with a file in the old location: the global one, then each app.
    pub fn legacy_targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        if self.legacy_path(&Target::Global).exists() {
            targets.push(Target::Global);
        }
        let mut apps: Vec<String> = std::fs::read_dir(&self.roots.dokku_root)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().join("ENV").is_file())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        apps.sort();
        targets.extend(
            apps.iter()
                .filter_map(|a| AppName::parse(a).ok())
                .map(Target::App),
        );
        targets
    }

    /// `post-delete`: the app's file and lock go. The directory is shared with property
    /// namespaces of the same name (Dokku's layout), so only our files are removed.
    pub fn destroy(&self, app: &str) -> Result<()> {
        let target = Target::App(AppName::parse(app)?);
        remove_file_if_exists(&self.path(&target))?;
        remove_stale_temps(&self.path(&target))?;
        remove_file_if_exists(&self.dir(&target).join(".ENV.lock"))?;
        let _ = std::fs::remove_dir(self.dir(&target));
        self.properties().destroy_app(app)
    }

    /// `post-app-clone-setup` (copy) and `post-app-rename-setup` (copy, then the old app's
    /// destroy removes the original).
    pub fn copy(&self, old: &str, new: &str) -> Result<()> {
        let env = self.load(&Target::App(AppName::parse(old)?))?;
        let target = Target::App(AppName::parse(new)?);
        self.update(&target, |current| current.extend(env))
    }
}
