//! The `plugn` command line (see `src/bin/plugn.rs`).

use anyhow::{Result, bail};
use dokku_core::env::{self, Roots};
use dokku_core::trigger::Trigger;
use dokku_core::{log, plugins};

/// The version plugn reports: this build's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn run(args: Vec<String>) -> Result<i32> {
    let Some((command, rest)) = args.split_first() else {
        log::data("Usage: plugn trigger|list|enable|disable|version ...");
        return Ok(2);
    };
    if command == "version" {
        log::data(&format!("plugn: {VERSION} (dokku-rs)"));
        return Ok(0);
    }
    if env::var(env::PLUGIN_PATH).is_none() {
        log::raw(b"!! PLUGIN_PATH is not set in environment\n");
        return Ok(2);
    }
    let roots = Roots::from_env();
    match command.as_str() {
        "trigger" => {
            let Some((name, trigger_args)) = rest.split_first() else {
                bail!("plugn trigger: give a trigger name");
            };
            plugins::validate_entry_name(name)?;
            Trigger::with_roots(name, roots)
                .args(trigger_args.iter().cloned())
                .stream()?;
            Ok(0)
        }
        "list" => {
            for p in plugins::list(&roots)? {
                let state = if p.enabled { "enabled" } else { "disabled" };
                log::data(&format!(
                    "  {:<20} {:<5} {:<10} {}",
                    p.name, p.version, state, p.description
                ));
            }
            Ok(0)
        }
        "enable" | "disable" => {
            let [name] = rest else {
                bail!("plugn {command}: give one plugin name");
            };
            plugins::validate_name(name)?;
            if !plugins::is_installed(&roots, name) {
                bail!("Plugin does not exist");
            }
            if command == "enable" {
                plugins::enable(&roots, name)?;
            } else {
                if plugins::is_core(&roots, name) {
                    bail!("Cannot disable a core plugin");
                }
                plugins::disable(&roots, name)?;
            }
            Ok(0)
        }
        other => bail!(
            "plugn {other} is not supported here; use dokku plugin:install, plugin:update or plugin:uninstall"
        ),
    }
}
