//! The `letsencrypt` plugin: a certificate for an app's domains from an ACME server (Let's
//! Encrypt unless `server` says otherwise), obtained and renewed by Debian's `lego`, the
//! client Dokku's own letsencrypt plugin runs, and installed through the certs plugin
//! (`certs-set`), whose `post-certs-update` makes nginx serve it.
//!
//! The HTTP-01 challenge is answered by nginx itself: while the app has letsencrypt
//! state, its server blocks carry (through `nginx-config`) a location for
//! `/.well-known/acme-challenge/` rooted in the app's webroot, where lego writes the
//! token. Nothing listens besides nginx, and renewals need no change to nginx.
//!
//! State: `data/letsencrypt/<app>/` (0755: nginx reads `webroot/`), lego's account and
//! certificates in its `lego/` (0700), and `data/letsencrypt/--global/autorenew` when the
//! renewal cron job is on (the cron plugin asks `cron-entries`).

mod commands;
mod lego;
mod settings;
mod triggers;

use dokku_core::entry::{Command, Hooks, Plugin, TriggerEntry};

use crate::commands::report_rows;
use crate::settings::SETTINGS;

pub const PLUGIN: Plugin = Plugin {
    name: "letsencrypt",
    description: "Manage Let's Encrypt certificates for an app",
    default_command: Some("list"),
    commands: &[
        Command {
            name: "active",
            args: "<app>",
            help: "Print whether the app serves a certificate this plugin obtained",
            run: commands::active,
        },
        Command {
            name: "auto-renew",
            args: "[<app>]",
            help: "Renew the certificates that are within their grace period of expiry",
            run: commands::auto_renew,
        },
        Command {
            name: "cron-job",
            args: "[--add|--remove]",
            help: "Add, remove or show the daily auto-renew cron job",
            run: commands::cron_job,
        },
        Command {
            name: "disable",
            args: "<app>",
            help: "Remove the app's certificate and letsencrypt state",
            run: commands::disable,
        },
        Command {
            name: "enable",
            args: "<app>|--all [--force]",
            help: "Obtain (or renew) a certificate for the app's domains",
            run: commands::enable,
        },
        Command {
            name: "list",
            args: "",
            help: "List the apps with a letsencrypt certificate and their expiry",
            run: commands::list,
        },
        Command {
            name: "revoke",
            args: "<app>",
            help: "Revoke the app's certificate at the ACME server and remove it",
            run: commands::revoke,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a letsencrypt property (email, server, graceperiod, dns-provider-*, ...)",
            run: settings::set_property,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "cron-entries",
            run: triggers::cron_entries,
        },
        TriggerEntry {
            name: "nginx-config",
            run: triggers::nginx_config,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: triggers::rename,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};
