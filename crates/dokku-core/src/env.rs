//! Every environment variable of the plugin contract, and the roots derived from them.
//!
//! The dispatcher exports all of these to every plugin it runs, so a plugin
//! only reads them. Defaults are Dokku's, which keeps tests hermetic: point the roots at a temp
//! dir and nothing on the host is touched.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const DOKKU_ROOT: &str = "DOKKU_ROOT";
/// Dokku's override knob for the lib root; `DOKKU_LIB_ROOT` itself is accepted too.
pub const DOKKU_LIB_PATH: &str = "DOKKU_LIB_PATH";
pub const DOKKU_LIB_ROOT: &str = "DOKKU_LIB_ROOT";
pub const PLUGIN_PATH: &str = "PLUGIN_PATH";
pub const PLUGIN_AVAILABLE_PATH: &str = "PLUGIN_AVAILABLE_PATH";
pub const PLUGIN_ENABLED_PATH: &str = "PLUGIN_ENABLED_PATH";
pub const PLUGIN_CORE_PATH: &str = "PLUGIN_CORE_PATH";
pub const PLUGIN_CORE_AVAILABLE_PATH: &str = "PLUGIN_CORE_AVAILABLE_PATH";
pub const PLUGIN_CORE_ENABLED_PATH: &str = "PLUGIN_CORE_ENABLED_PATH";
pub const DOKKU_LOGS_DIR: &str = "DOKKU_LOGS_DIR";
pub const DOKKU_EVENTS_LOGFILE: &str = "DOKKU_EVENTS_LOGFILE";
pub const DOCKER_BIN: &str = "DOCKER_BIN";
pub const DOKKU_SYSTEM_USER: &str = "DOKKU_SYSTEM_USER";
pub const DOKKU_SYSTEM_GROUP: &str = "DOKKU_SYSTEM_GROUP";
pub const DOKKU_API_VERSION: &str = "DOKKU_API_VERSION";
pub const DOKKU_NOT_IMPLEMENTED_EXIT: &str = "DOKKU_NOT_IMPLEMENTED_EXIT";
pub const DOKKU_VALID_EXIT: &str = "DOKKU_VALID_EXIT";
pub const DOKKU_PID: &str = "DOKKU_PID";
/// Path of the dispatcher binary, so hooks and forced commands can call it back.
pub const DOKKU_BIN: &str = "DOKKU_BIN";
/// Shell-assignment file read before anything else (Dokku: `/etc/default/dokku`).
pub const DOKKU_DEFAULTS_FILE: &str = "DOKKU_DEFAULTS_FILE";

pub const DOKKU_TRACE: &str = "DOKKU_TRACE";
/// A file each trigger executable started appends its trigger's name to: how the push
/// benchmark counts the processes a deploy starts.
pub const DOKKU_SPAWN_LOG: &str = "DOKKU_SPAWN_LOG";
/// A file each request to the docker engine's API appends `PROGRAM METHOD PATH NANOSECONDS`
/// to (the executable that asked, how long the answer took): how the push benchmark tells
/// docker's own work (a commit, a removal) from ours.
pub const DOKKU_ENGINE_LOG: &str = "DOKKU_ENGINE_LOG";
pub const DOKKU_QUIET_OUTPUT: &str = "DOKKU_QUIET_OUTPUT";
pub const DOKKU_APPS_FORCE_DELETE: &str = "DOKKU_APPS_FORCE_DELETE";
pub const DOKKU_APP_NAME: &str = "DOKKU_APP_NAME";
pub const DOKKU_GLOBAL_FLAGS: &str = "DOKKU_GLOBAL_FLAGS";
pub const DOKKU_COMMAND: &str = "DOKKU_COMMAND";
/// Set by the dispatcher for `help --all`, so a plugin's `commands help` prints every command.
pub const DOKKU_HELP_ALL: &str = "DOKKU_HELP_ALL";

/// Set for the children of a process holding an app's deploy lock (the app's name).
pub const DOKKU_DEPLOY_LOCKED: &str = "DOKKU_DEPLOY_LOCKED";
/// Set for the children of a process holding an app's existence lock exclusively.
pub const DOKKU_APP_LOCKED: &str = "DOKKU_APP_LOCKED";

pub const SSH_ORIGINAL_COMMAND: &str = "SSH_ORIGINAL_COMMAND";
pub const SSH_USER: &str = "SSH_USER";
pub const SSH_NAME: &str = "SSH_NAME";
/// Set by the `authorized_keys` forced command: the key's name and fingerprint.
pub const NAME: &str = "NAME";
pub const FINGERPRINT: &str = "FINGERPRINT";

pub const NOT_IMPLEMENTED_EXIT: i32 = 10;
pub const APP_NOT_FOUND_EXIT: i32 = 20;

