//! `dokku`: a dispatcher and nothing else. It sets up the
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
use dokku_core::plugins::index::Index;
use dokku_core::privilege;
use dokku_core::trigger::Trigger;

fn main() {
    dokku_core::entry::exit(run())
}

fn run() -> Result<i32> {
    let mut args = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|_| anyhow::anyhow!("Invalid command: an argument is not valid UTF-8"))
        })
        .collect::<Result<Vec<String>>>()?;
    load_defaults();
    let over_ssh = env::var_os(env::SSH_ORIGINAL_COMMAND).is_some();
    if let Some(command) = env::var_os(env::SSH_ORIGINAL_COMMAND) {
        let command = command
            .into_string()
            .map_err(|_| anyhow::anyhow!("Invalid command: it is not valid UTF-8"))?;
        args = shell_words::split(&command)
            .map_err(|_| anyhow::anyhow!("Invalid command: unbalanced quotes"))?;
        env::remove_early(env::SSH_ORIGINAL_COMMAND);
    }
    let (args, trace) = parse_global_flags(args);
    let command = args.first().cloned().unwrap_or_default();
    let roots = Roots::from_env();
    let index = Index::read(&roots);
    if is_root_only(&index, &command) {
        // A key is never root, whichever account sshd runs it as.
        if over_ssh {
            return Err(anyhow::anyhow!(
                "{command} is for root on the host, not for SSH keys"
            ));
        }
        privilege::require_root(&roots)?;
        if command == TRIGGER_COMMAND {
            // Triggers act on app state: root fires them as the dokku user, as Dokku does.
            switch_to_system_user(&roots)?;
        }
    } else {
        switch_to_system_user(&roots)?;
    }
    // Only now, as the user this command runs as, may the dokku user's rc files count.
    load_rc_files(&roots);
    let roots = Roots::from_env();
    export_roots(&roots);
    authorize(&roots, &index, &args)?;
    // Tracing starts only once the key may run the command: a refused key sees nothing.
    if trace {
        env::set_early(env::DOKKU_TRACE, "1");
    }

    match command.as_str() {
        "" | "help" | "--help" | "-h" => {
            return help::print(&roots, args.iter().any(|a| a == "--all"));
        }
        "version" | "-v" | "--version" => {
            log::data(&format!("dokku version {}", env!("CARGO_PKG_VERSION")));
            return Ok(0);
        }
        // The dispatcher fires triggers itself, as plugn does for Dokku: no second exec.
        TRIGGER_COMMAND => {
            dokku_core::trigger::run_from_cli(&roots, &args[1..])?;
            return Ok(0);
        }
        _ => {}
    }
    dispatch(&roots, &index, args)
}

/// `/etc/default/dokku`, read as assignments (never run by a shell); its values override
/// the environment. Root reads it only when root owns it and no one else may write it.
fn load_defaults() {
    let defaults =
        env::var(env::DOKKU_DEFAULTS_FILE).unwrap_or_else(|| "/etc/default/dokku".into());
    apply_assignments(Path::new(&defaults));
}

/// `$DOKKU_ROOT/dokkurc`, then `$DOKKU_ROOT/.dokkurc/*`. The dokku user writes these, so a
/// process still running as root skips every one it does not own itself: root takes no
/// code path from a file the dokku user can change.
fn load_rc_files(roots: &Roots) {
    apply_assignments(&roots.dokku_root.join("dokkurc"));
    if let Ok(entries) = fs::read_dir(roots.dokku_root.join(".dokkurc")) {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            apply_assignments(&file);
        }
    }
}

/// Applies one rc file. A file that cannot be read is skipped with a warning: a broken
/// rc file must not take every command down.
fn apply_assignments(path: &Path) {
    match read_rc_file(path) {
        Ok(Some(text)) => {
            for (key, value) in env::parse_assignments(&text) {
                env::set_early(&key, &value);
            }
        }
        Ok(None) => {}
        Err(err) => log::warn(&format!("Skipping {}: {err:#}", path.display())),
    }
}

