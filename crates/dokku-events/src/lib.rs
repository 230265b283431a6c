//! The `events` plugin: `events:on` has every trigger call logged to
//! `$DOKKU_LOGS_DIR/events.log` (the trigger runner writes the lines, see
//! `dokku_core::events`), `events` shows the newest, `events:list` what is logged.

mod commands;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "events",
    description: "Manage event logging",
    default_command: Some("events"),
    commands: &[
        Command {
            name: "events",
            args: "[-t]",
            help: "Show the last events (-t follows)",
            run: commands::show,
        },
        Command {
            name: "list",
            args: "",
            help: "List logged events",
            run: commands::list,
        },
        Command {
            name: "off",
            args: "",
            help: "Disable events logger",
            run: commands::off,
        },
        Command {
            name: "on",
            args: "",
            help: "Enable events logger",
            run: commands::on,
        },
    ],
    triggers: &[TriggerEntry {
        name: "install",
        run: commands::install,
    }],
    ..Plugin::DEFAULTS
};
