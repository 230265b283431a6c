//! `dokku`: a dispatcher and nothing else (ARCHITECTURE §1, §4). It sets up the
//! environment, authorises the command, resolves it to a plugin executable and runs it.

mod help;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dokku_core::cmd::Cmd;
use dokku_core::env::{self, Roots};
use dokku_core::error::Error;
use dokku_core::fs::is_executable;
use dokku_core::log;
use dokku_core::trigger::Trigger;

/// `prefix:` rewrites (the command itself is renamed).
const PREFIX_ALIASES: &[(&str, &str)] = &[
    ("docker-local", "scheduler-docker-local"),
    ("dockerfile", "builder-dockerfile"),
    ("herokuish", "builder-herokuish"),
    ("k3s", "scheduler-k3s"),
    ("lambda", "builder-lambda"),
    ("nixpacks", "builder-nixpacks"),
    ("pack", "builder-pack"),
    ("rails", "builder-railpack"),
];

/// Prefixes answered by a plugin directory of another name (the command keeps its name).
const DIR_ALIASES: &[(&str, &str)] = &[
    ("deploy", "deploy-keys"),
    ("git-", "git"),
    ("events", "20_events"),
    ("caddy", "caddy-vhosts"),
    ("haproxy", "haproxy-vhosts"),
    ("nginx", "nginx-vhosts"),
    ("openresty", "openresty-vhosts"),
    ("traefik", "traefik-vhosts"),
];

/// Bare words that belong to the standard plugin.
const STANDARD_WORDS: &[&str] = &["deploy", "cleanup", "url", "urls", "report"];

fn main() {
    dokku_core::entry::exit(run())
}

fn run() -> Result<i32> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    load_environment()?;
    if let Some(command) = env::var(env::SSH_ORIGINAL_COMMAND) {
        args = shell_words::split(&command)
            .map_err(|_| anyhow::anyhow!("Invalid command: unbalanced quotes"))?;
        set_env(env::SSH_ORIGINAL_COMMAND, None);
    }
    let args = parse_global_flags(args);
    let roots = Roots::from_env();
    export_roots(&roots);

    let command = args.first().cloned().unwrap_or_default();
    if is_root_only(&command) {
        require_root(&roots)?;
    } else if !keeps_root(&command) {
        drop_to_system_user(&roots)?;
    }
    authorize(&roots, &args)?;

    match command.as_str() {
        "" | "help" | "--help" | "-h" => {
            return help::print(&roots, args.iter().any(|a| a == "--all"));
        }
        "version" | "-v" | "--version" => {
            log::data(&format!("dokku version {}", env!("CARGO_PKG_VERSION")));
            return Ok(0);
        }
        // The dispatcher fires triggers itself, as plugn does for Dokku: no second exec.
        "plugin:trigger" => {
            dokku_core::trigger::run_from_cli(&roots, &args[1..])?;
            return Ok(0);
        }
        _ => {}
    }
    dispatch(&roots, args)
}

/// Sets or removes a variable while the dispatcher is still single-threaded.
#[allow(unsafe_code)]
fn set_env(key: &str, value: Option<&str>) {
    // SAFETY: called only from `run` before any thread is spawned, so nothing else can be
    // reading the environment concurrently.
    unsafe {
        match value {
            Some(v) => std::env::set_var(key, v),
            None => std::env::remove_var(key),
        }
    }
}

/// `/etc/default/dokku`, then `$DOKKU_ROOT/dokkurc` and `$DOKKU_ROOT/.dokkurc/*`, each
/// read as assignments (never run by a shell); their values override the environment.
fn load_environment() -> Result<()> {
    let defaults =
        env::var(env::DOKKU_DEFAULTS_FILE).unwrap_or_else(|| "/etc/default/dokku".into());
    apply_assignments(Path::new(&defaults))?;
    let root = Roots::from_env().dokku_root;
    apply_assignments(&root.join("dokkurc"))?;
    if let Ok(entries) = fs::read_dir(root.join(".dokkurc")) {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            apply_assignments(&file)?;
        }
    }
    Ok(())
}

fn apply_assignments(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text = fs::read_to_string(path)
        .with_context(|| format!("Unable to read {} for sourcing", path.display()))?;
    for (key, value) in env::parse_assignments(&text) {
        set_env(&key, Some(&value));
    }
    Ok(())
}

