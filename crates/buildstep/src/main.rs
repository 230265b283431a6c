//! `herokuish`: what a builder image runs to turn an app's source into a runnable slug with
//! Heroku buildpacks, and to run it. One binary answers every entry point, by the name it
//! was started as, as herokuish does: `/build` (detect, compile and release the app in
//! `/app`), `/start TYPE` (the Procfile's command for a process type), `/exec CMD...` (a
//! command in the app's environment), and `herokuish SUBCOMMAND` (`version`, `buildpack
//! build|list|install|detect`, `procfile start|exec|parse|exist`).
//!
//! It runs inside the build container, not on the host: it owns its process handling and
//! reads its settings from the environment the container was given (the paths below, the
//! app's `USER`, `BUILDPACK_URL`, `STACK`).
#![allow(clippy::disallowed_methods)]

mod build;
mod buildpacks;
mod exec;
mod out;
mod paths;
mod procfile;
mod release;
mod user;

use anyhow::Result;

/// The version `herokuish version` prints.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A failure the user has already been told about: only the exit code is left to give.
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let invoked = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string())
        .unwrap_or_default();
    let rest: Vec<String> = args.drain(1..).collect();
    let code = match run(&invoked, &rest) {
        Ok(()) => 0,
        Err(err) => match err.downcast_ref::<Exit>() {
            Some(Exit(code)) => *code,
            None => {
                out::error(&format!("{err:#}"));
                1
            }
        },
    };
    std::process::exit(code);
}

fn run(invoked: &str, args: &[String]) -> Result<()> {
    let paths = paths::Paths::from_env();
    match invoked {
        "build" => build::build(&paths),
        "start" => procfile::start(&paths, args),
        "exec" => exec::exec(&paths, args),
        _ => subcommand(&paths, args),
    }
}

fn subcommand(paths: &paths::Paths, args: &[String]) -> Result<()> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["version" | "--version"] => {
            buildpacks::print_version(paths);
            Ok(())
        }
        ["buildpack", "build"] => build::build(paths),
        ["buildpack", "list"] => {
            for pack in buildpacks::installed(paths)? {
                out::line(&pack.name);
            }
            Ok(())
        }
        ["buildpack", "install", rest @ ..] => buildpacks::install(paths, rest),
        ["buildpack", "detect", rest @ ..] => build::detect_only(paths, rest.first().copied()),
        ["procfile", "start", rest @ ..] => procfile::start(paths, &owned(rest)),
        ["procfile", "exec", rest @ ..] => exec::exec(paths, &owned(rest)),
        ["procfile", "parse", kind] => procfile::print_command(paths, kind),
        ["procfile", "exist"] => procfile::exist(paths),
        [] | ["help" | "--help" | "-h"] => {
            print_help();
            Ok(())
        }
        [other, ..] => {
            out::error(&format!("No such command: {other}"));
            Err(Exit(2).into())
        }
    }
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn print_help() {
    for line in [
        "Usage: herokuish COMMAND",
        "",
        "  buildpack build              Build the app in APP_PATH with its buildpacks",
        "  buildpack detect [DIR]       Name the buildpack that would build DIR",
        "  buildpack install URL [REF] [NAME]",
        "                               Install a buildpack from a git URL",
        "  buildpack list               List installed buildpacks",
        "  procfile exec CMD...         Run a command in the app's environment",
        "  procfile exist               Succeed when the app has a Procfile",
        "  procfile parse TYPE          Print the Procfile's command for TYPE",
        "  procfile start TYPE          Run the Procfile's command for TYPE",
        "  version                      Print the versions of herokuish and its buildpacks",
        "",
        "As /build, /start TYPE and /exec CMD... it runs those directly.",
    ] {
        out::line(line);
    }
}
