//! The `domains` plugin: the global domain (`$DOKKU_ROOT/VHOST`) and each app's vhosts
//! (`$DOKKU_ROOT/<app>/VHOST`). The proxy learns of changes through
//! `post-domains-update` and asks for the list through `domains-list` and `domains-urls`.

mod commands;
pub mod hostname;
mod store;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "domains",
    description: "Manage domains used by the proxy",
    default_command: None,
    commands: &[
        Command {
            name: "add",
            args: "<app>|--global <domain> [<domain> ...]",
            help: "Add domains to app or globally",
            run: commands::add,
        },
        Command {
            name: "add-global",
            args: "<domain> [<domain> ...]",
            help: "Add global domain names",
            run: commands::add_global,
        },
        Command {
            name: "clear",
            args: "<app>|--global",
            help: "Clear all domains for app or globally",
            run: commands::clear,
        },
        Command {
            name: "clear-global",
            args: "",
            help: "Clear global domain names",
            run: commands::clear_global,
        },
        Command {
            name: "disable",
            args: "<app>",
            help: "Disable VHOST support",
            run: commands::disable,
        },
        Command {
            name: "enable",
            args: "<app>",
            help: "Enable VHOST support",
            run: commands::enable,
        },
        Command {
            name: "remove",
            args: "<app>|--global <domain> [<domain> ...]",
            help: "Remove domains from app or globally",
            run: commands::remove,
        },
        Command {
            name: "remove-global",
            args: "<domain> [<domain> ...]",
            help: "Remove global domain names",
            run: commands::remove_global,
        },
        Command {
            name: "report",
            args: "[<app>|--global] [--format stdout|json] [<flag>]",
            help: "Displays a domains report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "reset",
            args: "<app>",
            help: "Reset app domains to the global default",
            run: commands::reset,
        },
        Command {
            name: "set",
            args: "<app>|--global <domain> [<domain> ...]",
            help: "Set domains for app or globally",
            run: commands::set,
        },
        Command {
            name: "set-global",
            args: "<domain> [<domain> ...]",
            help: "Set global domain names",
            run: commands::set_global,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-deploy",
            run: commands::warn_ip_domains,
        },
        TriggerEntry {
            name: "domains-list",
            run: commands::domains_list,
        },
        TriggerEntry {
            name: "domains-urls",
            run: commands::domains_urls,
        },
        TriggerEntry {
            name: "domains-vhost-enabled",
            run: commands::domains_vhost_enabled,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::post_app_rename_setup,
        },
        TriggerEntry {
            name: "post-create",
            run: commands::post_create,
        },
        TriggerEntry {
            name: "report",
            run: commands::report_trigger,
        },
    ],
    ..Plugin::DEFAULTS
};
