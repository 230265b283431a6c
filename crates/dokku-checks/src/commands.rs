//! The `checks:*` commands.

use anyhow::Result;
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;

use crate::check;
use crate::lists;
use crate::lists::List;

#[derive(Parser)]
pub(crate) struct Types {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PROCESS_TYPES")]
    types: Option<String>,
}

/// The app's process types, for lists that name all of them (`_all_`).
pub(crate) fn known_types(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
    Ok(ctx
        .trigger("ps-current-scale")
        .arg(app)
        .output_lines()?
        .iter()
        .filter_map(|line| line.split_once('=').map(|(kind, _)| kind.to_string()))
        .collect())
}

pub(crate) fn change_lists(
    ctx: &Ctx,
    name: &str,
    args: &[String],
    list: Option<List>,
) -> Result<()> {
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

pub(crate) fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:disable", args, Some(List::Disabled))
}

pub(crate) fn skip(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:skip", args, Some(List::Skipped))
}

pub(crate) fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_lists(ctx, "checks:enable", args, None)
}

#[derive(Parser)]
pub(crate) struct Run {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PROCESS_TYPES")]
    only: Option<String>,
}

pub(crate) fn run_checks(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("checks:run", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    check::run_command(ctx, app.as_str(), cmd.only.as_deref())
}

pub(crate) fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter().map(|app| app_report_rows(ctx, app)).collect()
}

/// `checks:report`'s rows beyond the settings: the lists of process types.
pub(crate) fn app_report_rows(ctx: &Ctx, app: &AppName) -> Result<Vec<(String, String)>> {
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
