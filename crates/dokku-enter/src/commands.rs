//! The `enter:*` commands.

use anyhow::Result;
use dokku_core::entry::Ctx;

pub(crate) fn enter(ctx: &Ctx, args: &[String]) -> Result<()> {
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
