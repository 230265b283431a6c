//! The `resource` plugin: limits and reservations of an app's containers, for every
//! process type (`_default_`) or one, in Dokku's properties
//! (`config/resource/<app>/<type>.<limit|reserve>.<resource>`). The docker-local scheduler
//! applies them through `docker-args-process-deploy` (`--cpus`, `--memory`,
//! `--memory-swap`, `--gpus`, `--memory-reservation`); limits set for the `build` type
//! apply to Dockerfile builds (memory only). Every value is checked before it is stored:
//! it becomes a docker flag.

mod commands;
mod triggers;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "resource",
    description: "Manage resource settings for an app",
    commands: &[
        Command {
            name: "limit",
            args: "[--process-type <type>] [--cpu N] [--memory N] [--memory-swap N] [--nvidia-gpu N] [--network N] [--network-ingress N] [--network-egress N] <app>",
            help: "Limit resources for an app (or one of its process types)",
            run: commands::limit,
        },
        Command {
            name: "limit-clear",
            args: "[--process-type <type>] <app>",
            help: "Clear the resource limits of an app (or one of its process types)",
            run: commands::limit_clear,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a resource report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "reserve",
            args: "[--process-type <type>] [--cpu N] [--memory N] [--memory-swap N] [--nvidia-gpu N] [--network N] [--network-ingress N] [--network-egress N] <app>",
            help: "Reserve resources for an app (or one of its process types)",
            run: commands::reserve,
        },
        Command {
            name: "reserve-clear",
            args: "[--process-type <type>] <app>",
            help: "Clear the resource reservations of an app (or one of its process types)",
            run: commands::reserve_clear,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "docker-args-process-build",
            run: triggers::build_args,
        },
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: triggers::deploy_args,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: triggers::copy,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: triggers::copy,
        },
        TriggerEntry {
            name: "post-delete",
            run: triggers::post_delete,
        },
    ],
    app_scoped: &[
        AppScoped {
            trigger: "docker-args-process-build",
            namespace: "resource",
            key: None,
        },
        AppScoped {
            trigger: "docker-args-process-deploy",
            namespace: "resource",
            key: None,
        },
    ],
    ..Plugin::DEFAULTS
};
