//! `network:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "network",
    table: &[
        Setting {
            key: "attach-post-create",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: network_list,
        },
        Setting {
            key: "attach-post-deploy",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: network_list,
        },
        Setting {
            key: "bind-all-interfaces",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
        Setting {
            key: "initial-network",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: network_name,
        },
        Setting {
            key: "static-web-listener",
            scope: Scope::AppOnly,
            default: "",
            validate: listener,
        },
        Setting {
            key: "tld",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: tld,
        },
    ],
};

pub use dokku_core::docker::network_name;

/// Comma-separated network names; never docker's `host` or `bridge`, which a running
/// container cannot join.
fn network_list(value: &str) -> Result<()> {
    for name in value.split(',') {
        network_name(name)?;
        if name == "host" || name == "bridge" {
            bail!("Invalid network name specified for attach: {name}");
        }
    }
    Ok(())
}

/// `ADDRESS:PORT` (or an address) the proxy sends web traffic to instead of containers.
fn listener(value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c));
    if !valid {
        bail!("Invalid static-web-listener {value:?}: HOST:PORT");
    }
    Ok(())
}

/// A domain suffix for network aliases.
fn tld(value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && value.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        bail!("Invalid tld {value:?}");
    }
    Ok(())
}
