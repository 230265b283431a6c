//! The `proxy:*` commands.

use anyhow::Result;
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{AppsOrAll, Ctx, parse};
use dokku_core::log;

use crate::settings::SETTINGS;

/// Set (to `true`) on an app whose proxy is disabled.
pub(crate) const DISABLED: &str = "disabled";

pub(crate) fn is_enabled(ctx: &Ctx, app: &str) -> Result<bool> {
    Ok(SETTINGS.properties(ctx).get(app, DISABLED)?.as_deref() != Some("true"))
}

#[derive(Parser)]
pub(crate) struct Apps {
    #[command(flatten)]
    which: AppsOrAll,
}

pub(crate) fn apps_of(ctx: &Ctx, name: &str, args: &[String]) -> Result<Vec<String>> {
    parse::<Apps>(name, args)?.which.apps(ctx, name)
}

/// `proxy:build-config [--all|APP]`: the proxy's config of each app whose proxy is
/// enabled, built again (`proxy-build-config`).
pub(crate) fn build_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    for app in apps_of(ctx, "proxy:build-config", args)? {
        if is_enabled(ctx, &app)? {
            ctx.trigger("proxy-build-config").arg(&app).stream()?;
        }
    }
    Ok(())
}

/// `proxy:clear-config [--all|APP]` (`proxy-clear-config`).
pub(crate) fn clear_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    for app in apps_of(ctx, "proxy:clear-config", args)? {
        ctx.trigger("proxy-clear-config").arg(&app).stream()?;
    }
    Ok(())
}

/// Switches the proxy of each app on or off: `proxy-enable` / `proxy-disable` fire, and a
/// deployed app is deployed again (its web containers publish their ports, or stop doing
/// so).
pub(crate) fn switch(ctx: &Ctx, name: &str, args: &[String], enable: bool) -> Result<()> {
    for app in apps_of(ctx, name, args)? {
        if is_enabled(ctx, &app)? == enable {
            log::info1(&format!(
                "The proxy is already {} for {app}",
                if enable { "enabled" } else { "disabled" }
            ));
            continue;
        }
        log::info1(&format!(
            "{} proxy for app",
            if enable { "Enabling" } else { "Disabling" }
        ));
        let props = SETTINGS.properties(ctx);
        if enable {
            props.delete(&app, DISABLED)?;
        } else {
            props.set(&app, DISABLED, "true")?;
        }
        let event = if enable {
            "proxy-enable"
        } else {
            "proxy-disable"
        };
        ctx.trigger(event).arg(&app).stream()?;
        if dokku_core::ask::is_deployed(ctx, &app)? {
            ctx.trigger("deploy").arg(&app).stream()?;
        }
    }
    Ok(())
}

pub(crate) fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    switch(ctx, "proxy:enable", args, true)
}

pub(crate) fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    switch(ctx, "proxy:disable", args, false)
}

pub(crate) fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter().map(|app| app_report_rows(ctx, app)).collect()
}

/// `proxy:report`'s rows beyond the settings: whether the proxy is enabled, and the
/// `disabled` property as stored and as it counts.
pub(crate) fn app_report_rows(ctx: &Ctx, app: &AppName) -> Result<Vec<(String, String)>> {
    let enabled = is_enabled(ctx, app.as_str())?;
    let stored = SETTINGS
        .properties(ctx)
        .get(app.as_str(), DISABLED)?
        .unwrap_or_default();
    Ok(vec![
        ("proxy-enabled".into(), enabled.to_string()),
        ("proxy-disabled".into(), stored.trim().to_string()),
        ("proxy-computed-disabled".into(), (!enabled).to_string()),
    ])
}

/// `proxy:set [<app>|--global] KEY [VALUE]`, and Dokku's older `proxy:set APP TYPE`: a
/// lone word that is no property names the proxy type.
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: dokku_core::settings::SetArgs = dokku_core::entry::parse("proxy:set", args)?;
    let mut words = cmd.rest;
    let is_property = |w: &str| SETTINGS.table.iter().any(|s| s.key == w);
    if !cmd.global
        && let [app, word] = words.as_slice()
        && app != dokku_core::property::GLOBAL
        && !is_property(word)
    {
        if word.contains(':') {
            dokku_core::log::warn("Detected potential port mapping instead of proxy type");
            anyhow::bail!("Consider using ports:set command or specifying a valid proxy");
        }
        words = vec![app.clone(), "type".to_string(), word.clone()];
    }
    SETTINGS.set(ctx, cmd.global, &words).map(drop)
}
