//! The `proxy` plugin: which proxy implementation routes to an app (`type`, default
//! `nginx`), and whether one does. `proxy:build-config` / `proxy:clear-config` fire
//! `proxy-build-config` / `proxy-clear-config` for the implementation to answer. With the
//! proxy disabled, the app's web containers publish their port mappings on the host
//! (`-p HOST:CONTAINER` through `docker-args-process-deploy`), as Dokku does; the scheduler
//! then stops the old web containers before starting new ones (a host port has one owner).

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{AppsOrAll, Command, Ctx, Hooks, Plugin, TriggerEntry, exactly, parse};
use dokku_core::log;
use dokku_core::settings::{Scope, Setting, Settings};

/// Set (to `true`) on an app whose proxy is disabled.
const DISABLED: &str = "disabled";

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

const APPS_ARGS: &str = "--all|<app>";

pub const PLUGIN: Plugin = Plugin {
    name: "proxy",
    description: "Manage the proxy integration for an app",
    commands: &[
        Command {
            name: "build-config",
            args: APPS_ARGS,
            help: "(Re)builds the proxy config of an app",
            run: build_config,
        },
        Command {
            name: "clear-config",
            args: APPS_ARGS,
            help: "Clears the proxy config of an app",
            run: clear_config,
        },
        Command {
            name: "disable",
            args: APPS_ARGS,
            help: "Disable the proxy for an app",
            run: disable,
        },
        Command {
            name: "enable",
            args: APPS_ARGS,
            help: "Enable the proxy for an app",
            run: enable,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: publish_args,
        },
        TriggerEntry {
            name: "proxy-is-enabled",
            run: is_enabled_trigger,
        },
        TriggerEntry {
            name: "proxy-type",
            run: type_trigger,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};

fn port(value: &str) -> Result<()> {
    if dokku_core::port_map::port(value).is_none() {
        bail!("Invalid port {value:?}: 1 to 65535");
    }
    Ok(())
}

/// A proxy implementation's name: `nginx`, `caddy`, `traefik`, a third party's.
fn proxy_type(value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("Invalid proxy type {value:?}");
    }
    Ok(())
}

fn is_enabled(ctx: &Ctx, app: &str) -> Result<bool> {
    Ok(SETTINGS.properties(ctx).get(app, DISABLED)?.as_deref() != Some("true"))
}

#[derive(Parser)]
struct Apps {
    #[command(flatten)]
    which: AppsOrAll,
}

fn apps_of(ctx: &Ctx, name: &str, args: &[String]) -> Result<Vec<String>> {
    parse::<Apps>(name, args)?.which.apps(ctx, name)
}

/// `proxy:build-config [--all|APP]`: the proxy's config of each app whose proxy is
/// enabled, built again (`proxy-build-config`).
fn build_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    for app in apps_of(ctx, "proxy:build-config", args)? {
        if is_enabled(ctx, &app)? {
            ctx.trigger("proxy-build-config").arg(&app).stream()?;
        }
    }
    Ok(())
}

/// `proxy:clear-config [--all|APP]` (`proxy-clear-config`).
fn clear_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    for app in apps_of(ctx, "proxy:clear-config", args)? {
        ctx.trigger("proxy-clear-config").arg(&app).stream()?;
    }
    Ok(())
}

/// Switches the proxy of each app on or off: `proxy-enable` / `proxy-disable` fire, and a
/// deployed app is deployed again (its web containers publish their ports, or stop doing
/// so).
fn switch(ctx: &Ctx, name: &str, args: &[String], enable: bool) -> Result<()> {
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

fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    switch(ctx, "proxy:enable", args, true)
}

fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    switch(ctx, "proxy:disable", args, false)
}

fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter().map(|app| app_report_rows(ctx, app)).collect()
}

/// `proxy:report`'s row beyond the settings.
fn app_report_rows(ctx: &Ctx, app: &AppName) -> Result<Vec<(String, String)>> {
    Ok(vec![(
        "proxy-enabled".into(),
        is_enabled(ctx, app.as_str())?.to_string(),
    )])
}

/// `proxy-is-enabled APP`: `true` or `false`.
fn is_enabled_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("proxy-is-enabled", args)?;
    log::data(&is_enabled(ctx, app)?.to_string());
    Ok(())
}

/// `proxy-type APP`: the app's proxy implementation.
fn type_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("proxy-type", args)?;
    log::data(&SETTINGS.computed(ctx, app, "type")?);
    Ok(())
}

/// `docker-args-process-deploy APP SOURCE TAG PROC [INDEX]`: with the proxy disabled, a
/// web container publishes the app's port mappings on the host.
fn publish_args(ctx: &Ctx, args: &[String]) -> Result<()> {
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
