//! The `storage` plugin: Dokku's bind mounts of host directories into an app's
//! containers. Mounts reach containers only through `docker-args-deploy` and
//! `docker-args-run`; the scheduler knows nothing of them. Data is never deleted here.

mod commands;
pub mod ownership;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "storage",
    description: "Manage mounted volumes",
    default_command: Some("report"),
    commands: &[
        Command {
            name: "ensure-directory",
            args: "[--chown herokuish|heroku|paketo|root|false|<uid>] <name>",
            help: "Creates a persistent storage directory in the recommended storage path",
            run: commands::ensure_directory,
        },
        Command {
            name: "list",
            args: "<app> [--format text|json]",
            help: "List bind mounts for app's container(s) (host:container)",
            run: commands::list,
        },
        Command {
            name: "mount",
            args: "<app> <host-dir:container-dir[:ro]>",
            help: "Create a new bind mount",
            run: commands::mount,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a storage report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "unmount",
            args: "<app> <host-dir:container-dir[:ro]>",
            help: "Remove an existing bind mount",
            run: commands::unmount,
        },
    ],
    helpers: &[TriggerEntry {
        name: "storage-dir",
        run: commands::storage_dir_helper,
    }],
    triggers: &[
        TriggerEntry {
            name: "docker-args-deploy",
            run: commands::docker_args_trigger,
        },
        TriggerEntry {
            name: "docker-args-run",
            run: commands::docker_args_trigger,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copy_mounts,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::copy_mounts,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::post_delete,
        },
        TriggerEntry {
            name: "report",
            run: commands::report_trigger,
        },
    ],
    app_scoped: &[
        AppScoped {
            trigger: "docker-args-deploy",
            namespace: commands::NAMESPACE,
            key: None,
        },
        AppScoped {
            trigger: "docker-args-run",
            namespace: commands::NAMESPACE,
            key: None,
        },
    ],
    ..Plugin::DEFAULTS
};
