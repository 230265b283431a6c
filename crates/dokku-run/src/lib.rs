//! The `run` plugin: `dokku run APP CMD...` runs a one-off process in a new container of
//! the app's released image, with its config and mounts, through the app's scheduler
//! (`scheduler-run`). The process's exit code is the command's. `run:detached` runs it in
//! the background and prints the container's name; `run:list` and `run:stop` list and
//! stop an app's one-off containers (`scheduler-run-list`, `scheduler-run-stop`), and
//! `run:retire` reaps those past their time to live (`scheduler-run-retire`).

mod commands;

use dokku_core::entry::{Command, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "run",
    description: "Run a one-off process inside a container",
    default_command: Some("run"),
    commands: &[
        Command {
            name: "detached",
            args: "[--env KEY=VALUE]... [--force-tty] [--ttl-seconds N] <app> <cmd>...",
            help: "Run a command in a new container of the app, in the background",
            run: commands::detached,
        },
        Command {
            name: "list",
            args: "[--format stdout|json] [<app>]",
            help: "List the one-off containers of an app (or of every app)",
            run: commands::list,
        },
        Command {
            name: "logs",
            args: "<app>|--container <container> [-n <lines>] [-t] [-q]",
            help: "Display recent output of an app's one-off containers",
            run: commands::logs,
        },
        Command {
            name: "retire",
            args: "[<app>]",
            help: "Stop and remove one-off containers that ran past their --ttl-seconds",
            run: commands::retire,
        },
        Command {
            name: "run",
            args: "[--env KEY=VALUE]... [--no-tty] [--ttl-seconds N] <app> <cmd>...",
            help: "Run a command in a new container of the app",
            run: commands::one_off,
        },
        Command {
            name: "stop",
            args: "<app>|--container <container>",
            help: "Stop the one-off containers of an app, or one of them",
            run: commands::stop,
        },
    ],
    ..Plugin::DEFAULTS
};
