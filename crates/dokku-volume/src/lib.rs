//! The `volume` plugin: dokku-alt's named volumes, which several apps may link to share
//! data. Like storage's bind mounts they reach containers only through the docker-args
//! triggers, and no command but `volume:destroy` (of an unlinked volume) deletes data.

mod commands;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "volume",
    description: "Manage named volumes shared by apps",
    default_command: Some("list"),
    commands: &[
        Command {
            name: "create",
            args: "<name> <container-path> [<container-path> ...]",
            help: "Create a named volume for the given container paths",
            run: commands::create,
        },
        Command {
            name: "destroy",
            args: "<name> [--force]",
            help: "Destroy an unlinked volume and its data",
            run: commands::destroy,
        },
        Command {
            name: "info",
            args: "<name>",
            help: "Show a volume's paths, host directories and linked apps",
            run: commands::info,
        },
        Command {
            name: "link",
            args: "<app> <name>",
            help: "Mount a volume in an app's containers",
            run: commands::link,
        },
        Command {
            name: "list",
            args: "",
            help: "List volumes",
            run: commands::list,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays the volumes linked to one or more apps",
            run: commands::report,
        },
        Command {
            name: "unlink",
            args: "<app> <name>",
            help: "Stop mounting a volume in an app (its data is kept)",
            run: commands::unlink,
        },
    ],
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
            name: "install",
            run: commands::install,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copy_links,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::copy_links,
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
