//! The `docker-options` plugin: extra arguments an operator gives docker for an app's
//! build, deploy or run containers, stored one option per line and handed out through the
//! `docker-args-build`, `docker-args-deploy`, `docker-args-process-deploy` and
//! `docker-args-run` filter triggers. Options are split into words as a shell would, and
//! never evaluated.

mod commands;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "docker-options",
    description: "Manage docker options for an app's build, deploy and run phases",
    root_commands: &["allow", "disallow"],
    commands: &[
        Command {
            name: "allow",
            args: "<app> <option>...",
            help: "Allow an app options that give its containers the host (root only)",
            run: commands::allow,
        },
        Command {
            name: "disallow",
            args: "<app> <option>...",
            help: "Take back options allowed with docker-options:allow (root only)",
            run: commands::disallow,
        },
        Command {
            name: "add",
            args: "[--process <type>] <app> <phase(s)> <option>...",
            help: "Add docker options to an app for the phases given (build,deploy,run)",
            run: commands::add,
        },
        Command {
            name: "clear",
            args: "[--process <type>] <app> [<phase(s)>]",
            help: "Clear an app's docker options, for all phases or those given",
            run: commands::clear,
        },
        Command {
            name: "list",
            args: "<app> --phase <phase> [--process <type>]",
            help: "List an app's docker options for a phase, one per line",
            run: commands::list,
        },
        Command {
            name: "remove",
            args: "[--process <type>] <app> <phase(s)> <option>...",
            help: "Remove docker options from an app for the phases given",
            run: commands::remove,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a docker options report for one or more apps",
            run: commands::report,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "docker-args-build",
            run: commands::args_build,
        },
        TriggerEntry {
            name: "docker-args-deploy",
            run: commands::args_deploy,
        },
        TriggerEntry {
            name: "docker-args-process-deploy",
            run: commands::args_process_deploy,
        },
        TriggerEntry {
            name: "docker-args-run",
            run: commands::args_run,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copy_options,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::copy_options,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::post_delete,
        },
    ],
    app_scoped: &[
        AppScoped {
            trigger: "docker-args-build",
            namespace: "docker-options",
            key: None,
        },
        AppScoped {
            trigger: "docker-args-deploy",
            namespace: "docker-options",
            key: None,
        },
        AppScoped {
            trigger: "docker-args-process-deploy",
            namespace: "docker-options",
            key: None,
        },
        AppScoped {
            trigger: "docker-args-run",
            namespace: "docker-options",
            key: None,
        },
    ],
    ..Plugin::DEFAULTS
};
