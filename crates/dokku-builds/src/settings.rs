//! `builds:set`: how many finished records each app keeps.

use anyhow::{Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::settings::{Scope, Setting, Settings};

/// Records kept per app when neither the app nor the host says otherwise.
pub const DEFAULT_RETENTION: usize = 20;

pub const SETTINGS: Settings = Settings {
    namespace: "builds",
    table: &[Setting {
        key: "retention",
        scope: Scope::AppOrGlobal,
        default: "20",
        validate: retention,
    }],
};

fn retention(value: &str) -> Result<()> {
    match value.parse::<i64>() {
        Ok(n) if n >= 1 => Ok(()),
        Ok(n) => bail!("Invalid retention {n}: must be >= 1"),
        Err(_) => bail!("Invalid retention {value:?}: must be a positive integer"),
    }
}

/// The app's retention, else the host's, else [`DEFAULT_RETENTION`]; a stored value that
/// is not a positive number is passed over.
pub fn retention_of(ctx: &Ctx, app: &str) -> usize {
    let props = SETTINGS.properties(ctx);
    [app, dokku_core::property::GLOBAL]
        .iter()
        .filter_map(|scope| props.get(scope, "retention").ok().flatten())
        .find_map(|value| value.parse::<usize>().ok().filter(|n| *n >= 1))
        .unwrap_or(DEFAULT_RETENTION)
}
