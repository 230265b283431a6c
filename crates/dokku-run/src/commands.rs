//! The `run:*` commands.

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app;
use dokku_core::entry::{Ctx, parse};

/// What every one-off container is given.
#[derive(clap::Args)]
pub(crate) struct OneOff {
    /// An extra variable for this run only.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Stop the container after this many seconds (default: a day).
    #[arg(long, value_name = "SECONDS", value_parser = dokku_core::time::ttl_seconds, allow_hyphen_values = true)]
    ttl_seconds: Option<u64>,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

#[derive(Parser)]
pub(crate) struct Run {
    /// No terminal, even when there is one.
    #[arg(long)]
    no_tty: bool,
    #[command(flatten)]
    one_off: OneOff,
}

/// `KEY=VALUE` pairs as `scheduler-run` takes them: `KEY VALUE` words.
pub(crate) fn env_words(pairs: &[String]) -> Result<Vec<String>> {
    let mut words = Vec::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("Invalid --env {pair:?}: use KEY=VALUE");
        };
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("Invalid variable name {key:?}");
        }
        words.push(key.to_string());
        words.push(value.to_string());
    }
    Ok(words)
}

pub(crate) fn start(ctx: &Ctx, how: &OneOff, tty: bool, detach: bool) -> Result<()> {
    let app = app::verify(&ctx.roots, &how.app)?;
    let env_words = env_words(&how.env)?;
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    let count = (env_words.len() / 2).to_string();
    let mut trigger = ctx
        .trigger("scheduler-run")
        .args([scheduler.as_str(), app.as_str(), &count])
        .args(&env_words)
        .env("DOKKU_RUN_TTY", if tty { "true" } else { "false" })
        .env("DOKKU_DETACH_CONTAINER", if detach { "1" } else { "0" });
    if let Some(ttl) = how.ttl_seconds {
        trigger = trigger.env("DOKKU_RUN_TTL_SECONDS", &ttl.to_string());
    }
    trigger.arg("--").args(&how.command).stream()
}

pub(crate) fn one_off(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("run", args)?;
    let tty = !cmd.no_tty && std::io::IsTerminal::is_terminal(&std::io::stdin());
    start(ctx, &cmd.one_off, tty, false)
}

#[derive(Parser)]
pub(crate) struct Detached {
    /// Give the container a terminal (to attach to later).
    #[arg(long)]
    force_tty: bool,
    #[command(flatten)]
    one_off: OneOff,
}

pub(crate) fn detached(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Detached = parse("run:detached", args)?;
    start(ctx, &cmd.one_off, cmd.force_tty, true)
}

#[derive(Parser)]
pub(crate) struct List {
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    format: String,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("run:list", args)?;
    let apps = match &cmd.app {
        Some(app) => vec![app::verify(&ctx.roots, app)?],
        None => app::list(&ctx.roots)?,
    };
    for app in apps {
        let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
        ctx.trigger("scheduler-run-list")
            .args([scheduler.as_str(), app.as_str(), &cmd.format])
            .stream()?;
    }
    Ok(())
}

/// The app a command names, or the one whose one-off container (or Swarm job) is named,
/// verified, with its scheduler.
pub(crate) fn app_and_scheduler(
    ctx: &Ctx,
    app: Option<&str>,
    container: Option<&str>,
) -> Result<(String, String)> {
    let app = match (app, container) {
        (Some(app), _) => app.to_string(),
        (None, Some(container)) => dokku_core::docker::one_off_app(container)?.with_context(|| {
            format!("Invalid container {container:?}: no app runs a one-off container or job of that name")
        })?,
        (None, None) => return Err(dokku_core::Error::MissingApp.into()),
    };
    let app = app::verify(&ctx.roots, &app)?.to_string();
    let scheduler = dokku_core::ask::scheduler(ctx, &app)?;
    Ok((app, scheduler))
}

#[derive(Parser)]
pub(crate) struct Stop {
    /// One container (`<app>.run.<n>`), instead of all of the app's.
    #[arg(long, value_name = "CONTAINER")]
    container: Option<String>,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

pub(crate) fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Stop = parse("run:stop", args)?;
    let container = cmd.container.as_deref();
    let (app, scheduler) = app_and_scheduler(ctx, cmd.app.as_deref(), container)?;
    ctx.trigger("scheduler-run-stop")
        .args([scheduler, app, container.unwrap_or("").to_string()])
        .stream()
}

/// `run:retire [APP]`: one-off and cron containers, of the app or of every app, that ran
/// past their time to live are stopped and removed.
pub(crate) fn retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (app, scheduler) = match args {
        [] => (
            String::new(),
            dokku_core::ask::scheduler(ctx, dokku_core::property::GLOBAL)?,
        ),
        [app] => {
            let app = app::verify(&ctx.roots, app)?.to_string();
            let scheduler = dokku_core::ask::scheduler(ctx, &app)?;
            (app, scheduler)
        }
        _ => bail!("run:retire takes at most one app"),
    };
    ctx.trigger("scheduler-run-retire")
        .args([scheduler, app])
        .stream()
}

#[derive(Parser)]
pub(crate) struct Logs {
    /// One container (`<app>.run.<n>`), instead of all of the app's.
    #[arg(long, value_name = "CONTAINER")]
    container: Option<String>,
    /// How many lines of each container's output (default 100).
    #[arg(short = 'n', long = "num", default_value_t = 100)]
    lines: u32,
    /// Keep following the output.
    #[arg(short = 't', long = "tail")]
    follow: bool,
    /// The bare lines: no timestamps or container names.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

pub(crate) fn logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Logs = parse("run:logs", args)?;
    let container = cmd.container.as_deref();
    let (app, scheduler) = app_and_scheduler(ctx, cmd.app.as_deref(), container)?;
    ctx.trigger("scheduler-run-logs")
        .args([
            scheduler.as_str(),
            app.as_str(),
            container.unwrap_or(""),
            if cmd.follow { "true" } else { "false" },
            if cmd.quiet { "false" } else { "true" },
            &cmd.lines.to_string(),
        ])
        .stream()
}
