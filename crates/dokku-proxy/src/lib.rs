//! The `proxy` plugin: which proxy implementation routes to an app (`type`, default
//! `nginx`), and whether one does. `proxy:build-config` / `proxy:clear-config` fire
//! `proxy-build-config` / `proxy-clear-config` for the implementation to answer. With the
//! proxy disabled nothing routes to the app: its containers are reached at their own
//! addresses (or on ports the app's docker options publish), as in Dokku.

mod commands;
mod settings;
mod triggers;

use dokku_core::entry::{Command, Hooks, Plugin, TriggerEntry};

use crate::commands::report_rows;
use crate::settings::SETTINGS;

const APPS_ARGS: &str = "--all|<app>";

pub const PLUGIN: Plugin = Plugin {
    name: "proxy",
    description: "Manage the proxy integration for an app",
    commands: &[
        Command {
            name: "build-config",
            args: APPS_ARGS,
            help: "(Re)builds the proxy config of an app",
            run: commands::build_config,
        },
        Command {
            name: "clear-config",
            args: APPS_ARGS,
            help: "Clears the proxy config of an app",
            run: commands::clear_config,
        },
        Command {
            name: "disable",
            args: APPS_ARGS,
            help: "Disable the proxy for an app",
            run: commands::disable,
        },
        Command {
            name: "enable",
            args: APPS_ARGS,
            help: "Enable the proxy for an app",
            run: commands::enable,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>] | <app> <proxy-type>",
            help: "Set or clear a proxy property for an app",
            run: commands::set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "proxy-is-enabled",
            run: triggers::is_enabled_trigger,
        },
        TriggerEntry {
            name: "proxy-type",
            run: triggers::type_trigger,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
