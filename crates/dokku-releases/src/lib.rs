//! The `releases` plugin: every deploy that changed what runs (a new image, or new config)
//! becomes a numbered release, as on Heroku: `v1`, `v2`, ... each with its image's build,
//! the app's own config and a line saying what changed. `releases:rollback` deploys an
//! earlier release again (its build's image, Procfile and app.json, and its config) as a
//! new release, without building. The newest `keep` releases (default 10) are kept, and
//! the builds they need are spared when old builds are pruned (`builds-in-use`).

mod commands;
mod settings;
mod store;
mod triggers;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "releases",
    description: "Manage an app's releases, and roll back to an earlier one",
    default_command: Some("releases"),
    commands: &[
        Command {
            name: "info",
            args: "<app> [<version>] [--format stdout|json]",
            help: "Displays one release (the current one by default)",
            run: commands::info,
        },
        Command {
            name: "releases",
            args: "<app> [--format stdout|json]",
            help: "Lists an app's releases, newest first",
            run: commands::list,
        },
        Command {
            name: "rollback",
            args: "<app> [<version>]",
            help: "Deploys an earlier release (the one before the current by default) again",
            run: commands::rollback,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "builds-in-use",
            run: triggers::builds_in_use,
        },
        TriggerEntry {
            name: "post-deploy",
            run: triggers::record,
        },
    ],
    settings: Some(&SETTINGS),
    ..Plugin::DEFAULTS
};
