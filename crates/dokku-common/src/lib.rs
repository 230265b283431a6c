//! The `common` plugin: no commands of its own. It ships Dokku's bash helper library
//! (`functions`, `property-functions`, `archive-functions` in its plugin directory) and the
//! two executables those functions run, `prop` (the property store) and `common` (app
//! names, deploy state, image questions), so that bash plugins written for Dokku find them
//! where they look.

mod common;
mod prop;

use dokku_core::entry::{Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "common",
    description: "Helper library for plugins",
    helpers: &[
        TriggerEntry {
            name: "prop",
            run: prop::run,
        },
        TriggerEntry {
            name: "common",
            run: common::run,
        },
    ],
    ..Plugin::DEFAULTS
};
