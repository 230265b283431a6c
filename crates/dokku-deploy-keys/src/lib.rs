//! The deploy-keys plugin (dokku-alt's `deploy:*` commands): keys that may only push to
//! and fetch from the apps that allow them. The rule lives in the `user-auth` trigger, so
//! a third-party plugin can add its own. Its directory is `deploy-keys`; its commands are
//! `deploy:*` (the dispatcher maps the prefix).

mod commands;

use dokku_core::entry::{Command, Guard, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "deploy",
    description: "Manage per-app deploy keys (git push and fetch only)",
    commands: &[
        Command {
            name: "allow",
            args: "<app> [--name <name>]",
            help: "Allow the public key on stdin to push to (and fetch) one app",
            run: commands::allow,
        },
        Command {
            name: "list",
            args: "<app> [--format text|json]",
            help: "List an app's deploy keys",
            run: commands::list,
        },
        Command {
            name: "revoke",
            args: "<app> <name>|<fingerprint>",
            help: "Revoke a deploy key's access to an app",
            run: commands::revoke,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::post_app_rename_setup,
        },
        TriggerEntry {
            name: "post-delete",
            run: commands::post_delete,
        },
        TriggerEntry {
            name: "user-auth",
            run: commands::user_auth,
        },
    ],
    guards: &[Guard {
        trigger: "user-auth",
        key_names: commands::KEY_NAME_PREFIX,
    }],
    ..Plugin::DEFAULTS
};
