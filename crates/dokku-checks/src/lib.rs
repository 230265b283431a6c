//! The `checks` plugin: whether a freshly started container is ready for traffic
//! (`check-deploy`: the default readiness check, then app.json's `healthchecks` or a
//! legacy `CHECKS` file), which process types skip their checks or deploy without zero
//! downtime (`checks:skip`, `checks:disable`, `checks:enable`), and how long replaced
//! containers keep serving (`wait-to-retire`, default 60 s as in Dokku).

mod check;
mod healthcheck;
mod http;
mod lists;

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{Command, Ctx, Hooks, Plugin, TriggerEntry, exactly, parse};
use dokku_core::log;
use dokku_core::settings::{Scope, Setting, Settings};

use lists::List;

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

const TYPES_ARGS: &str = "<app> [<process-type>,...]";

pub const PLUGIN: Plugin = Plugin {
    name: "checks",
    description: "Manage zero-downtime settings",
    commands: &[
        Command {
            name: "disable",
            args: TYPES_ARGS,
            help: "Disable zero-downtime deployment for all processes (or the types listed)",
            run: disable,
        },
        Command {
            name: "enable",
            args: TYPES_ARGS,
            help: "Enable zero-downtime deployment for all processes (or the types listed)",
            run: enable,
        },
        Command {
            name: "run",
            args: "<app> [<process-type>,...|<process-type>.<n>]",
            help: "Runs zero-downtime checks against the app's running containers",
            run: run_checks,
        },
        Command {
            name: "skip",
            args: TYPES_ARGS,
            help: "Skip zero-downtime checks for all processes (or the types listed)",
            run: skip,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "check-deploy",
            run: check::check_deploy,
        },
        TriggerEntry {
            name: "checks-get-property",
            run: get_property,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: keep_checks_file,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: adopt_release,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};

fn attempts(value: &str) -> Result<()> {
    if !value.parse::<u32>().is_ok_and(|n| (1..=100).contains(&n)) {
        bail!("Invalid number of attempts {value:?}: 1 to 100");
    }
    Ok(())
}

/// `checks-get-property APP KEY`: a setting's computed value, or the `disabled` /
/// `skipped` list (`_all_`, `web,worker`, or nothing).
fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = exactly::<2>("checks-get-property", args)?;
    let value = match key.as_str() {
        "disabled" => lists::get(ctx, app, List::Disabled)?.stored(),
        "skipped" => lists::get(ctx, app, List::Skipped)?.stored(),
        _ => SETTINGS.computed(ctx, app, key)?,
    };
    log::data(&value);
    Ok(())
}

#[derive(Parser)]
struct Types {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PROCESS_TYPES")]
    types: Option<String>,
}

/// The app's process types, for lists that name all of them (`_all_`).
fn known_types(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
    Ok(ctx
        .trigger("ps-current-scale")
        .arg(app)
        .output_lines()?
        .iter()
        .filter_map(|line| line.split_once('=').map(|(kind, _)| kind.to_string()))
        .collect())
}

fn change_lists(ctx: &Ctx, name: &str, args: &[String], list: Option<List>) -> Result<()> {
    let cmd: Types = parse(name, args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let types = lists::parse_types(cmd.types.as_deref())?;
    let verb = match list {
        Some(List::Disabled) => "Disabling",
        Some(List::Skipped) => "Skipping",
        None => "Enabling",
    };
    match &types {
        Some(types) => log::info1(&format!(
            "{verb} zero downtime for app's ({app}) proctypes ({})",
            types.join(",")
        )),
        None => log::info1(&format!("{verb} zero downtime for app ({app})")),
    }
    let known = known_types(ctx, app.as_str())?;
    lists::change(ctx, app.as_str(), list, types.as_deref(), &known)
}

fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:disable", args, Some(List::Disabled))
}

fn skip(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:skip", args, Some(List::Skipped))
}

fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:enable", args, None)
}

#[derive(Parser)]
struct Run {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PROCESS_TYPES")]
    only: Option<String>,
}

fn run_checks(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("checks:run", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    check::run_command(ctx, app.as_str(), cmd.only.as_deref())
}

fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter().map(|app| app_report_rows(ctx, app)).collect()
}

/// `checks:report`'s rows beyond the settings: the lists of process types.
fn app_report_rows(ctx: &Ctx, app: &AppName) -> Result<Vec<(String, String)>> {
    Ok(vec![
        (
            "checks-disabled-list".into(),
            lists::get(ctx, app.as_str(), List::Disabled)?.shown(),
        ),
        (
            "checks-skipped-list".into(),
            lists::get(ctx, app.as_str(), List::Skipped)?.shown(),
        ),
    ])
}

/// `core-post-extract APP DIR REV`: a `CHECKS` file at the top of the tree is kept with
/// the build.
fn keep_checks_file(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        SETTINGS.namespace,
        |_| Ok(check::CHECKS_FILE.into()),
        check::CHECKS_FILE,
        |_| Ok(()),
    )
}

/// `post-release-builder BUILDER APP IMAGE`: the released build's CHECKS file becomes the
/// app's.
fn adopt_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    dokku_core::build_files::adopt_build_file(
        &ctx.roots,
        SETTINGS.namespace,
        app,
        check::CHECKS_FILE,
    )?;
    Ok(())
}