/// The file's text; `None` when it is missing, or when this process is root and the file
/// is not root's alone (a link, another owner, or writable by others).
fn read_rc_file(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut open = fs::OpenOptions::new();
    open.read(true);
    if privilege::is_root() {
        open.custom_flags(nix::libc::O_NOFOLLOW);
    }
    let mut file = match open.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // ELOOP: a link, which root does not follow.
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return Ok(None),
        Err(e) => return Err(e).context("unable to read it"),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        anyhow::bail!("it is not a regular file");
    }
    if privilege::is_root() && (meta.uid() != 0 || meta.mode() & 0o022 != 0) {
        return Ok(None);
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .context("unable to read it")?;
    Ok(Some(text))
}

/// Global flags count anywhere in argv (Dokku's `parse_args`); leading ones are removed.
fn parse_global_flags(args: Vec<String>) -> (Vec<String>, bool) {
    let mut seen = Vec::new();
    let mut trace = false;
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quiet" => env::set_early(env::DOKKU_QUIET_OUTPUT, "1"),
            "--trace" => trace = true,
            "--force" => env::set_early(env::DOKKU_APPS_FORCE_DELETE, "1"),
            "--app" => {
                if let Some(app) = it.next() {
                    env::set_early(env::DOKKU_APP_NAME, app);
                    seen.push(format!("--app={app}"));
                }
                continue;
            }
            a if a.starts_with("--app=") => env::set_early(env::DOKKU_APP_NAME, &a[6..]),
            a if a.starts_with("--") => {}
            _ => continue,
        }
        seen.push(arg.clone());
    }
    if !seen.is_empty() {
        env::set_early(env::DOKKU_GLOBAL_FLAGS, &seen.join(" "));
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
    (rest.collect(), trace)
}

fn export_roots(roots: &Roots) {
    for (key, value) in roots.exports() {
        env::set_early(key, &value);
    }
    if env::var(env::DOCKER_BIN).is_none() {
        env::set_early(env::DOCKER_BIN, "docker");
    }
    if env::var(env::DOKKU_PID).is_none() {
        env::set_early(env::DOKKU_PID, &std::process::id().to_string());
    }
    if env::var(env::DOKKU_BIN).is_none()
        && let Ok(exe) = std::env::current_exe()
    {
        env::set_early(env::DOKKU_BIN, &exe.to_string_lossy());
    }
}

/// The dispatcher's own command that fires a trigger, as `plugn trigger` does for Dokku.
const TRIGGER_COMMAND: &str = "plugin:trigger";

/// Commands that change what runs on the host, and so need root, as in Dokku: the ones
/// plugins declare, and firing a trigger by hand.
fn is_root_only(index: &Index, command: &str) -> bool {
    command == TRIGGER_COMMAND || index.is_root_only(command)
}

/// Root runs ordinary commands as the dokku user, so state stays owned by the account
/// that SSH pushes act as (Dokku re-execs through sudo).
fn switch_to_system_user(roots: &Roots) -> Result<()> {
    if privilege::drop_to_system_user(roots)?.is_some() && env::var(env::SSH_USER).is_none() {
        env::set_early(env::SSH_USER, "root");
    }
    Ok(())
}

