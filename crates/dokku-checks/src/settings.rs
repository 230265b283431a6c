//! `checks:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "checks",
    table: &[
        Setting {
            key: "attempts",
            scope: Scope::AppOrGlobal,
            default: "5",
            validate: attempts,
        },
        Setting {
            key: "timeout",
            scope: Scope::AppOrGlobal,
            default: "30",
            validate: dokku_core::settings::seconds::<3600>,
        },
        Setting {
            key: "wait",
            scope: Scope::AppOrGlobal,
            default: "5",
            validate: dokku_core::settings::seconds::<3600>,
        },
        Setting {
            key: "wait-to-retire",
            scope: Scope::AppOrGlobal,
            default: "60",
            validate: dokku_core::settings::seconds::<3600>,
        },
    ],
};

pub(crate) fn attempts(value: &str) -> Result<()> {
    if !value.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n)) {
        bail!("Invalid number of attempts {value:?}: 1 to 100");
    }
    Ok(())
}
