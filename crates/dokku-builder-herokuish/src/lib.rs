//! The `builder-herokuish` plugin: an app without a Dockerfile (or one that asks for
//! buildpacks with a `.buildpacks` file or `BUILDPACK_URL`) is built by Heroku buildpacks
//! inside a builder image (`DOKKU_IMAGE`, or the buildpacks plugin's stack): the source is
//! copied into an image of the builder, `/build` runs in a container of it with the app's
//! cache volume, and the container is committed as the build. The release bakes the app's
//! config into `.profile.d` and makes the app's user the image's.

mod build;
mod detect;
mod release;
mod settings;
mod triggers;

use dokku_core::entry::{Concerns, Plugin, TriggerEntry};

/// The builder's name in Dokku's triggers and labels.
pub const BUILDER: &str = "herokuish";

pub const PLUGIN: Plugin = Plugin {
    name: "builder-herokuish",
    description: "Manage the herokuish builder of an app",
    default_command: None,
    triggers: &[
        TriggerEntry {
            name: "builder-build",
            run: build::build,
        },
        TriggerEntry {
            name: "builder-detect",
            run: triggers::detect,
        },
        TriggerEntry {
            name: "builder-image-is-herokuish",
            run: triggers::image_is_herokuish,
        },
        TriggerEntry {
            name: "builder-release",
            run: release::release,
        },
        TriggerEntry {
            name: "post-delete",
            run: triggers::remove_cache,
        },
    ],
    concerns: &[
        Concerns {
            trigger: "builder-build",
            arg: 0,
            value: BUILDER,
        },
        Concerns {
            trigger: "builder-release",
            arg: 0,
            value: BUILDER,
        },
    ],
    settings: Some(&settings::SETTINGS),
    ..Plugin::DEFAULTS
};