/// The `user-auth` trigger decides, when any plugin implements it, as in Dokku (unless
/// every plugin that does concerns other callers only).
fn authorize(roots: &Roots, index: &Index, args: &[String]) -> Result<()> {
    let (user, name) = env::ssh_identity();
    env::set_early(env::SSH_USER, &user);
    env::set_early(env::SSH_NAME, &name);
    env::set_early(
        env::DOKKU_COMMAND,
        args.first().map(String::as_str).unwrap_or(""),
    );
    if !index.user_auth_concerns(&name) {
        return Ok(());
    }
    let trigger = Trigger::with_roots(dokku_core::plugins::index::USER_AUTH, roots.clone());
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

fn dispatch(roots: &Roots, index: &Index, mut args: Vec<String>) -> Result<i32> {
    if !valid_command_word(&args[0]) {
        return not_a_command(&args);
    }
    let (route, plugin_dir) = resolve(roots, index, &args);
    // `--app APP` names the app for a core plugin's command; a command that names the
    // same app itself (Dokku's client sends `--app APP apps:create APP`) gets it once.
    if let Some(app) = env::var(env::DOKKU_APP_NAME)
        && is_core_plugin(roots, &plugin_dir)
        && args.get(1) != Some(&app)
    {
        args.insert(1, app);
    }
    match route {
        Route::Subcommand(path) => {
            Cmd::new(path).args(&args).exec_replace()?;
        }
        Route::Fallback => {
            for commands in fallback_commands(roots) {
                match Cmd::new(&commands).args(&args).status()? {
                    env::NOT_IMPLEMENTED_EXIT => continue,
                    code => return Ok(code),
                }
            }
        }
        Route::None => {}
    }
    not_a_command(&args)
}

fn not_a_command(args: &[String]) -> Result<i32> {
    log::warn(&format!("`{}` is not a dokku command.", args.join(" ")));
    log::warn("See `dokku help` for a list of available commands.");
    Ok(1)
}

/// A command word names a plugin and a command, nothing else: lowercase letters, digits,
/// `:`, `_` and `-`, starting with a letter or digit. No `/`, no `.`: a word never
/// becomes a path of its own.
fn valid_command_word(word: &str) -> bool {
    word.len() <= 128
        && word
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && word.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'_' | b'-')
        })
}

/// Where a command goes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `enabled/<plugin>/subcommands/<name>`, an executable inside the plugin's directory.
    Subcommand(PathBuf),
    /// Every enabled plugin's `commands`, until one answers.
    Fallback,
    None,
}

/// Finds the executable for a command through the index; returns the route and the
/// plugin directory it looked in.
fn resolve(roots: &Roots, index: &Index, args: &[String]) -> (Route, PathBuf) {
    let (prefix, sub) = match args[0].split_once(':') {
        Some((p, s)) => (p, Some(s)),
        None => (args[0].as_str(), None),
    };
    let plugin_dir = roots
        .plugin_enabled()
        .join(index.plugin_dir(prefix, sub.is_none()));
    let mut candidates = Vec::new();
    if sub.is_none() {
        candidates.push(plugin_dir.join("subcommands/default"));
    }
    candidates.push(plugin_dir.join("subcommands").join(&args[0]));
    if let Some(sub) = sub.filter(|s| !s.is_empty()) {
        candidates.push(plugin_dir.join("subcommands").join(sub));
    }
    let route = match candidates
        .into_iter()
        .find(|p| is_executable(p) && inside(&plugin_dir, p))
    {
        Some(path) => Route::Subcommand(path),
        None if sub == Some("") => Route::None,
        None => Route::Fallback,
    };
    (route, plugin_dir)
}

/// True when `path`, links resolved, lies inside `dir` (links resolved): an entry point
/// that leads out of its plugin's directory is never run.
fn inside(dir: &Path, path: &Path) -> bool {
    match (dir.canonicalize(), path.canonicalize()) {
        (Ok(dir), Ok(path)) => path.starts_with(dir),
        _ => false,
    }
}

/// Every enabled plugin's `commands` executable that lies inside its own directory.
fn fallback_commands(roots: &Roots) -> Vec<PathBuf> {
    let enabled = roots.plugin_enabled();
    dokku_core::trigger::enabled_plugins(roots)
        .into_iter()
        .map(|plugin| enabled.join(plugin))
        .map(|dir| (dir.join("commands"), dir))
        .filter(|(commands, dir)| is_executable(commands) && inside(dir, commands))
        .map(|(commands, _)| commands)
        .collect()
}

