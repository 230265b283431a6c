//! The `scheduler` plugin: which scheduler runs an app (`selected`, app then global, else
//! `docker-local`), answered through `scheduler-detect`, and the shell `enter` opens
//! (`shell`, through `scheduler-get-property`).

mod settings;
mod triggers;

use dokku_core::entry::{Plugin, TriggerEntry};

use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler",
    description: "Manage scheduler settings",
    triggers: &[
        TriggerEntry {
            name: "scheduler-detect",
            run: triggers::detect,
        },
        TriggerEntry {
            name: "scheduler-get-property",
            run: triggers::get_property,
        },
    ],
    settings: Some(&SETTINGS),
    ..Plugin::DEFAULTS
};