/// Global flags count anywhere in argv (Dokku's `parse_args`); leading ones are removed.
fn parse_global_flags(args: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quiet" => set_env(env::DOKKU_QUIET_OUTPUT, Some("1")),
            "--trace" => set_env(env::DOKKU_TRACE, Some("1")),
            "--force" => set_env(env::DOKKU_APPS_FORCE_DELETE, Some("1")),
            "--app" => {
                if let Some(app) = it.next() {
                    set_env(env::DOKKU_APP_NAME, Some(app));
                    seen.push(format!("--app={app}"));
                }
                continue;
            }
            a if a.starts_with("--app=") => set_env(env::DOKKU_APP_NAME, Some(&a[6..])),
            a if a.starts_with("--") => {}
            _ => continue,
        }
        seen.push(arg.clone());
    }
    if !seen.is_empty() {
        set_env(env::DOKKU_GLOBAL_FLAGS, Some(&seen.join(" ")));
    }
    let mut rest = args.into_iter().peekable();
    while let Some(first) = rest.peek() {
        if !first.starts_with("--") || first == "--version" || first == "--help" {
            break;
        }
        if rest.next().as_deref() == Some("--app") {
            rest.next();
        }
    }
    rest.collect()
}

fn export_roots(roots: &Roots) {
    for (key, value) in roots.exports() {
        set_env(key, Some(&value));
    }
    if env::var(env::DOCKER_BIN).is_none() {
        set_env(env::DOCKER_BIN, Some("docker"));
    }
    if env::var(env::DOKKU_PID).is_none() {
        set_env(env::DOKKU_PID, Some(&std::process::id().to_string()));
    }
    if env::var(env::DOKKU_BIN).is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        set_env(env::DOKKU_BIN, Some(&exe.to_string_lossy()));
    }
}

/// Commands that change what runs on the host, and so need root (Dokku §1.3).
fn is_root_only(command: &str) -> bool {
    match command.split_once(':') {
        Some(("plugin", sub)) => !matches!(sub, "help" | "list"),
        _ => matches!(command, "ssh-keys:add" | "ssh-keys:remove"),
    }
}

/// Commands root runs as itself (any user may run them): `storage:ensure-directory`
/// hands the new directory to the app's container user, which takes root's `chown`
/// (Dokku grants it through sudo).
fn keeps_root(command: &str) -> bool {
    command == "storage:ensure-directory"
}

/// Root, or the owner of the plugin tree (a hermetic install in a temp dir); never the
/// dokku user, which is who every SSH key acts as.
fn require_root(roots: &Roots) -> Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    let owns_tree = || fs::metadata(&roots.plugin_path).is_ok_and(|m| m.uid() == uid);
    let is_system_user = || {
        nix::unistd::User::from_name(&roots.system_user)
            .ok()
            .flatten()
            .is_some_and(|u| u.uid.as_raw() == uid)
    };
    if uid == 0 || (owns_tree() && !is_system_user()) {
        if env::var(env::SSH_USER).is_none() {
            set_env(env::SSH_USER, Some("root"));
        }
        return Ok(());
    }
    Err(anyhow::anyhow!("This command must be run as root"))
}

/// Root runs ordinary commands as the dokku user when that user owns `$DOKKU_ROOT`, so
/// state stays owned by the account that SSH pushes act as (Dokku re-execs through sudo).
fn drop_to_system_user(roots: &Roots) -> Result<()> {
    use nix::unistd::{Gid, Uid, User, initgroups, setgid, setuid};
    // Stats only on the common paths: the passwd lookup happens only when a switch is due.
    let owner = fs::metadata(&roots.dokku_root).map(|m| m.uid()).ok();
    if !nix::unistd::geteuid().is_root() || owner.is_none_or(|uid| uid == 0) {
        return Ok(());
    }
    let Some(user) = User::from_name(&roots.system_user).ok().flatten() else {
        return Ok(());
    };
    if owner != Some(user.uid.as_raw()) {
        return Ok(());
    }
    if env::var(env::SSH_USER).is_none() {
        set_env(env::SSH_USER, Some("root"));
    }
    let name = std::ffi::CString::new(user.name.clone())?;
    initgroups(&name, user.gid).context("initgroups")?;
    setgid(Gid::from_raw(user.gid.as_raw())).context("setgid")?;
    setuid(Uid::from_raw(user.uid.as_raw())).context("setuid")?;
    set_env("HOME", Some(&user.dir.to_string_lossy()));
    set_env("USER", Some(&user.name));
    Ok(())
}

