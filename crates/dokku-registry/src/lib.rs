//! The `registry` plugin: the repository an app's images are named in and the registry
//! they are pushed to on release (`registry:set`), the credentials for it
//! (`registry:login`, host-wide or per app), and the triggers other plugins ask
//! (`deployed-app-image-repo`, `deployed-app-image-tag`, `deployed-app-repository`).

mod commands;
mod settings;

use dokku_core::entry::{AppScoped, Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "registry",
    description: "Manage registry settings for an app",
    commands: &[
        Command {
            name: "login",
            args: "[--global|<app>] [--password-stdin] <server> <username> [<password>]",
            help: "Logs into a docker registry",
            run: commands::login,
        },
        Command {
            name: "logout",
            args: "[--global|<app>] <server>",
            help: "Logs out of a docker registry",
            run: commands::logout,
        },
        Command {
            name: "report",
            args: "[<app>|--global] [--format stdout|json] [<flag>]",
            help: "Displays a registry report for one or more apps",
            run: commands::report,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "deployed-app-image-repo",
            run: commands::deployed_image_repo,
        },
        TriggerEntry {
            name: "deployed-app-image-tag",
            run: commands::deployed_image_tag,
        },
        TriggerEntry {
            name: "deployed-app-repository",
            run: commands::deployed_repository,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copied,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::renamed,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: commands::post_release,
        },
    ],
    settings: Some(&settings::SETTINGS),
    // An app with no registry settings (nor the host) has its images named as ever.
    app_scoped: &[AppScoped {
        trigger: "post-release-builder",
        namespace: "registry",
        key: None,
    }],
    ..Plugin::DEFAULTS
};