/// A variable's value, `None` when unset or empty (Dokku treats both alike).
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The dispatcher's path (`DOKKU_BIN`, else where install.sh links it): what hooks,
/// forced commands and crontab lines call back.
pub fn dokku_bin() -> String {
    var(DOKKU_BIN).unwrap_or_else(|| "/usr/local/bin/dokku".into())
}

pub fn var_os(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Sets or removes a variable. Only for a process's first steps, before any thread starts
/// (the dispatcher's setup, a plugin binary's switch to the dokku user).
#[allow(unsafe_code)]
pub fn set_early(key: &str, value: &str) {
    // SAFETY: callers run before any thread is spawned, so nothing reads the environment
    // concurrently.
    unsafe { std::env::set_var(key, value) }
}

/// Removes a variable; the same rule as [`set_early`].
#[allow(unsafe_code)]
pub fn remove_early(key: &str) {
    // SAFETY: as for `set_early`.
    unsafe { std::env::remove_var(key) }
}

/// Turns the flag variable `name` on or off for every later command:
/// `$DOKKU_ROOT/.dokkurc/NAME` holding `export NAME=1`, which the dispatcher reads.
pub fn persist_flag(roots: &Roots, name: &str, on: bool) -> anyhow::Result<()> {
    let path = roots.dokku_root.join(".dokkurc").join(name);
    match on {
        true => crate::fs::write_atomic(&path, format!("export {name}=1\n").as_bytes(), 0o644),
        false => crate::fs::remove_file_if_exists(&path),
    }
}

/// True when a flag variable is set to something other than empty, `0` or `false`.
pub fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| v != "0" && v != "false")
}

pub fn quiet() -> bool {
    flag(DOKKU_QUIET_OUTPUT)
}

pub fn trace() -> bool {
    flag(DOKKU_TRACE)
}

pub fn force() -> bool {
    flag(DOKKU_APPS_FORCE_DELETE)
}

/// The directories every plugin works in, resolved once from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub dokku_root: PathBuf,
    pub lib_root: PathBuf,
    pub plugin_path: PathBuf,
    pub plugin_core_path: PathBuf,
    pub logs_dir: PathBuf,
    pub system_user: String,
    pub system_group: String,
}

impl Roots {
    /// Reads the roots with Dokku's defaults (`~dokku`, `/var/lib/dokku`, `/var/log/dokku`).
    pub fn from_env() -> Roots {
        let system_user = var(DOKKU_SYSTEM_USER).unwrap_or_else(|| "dokku".into());
        let dokku_root = var_os(DOKKU_ROOT)
            .map(PathBuf::from)
            .unwrap_or_else(|| home_of(&system_user));
        let lib_root = var_os(DOKKU_LIB_PATH)
            .or_else(|| var_os(DOKKU_LIB_ROOT))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/lib/dokku"));
        Roots::with(
            dokku_root,
            lib_root,
            var_os(PLUGIN_PATH).map(PathBuf::from),
            var_os(PLUGIN_CORE_PATH).map(PathBuf::from),
            var_os(DOKKU_LOGS_DIR).map(PathBuf::from),
            system_user,
        )
    }

    /// Roots under one directory, as tests and the benchmark lay them out.
    pub fn under(base: &Path) -> Roots {
        Roots::with(
            base.join("home"),
            base.join("lib"),
            None,
            None,
            Some(base.join("log")),
            "dokku".into(),
        )
    }

    fn with(
        dokku_root: PathBuf,
        lib_root: PathBuf,
        plugin_path: Option<PathBuf>,
        plugin_core_path: Option<PathBuf>,
        logs_dir: Option<PathBuf>,
        system_user: String,
    ) -> Roots {
        Roots {
            plugin_path: plugin_path.unwrap_or_else(|| lib_root.join("plugins")),
            plugin_core_path: plugin_core_path.unwrap_or_else(|| lib_root.join("core-plugins")),
            logs_dir: logs_dir.unwrap_or_else(|| PathBuf::from("/var/log/dokku")),
            system_group: var(DOKKU_SYSTEM_GROUP).unwrap_or_else(|| system_user.clone()),
            system_user,
            dokku_root,
            lib_root,
        }
    }

    pub fn plugin_available(&self) -> PathBuf {
        self.plugin_path.join("available")
    }

    pub fn plugin_enabled(&self) -> PathBuf {
        self.plugin_path.join("enabled")
    }

    pub fn core_available(&self) -> PathBuf {
        self.plugin_core_path.join("available")
    }

    pub fn core_enabled(&self) -> PathBuf {
        self.plugin_core_path.join("enabled")
    }

    /// `$DOKKU_ROOT/<app>`: the app's directory; its existence is the app's existence.
    pub fn app_dir(&self, app: &str) -> PathBuf {
        self.dokku_root.join(app)
    }

    /// `$DOKKU_LIB_ROOT/data/<plugin>/<app>`: a plugin's per-app working data.
    pub fn data_dir(&self, plugin: &str, app: &str) -> PathBuf {
        self.lib_root.join("data").join(plugin).join(app)
    }

