//! `deploy:*` commands and the `user-auth` rule that confines a deploy key to git access
//! of the apps that allow it. Keys reach `authorized_keys` through the ssh-keys plugin's
//! triggers; this plugin keeps which app allows which fingerprint.

use dokku_core::entry::Ctx;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::parse;
use dokku_core::env::{self, Roots};
use dokku_core::fs::FileLock;
use dokku_core::property::Properties;
use dokku_core::trigger::Trigger;
use dokku_core::{Error, log};

const KEYS: &str = "keys";
/// The git commands a deploy key may run: push and fetch. (A push's hook runs inside the
/// push and calls the git plugin directly; a deploy key never runs it on its own.)
const GIT_COMMANDS: &[&str] = &["git-receive-pack", "git-upload-pack"];
/// How this plugin names its keys' `authorized_keys` lines: `deploy:<fingerprint>`. Admin
/// key names cannot contain `:`, so the name alone tells a deploy key.
pub const KEY_NAME_PREFIX: &str = "deploy:";

/// One allowed key of an app: `FINGERPRINT NAME` in the app's `keys` list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    fingerprint: String,
    name: String,
}

struct Registry {
    roots: Roots,
}

impl Registry {
    fn new(ctx: &Ctx) -> Registry {
        Registry {
            roots: ctx.roots.clone(),
        }
    }

    fn props(&self) -> Properties {
        Properties::new(&self.roots, "deploy-keys")
    }

    fn lock(&self) -> Result<FileLock> {
        FileLock::wait(&self.roots.data_dir("deploy-keys", ".lock"))
    }

    fn allowed(&self, app: &str) -> Result<Vec<Allowed>> {
        Ok(self
            .props()
            .list(app, KEYS)?
            .iter()
            .filter_map(|l| l.split_once(' '))
            .map(|(fp, name)| Allowed {
                fingerprint: fp.to_string(),
                name: name.to_string(),
            })
            .collect())
    }

    fn save(&self, app: &str, keys: &[Allowed]) -> Result<()> {
        let lines: Vec<String> = keys
            .iter()
            .map(|k| format!("{} {}", k.fingerprint, k.name))
            .collect();
        self.props().set_list(app, KEYS, &lines)
    }

    /// The apps that allow `fingerprint`; empty for any key that is not a deploy key.
    fn apps_of(&self, fingerprint: &str) -> Result<Vec<String>> {
        let mut apps = Vec::new();
        for slot in self.props().slots()? {
            if self
                .allowed(&slot)?
                .iter()
                .any(|k| k.fingerprint == fingerprint)
            {
                apps.push(slot);
            }
        }
        Ok(apps)
    }

    fn trigger(&self, name: &str) -> Trigger {
        Trigger::with_roots(name, self.roots.clone())
    }

    /// Takes the key's `authorized_keys` line away when no app but `leaving` allows it.
    /// Called before `leaving`'s list is saved: a crash in between leaves a listed key
    /// that cannot log in, never a key that logs in with no app.
    fn forget_unless_used_elsewhere(&self, fingerprint: &str, leaving: &str) -> Result<()> {
        let others = self.apps_of(fingerprint)?;
        if others.iter().all(|a| a == leaving) {
            self.trigger("ssh-keys-remove").arg(fingerprint).output()?;
        }
        Ok(())
    }
}

#[derive(Parser)]
struct Allow {
    #[arg(value_name = "APP")]
    app: String,
    /// A name for the key (default: derived from its fingerprint).
    #[arg(long)]
    name: Option<String>,
}

/// `deploy:allow APP [--name NAME]` with the public key on stdin.
pub fn allow(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Allow = parse("deploy:allow", args)?;
    let registry = Registry::new(ctx);
    let app = app::verify(&registry.roots, &cmd.app)?;
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("Pipe the public key to deploy:allow (e.g. dokku deploy:allow APP < key.pub)");
    }
    let mut key = String::new();
    stdin.read_to_string(&mut key).context("reading the key")?;
    let fingerprint = registry
        .trigger("ssh-keys-fingerprint")
        .stdin(key.clone())
        .output_string()?;
    let name = match cmd.name {
        Some(name) if dokku_core::name::is_key_name(&name) => name,
        Some(name) => bail!(
            "Invalid key name {name:?}: letters, digits, '-', '_', '.' and '@', starting with a letter or digit"
        ),
        None => format!(
            "key-{}",
            fingerprint
                .trim_start_matches("SHA256:")
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(12)
                .collect::<String>()
        ),
    };
    let _app = app::lock_existing(&registry.roots, app.as_str())?;
    let _lock = registry.lock()?;
    let mut allowed = registry.allowed(app.as_str())?;
    let listed = registry.trigger("ssh-keys-list").output_lines()?;
    let line = listed
        .iter()
        .find(|l| l.split(' ').next() == Some(fingerprint.as_str()));
    if line.is_some_and(|l| !l.contains(&format!(" {KEY_NAME_PREFIX}"))) {
        bail!("This key is an admin key (ssh-keys) and already has full access");
    }
    if allowed.iter().any(|k| k.fingerprint == fingerprint) && line.is_some() {
        bail!("This key is already allowed to deploy {app}");
    }
    if !allowed.iter().any(|k| k.fingerprint == fingerprint) {
        if allowed.iter().any(|k| k.name == name) {
            bail!("{app} already has a deploy key named {name}");
        }
        allowed.push(Allowed {
            fingerprint: fingerprint.clone(),
            name: name.clone(),
        });
        // The list first, then the key's line: a crash in between leaves an allowed key
        // that cannot log in yet, never a key that logs in with no app.
        registry.save(app.as_str(), &allowed)?;
    }
    if line.is_none() {
        registry
            .trigger("ssh-keys-add")
            .arg(format!("{KEY_NAME_PREFIX}{fingerprint}"))
            .stdin(key)
            .output()?;
    }
    log::info1_quiet(&format!(
        "Deploy key {name} ({fingerprint}) may now push to {app}"
    ));
    Ok(())
}

