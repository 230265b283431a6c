//! `docker-options:*` commands and the `docker-args-*` triggers.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app;
use dokku_core::entry::{Ctx, exactly, parse};
use dokku_core::log;
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};

const PHASES: [&str; 3] = ["build", "deploy", "run"];

fn properties(ctx: &Ctx) -> Properties {
    Properties::new(&ctx.roots, "docker-options")
}

/// The property holding a phase's options (Dokku's layout: `_default_.<phase>`).
fn key(phase: &str) -> String {
    format!("_default_.{phase}")
}

/// `build,deploy` -> the phases, each checked.
fn phases(list: &str) -> Result<Vec<&'static str>> {
    list.split(',')
        .map(|p| {
            PHASES
                .iter()
                .copied()
                .find(|known| *known == p.trim())
                .ok_or_else(|| {
                    anyhow::anyhow!("Phase {p:?} is not valid: use build, deploy or run")
                })
        })
        .collect()
}

/// One option line: shell-like words (quotes allowed, nothing evaluated), starting with a
/// dash, on one line.
fn option(words: &[String]) -> Result<String> {
    let text = words.join(" ");
    let text = text.trim();
    if text.is_empty() {
        bail!("Please specify a docker option");
    }
    if text.chars().any(char::is_control) {
        bail!("A docker option is one line without control characters");
    }
    let split = shell_words::split(text)
        .map_err(|_| anyhow::anyhow!("Unbalanced quotes in docker option {text:?}"))?;
    if !split.first().is_some_and(|w| w.starts_with('-')) {
        bail!("Invalid docker option {text:?}: options start with a dash");
    }
    Ok(text.to_string())
}

#[derive(Parser)]
struct Change {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PHASES")]
    phases: String,
    #[arg(value_name = "OPTION", allow_hyphen_values = true, trailing_var_arg = true, num_args = 0..)]
    option: Vec<String>,
}

fn change(ctx: &Ctx, name: &str, args: &[String], add: bool) -> Result<()> {
    let cmd: Change = parse(name, args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let phases = phases(&cmd.phases)?;
    let option = option(&cmd.option)?;
    let _app = app::lock_existing(&ctx.roots, app.as_str())?;
    let props = properties(ctx);
    for phase in phases {
        let mut list = props.list(app.as_str(), &key(phase))?;
        let present = list.contains(&option);
        match (add, present) {
            (true, false) => list.push(option.clone()),
            (false, true) => list.retain(|o| *o != option),
            _ => continue,
        }
        props.set_list(app.as_str(), &key(phase), &list)?;
    }
    Ok(())
}

pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    change(ctx, "docker-options:add", args, true)
}

pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    change(ctx, "docker-options:remove", args, false)
}

#[derive(Parser)]
struct Clear {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "PHASES")]
    phases: Option<String>,
}

pub fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Clear = parse("docker-options:clear", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let phases = match &cmd.phases {
        Some(list) => phases(list)?,
        None => PHASES.to_vec(),
    };
    let _app = app::lock_existing(&ctx.roots, app.as_str())?;
    let props = properties(ctx);
    for phase in phases {
        log::info1_quiet(&format!(
            "Clearing docker-options for {phase} phase of {app}"
        ));
        props.delete(app.as_str(), &key(phase))?;
    }
    Ok(())
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let props = properties(ctx);
    dokku_core::report::print_for_apps(&request, &ctx.roots, "docker-options", |app| {
        PHASES.iter().try_fold(
            Report::new(app.as_str(), "docker options"),
            |report, phase| {
                let options = props.list(app.as_str(), &key(phase))?.join(" ");
                Ok(report.row(&format!("docker-options-{phase}"), options))
            },
        )
    })
}

/// A filter trigger's body for one phase: stdin, then the phase's options.
fn filter(ctx: &Ctx, args: &[String], phase: &str) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let options = properties(ctx).list(app, &key(phase))?;
    let extra: String = options.iter().map(|o| format!(" {o}")).collect();
    dokku_core::docker::filter_args(&extra)
}

/// `docker-args-build APP BUILDER`.
pub fn args_build(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, args, "build")
}

/// `docker-args-deploy APP TAG [PROC [INDEX]]`.
pub fn args_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, args, "deploy")
}

/// `docker-args-run APP TAG`.
pub fn args_run(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, args, "run")
}

/// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`.
pub fn copy_options(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-clone-setup", args)?;
    properties(ctx).clone_app(old, new)
}

pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    properties(ctx).destroy_app(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn phases_are_checked() {
        assert_eq!(phases("build,deploy").unwrap(), ["build", "deploy"]);
        assert!(phases("build,ship").is_err());
        assert!(phases("").is_err());
    }

    #[test]
    fn options_are_one_line_of_dashed_words() {
        assert_eq!(
            option(&words(&["--build-arg", "A=1"])).unwrap(),
            "--build-arg A=1"
        );
        assert_eq!(option(&words(&["-v '/a b:/c'"])).unwrap(), "-v '/a b:/c'");
        for bad in [
            &["rm", "-rf"][..],
            &[""],
            &["--x 'open"],
            &["-e A=1\n-e B=2"],
        ] {
            assert!(option(&words(bad)).is_err(), "{bad:?}");
        }
    }
}
