//! The `ps` plugin: an app's processes. On each build its Procfile (at `procfile-path`,
//! default `Procfile`) is checked as Dokku checks it and kept with the build; once the build
//! is released it becomes the app's Procfile and its process types join the app's scale
//! (`web` at 1, others at 0 until scaled), which the scheduler runs.

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
            name: "post-release-builder",
            run: adopt_release,
        },
        TriggerEntry {
            name: "procfile-get-command",
            run: procfile_command,
        },
        TriggerEntry {
            name: "ps-current-scale",
            run: current_scale,
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

/// The app's current Procfile: the released build's.
fn procfile_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir("ps", app).join("Procfile")
}

fn processes(ctx: &Ctx, app: &str) -> Result<Option<Vec<dokku_core::procfile::Process>>> {
    match dokku_core::fs::read_optional(&procfile_path(ctx, app))? {
        Some(text) => Ok(Some(dokku_core::procfile::parse(&text)?)),
        None => Ok(None),
    }
}

/// The scale: `type=count` lines, in the order stored.
fn scale(ctx: &Ctx, app: &str) -> Result<Vec<(String, u32)>> {
    Ok(SETTINGS
        .properties(ctx)
        .list(app, "scale")?
        .iter()
        .filter_map(|line| {
            let (name, count) = line.split_once('=')?;
            Some((name.to_string(), count.trim().parse().ok()?))
        })
        .collect())
}

/// `post-release-builder BUILDER APP IMAGE`: the released build's Procfile becomes the
/// app's, and the scale follows its process types (new ones join, `web` at 1 and others
/// at 0; those gone leave). An app without a Procfile runs its image's command as `web`.
fn adopt_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = dokku_core::entry::exactly::<3>("post-release-builder", args)?;
    let Some(build) = dokku_core::pipeline::BuildFiles::current(&ctx.roots, "ps", app) else {
        return Ok(());
    };
    let path = procfile_path(ctx, app);
    match build.get("Procfile")? {
        Some(text) => dokku_core::fs::write_atomic(&path, text.as_bytes(), 0o600)?,
        None => dokku_core::fs::remove_file_if_exists(&path)?,
    }
    let names: Vec<String> = match processes(ctx, app)? {
        Some(list) => list.into_iter().map(|p| p.name).collect(),
        None => vec!["web".into()],
    };
    let current = scale(ctx, app)?;
    let lines: Vec<String> = names
        .iter()
        .map(|name| {
            let count = current
                .iter()
                .find(|(n, _)| n == name)
                .map_or(u32::from(name == "web"), |(_, c)| *c);
            format!("{name}={count}")
        })
        .collect();
    SETTINGS.properties(ctx).set_list(app, "scale", &lines)
}

/// `ps-current-scale APP`: `type=count` lines.
fn current_scale(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    for (name, count) in scale(ctx, app)? {
        dokku_core::log::data(&format!("{name}={count}"));
    }
    Ok(())
}

/// `procfile-get-command APP TYPE`: the process type's command, unexpanded; nothing when
/// the app has no Procfile or no such type.
fn procfile_command(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(app), Some(kind)) = (args.first(), args.get(1)) else {
        anyhow::bail!("procfile-get-command: expected APP TYPE");
    };
    if let Some(process) = processes(ctx, app)?
        .into_iter()
        .flatten()
        .find(|p| p.name == *kind)
    {
        dokku_core::log::data(&process.command);
    }
    Ok(())
}

/// `post-delete APP`: the settings and the files kept with the app's builds.
fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::pipeline::delete_app_files(ctx, args, &SETTINGS)
}
