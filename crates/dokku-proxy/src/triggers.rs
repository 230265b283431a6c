//! The triggers the proxy plugin answers.

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::commands::is_enabled;
use crate::settings::SETTINGS;

/// `proxy-is-enabled APP`: `true` or `false`.
pub(crate) fn is_enabled_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("proxy-is-enabled", args)?;
    log::data(&is_enabled(ctx, app)?.to_string());
    Ok(())
}

/// `proxy-type APP`: the app's proxy implementation.
pub(crate) fn type_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("proxy-type", args)?;
    log::data(&SETTINGS.computed(ctx, app, "type")?);
    Ok(())
}
