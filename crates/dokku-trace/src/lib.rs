//! The `trace` plugin: `trace:on` turns trace mode (`DOKKU_TRACE`: each command a plugin
//! runs is shown as it starts) on for every later command, through `$DOKKU_ROOT/.dokkurc`;
//! `trace:off` turns it off.

use anyhow::Result;
use clap::Parser;
use dokku_core::entry::{Command, Ctx, Plugin};
use dokku_core::log;

pub const PLUGIN: Plugin = Plugin {
    name: "trace",
    description: "Manage trace mode",
    commands: &[
        Command {
            name: "off",
            args: "",
            help: "Disables trace mode",
            run: off,
        },
        Command {
            name: "on",
            args: "",
            help: "Enables trace mode",
            run: on,
        },
    ],
    ..Plugin::DEFAULTS
};

#[derive(Parser)]
struct Empty {}

fn on(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = dokku_core::entry::parse("trace:on", args)?;
    log::info1("Enabling trace mode");
    dokku_core::env::persist_flag(&ctx.roots, dokku_core::env::DOKKU_TRACE, true)
}

fn off(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = dokku_core::entry::parse("trace:off", args)?;
    log::info1("Disabling trace mode");
    dokku_core::env::persist_flag(&ctx.roots, dokku_core::env::DOKKU_TRACE, false)
}
