//! The `run` plugin: `dokku run APP CMD...` runs a one-off process in a new container of
//! the app's released image, with its config and mounts, through the app's scheduler
//! (`scheduler-run`). The process's exit code is the command's.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Command, Ctx, Plugin, parse};

pub const PLUGIN: Plugin = Plugin {
    name: "run",
    description: "Run one-off processes in an app's containers",
    default_command: Some("run"),
    keeps_root: false,
    commands: &[Command {
        name: "run",
        args: "[--env KEY=VALUE]... [--no-tty] <app> <cmd>...",
        help: "Run a command in a new container of the app",
        run: one_off,
    }],
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

fn one_off(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Run = parse("run", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let mut env_words = Vec::new();
    for pair in &cmd.env {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("Invalid --env {pair:?}: use KEY=VALUE");
        };
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("Invalid variable name {key:?}");
        }
        env_words.push(key.to_string());
        env_words.push(value.to_string());
    }
    let scheduler = dokku_core::pipeline::scheduler(ctx, app.as_str())?;
    let count = (env_words.len() / 2).to_string();
    let tty = !cmd.no_tty && std::io::IsTerminal::is_terminal(&std::io::stdin());
    ctx.trigger("scheduler-run")
        .args([scheduler.as_str(), app.as_str(), &count])
        .args(&env_words)
        .env("DOKKU_RUN_TTY", if tty { "true" } else { "false" })
        .arg("--")
        .args(&cmd.command)
        .stream()
}