/// A core plugin's enabled link resolves into `$PLUGIN_CORE_PATH`.
fn is_core_plugin(roots: &Roots, plugin_dir: &Path) -> bool {
    inside(&roots.plugin_core_path, plugin_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_only_commands_are_what_plugins_declare_and_firing_triggers() {
        let (_dir, roots) = host();
        let index = Index::read(&roots);
        assert!(is_root_only(&index, "plugin:trigger"));
        assert!(is_root_only(&index, "apps:destroy-everything"));
        for cmd in ["apps:list", "plugin:install", "help", ""] {
            assert!(!is_root_only(&index, cmd), "{cmd}");
        }
    }

    fn executable(path: &Path) {
        dokku_core::fs::write_atomic(path, b"#!/bin/sh\ntouch \"$0.ran\"\n", 0o755).unwrap();
    }

    /// A plugin tree with one honest plugin, one whose entry points lead outside it, and
    /// executables outside every plugin where a path trick would land.
    fn host() -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        for (plugin, sub) in [("apps", "list"), ("apps", "apps:report")] {
            executable(
                &roots
                    .plugin_available()
                    .join(plugin)
                    .join("subcommands")
                    .join(sub),
            );
        }
        executable(&roots.plugin_available().join("apps/commands"));
        dokku_core::fs::write_atomic(
            &roots.plugin_available().join("apps/.entrypoints"),
            b"root-only destroy-everything\n",
            0o644,
        )
        .unwrap();
        executable(&dir.path().join("evil"));
        executable(&roots.plugin_enabled().join("evil"));
        let sneaky = roots.plugin_available().join("sneaky");
        fs::create_dir_all(sneaky.join("subcommands")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("evil"), sneaky.join("subcommands/run"))
            .unwrap();
        std::os::unix::fs::symlink(dir.path().join("evil"), sneaky.join("commands")).unwrap();
        for plugin in ["apps", "sneaky"] {
            std::os::unix::fs::symlink(
                roots.plugin_available().join(plugin),
                roots.plugin_enabled().join(plugin),
            )
            .unwrap();
        }
        Index::write(&roots).unwrap();
        (dir, roots)
    }

    fn route(roots: &Roots, word: &str) -> Option<Route> {
        let args = vec![word.to_string()];
        valid_command_word(word).then(|| resolve(roots, &Index::read(roots), &args).0)
    }

    #[test]
    fn words_that_are_paths_are_not_commands() {
        let (dir, roots) = host();
        for attack in [
            "/usr/bin/env",
            "apps:../../../../usr/bin/id",
            "deployX=1:../../../../usr/bin/env",
            "../evil",
            "apps:..",
            ".",
            "..",
            "-x",
            "Apps:list",
            "apps:list\n",
            "",
        ] {
            assert_eq!(route(&roots, attack), None, "{attack:?} was routed");
        }
        assert_eq!(
            route(&roots, "apps:list"),
            Some(Route::Subcommand(
                roots.plugin_enabled().join("apps/subcommands/list")
            ))
        );
        assert_eq!(route(&roots, "apps:"), Some(Route::None));
        assert_eq!(route(&roots, "sneaky:run"), Some(Route::Fallback));
        assert_eq!(
            fallback_commands(&roots),
            [roots.plugin_enabled().join("apps/commands")]
        );
        assert!(!dir.path().join("evil.ran").exists());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Whatever the word, the dispatcher runs nothing but an executable inside an
        /// enabled plugin's directory.
        #[test]
        fn nothing_outside_enabled_plugins_is_ever_routed(
            word in "(/|\\.\\./|apps:|sneaky:|evil|deploy[a-zA-Z=0-9]*:)?[a-z0-9:/._= -]{0,24}",
            ssh in "[ -~]{0,40}",
        ) {
            let (_dir, roots) = host();
            let enabled = roots.plugin_enabled().canonicalize().unwrap();
            let mut words = vec![word];
            if let Ok(split) = shell_words::split(&ssh) {
                words.extend(split.into_iter().take(1));
            }
            for word in words {
                let allowed = |path: &Path| {
                    let path = path.canonicalize().unwrap();
                    ["apps"].iter().any(|p| path.starts_with(enabled.join(p).canonicalize().unwrap()))
                };
                if let Some(Route::Subcommand(path)) = route(&roots, &word) {
                    proptest::prop_assert!(allowed(&path), "{word:?} -> {path:?}");
                }
                if word.contains('/') || word.contains('.') {
                    proptest::prop_assert!(!valid_command_word(&word));
                }
                for commands in fallback_commands(&roots) {
                    proptest::prop_assert!(allowed(&commands));
                }
            }
        }
    }
}
