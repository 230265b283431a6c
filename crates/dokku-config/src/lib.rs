//! The `config` plugin: app and global environment variables. It owns
//! `$DOKKU_LIB_ROOT/config/<app|--global>/ENV`; other plugins read and change them only
//! through the `config-get`, `config-export`, `config-set`, `config-unset` and
//! `config-replace` triggers.

mod commands;
pub mod envfile;
mod export;
pub mod store;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

const SHOW_ARGS: &str = "[<app>|--global] [--merged]";

pub const PLUGIN: Plugin = Plugin {
    name: "config",
    description: "Manage global and app-specific config vars",
    default_command: Some("show"),
    commands: &[
        Command {
            name: "clear",
            args: "[--no-restart] <app>|--global",
            help: "Clears environment variables",
            run: commands::clear,
        },
        Command {
            name: "export",
            args: "[--format exports|envfile|docker-args|docker-args-keys|pack-keys|shell|json|json-list|pretty] [--merged] <app>|--global",
            help: "Export a global or app environment",
            run: commands::export,
        },
        Command {
            name: "get",
            args: "[--quoted] <app>|--global KEY",
            help: "Display a global or app-specific config value",
            run: commands::get,
        },
        Command {
            name: "import",
            args: "[--replace] [--no-restart] [--format envfile|json] <app>|--global <file>|-",
            help: "Import config vars from a dotenv or JSON file, or stdin",
            run: commands::import,
        },
        Command {
            name: "keys",
            args: SHOW_ARGS,
            help: "Show keys set in environment",
            run: commands::keys,
        },
        Command {
            name: "set",
            args: "[--encoded] [--no-restart] <app>|--global KEY1=VALUE1 [KEY2=VALUE2 ...]",
            help: "Set one or more config vars",
            run: commands::set,
        },
        Command {
            name: "show",
            args: SHOW_ARGS,
            help: "Pretty-print an app or global environment",
            run: commands::show,
        },
        Command {
            name: "unset",
            args: "[--no-restart] <app>|--global KEY1 [KEY2 ...]",
            help: "Unset one or more config vars",
            run: commands::unset,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "config-export",
            run: commands::trigger_export,
        },
        TriggerEntry {
            name: "config-get",
            run: commands::trigger_get,
        },
        TriggerEntry {
            name: "config-get-global",
            run: commands::trigger_get_global,
        },
        TriggerEntry {
            name: "config-migrate-env",
            run: commands::trigger_migrate,
        },
        TriggerEntry {
            name: "config-replace",
            run: commands::trigger_replace,
        },
        TriggerEntry {
            name: "config-set",
            run: commands::trigger_set,
        },
        TriggerEntry {
            name: "config-unset",
            run: commands::trigger_unset,
        },
        TriggerEntry {
            name: "install",
            run: commands::trigger_migrate,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::trigger_copy,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::trigger_copy,
        },
        TriggerEntry {
            name: "post-create",
            run: commands::trigger_post_create,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::trigger_post_delete,
        },
    ],
    helpers: &[TriggerEntry {
        name: "config_sub",
        run: commands::config_sub,
    }],
    ..Plugin::DEFAULTS
};
