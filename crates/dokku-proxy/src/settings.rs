//! `proxy:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "proxy",
    table: &[
        Setting {
            key: "proxy-port",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: port,
        },
        Setting {
            key: "proxy-ssl-port",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: port,
        },
        Setting {
            key: "type",
            scope: Scope::AppOrGlobal,
            default: "nginx",
            validate: proxy_type,
        },
    ],
};

pub(crate) fn port(value: &str) -> Result<()> {
    if dokku_core::port_map::port(value).is_none() {
        bail!("Invalid port {value:?}: 1 to 65535");
    }
    Ok(())
}

/// A proxy implementation's name: `nginx`, `caddy`, `traefik`, a third party's.
pub(crate) fn proxy_type(value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("Invalid proxy type {value:?}");
    }
    Ok(())
}
