//! The `run` plugin: `dokku run APP CMD...` runs a one-off process in a new container of
//! the app's released image, with its config and mounts, through the app's scheduler
//! (`scheduler-run`). The process's exit code is the command's. `run:detached` runs it in
//! the background and prints the container's name; `run:list` and `run:stop` list and
//! stop an app's one-off containers (`scheduler-run-list`, `scheduler-run-stop`).

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Command, Ctx, Plugin, parse};

pub const PLUGIN: Plugin = Plugin {
    name: "run",
    description: "Run one-off processes in an app's containers",
    default_command: Some("run"),
    keeps_root: false,
    commands: &[
        Command {
            name: "detached",
            args: "[--env KEY=VALUE]... [--force-tty] <app> <cmd>...",
            help: "Run a command in a new container of the app, in the background",
            run: detached,
        },
        Command {
            name: "list",
            args: "[--format stdout|json] [<app>]",
            help: "List the one-off containers of an app (or of every app)",
            run: list,
        },
        Command {
            name: "run",
            args: "[--env KEY=VALUE]... [--no-tty] <app> <cmd>...",
            help: "Run a command in a new container of the app",
            run: one_off,
        },
        Command {
            name: "stop",
            args: "<app>|--container <container>",
            help: "Stop the one-off containers of an app, or one of them",
            run: stop,
        },
    ],
    triggers: &[],
};

#[derive(Parser)]
struct Run {
    /// An extra variable for this run only.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// No terminal, even when there is one.
    #[arg(long)]
    no_tty: bool,
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

/// `KEY=VALUE` pairs as `scheduler-run` takes them: `KEY VALUE` words.
fn env_words(pairs: &[String]) -> Result<Vec<String>> {
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

fn start(
    ctx: &Ctx,
    app: &str,
    env: &[String],
    command: &[String],
    tty: bool,
    detach: bool,
) -> Result<()> {
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let env_words = env_words(env)?;
    let scheduler = dokku_core::pipeline::scheduler(ctx, app.as_str())?;
    let count = (env_words.len() / 2).to_string();
    ctx.trigger("scheduler-run")
        .args([scheduler.as_str(), app.as_str(), &count])
        .args(&env_words)
        .env("DOKKU_RUN_TTY", if tty { "true" } else { "false" })
        .env("DOKKU_DETACH_CONTAINER", if detach { "1" } else { "0" })
        .arg("--")
        .args(command)
        .stream()
}

fn one_off(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("run", args)?;
    let tty = !cmd.no_tty && std::io::IsTerminal::is_terminal(&std::io::stdin());
    start(ctx, &cmd.app, &cmd.env, &cmd.command, tty, false)
}

#[derive(Parser)]
struct Detached {
    /// An extra variable for this run only.
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Give the container a terminal (to attach to later).
    #[arg(long)]
    force_tty: bool,
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

fn detached(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Detached = parse("run:detached", args)?;
    start(ctx, &cmd.app, &cmd.env, &cmd.command, cmd.force_tty, true)
}

#[derive(Parser)]
struct List {
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    format: String,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("run:list", args)?;
    let apps = match &cmd.app {
        Some(app) => vec![dokku_core::app::verify(&ctx.roots, app)?],
        None => dokku_core::app::list(&ctx.roots)?,
    };
    for app in apps {
        let scheduler = dokku_core::pipeline::scheduler(ctx, app.as_str())?;
        ctx.trigger("scheduler-run-list")
            .args([scheduler.as_str(), app.as_str(), &cmd.format])
            .stream()?;
    }
    Ok(())
}

#[derive(Parser)]
struct Stop {
    /// One container (`<app>.run.<n>`), instead of all of the app's.
    #[arg(long, value_name = "CONTAINER")]
    container: Option<String>,
    #[arg(value_name = "APP")]
    app: Option<String>,
}

fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Stop = parse("run:stop", args)?;
    let app = match (&cmd.app, &cmd.container) {
        (Some(app), _) => app.clone(),
        (None, Some(container)) => match container.split_once(".run.") {
            Some((app, _)) => app.to_string(),
            None => {
                bail!("Invalid container {container:?}: one-off containers are named <app>.run.<n>")
            }
        },
        (None, None) => return Err(dokku_core::Error::MissingApp.into()),
    };
    let app = dokku_core::app::verify(&ctx.roots, &app)?;
    let scheduler = dokku_core::pipeline::scheduler(ctx, app.as_str())?;
    ctx.trigger("scheduler-run-stop")
        .args([
            scheduler.as_str(),
            app.as_str(),
            cmd.container.as_deref().unwrap_or(""),
        ])
        .stream()
}
