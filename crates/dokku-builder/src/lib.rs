//! The `builder` plugin: which builder builds an app (`selected` wins over detection), the
//! subdirectory of the repository to build (`build-dir`), the `detected` builder, the
//! `release-and-deploy` trigger, and an app's images when it is destroyed.

mod commands;
mod pipeline;

use dokku_core::entry::{AppScoped, Hooks, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "builder",
    description: "Manage builder settings for an app",
    default_command: None,
    triggers: &[
        TriggerEntry {
            name: "deploy",
            run: commands::deploy,
        },
        TriggerEntry {
            name: "builder-receive",
            run: commands::receive,
        },
        TriggerEntry {
            name: "builder-detect",
            run: commands::detect,
        },
        TriggerEntry {
            name: "builder-get-property",
            run: commands::get_property,
        },
        TriggerEntry {
            name: "builder-set-property",
            run: commands::set_property,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: commands::apply_build_dir,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::post_delete,
        },
        TriggerEntry {
            name: "pre-receive-app",
            run: commands::clean_up,
        },
        TriggerEntry {
            name: "release-and-deploy",
            run: commands::release_and_deploy,
        },
    ],
    app_scoped: &[AppScoped {
        trigger: "core-post-extract",
        namespace: commands::SETTINGS.namespace,
        key: Some("build-dir"),
    }],
    settings: Some(&commands::SETTINGS),
    hooks: Hooks {
        report_rows: Some(commands::report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