#[derive(Parser)]
struct Revoke {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "NAME|FINGERPRINT")]
    key: String,
}

pub fn revoke(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Revoke = parse("deploy:revoke", args)?;
    let registry = Registry::new(ctx);
    let app = app::verify(&registry.roots, &cmd.app)?;
    let _lock = registry.lock()?;
    let mut allowed = registry.allowed(app.as_str())?;
    let Some(at) = allowed
        .iter()
        .position(|k| k.name == cmd.key || k.fingerprint == cmd.key)
    else {
        bail!("{app} has no deploy key {}", cmd.key);
    };
    let gone = allowed.remove(at);
    registry.forget_unless_used_elsewhere(&gone.fingerprint, app.as_str())?;
    registry.save(app.as_str(), &allowed)?;
    log::info1_quiet(&format!("Deploy key {} revoked for {app}", gone.name));
    Ok(())
}

#[derive(Parser)]
struct List {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    format: String,
}

pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("deploy:list", args)?;
    let registry = Registry::new(ctx);
    let app = app::verify(&registry.roots, &cmd.app)?;
    let allowed = registry.allowed(app.as_str())?;
    if cmd.format == "json" {
        let rows: Vec<serde_json::Value> = allowed
            .iter()
            .map(|k| serde_json::json!({"name": k.name, "fingerprint": k.fingerprint}))
            .collect();
        log::data(&serde_json::to_string(&rows)?);
        return Ok(());
    }
    log::info2_quiet(&format!("{app} deploy keys"));
    let rows: Vec<(String, String)> = allowed
        .into_iter()
        .map(|k| (k.name, k.fingerprint))
        .collect();
    for line in log::columns(&rows) {
        log::data(&line);
    }
    Ok(())
}

/// `user-auth SSH_USER SSH_NAME COMMAND [ARGS...]`: a deploy key may only push to and
/// fetch from the apps that allow it. A key's role comes from its own `authorized_keys`
/// line (its NAME is `deploy:<fingerprint>`), never from the list of apps: a deploy key
/// that no app allows is refused everything. Admin keys and local users pass. A non-zero
/// exit is "Access denied".
pub fn user_auth(ctx: &Ctx, args: &[String]) -> Result<()> {
    let names = [
        env::var(env::NAME).unwrap_or_default(),
        args.get(1).cloned().unwrap_or_default(),
    ];
    let Some(from_name) = names.iter().find_map(|n| n.strip_prefix(KEY_NAME_PREFIX)) else {
        return Ok(());
    };
    let fingerprint = env::var(env::FINGERPRINT).unwrap_or_else(|| from_name.to_string());
    let apps = Registry::new(ctx).apps_of(&fingerprint)?;
    let command = args.get(2).map(String::as_str).unwrap_or_default();
    let target = args
        .get(3)
        .map(|a| app::from_git_path(a))
        .unwrap_or_default();
    // Exactly `COMMAND APP`: no extra words, no global flag (`--trace` would show the
    // host's environment; `--app` would name another app).
    let plain = args.len() == 4
        && env::var(env::DOKKU_APP_NAME).is_none()
        && env::var(env::DOKKU_GLOBAL_FLAGS).is_none();
    if plain && GIT_COMMANDS.contains(&command) && apps.iter().any(|a| a == target) {
        return Ok(());
    }
    Err(Error::Exit(1).into())
}

/// `post-delete APP`: the app's deploy keys go, and with them any key no app allows.
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let registry = Registry::new(ctx);
    let _lock = registry.lock()?;
    for key in registry.allowed(app)? {
        registry.forget_unless_used_elsewhere(&key.fingerprint, app)?;
    }
    registry.props().destroy_app(app)
}

/// `post-app-rename-setup OLD NEW`: the keys follow the app. A clone gets none: access is
/// granted per app.
pub fn post_app_rename_setup(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    AppName::parse(new)?;
    let registry = Registry::new(ctx);
    let _lock = registry.lock()?;
    registry.props().clone_app(old, new)
}
