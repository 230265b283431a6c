//! The `logs` plugin: `dokku logs APP` shows the output of the app's containers, through
//! the app's scheduler (`scheduler-logs`).

use anyhow::Result;
use clap::Parser;
use dokku_core::entry::{Command, Ctx, Plugin, parse};

pub const PLUGIN: Plugin = Plugin {
    name: "logs",
    description: "Manage log integration for an app",
    default_command: Some("logs"),
    commands: &[Command {
        name: "logs",
        args: "<app> [-n <lines>] [-t] [-q] [-p <proc>]",
        help: "Display recent log output",
        run: show,
    }],
    ..Plugin::DEFAULTS
};

#[derive(Parser)]
struct Show {
    #[arg(value_name = "APP")]
    app: String,
    /// How many lines of each container's output (default 100).
    #[arg(short = 'n', long = "num", default_value_t = 100)]
    lines: u32,
    /// Keep following the output.
    #[arg(short = 't', long = "tail")]
    follow: bool,
    /// The bare lines: no timestamps or container names.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Only this process type (`web`) or container (`web.1`).
    #[arg(short = 'p', long = "ps", value_name = "PROC")]
    process: Option<String>,
}

fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Show = parse("logs", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    ctx.trigger("scheduler-logs")
        .args([
            scheduler.as_str(),
            app.as_str(),
            cmd.process.as_deref().unwrap_or(""),
            if cmd.follow { "true" } else { "false" },
            if cmd.quiet { "false" } else { "true" },
            &cmd.lines.to_string(),
        ])
        .stream()
}
