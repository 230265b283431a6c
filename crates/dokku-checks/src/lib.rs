//! The `checks` plugin: how long old containers keep serving after a deploy replaced them
//! (`wait-to-retire`, seconds, default 60 as in Dokku), answered through
//! `checks-get-property`.

use anyhow::{Result, bail};
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry, exactly};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "checks",
    table: &[Setting {
        key: "wait-to-retire",
        scope: Scope::AppOrGlobal,
        default: "60",
        validate: seconds,
    }],
};

pub const PLUGIN: Plugin = Plugin {
    name: "checks",
    description: "Manage zero-downtime settings",
    default_command: Some("report"),
    keeps_root: false,
    commands: &[
        Command {
            name: "report",
            args: "[<app>|--global] [--format stdout|json] [<flag>]",
            help: "Displays a checks report for one or more apps",
            run: report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a checks property for an app",
            run: set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "checks-get-property",
            run: get_property,
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
            run: delete_settings,
        },
    ],
};

/// Whole seconds, at most an hour.
fn seconds(value: &str) -> Result<()> {
    if !value.parse::<u32>().is_ok_and(|n| n <= 3600) {
        bail!("Invalid number of seconds {value:?}: 0 to 3600");
    }
    Ok(())
}

/// `checks-get-property APP KEY`: the computed value.
fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = exactly::<2>("checks-get-property", args)?;
    dokku_core::log::data(&SETTINGS.computed(ctx, app, key)?);
    Ok(())
}

dokku_core::settings_handlers!(SETTINGS);
