//! The `enter` plugin: `dokku enter APP [TYPE[.N]] [CMD...]` runs a command (a shell by
//! default) inside one of the app's running containers, through the app's scheduler
//! (`scheduler-enter`).

use anyhow::Result;
use dokku_core::entry::{Command, Ctx, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "enter",
    description: "Run commands inside an app's running containers",
    default_command: Some("enter"),
    commands: &[Command {
        name: "enter",
        args: "<app> [<proc>[.<n>]] [<cmd>...]",
        help: "Run a command (a shell by default) in a running container of the app",
        run: enter,
    }],
    ..Plugin::DEFAULTS
};

fn enter(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (app, rest) = args.split_first().ok_or(dokku_core::Error::MissingApp)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
    ctx.trigger("scheduler-enter")
        .args([scheduler.as_str(), app.as_str()])
        .args(rest)
        .env("DOKKU_RUN_TTY", if tty { "true" } else { "false" })
        .stream()
}
