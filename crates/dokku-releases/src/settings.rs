//! `releases:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "releases",
    table: &[Setting {
        key: "keep",
        scope: Scope::AppOrGlobal,
        default: "10",
        validate: keep_count,
    }],
};

/// How many releases to keep: 1 to 100.
pub(crate) fn keep_count(value: &str) -> Result<()> {
    if !value.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n)) {
        bail!("Invalid number of releases to keep {value:?}: 1 to 100");
    }
    Ok(())
}
