//! The `ssh-keys` plugin: admin keys. It owns `$DOKKU_ROOT/.ssh/authorized_keys`; every
//! line is a forced `dokku` command carrying the key's NAME and FINGERPRINT, so no key
//! ever reaches a shell of its own choosing.

mod commands;
pub mod keys;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "ssh-keys",
    description: "Manage public ssh keys used for deployment",
    default_command: None,
    keeps_root: true,
    commands: &[
        Command {
            name: "add",
            args: "<name> [<file>]",
            help: "Add a new public key by pipe or path",
            run: commands::add,
        },
        Command {
            name: "list",
            args: "[--format text|json] [<name>]",
            help: "List of all authorized Dokku public ssh keys",
            run: commands::list,
        },
        Command {
            name: "remove",
            args: "<name>|--fingerprint <fingerprint>",
            help: "Remove SSH public key by name or fingerprint",
            run: commands::remove,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "ssh-keys-add",
            run: commands::trigger_add,
        },
        TriggerEntry {
            name: "ssh-keys-fingerprint",
            run: commands::trigger_fingerprint,
        },
        TriggerEntry {
            name: "ssh-keys-list",
            run: commands::trigger_list,
        },
        TriggerEntry {
            name: "ssh-keys-remove",
            run: commands::trigger_remove,
        },
    ],
    root_commands: &["add", "remove"],
    ..Plugin::DEFAULTS
};
