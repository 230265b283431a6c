//! Typed questions to other plugins, asked through triggers: which scheduler runs an app,
//! whether it is deployed, what its config is. Many plugins ask them; the answers come
//! from whichever plugins implement the triggers.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::entry::Ctx;

/// Names the file holding the merged config of the app a deploy is for, exported once
/// by the process that owns the deploy ([`share_app_config`]).
pub const DEPLOY_CONFIG_ENV: &str = "DOKKU_DEPLOY_CONFIG";

/// The app's merged config (global, then the app's own), through `config-export`: what a
/// build's `--build-arg KEY` and a container's environment take their values from. Inside
/// a deploy of the app, the copy exported for the whole deploy.
pub fn app_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    if let Some(config) = shared_app_config(app) {
        return Ok(config);
    }
    config_export(ctx, app, true)
}

/// What [`share_app_config`] wrote.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedConfig {
    app: String,
    config: BTreeMap<String, String>,
}

fn shared_app_config(app: &str) -> Option<BTreeMap<String, String>> {
    let path = crate::env::var(DEPLOY_CONFIG_ENV)?;
    let text = crate::fs::read_optional(std::path::Path::new(&path)).ok()??;
    let shared: SharedConfig = serde_json::from_str(&text).ok()?;
    (shared.app == app).then_some(shared.config)
}

/// Exports the app's merged config once for everything a deploy starts: this process and
/// its children read it through [`app_config`] instead of asking `config-export` again
/// (nothing changes an app's config while its deploy lock is held). The file (readable by
/// this user only) goes when the returned handle is dropped. Call it first thing in a
/// process that owns a deploy, before any thread starts: it sets an environment variable.
pub fn share_app_config(ctx: &Ctx, app: &str) -> Result<Option<tempfile::NamedTempFile>> {
    if shared_app_config(app).is_some() {
        return Ok(None);
    }
    let shared = SharedConfig {
        app: app.to_string(),
        config: config_export(ctx, app, true)?,
    };
    let mut file = tempfile::Builder::new()
        .prefix("dokku-deploy-config-")
        .tempfile()?;
    serde_json::to_writer(&mut file, &shared)?;
    crate::env::set_early(DEPLOY_CONFIG_ENV, &file.path().to_string_lossy());
    Ok(Some(file))
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
