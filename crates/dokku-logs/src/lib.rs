//! The `logs` plugin: `dokku logs APP` shows the output of the app's containers, through
//! the app's scheduler (`scheduler-logs`).

mod commands;

use dokku_core::entry::{Command, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "logs",
    description: "Manage log integration for an app",
    default_command: Some("logs"),
    commands: &[Command {
        name: "logs",
        args: "<app> [-n <lines>] [-t] [-q] [-p <proc>]",
        help: "Display recent log output",
        run: commands::show,
    }],
    ..Plugin::DEFAULTS
};
