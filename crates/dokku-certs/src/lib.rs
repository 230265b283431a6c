//! The `certs` plugin: an app's TLS certificate and key, `$DOKKU_ROOT/<app>/tls/server.crt`
//! (0644) and `server.key` (0600) as in Dokku. `certs:add` takes the two files (or a tar of
//! `server.crt` and `server.key` on stdin) and refuses a key that does not match the
//! certificate; `certs:generate` makes a self-signed one. Each change fires
//! `post-certs-update` / `post-certs-remove`, on which the proxy rebuilds the app's config.
//! openssl (Debian's) reads and makes the certificates.

mod commands;
mod der;
mod triggers;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "certs",
    description: "Manage SSL (TLS) certs",
    commands: &[
        Command {
            name: "add",
            args: "<app> <crt-file> <key-file> | <app> < tar-with-server.crt-and-server.key",
            help: "Add a certificate and its key to an app",
            run: commands::add,
        },
        Command {
            name: "generate",
            args: "<app> <domain>",
            help: "Generate a self-signed certificate for an app",
            run: commands::generate,
        },
        Command {
            name: "remove",
            args: "<app>",
            help: "Remove the certificate of an app",
            run: commands::remove,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a certs report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "show",
            args: "<app> crt|key",
            help: "Print the certificate or key of an app",
            run: commands::show,
        },
        Command {
            name: "update",
            args: "<app> <crt-file> <key-file> | <app> < tar-with-server.crt-and-server.key",
            help: "Replace the certificate and key of an app",
            run: commands::add,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "certs-exists",
            run: triggers::exists_trigger,
        },
        TriggerEntry {
            name: "certs-paths",
            run: triggers::paths_trigger,
        },
        TriggerEntry {
            name: "certs-remove",
            run: triggers::remove_trigger,
        },
        TriggerEntry {
            name: "certs-set",
            run: triggers::set_trigger,
        },
    ],
    ..Plugin::DEFAULTS
};
