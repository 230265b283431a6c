//! The plugin contract of dokku-rs, and the plumbing every plugin shares.
//!
//! A plugin is a directory under `$PLUGIN_PATH/enabled/<name>` holding executables: a
//! `commands` file (help, and `<plugin>:<cmd>` fallback; exit 10 means "not mine"), a
//! `subcommands/<cmd>` file per command (called with the full command name as argv[1]),
//! and one file per trigger it answers, named after the trigger. A Rust plugin is one
//! binary linked under all those names ([`entry`], [`plugins::link_entrypoints`]).
//!
//! - [`env`]: every variable of the contract and the [`env::Roots`] derived from them.
//! - [`app`]: app name rules, existence, listing; [`archive`]: checked extraction of
//!   uploaded archives.
//! - [`fs`]: atomic writes and the per-app lock; [`property`]: the property store;
//!   [`settings`]: a plugin's settable properties as one table (`:set`, `:report`,
//!   computed values).
//! - [`log`] and [`report`]: the only printers, in Dokku's output style.
//! - [`cmd`]: child processes (argv vectors, never a shell); [`trigger`]: the trigger runner;
//!   [`docker`]: the engine's CLI (`DOCKER_BIN`).
//! - [`ask`]: typed questions to other plugins through triggers (an app's scheduler, its
//!   config); [`build_files`]: build tags and the files plugins keep with each build;
//!   [`deploy_gate`]: when a push's deploy may still stop with its pusher;
//!   [`failed_logs`]: what a failed deploy's processes printed, for `logs:failed`;
//!   [`procfile`]: Procfiles as Dokku reads them.
//! - [`manifest`], [`plugins`]: `plugin.toml` and the plugin tree; [`time`]: the clock.
//! - [`port_map`]: `scheme:host:container` mappings; [`jsonc`]: JSON with comments (app.json).
//! - [`entry`]: the multicall `main`; [`error`]: typed errors and exit codes.
//! - [`privilege`]: root switches to the dokku user before touching its trees.
#![allow(clippy::disallowed_methods)]

pub mod app;
pub mod archive;
pub mod ask;
pub mod build_files;
pub mod builds;
pub mod cmd;
pub mod deploy_gate;
pub mod docker;
pub mod entry;
pub mod env;
pub mod error;
pub mod events;
pub mod failed_logs;
pub mod formation;
pub mod fs;
pub mod jsonc;
pub mod log;
pub mod manifest;
pub mod mount;
pub mod name;
pub mod plugins;
pub mod port_map;
pub mod privilege;
pub mod procfile;
pub mod property;
pub mod report;
pub mod settings;
pub mod time;
pub mod trigger;

pub use app::AppName;
pub use error::Error;
