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

/// `docker-args-process-deploy APP SOURCE TAG PROC [INDEX]`: with the proxy disabled, a
/// web container publishes the app's port mappings on the host.
pub(crate) fn publish_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut extra = String::new();
    if let (Some(app), Some("web")) = (args.first(), args.get(3).map(String::as_str))
        && !is_enabled(ctx, app)?
    {
        for m in dokku_core::port_map::of_app(ctx, app)? {
            let udp = if m.scheme == "udp" { "/udp" } else { "" };
            extra.push_str(&format!(" -p {}:{}{udp}", m.host_port, m.container_port));
        }
    }
    dokku_core::docker::filter_args(&extra)
}