    /// `$DOKKU_LIB_ROOT/config`: property namespaces and ENV files.
    pub fn config_dir(&self) -> PathBuf {
        self.lib_root.join("config")
    }

    /// The full set of variables the dispatcher exports to plugins.
    pub fn exports(&self) -> Vec<(&'static str, String)> {
        let p = |path: &Path| path.display().to_string();
        vec![
            (DOKKU_ROOT, p(&self.dokku_root)),
            (DOKKU_LIB_ROOT, p(&self.lib_root)),
            (DOKKU_LIB_PATH, p(&self.lib_root)),
            (PLUGIN_PATH, p(&self.plugin_path)),
            (PLUGIN_AVAILABLE_PATH, p(&self.plugin_available())),
            (PLUGIN_ENABLED_PATH, p(&self.plugin_enabled())),
            (PLUGIN_CORE_PATH, p(&self.plugin_core_path)),
            (PLUGIN_CORE_AVAILABLE_PATH, p(&self.core_available())),
            (PLUGIN_CORE_ENABLED_PATH, p(&self.core_enabled())),
            (DOKKU_LOGS_DIR, p(&self.logs_dir)),
            (DOKKU_EVENTS_LOGFILE, p(&self.logs_dir.join("events.log"))),
            (DOKKU_SYSTEM_USER, self.system_user.clone()),
            (DOKKU_SYSTEM_GROUP, self.system_group.clone()),
            (DOKKU_API_VERSION, "1".into()),
            (DOKKU_NOT_IMPLEMENTED_EXIT, NOT_IMPLEMENTED_EXIT.to_string()),
            (DOKKU_VALID_EXIT, "0".into()),
        ]
    }
}

/// Home directory of a system user, `/home/<user>` when the user is unknown.
pub fn home_of(user: &str) -> PathBuf {
    nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| PathBuf::from("/home").join(user))
}

/// `(SSH_USER, SSH_NAME)` as Dokku computes them: the unix user, and the key's name or
/// `default` for local users.
pub fn ssh_identity() -> (String, String) {
    let user = var(SSH_USER).or_else(|| var("USER")).unwrap_or_else(|| {
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| "root".into())
    });
    let name = var(SSH_NAME)
        .or_else(|| var(NAME))
        .unwrap_or_else(|| "default".into());
    (user, name)
}

/// Reads `KEY=value` / `export KEY=value` assignments from a shell-style file such as
/// A docker or host setting as an installed host has it, for tools that run outside the
/// dispatcher (benchmarks, tests): the process's environment, else `/etc/default/dokku`.
pub fn installed_setting(key: &str) -> Option<String> {
    if let Some(value) = var(key) {
        return Some(value);
    }
    let text = std::fs::read_to_string("/etc/default/dokku").ok()?;
    parse_assignments(&text)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `/etc/default/dokku` or `dokkurc`. Dokku sources these with bash; dokku-rs never runs a
/// shell, so it takes the assignments as data: values are unquoted with shell rules, and
/// lines that are not a single plain assignment (commands, expansions) are skipped.
pub fn parse_assignments(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let valid_key = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_key || value.contains("$(") || value.contains('`') {
            continue;
        }
        match shell_words::split(value).as_deref() {
            Ok([]) => out.push((key.to_string(), String::new())),
            Ok([word]) if !value.trim_start().starts_with('$') => {
                out.push((key.to_string(), word.clone()))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_lays_out_dokku_defaults_relative_to_base() {
        let roots = Roots::under(Path::new("/t"));
        assert_eq!(roots.plugin_path, Path::new("/t/lib/plugins"));
        assert_eq!(
            roots.core_enabled(),
            Path::new("/t/lib/core-plugins/enabled")
        );
        assert_eq!(
            roots.data_dir("apps", "demo"),
            Path::new("/t/lib/data/apps/demo")
        );
        let exports = roots.exports();
        assert!(exports.contains(&(PLUGIN_ENABLED_PATH, "/t/lib/plugins/enabled".into())));
        assert!(exports.contains(&(DOKKU_NOT_IMPLEMENTED_EXIT, "10".into())));
    }

    #[test]
    fn assignments_are_read_as_data() {
        let text = "# comment\nexport DOKKU_ROOT=/srv/dokku\nDOCKER_BIN='/usr/bin/docker'\nA=\"x y\"\nB=$(id)\nC=`id`\necho hi\nD=$HOME\nE=\n1X=2\n";
        assert_eq!(
            parse_assignments(text),
            vec![
                ("DOKKU_ROOT".into(), "/srv/dokku".into()),
                ("DOCKER_BIN".into(), "/usr/bin/docker".into()),
                ("A".into(), "x y".into()),
                ("E".into(), String::new()),
            ]
        );
    }
}
