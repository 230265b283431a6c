//! The `checks` plugin: whether a freshly started container is ready for traffic
//! (`check-deploy`: the default readiness check, then app.json's `healthchecks` or a
//! legacy `CHECKS` file), which process types skip their checks or deploy without zero
//! downtime (`checks:skip`, `checks:disable`, `checks:enable`), and how long replaced
//! containers keep serving (`wait-to-retire`, default 60 s as in Dokku).

mod check;
mod commands;
mod healthcheck;
mod http;
mod lists;
mod settings;
mod triggers;

use dokku_core::entry::{BuildFile, Command, Hooks, Plugin, TriggerEntry};

use crate::commands::report_rows;
use crate::settings::SETTINGS;

const TYPES_ARGS: &str = "<app> [<process-type>,...]";

pub const PLUGIN: Plugin = Plugin {
    name: "checks",
    description: "Manage zero-downtime settings",
    commands: &[
        Command {
            name: "disable",
            args: TYPES_ARGS,
            help: "Disable zero-downtime deployment for all processes (or the types listed)",
            run: commands::disable,
        },
        Command {
            name: "enable",
            args: TYPES_ARGS,
            help: "Enable zero-downtime deployment for all processes (or the types listed)",
            run: commands::enable,
        },
        Command {
            name: "run",
            args: "<app> [<process-type>,...|<process-type>.<n>]",
            help: "Runs zero-downtime checks against the app's running containers",
            run: commands::run_checks,
        },
        Command {
            name: "skip",
            args: TYPES_ARGS,
            help: "Skip zero-downtime checks for all processes (or the types listed)",
            run: commands::skip,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "check-deploy",
            run: check::check_deploy,
        },
        TriggerEntry {
            name: "checks-get-property",
            run: triggers::get_property,
        },
        TriggerEntry {
            name: "install",
            run: triggers::install,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: triggers::keep_checks_file,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: triggers::adopt_release,
        },
    ],
    build_files: &[BuildFile {
        data: SETTINGS.namespace,
        name: check::CHECKS_FILE,
        path_setting: None,
    }],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
