//! The `enter` plugin: `dokku enter APP [TYPE[.N]] [CMD...]` runs a command (a shell by
//! default) inside one of the app's running containers, through the app's scheduler
//! (`scheduler-enter`).

mod commands;

use dokku_core::entry::{Command, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "enter",
    description: "Run commands inside an app's running containers",
    default_command: Some("enter"),
    commands: &[Command {
        name: "enter",
        args: "<app> [<proc>[.<n>] | --container-id <id>] [<cmd>...]",
        help: "Run a command (a shell by default) in a running container of the app",
        run: commands::enter,
    }],
    ..Plugin::DEFAULTS
};