/// The `user-auth` trigger decides, when any plugin implements it (Dokku §1.5).
fn authorize(roots: &Roots, args: &[String]) -> Result<()> {
    let (user, name) = env::ssh_identity();
    set_env(env::SSH_USER, Some(&user));
    set_env(env::SSH_NAME, Some(&name));
    set_env(
        env::DOKKU_COMMAND,
        Some(args.first().map(String::as_str).unwrap_or("")),
    );
    let trigger = Trigger::with_roots("user-auth", roots.clone());
    if !trigger.exists() {
        return Ok(());
    }
    match trigger
        .args([user, name])
        .args(args.iter().cloned())
        .output()
    {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.downcast_ref(), Some(Error::TriggerFailed { .. })) => {
            Err(anyhow::anyhow!("Access denied"))
        }
        Err(e) => Err(e),
    }
}

fn dispatch(roots: &Roots, mut args: Vec<String>) -> Result<i32> {
    let (prefix, sub) = match args[0].split_once(':') {
        Some((p, s)) => (p.to_string(), Some(s.to_string())),
        None => (args[0].clone(), None),
    };
    let prefix = match PREFIX_ALIASES.iter().find(|(from, _)| *from == prefix) {
        Some((_, to)) => {
            args[0] = match &sub {
                Some(s) => format!("{to}:{s}"),
                None => to.to_string(),
            };
            to.to_string()
        }
        None => prefix,
    };
    let dir = if sub.is_none() && STANDARD_WORDS.contains(&prefix.as_str()) {
        "00_dokku-standard".to_string()
    } else {
        DIR_ALIASES
            .iter()
            .find(|(from, _)| prefix.starts_with(from))
            .map(|(_, to)| to.to_string())
            .unwrap_or_else(|| prefix.clone())
    };
    let enabled = roots.plugin_enabled();
    let plugin_dir = enabled.join(&dir);
    if let Some(app) = env::var(env::DOKKU_APP_NAME)
        && is_core_plugin(roots, &plugin_dir)
    {
        args.insert(1, app);
    }
    let mut candidates = Vec::new();
    if sub.is_none() {
        candidates.push(plugin_dir.join("subcommands/default"));
    }
    candidates.push(plugin_dir.join("subcommands").join(&args[0]));
    if let Some(sub) = sub.as_deref().filter(|s| !s.is_empty()) {
        candidates.push(plugin_dir.join("subcommands").join(sub));
    }
    if let Some(path) = candidates.iter().find(|p| is_executable(p)) {
        Cmd::new(path).args(&args).exec_replace()?;
    }
    if sub.as_deref() != Some("") {
        for plugin in dokku_core::trigger::enabled_plugins(roots) {
            let commands = enabled.join(&plugin).join("commands");
            if !is_executable(&commands) {
                continue;
            }
            match Cmd::new(&commands).args(&args).status()? {
                env::NOT_IMPLEMENTED_EXIT => continue,
                code => return Ok(code),
            }
        }
    }
    log::warn(&format!("`{}` is not a dokku command.", args.join(" ")));
    log::warn("See `dokku help` for a list of available commands.");
    Ok(1)
}

/// A core plugin's enabled link resolves into `$PLUGIN_CORE_PATH`.
fn is_core_plugin(roots: &Roots, plugin_dir: &Path) -> bool {
    match (
        plugin_dir.canonicalize(),
        roots.plugin_core_path.canonicalize(),
    ) {
        (Ok(dir), Ok(core)) => dir.starts_with(core),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_only_commands_follow_dokku() {
        for cmd in [
            "plugin:install",
            "plugin:uninstall",
            "plugin:trigger",
            "ssh-keys:add",
            "ssh-keys:remove",
        ] {
            assert!(is_root_only(cmd), "{cmd}");
        }
        for cmd in [
            "plugin:list",
            "plugin:help",
            "plugin",
            "ssh-keys:list",
            "apps:create",
            "help",
            "",
        ] {
            assert!(!is_root_only(cmd), "{cmd}");
        }
    }
}
