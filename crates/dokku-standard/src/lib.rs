//! The standard plugin (`00_dokku-standard`, as Dokku names it): top-level commands that
//! belong to no other plugin. `dokku url APP` and `dokku urls APP` print where the app
//! answers, as the domains plugin (`domains-urls`) and the proxy's ports shape it;
//! `dokku cleanup [APP]` removes stopped containers and untagged images; `dokku report
//! [APP]` describes the host (and the app) for a bug report.

mod commands;

use dokku_core::entry::{Command, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "00_dokku-standard",
    description: "Top-level commands of dokku",
    commands: &[
        Command {
            name: "url",
            args: "<app>",
            help: "Show the first URL for an application (compatibility)",
            run: commands::url,
        },
        Command {
            name: "urls",
            args: "<app>",
            help: "Show all URLs for an application",
            run: commands::urls,
        },
        Command {
            name: "cleanup",
            args: "[<app>]",
            help: "Cleans up exited/dead Docker containers and removes dangling images",
            run: commands::cleanup,
        },
        Command {
            name: "report",
            args: "[<app>]",
            help: "Reports the host's versions, and every plugin's report of an app",
            run: commands::report,
        },
    ],
    words: &["url", "urls", "cleanup", "report"],
    ..Plugin::DEFAULTS
};
