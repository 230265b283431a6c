//! The `ps` plugin: an app's processes. On each build its Procfile (at `procfile-path`,
//! default `Procfile`) is checked as Dokku checks it and kept with the build, for the
//! scheduler to run.

use anyhow::Result;
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "ps",
    table: &[Setting {
        key: "procfile-path",
        scope: Scope::AppOrGlobal,
        default: "Procfile",
        validate: settings::relative_path,
    }],
};

pub const PLUGIN: Plugin = Plugin {
    name: "ps",
    description: "Manage app processes",
    default_command: None,
    keeps_root: false,
    commands: &[Command {
        name: "set",
        args: "[<app>|--global] <key> [<value>]",
        help: "Set or clear a ps property for an app",
        run: set,
    }],
    triggers: &[
        TriggerEntry {
            name: "core-post-extract",
            run: keep_procfile,
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

fn valid_procfile(text: &str) -> Result<()> {
    dokku_core::procfile::parse(text).map(|_| ())
}

/// `core-post-extract APP DIR REV`.
fn keep_procfile(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::pipeline::keep_build_file(
        ctx,
        args,
        &SETTINGS,
        "procfile-path",
        "Procfile",
        valid_procfile,
    )
}

fn copy_settings(ctx: &Ctx, args: &[String]) -> Result<()> {
    SETTINGS.copy_trigger(ctx, args)
}

/// `post-delete APP`: the settings and the files kept with the app's builds.
fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::pipeline::delete_app_files(ctx, args, &SETTINGS)
}
