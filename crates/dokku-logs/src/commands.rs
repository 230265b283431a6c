//! The `logs:*` commands.

use anyhow::Result;
use clap::Parser;
use dokku_core::entry::{Ctx, parse};

#[derive(Parser)]
pub(crate) struct Show {
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

pub(crate) fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
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
