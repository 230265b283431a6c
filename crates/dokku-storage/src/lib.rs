//! The `storage` plugin: named storage entries (a host directory or docker volume each)
//! and the attachments that mount them into an app's containers, as Dokku 0.38 keeps them.
//! Mounts reach containers only through `docker-args-deploy` and `docker-args-run`; the
//! scheduler knows nothing of them. Data is deleted only when asked for by name.

mod attachment;
mod commands;
mod entries;
mod entry;
mod metadata;
mod migrate;
pub mod ownership;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "storage",
    description: "Manage mounted volumes",
    default_command: None,
    commands: &[
        Command {
            name: "annotations:report",
            args: "[<name>] [<flag>]",
            help: "Displays annotations for one or more storage entries",
            run: metadata::annotations_report,
        },
        Command {
            name: "annotations:set",
            args: "<name> <key> [<value>]",
            help: "Set or clear an annotation on a storage entry",
            run: metadata::annotations_set,
        },
        Command {
            name: "create",
            args: "<name> [<path>] [flags]",
            help: "Register a named storage entry",
            run: entries::create,
        },
        Command {
            name: "destroy",
            args: "<name> [--force] [--destroy-host-dir]",
            help: "Remove a named storage entry (must be unmounted from every app first)",
            run: entries::destroy,
        },
        Command {
            name: "ensure-directory",
            args: "[--chown option] <directory>",
            help: "[DEPRECATED] use storage:create instead",
            run: commands::ensure_directory,
        },
        Command {
            name: "exec",
            args: "<name> [-- <cmd>...]",
            help: "Run a command (or shell) in a temporary container that mounts the entry",
            run: entries::exec,
        },
        Command {
            name: "info",
            args: "<name> [--format text|json]",
            help: "Show details for one storage entry",
            run: entries::info,
        },
        Command {
            name: "labels:report",
            args: "[<name>] [<flag>]",
            help: "Displays labels for one or more storage entries",
            run: metadata::labels_report,
        },
        Command {
            name: "labels:set",
            args: "<name> <key> [<value>]",
            help: "Set or clear a label on a storage entry",
            run: metadata::labels_set,
        },
        Command {
            name: "list",
            args: "<app> [--format text|json]",
            help: "List bind mounts for app's container(s) (host:container)",
            run: commands::list,
        },
        Command {
            name: "list-entries",
            args: "[--scheduler s] [--format text|json]",
            help: "List registered storage entries",
            run: entries::list_entries,
        },
        Command {
            name: "migrate",
            args: "[<app>|--all]",
            help: "Move an app's -v docker options into storage entries",
            run: entries::migrate,
        },
        Command {
            name: "mount",
            args: "<app> <name> --container-dir <path> [flags] | <app> <host-dir:container-dir>",
            help: "Mount a named entry (or a host directory) into an app",
            run: commands::mount,
        },
        Command {
            name: "report",
            args: "[<app>|--global] [<flag>]",
            help: "Displays a storage report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "set",
            args: "<name> <property> [<value>]",
            help: "Update a storage entry in place",
            run: entries::set,
        },
        Command {
            name: "unmount",
            args: "<app> <name> [--container-dir <path>] | <app> <host-dir:container-dir>",
            help: "Remove a mount from an app",
            run: commands::unmount,
        },
        Command {
            name: "wait",
            args: "<name>",
            help: "Wait until a storage entry is ready",
            run: entries::wait,
        },
    ],
    helpers: &[TriggerEntry {
        name: "storage-dir",
        run: commands::storage_dir_helper,
    }],
    triggers: &[
        TriggerEntry {
            name: "docker-args-deploy",
            run: commands::docker_args_deploy,
        },
        TriggerEntry {
            name: "docker-args-run",
            run: commands::docker_args_run,
        },
        TriggerEntry {
            name: "install",
            run: commands::install,
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
        TriggerEntry {
            name: "storage-app-mounts",
            run: commands::app_mounts_trigger,
        },
        TriggerEntry {
            name: "storage-list",
            run: commands::list_trigger,
        },
    ],
    app_scoped: &[
        AppScoped {
            trigger: "docker-args-deploy",
            namespace: attachment::NAMESPACE,
            key: None,
        },
        AppScoped {
            trigger: "docker-args-run",
            namespace: attachment::NAMESPACE,
            key: None,
        },
    ],
    ..Plugin::DEFAULTS
};
