//! CLI suite: the real binaries against hermetic temp hosts (no docker). The trust-boundary
//! tests in `security` need root, to act as a second unix user.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

/// App lifecycle: create, destroy, rename, clone, locks, reports, name rules.
mod apps;
/// Workspace rules: plugin crates never depend on each other; every test file is listed.
mod architecture;
/// Uploaded archives: entries and links leading out are refused, the size and count limits.
mod archives;
/// Builders and their settings: builder, builder-dockerfile, docker-options, ps, app-json.
mod builders;
/// Build records: list, info, output, cancel, prune, retention, a plugin's own recording.
mod builds;
/// Config: ENV files in Dokku 0.38's and older formats, every command, the write storm.
mod config;
/// cron: app.json schedules and plugins' entries in the dokku user's crontab.
mod cron;
/// The dispatcher: help, routing, global flags, SSH commands, user-auth, trigger failures.
mod dispatch;
/// Domains: global and app vhosts, validation, ownership, the proxy's triggers.
mod domains;
/// events: trigger calls in the event log while it is on.
mod events;
/// The git plugin without SSH: repositories, hook, properties, from-archive, sync.
mod git;
/// install.sh into a temp root: hermetic, idempotent, ends with a working `dokku`.
mod install;
/// letsencrypt: settings checked, nothing asked of a server without what it needs.
mod letsencrypt;
/// logs: max-size, vector sinks and the vector configuration they write, redacted reports.
mod logs;
/// network: the networks an app joins, their properties and report.
mod network;
/// Plugin management: install, enable, disable, update, uninstall, trigger.
mod plugin;
/// ports: scheme:host-port:container-port mappings, set, detected and defaulted.
mod ports;
/// proxy: enabled or not, its type, ports published without one.
mod proxy;
/// registry: image repository names, the server prefix, push settings, login arguments.
mod registry;
/// resource: limits and reservations, checked, as docker flags.
mod resource;
/// Trust boundaries: every attack found on an installed host, as a regression test.
mod security;
/// ssh-keys: authorized_keys lines, key validation, duplicates.
mod ssh_keys;
/// Storage and volumes: bind mounts, named volumes, path rules, docker args, data kept.
mod storage;
/// scheduler-swarm: its settings and the node addresses it takes, checked.
mod swarm;
/// Third-party plugins (bash and compiled Rust) behave like built-ins.
mod third_party;
/// trace: trace mode on and off for later commands.
mod trace;

use std::path::Path;

/// Each command fails with exactly one line on stderr (Dokku's ` !     ` error).
pub fn refused_in_one_line(host: &dokku_test_support::TestHost, cases: &[Vec<&str>]) {
    for args in cases {
        let out = host.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// Writes an executable script.
pub fn script(path: &Path, body: &str) {
    dokku_core::fs::write_atomic(
        path,
        format!("#!/usr/bin/env bash\nset -eo pipefail\n{body}\n").as_bytes(),
        0o755,
    )
    .unwrap();
}

/// Makes a minimal bash plugin directory with the given entry points.
pub fn make_plugin(dir: &Path, files: &[(&str, &str)]) {
    dokku_core::fs::write_atomic(
        &dir.join("plugin.toml"),
        b"[plugin]\ndescription = \"test plugin\"\nversion = \"0.0.1\"\n[plugin.config]\n",
        0o644,
    )
    .unwrap();
    for (name, body) in files {
        script(&dir.join(name), body);
    }
}

/// Installs a plugin `recorder` whose `triggers` append `<trigger> <args>` lines to the
/// returned log file, so a test can see what fired and with which arguments.
pub fn recorder(host: &dokku_test_support::TestHost, triggers: &[&str]) -> std::path::PathBuf {
    let dir = host.path().join("recorder-src");
    let log = host.path().join("recorded-triggers");
    let files: Vec<(&str, String)> = triggers
        .iter()
        .map(|t| (*t, format!("echo \"{t} $*\" >> {}", log.display())))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(t, b)| (*t, b.as_str())).collect();
    make_plugin(&dir, &files);
    let out = host.install_plugin(&dir, "recorder");
    assert!(out.status.success(), "{}", host.render(&out));
    log
}

/// The recorder's lines so far (empty when nothing fired).
pub fn recorded(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
