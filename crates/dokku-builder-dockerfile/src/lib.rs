//! The `builder-dockerfile` plugin: an app with a `Dockerfile` (or the one named by
//! `dockerfile-path`) is built with `docker image build`, streamed to the pusher.

mod build;
mod commands;

use dokku_core::entry::{AppScoped, Concerns, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "builder-dockerfile",
    description: "Manage the dockerfile builder of an app",
    default_command: None,
    triggers: &[
        TriggerEntry {
            name: "builder-build",
            run: build::build,
        },
        TriggerEntry {
            name: "builder-detect",
            run: commands::detect,
        },
        TriggerEntry {
            name: "builder-release",
            run: build::release,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: commands::place_dockerfile,
        },
    ],
    concerns: &[
        Concerns {
            trigger: "builder-build",
            arg: 0,
            value: build::BUILDER,
        },
        Concerns {
            trigger: "builder-release",
            arg: 0,
            value: build::BUILDER,
        },
    ],
    app_scoped: &[AppScoped {
        trigger: "core-post-extract",
        namespace: commands::SETTINGS.namespace,
        key: Some("dockerfile-path"),
    }],
    settings: Some(&commands::SETTINGS),
    aliases: &["dockerfile"],
    ..Plugin::DEFAULTS
};
