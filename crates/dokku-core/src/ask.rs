//! Typed questions to other plugins, asked through triggers: which scheduler runs an app,
//! whether it is deployed, what its config is. Many plugins ask them; the answers come
//! from whichever plugins implement the triggers.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::entry::Ctx;

/// The app's merged config (global, then the app's own), through `config-export`: what a
/// build's `--build-arg KEY` and a container's environment take their values from.
pub fn app_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    config_export(ctx, app, true)
}

/// The app's own config, without the global values (what a release records).
pub fn own_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    config_export(ctx, app, false)
}

fn config_export(ctx: &Ctx, app: &str, merged: bool) -> Result<BTreeMap<String, String>> {
    let json = ctx
        .trigger("config-export")
        .args([app, "false", if merged { "true" } else { "false" }, "json"])
        .output_string()?;
    if json.trim().is_empty() {
        return Ok(Default::default());
    }
    serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("reading the config of {app}: {e}"))
}

/// The app's scheduler: the first line of `scheduler-detect` (empty when no plugin
/// answers, and then no scheduler trigger finds its name).
pub fn scheduler(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(ctx
        .trigger("scheduler-detect")
        .arg(app)
        .output_string()?
        .lines()
        .next()
        .map(str::trim)
        .unwrap_or_default()
        .to_string())
}

/// Whether the app's scheduler runs it (`scheduler-is-deployed`); with no scheduler plugin
/// nothing is deployed.
pub fn is_deployed(ctx: &Ctx, app: &str) -> Result<bool> {
    let scheduler = scheduler(ctx, app)?;
    ctx.trigger("scheduler-is-deployed")
        .args([scheduler.as_str(), app])
        .succeeds()
}
