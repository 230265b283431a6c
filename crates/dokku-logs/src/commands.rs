//! The `logs:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;
use dokku_core::property::GLOBAL;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::settings::SetArgs;

use crate::settings::SETTINGS;

#[derive(Parser)]
pub(crate) struct Show {
    #[arg(value_name = "APP")]
    app: String,
    /// How many lines of each container's output (default 100).
    #[arg(short = 'n', long = "num", default_value_t = 100)]
    lines: u32,
    /// Keep following the output.
    #[arg(short = 't', long = "tail")]
    follow: bool,
    /// The bare lines: no timestamps or container names.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Only this process type (`web`) or container (`web.1`).
    #[arg(short = 'p', long = "ps", value_name = "PROC")]
    process: Option<String>,
}

pub(crate) fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Show = parse("logs", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    ctx.trigger("scheduler-logs")
        .args([
            scheduler.as_str(),
            app.as_str(),
            cmd.process.as_deref().unwrap_or(""),
            if cmd.follow { "true" } else { "false" },
            if cmd.quiet { "false" } else { "true" },
            &cmd.lines.to_string(),
        ])
        .stream()
}

#[derive(Parser)]
pub(crate) struct Failed {
    #[arg(
        value_name = "APP",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    app: Option<String>,
    /// Every app, one after another.
    #[arg(long)]
    all: bool,
}

/// `logs:failed <app>|--all`: what the processes of the app's last failed deploy printed,
/// as its scheduler kept it (`scheduler-logs-failed`).
pub(crate) fn failed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Failed = parse("logs:failed", args)?;
    let apps = match &cmd.app {
        Some(app) => vec![dokku_core::app::verify(&ctx.roots, app)?],
        None => dokku_core::app::list(&ctx.roots)?,
    };
    for app in apps {
        if cmd.all {
            log::info2(&format!("{app} failed deploy logs"));
        }
        let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
        ctx.trigger("scheduler-logs-failed")
            .args([scheduler.as_str(), app.as_str()])
            .stream()?;
    }
    Ok(())
}

/// `logs:set [<app>|--global] KEY [VALUE]`; a change to what vector ships rewrites its
/// configuration.
pub(crate) fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: SetArgs = parse("logs:set", args)?;
    let names_app = !cmd.global && cmd.rest.first().is_some_and(|w| w != GLOBAL);
    if let Some(key) = cmd.rest.get(usize::from(names_app)).map(String::as_str)
        && names_app
        && matches!(key, "vector-image" | "vector-networks")
    {
        dokku_core::app::verify(&ctx.roots, &cmd.rest[0])?;
        bail!("{key} may only be set globally with --global");
    }
    let change = SETTINGS.set(ctx, cmd.global, &cmd.rest)?;
    if matches!(
        change.key,
        "app-label-alias" | "vector-cron-sink" | "vector-sink"
    ) {
        let path = crate::vector::config_path(&ctx.roots);
        log::verbose_quiet(&format!(
            "Writing updated vector config to {}",
            path.display()
        ));
        crate::vector::write(&ctx.roots)?;
    }
    Ok(())
}

/// The keys of `logs:report`: (key, value) for an app, or the global and computed ones.
fn report_rows(ctx: &Ctx, slot: &str, redact: &dyn Fn(&str, &str) -> String) -> Result<Report> {
    let props = SETTINGS.properties(ctx);
    let get =
        |slot: &str, key: &str| -> Result<String> { Ok(props.get(slot, key)?.unwrap_or_default()) };
    let global = slot == GLOBAL;
    let mut rows: Vec<(String, String)> = Vec::new();
    for key in [
        "app-label-alias",
        "max-size",
        "vector-cron-sink",
        "vector-image",
        "vector-networks",
        "vector-sink",
    ] {
        let sink = key.ends_with("sink");
        let global_value = get(GLOBAL, key)?;
        let shown_global = if sink {
            redact(&global_value, &format!("logs-global-{key}"))
        } else {
            global_value
        };
        let own = if global || matches!(key, "vector-image" | "vector-networks") {
            None
        } else {
            let value = get(slot, key)?;
            Some(if sink {
                redact(&value, &format!("logs-{key}"))
            } else {
                value
            })
        };
        let computed = match (&own, sink) {
            (Some(own), true) if !own.is_empty() => own.clone(),
            (_, true) => shown_global.clone(),
            _ => SETTINGS.computed(ctx, slot, key)?,
        };
        rows.push((format!("logs-computed-{key}"), computed));
        rows.push((format!("logs-global-{key}"), shown_global));
        if let Some(own) = own {
            rows.push((format!("logs-{key}"), own));
        }
    }
    rows.sort();
    let subject = if global { GLOBAL } else { slot };
    Ok(rows
        .into_iter()
        .fold(Report::new(subject, "logs"), |report, (k, v)| {
            report.row(&k, v)
        }))
}

