//! The `ps` plugin: an app's processes. On each build its Procfile (at `procfile-path`,
//! default `Procfile`) is checked as Dokku checks it and kept with the build, for the
//! scheduler to run.

use anyhow::Result;
use clap::Parser;
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry, exactly, parse};
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

#[derive(Parser)]
struct Set {
    #[arg(long)]
    global: bool,
    /// `<app> <key> [<value>]`, or `<key> [<value>]` with --global.
    #[arg(num_args = 1..=3, required = true)]
    rest: Vec<String>,
}

fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Set = parse("ps:set", args)?;
    SETTINGS.set(ctx, cmd.global, &cmd.rest)?;
    Ok(())
}

fn valid_procfile(text: &str) -> Result<()> {
    dokku_core::procfile::parse(text).map(|_| ())
}

/// `core-post-extract APP DIR REV`.
fn keep_procfile(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir, _rev] = exactly::<3>("core-post-extract", args)?;
    let path = SETTINGS.computed(ctx, app, "procfile-path")?;
    dokku_core::pipeline::keep_build_file(
        ctx,
        "ps",
        app,
        std::path::Path::new(dir),
        &path,
        "Procfile",
        valid_procfile,
    )
}

fn copy_settings(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-clone-setup", args)?;
    SETTINGS.copy_app(ctx, old, new)
}

/// `post-delete APP`: the settings and the files kept with the app's builds.
fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    SETTINGS.delete_app(ctx, app)?;
    dokku_core::fs::remove_dir_all_if_exists(&ctx.roots.data_dir("ps", app))
}
