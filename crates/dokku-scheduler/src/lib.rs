//! The `scheduler` plugin: which scheduler runs an app (`selected`, app then global, else
//! `docker-local`), answered through `scheduler-detect`.

use anyhow::{Result, bail};
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "scheduler",
    table: &[Setting {
        key: "selected",
        scope: Scope::AppOrGlobal,
        default: "",
        validate: scheduler_name,
    }],
};

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler",
    description: "Manage scheduler settings for an app",
    default_command: Some("report"),
    keeps_root: false,
    commands: &[
        Command {
            name: "report",
            args: "[<app>|--global] [--format stdout|json] [<flag>]",
            help: "Displays a scheduler report for one or more apps",
            run: report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a scheduler property for an app",
            run: set,
        },
    ],
    triggers: &[
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
            run: delete_settings,
        },
        TriggerEntry {
            name: "scheduler-detect",
            run: detect,
        },
    ],
};

/// A scheduler's name: `docker-local`, `null`, a third-party scheduler's.
fn scheduler_name(value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("Invalid scheduler {value:?}");
    }
    Ok(())
}

/// `scheduler-detect APP`: the selected scheduler, else Dokku's default.
fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let selected = SETTINGS.computed(ctx, app, "selected")?;
    dokku_core::log::data(if selected.is_empty() {
        "docker-local"
    } else {
        &selected
    });
    Ok(())
}

dokku_core::settings_handlers!(SETTINGS);