/// `logs:report [<app>|--global] [--format stdout|json] [--<flag>]`. Sinks carry
/// credentials: a general report shows their type only (`TYPE://redacted`); JSON and the
/// sink's own flag show them whole.
pub(crate) fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let redact = |value: &str, flag: &str| -> String {
        if value.is_empty() || request.json || request.key.as_deref() == Some(flag) {
            return value.to_string();
        }
        crate::vector::sink_config(value, &[])
            .ok()
            .and_then(|sink| sink.get("type").and_then(|t| t.as_str()).map(String::from))
            .map(|kind| format!("{kind}://redacted"))
            .unwrap_or_default()
    };
    if request.app.as_deref() == Some(GLOBAL) {
        return report_rows(ctx, GLOBAL, &redact)?.print(&request);
    }
    dokku_core::report::print_for_apps(&request, &ctx.roots, "logs", |app| {
        report_rows(ctx, app.as_str(), &redact)
    })
}

/// `docker-args-process-deploy APP ...`: `--log-opt=max-size=SIZE` for the drivers that
/// take it (`json-file`, `local`: the app's last `--log-driver` option, else the engine's),
/// unless the size is `unlimited`.
pub(crate) fn docker_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let size = SETTINGS.computed(ctx, app, "max-size")?;
    let takes_size = |driver: &str| matches!(driver, "json-file" | "local");
    // docker takes the last `--log-driver` it is given.
    let option = dokku_core::docker::options::Stored::new(&ctx.roots)
        .list(app, None, "deploy")?
        .into_iter()
        .filter_map(|o| o.strip_prefix("--log-driver=").map(String::from))
        .next_back();
    let driver = match option {
        Some(driver) => driver,
        None => dokku_core::docker::engine::request("GET", "/info")
            .and_then(|reply| reply.ok("docker info"))
            .and_then(|reply| reply.json())
            .map(|info| {
                info["LoggingDriver"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .unwrap_or_default(),
    };
    let extra = if size != "unlimited" && takes_size(&driver) {
        format!(" --log-opt=max-size={size}")
    } else {
        String::new()
    };
    dokku_core::docker::filter_args(&extra)
}

/// `logs-get-property APP max-size`.
pub(crate) fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("logs-get-property", args)?;
    if key != "max-size" {
        bail!("Invalid logs property specified");
    }
    log::data(&SETTINGS.computed(ctx, app, key)?);
    Ok(())
}

/// After an app comes or goes (`post-app-clone-setup`, `post-delete`): vector's
/// configuration follows. It is derived state, so a failure only warns.
pub(crate) fn rewrite_vector_config(ctx: &Ctx, _args: &[String]) -> Result<()> {
    if let Err(err) = crate::vector::write(&ctx.roots) {
        log::warn(&format!("Unable to write updated vector config: {err:#}"));
    }
    Ok(())
}

/// `post-app-rename-setup OLD NEW`: the settings moved to NEW; OLD keeps none, and
/// vector's configuration follows.
pub(crate) fn renamed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, _new] = dokku_core::entry::exactly::<2>("post-app-rename-setup", args)?;
    SETTINGS.properties(ctx).destroy_app(old)?;
    rewrite_vector_config(ctx, args)
}
