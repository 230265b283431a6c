//! The `app-json` plugin: on each build the app's `app.json` (at `appjson-path`, default
//! `app.json`) must be a JSON object, and is kept with the build: its scripts, formation,
//! healthchecks and cron are what the scheduler reads when it runs that build.

use anyhow::{Result, bail};
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "app-json",
    table: &[Setting {
        key: "appjson-path",
        scope: Scope::AppOrGlobal,
        default: "app.json",
        validate: settings::relative_path,
    }],
};

pub const PLUGIN: Plugin = Plugin {
    name: "app-json",
    description: "Manage processing of app.json files",
    default_command: Some("report"),
    keeps_root: false,
    commands: &[
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays an app-json report for one or more apps",
            run: report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear an app-json property for an app",
            run: set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-extract",
            run: keep_app_json,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: copy_settings,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: copy_settings,
        },
        TriggerEntry {
            name: "post-delete",
            run: post_delete,
        },
    ],
};

fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    SETTINGS.set_command(ctx, args)?;
    Ok(())
}

fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    SETTINGS.print_report(ctx, args, |_| Ok(Vec::new()))
}

fn valid_app_json(text: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => bail!("Invalid app.json: the top level is not an object"),
        Err(err) => bail!("Invalid app.json: {err}"),
    }
}

/// `core-post-extract APP DIR REV`.
fn keep_app_json(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::pipeline::keep_build_file(
        ctx,
        args,
        &SETTINGS,
        "appjson-path",
        "app.json",
        valid_app_json,
    )
}

fn copy_settings(ctx: &Ctx, args: &[String]) -> Result<()> {
    SETTINGS.copy_trigger(ctx, args)
}

/// `post-delete APP`: the settings and the files kept with the app's builds.
fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::pipeline::delete_app_files(ctx, args, &SETTINGS)
}
