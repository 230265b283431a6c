//! The `nginx-vhosts` plugin (`nginx:*`): each app's nginx config,
//! `$DOKKU_ROOT/<app>/nginx.conf`, built from its domains, port mappings and live web
//! containers whenever one of them changes (`core-post-deploy`, `post-domains-update`,
//! `post-proxy-ports-update`, `post-certs-update|remove`, `proxy-build-config`). Other
//! plugins add lines to every server block of an app through `nginx-config APP` (a line
//! each) and hear `nginx-pre-reload APP` before each reload.
//!
//! A config that fails `nginx -t` never replaces a working one: under one host-wide lock
//! the candidate takes the file's place, `nginx -t` checks the whole configuration, and
//! only then does nginx reload; otherwise the old file comes back and nginx's own message
//! is the error. nginx runs as root: the dokku user asks through the root helper (sudo),
//! which tests and reloads the system's nginx with its own configuration and takes no path
//! from the caller.

mod commands;
mod config;
pub mod control;
mod helper;
pub mod installed;
pub mod policy;
mod settings;
mod site;
mod swap;
mod template;
mod triggers;

use dokku_core::entry::{BuildFile, Command, Concerns, Hooks, Plugin, TriggerEntry};

use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "nginx-vhosts",
    description: "Manage the nginx proxy of an app",
    commands: &[
        Command {
            name: "access-logs",
            args: "<app> [-t|--tail] [-n|--num <lines>]",
            help: "Show the nginx access log of an app",
            run: commands::access_logs,
        },
        Command {
            name: "error-logs",
            args: "<app> [-t|--tail] [-n|--num <lines>]",
            help: "Show the nginx error log of an app",
            run: commands::error_logs,
        },
        Command {
            name: "reload",
            args: "",
            help: "Reloads nginx when it accepts its configuration",
            run: commands::reload_command,
        },
        Command {
            name: "show-config",
            args: "<app>",
            help: "Display the app's nginx config",
            run: commands::show_config,
        },
        Command {
            name: "start",
            args: "",
            help: "Start nginx (a running one reloads its configuration)",
            run: commands::start,
        },
        Command {
            name: "stop",
            args: "",
            help: "Stop nginx",
            run: commands::stop,
        },
        Command {
            name: "validate-config",
            args: "[<app>] [--clean]",
            help: "Check the nginx configuration; --clean removes an app config nginx refuses",
            run: commands::validate_config,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-deploy",
            run: triggers::rebuild,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: site::keep_template,
        },
        TriggerEntry {
            name: "post-certs-remove",
            run: triggers::rebuild_for_certs,
        },
        TriggerEntry {
            name: "post-certs-update",
            run: triggers::rebuild_for_certs,
        },
        TriggerEntry {
            name: "post-create",
            run: triggers::rebuild,
        },
        TriggerEntry {
            name: "post-delete",
            run: triggers::post_delete,
        },
        TriggerEntry {
            name: "post-domains-update",
            run: triggers::rebuild,
        },
        TriggerEntry {
            name: "post-proxy-ports-update",
            run: triggers::rebuild,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: site::adopt_template,
        },
        TriggerEntry {
            name: "proxy-build-config",
            run: triggers::rebuild,
        },
        TriggerEntry {
            name: "proxy-clear-config",
            run: triggers::clear,
        },
        TriggerEntry {
            name: "proxy-disable",
            run: triggers::clear,
        },
        TriggerEntry {
            name: "proxy-wait-drained",
            run: triggers::wait_drained,
        },
        TriggerEntry {
            name: "scheduler-post-deploy-process",
            run: triggers::early_rebuild,
        },
        TriggerEntry {
            name: "scheduler-proxy-config",
            run: commands::proxy_config_here,
        },
        TriggerEntry {
            name: "scheduler-proxy-logs",
            run: commands::proxy_logs_here,
        },
    ],
    // The early rebuild is for web processes only: no process for the other types.
    concerns: &[Concerns {
        trigger: "scheduler-post-deploy-process",
        arg: 1,
        value: "web",
    }],
    helpers: &[TriggerEntry {
        name: "nginx-helper",
        run: helper::run,
    }],
    build_files: &[BuildFile {
        data: site::FILES,
        name: site::TEMPLATE,
        path_setting: Some((SETTINGS.namespace, "nginx-conf-sigil-path")),
    }],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        global_report_values_only: true,
        ..Hooks::NONE
    },
    aliases: &["nginx"],
    ..Plugin::DEFAULTS
};
