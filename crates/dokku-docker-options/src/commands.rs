//! `docker-options:*` commands and the `docker-args-*` triggers.
//!
//! An option is stored as one line per flag with its values, in the quoted form a shell
//! would read back (`--build-arg X=Y`, `-v '/srv/a b:/data'`): input carrying several flags
//! (`--build-arg X=Y --link a --link b`) becomes one line each. Options apply to every
//! container of the app (`_default_`) or, for the deploy phase, to one process type
//! (`--process web`).

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app;
use dokku_core::docker::options::{self, Grants, Phase, Stored};
use dokku_core::entry::{Ctx, exactly, parse};
use dokku_core::log;
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};

const PHASES: [&str; 3] = ["build", "deploy", "run"];
const DEFAULT_SCOPE: &str = Stored::DEFAULT_SCOPE;

fn properties(ctx: &Ctx) -> Properties {
    Stored::new(&ctx.roots).properties().clone()
}

fn key(process: Option<&str>, phase: &str) -> String {
    Stored::key(process, phase)
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

fn is_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// A shell word as a shell would need it written (quoted only when it must be).
fn quote(word: &str) -> String {
    const SPECIAL: &str = " \t\n\"'$`\\*?[]<>|&;(){}!#~";
    if word.is_empty() {
        "''".into()
    } else if word.chars().any(|c| SPECIAL.contains(c)) {
        format!("'{}'", word.replace('\'', "'\\''"))
    } else {
        word.to_string()
    }
}

/// The words of an option line, split as a shell would (quotes group, nothing expands).
fn words(line: &str) -> Result<Vec<String>> {
    if line.chars().any(|c| c.is_control() && c != '\t') {
        bail!("A docker option is one line without control characters");
    }
    shell_words::split(line)
        .map_err(|_| anyhow::anyhow!("Unbalanced quotes in docker option {line:?}"))
}

/// What `add`/`remove` were given: one stored line per flag, and the process types a
/// misplaced `--process` among the options named.
fn split_options(input: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    // An argument that starts with a dash may hold a whole option (`'-v /a:/b'`); any other
    // is one value as the shell passed it (`com.example.description=my app`).
    let mut words = Vec::new();
    for arg in input {
        match arg.starts_with('-') {
            true => words.extend(self::words(arg)?),
            false if arg.chars().any(|c| c.is_control() && c != '\t') => {
                bail!("A docker option is one line without control characters")
            }
            false => words.push(arg.clone()),
        }
    }
    let mut groups: Vec<Vec<String>> = Vec::new();
    for word in words {
        match groups.last_mut() {
            Some(group) if !is_flag(&word) => group.push(word),
            _ => groups.push(vec![word]),
        }
    }
    let mut options = Vec::new();
    let mut processes = Vec::new();
    for group in groups {
        match group.as_slice() {
            [flag, process] if flag == "--process" => processes.push(process.clone()),
            [flag, ..] if flag == "--process" => bail!("--process takes one process type"),
            [flag] if flag.starts_with("--process=") => {
                processes.push(flag["--process=".len()..].to_string());
            }
            [first, ..] if !is_flag(first) => {
                bail!("Invalid docker option {first:?}: options start with a dash")
            }
            _ => options.push(group.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")),
        }
    }
    Ok((options, processes))
}

/// Whether a stored line and an option are the same words.
fn same_option(stored: &str, option: &str) -> bool {
    stored == option
        || words(stored)
            .ok()
            .is_some_and(|s| words(option).ok() == Some(s))
}

/// Process types given with `--process`: checked, and only for the deploy phase.
fn process_scopes(processes: Vec<String>, phases: &[&str]) -> Result<Vec<Option<String>>> {
    if processes.is_empty() {
        return Ok(vec![None]);
    }
    if phases.iter().any(|p| *p != "deploy") {
        bail!("--process is only supported for the deploy phase");
    }
    let mut scopes = Vec::new();
    for process in processes {
        let valid = !process.is_empty()
            && process
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid || process == DEFAULT_SCOPE {
            bail!("Invalid process type {process:?}");
        }
        if !scopes.contains(&Some(process.clone())) {
            scopes.push(Some(process));
        }
    }
    Ok(scopes)
}

#[derive(Parser)]
struct Change {
    /// Scope the options to these process types (deploy phase only).
    #[arg(long = "process", value_name = "PROCESS")]
    processes: Vec<String>,
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
    if !add && remove_verbatim(ctx, &app, &cmd, &phases)? {
        return Ok(());
    }
    let (options, lifted) = split_options(&cmd.option)?;
    if options.is_empty() {
        bail!(
            "Please specify docker options to {} the phase",
            if add { "add to" } else { "remove from" }
        );
    }
    let scopes = process_scopes(cmd.processes.into_iter().chain(lifted).collect(), &phases)?;
    if add {
        for option in &options {
            for phase in &phases {
                let target = match *phase {
                    "build" => Phase::Build,
                    _ => Phase::Container,
                };
                options::judge(&ctx.roots, app.as_str(), &words(option)?, target)?;
            }
        }
    }
    let _app = app::lock_existing(&ctx.roots, app.as_str())?;
    let props = properties(ctx);
    for scope in &scopes {
        for phase in &phases {
            let key = key(scope.as_deref(), phase);
            let mut list = props.list(app.as_str(), &key)?;
            let before = list.len();
            for option in &options {
                if add && !list.iter().any(|o| same_option(o, option)) {
                    list.push(option.clone());
                } else if !add {
                    list.retain(|o| !same_option(o, option));
                }
            }
            if list.len() != before || add {
                props.set_list(app.as_str(), &key, &list)?;
            }
        }
    }
    if add {
        warn_undeclared(ctx, app.as_str(), &scopes)?;
    }
    Ok(())
}

/// Options for a process type the app's Procfile does not declare are kept (the next
/// Procfile may), with a warning, as in Dokku.
fn warn_undeclared(ctx: &Ctx, app: &str, scopes: &[Option<String>]) -> Result<()> {
    let processes: Vec<&str> = scopes.iter().flatten().map(String::as_str).collect();
    if processes.is_empty() || !ctx.trigger("procfile-exists").arg(app).succeeds()? {
        return Ok(());
    }
    for process in processes {
        let command = ctx
            .trigger("procfile-get-raw-command")
            .args([app, process])
            .output_string()?;
        if command.trim().is_empty() {
            log::warn(&format!(
                "Process type \"{process}\" is not declared in the Procfile for {app}"
            ));
        }
    }
    Ok(())
}

/// Removes an option stored exactly as given: older releases copied options out of
/// Dokku's `DOCKER_OPTIONS_*` files verbatim, unquoted (`--group-add $(getent ...)`), in a
/// form the option parser would now read as several. Whether one was.
fn remove_verbatim(ctx: &Ctx, app: &app::AppName, cmd: &Change, phases: &[&str]) -> Result<bool> {
    let raw = cmd.option.join(" ");
    let scopes: Vec<Option<&str>> = match cmd.processes.as_slice() {
        [] => vec![None],
        processes => processes.iter().map(|p| Some(p.as_str())).collect(),
    };
    let _app = app::lock_existing(&ctx.roots, app.as_str())?;
    let props = properties(ctx);
    let mut removed = false;
    for scope in &scopes {
        for phase in phases {
            let key = key(*scope, phase);
            let mut list = props.list(app.as_str(), &key)?;
            let before = list.len();
            list.retain(|o| o.trim() != raw.trim());
            if list.len() != before {
                props.set_list(app.as_str(), &key, &list)?;
                removed = true;
            }
        }
    }
    Ok(removed)
}

pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    change(ctx, "docker-options:add", args, true)
}

pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    change(ctx, "docker-options:remove", args, false)
}

/// `docker-options:allow APP OPTION...` (root only): these options, which give a container
/// the host, may reach docker for this app.
pub fn allow(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_grants(ctx, "docker-options:allow", args, true)
}

/// `docker-options:disallow APP OPTION...` (root only).
pub fn disallow(ctx: &Ctx, args: &[String]) -> Result<()> {
    change_grants(ctx, "docker-options:disallow", args, false)
}

#[derive(Parser)]
struct GrantChange {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "OPTION", allow_hyphen_values = true, num_args = 1..)]
    options: Vec<String>,
}

fn change_grants(ctx: &Ctx, name: &str, args: &[String], allow: bool) -> Result<()> {
    if !dokku_core::privilege::is_root() {
        bail!("{name} is for root only: it lets an app's containers reach the host");
    }
    let cmd: GrantChange = parse(name, args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let grants = Grants::new(&ctx.roots);
    let mut granted = grants.read(app.as_str())?;
    for option in &cmd.options {
        let option = option.split('=').next().unwrap_or_default().to_string();
        if allow && !granted.contains(&option) {
            granted.push(option);
        } else if !allow {
            granted.retain(|o| *o != option);
        }
    }
    grants.write(app.as_str(), &granted)?;
    log::info1(&format!(
        "Options {app} may give docker: {}",
        if granted.is_empty() {
            "none that reach the host".to_string()
        } else {
            granted.join(" ")
        }
    ));
    Ok(())
}

#[derive(Parser)]
struct Clear {
    #[arg(long = "process", value_name = "PROCESS")]
    processes: Vec<String>,
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
        None if cmd.processes.is_empty() => PHASES.to_vec(),
        None => vec!["deploy"],
    };
    let scopes = process_scopes(cmd.processes, &phases)?;
    let _app = app::lock_existing(&ctx.roots, app.as_str())?;
    let props = properties(ctx);
    for scope in &scopes {
        for phase in &phases {
            log::info1_quiet(&format!(
                "Clearing docker-options for {phase} phase of {app}"
            ));
            props.delete(app.as_str(), &key(scope.as_deref(), phase))?;
        }
    }
    Ok(())
}

#[derive(Parser)]
struct List {
    #[arg(long, value_name = "PHASE")]
    phase: String,
    #[arg(long, value_name = "PROCESS")]
    process: Option<String>,
    #[arg(value_name = "APP")]
    app: String,
}

/// `docker-options:list APP --phase PHASE [--process PROCESS]`: one option per line.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("docker-options:list", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let phase = phases(&cmd.phase)?;
    let scope = process_scopes(cmd.process.into_iter().collect(), &phase)?;
    for option in properties(ctx).list(app.as_str(), &key(scope[0].as_deref(), phase[0]))? {
        log::data(&option);
    }
    Ok(())
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let props = properties(ctx);
    dokku_core::report::print_for_apps(&request, &ctx.roots, "docker-options", |app| {
        let mut report = Report::new(app.as_str(), "docker options").key_prefix("docker-options");
        // Each phase's options as one line, and in JSON also as a list (`deploy-list`).
        for phase in PHASES {
            let options = props.list(app.as_str(), &key(None, phase))?;
            report = report
                .row(&format!("docker-options-{phase}"), options.join(" "))
                .json_only(&format!("{phase}-list"), options.into());
        }
        // Then one row per process type with options of its own.
        for stored in props.all(app.as_str())?.keys() {
            if let Some(process) = stored
                .strip_suffix(".deploy")
                .filter(|p| *p != DEFAULT_SCOPE)
            {
                let options = props.list(app.as_str(), stored)?;
                report = report
                    .row(
                        &format!("docker-options-deploy.{process}"),
                        options.join(" "),
                    )
                    .json_only(&format!("deploy.{process}-list"), options.into());
            }
        }
        Ok(report)
    })
}

/// A filter trigger's body: stdin, then the options of one scope and phase.
fn filter(ctx: &Ctx, app: &str, process: Option<&str>, phase: &str) -> Result<()> {
    let options = properties(ctx).list(app, &key(process, phase))?;
    let extra: String = options.iter().map(|o| format!(" {o}")).collect();
    dokku_core::docker::filter_args(&extra)
}

fn app_arg(args: &[String]) -> Result<&str> {
    Ok(args.first().ok_or(dokku_core::Error::MissingApp)?)
}

/// `docker-args-build APP BUILDER`.
pub fn args_build(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, app_arg(args)?, None, "build")
}

/// `docker-args-deploy APP TAG [PROC [INDEX]]`.
pub fn args_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, app_arg(args)?, None, "deploy")
}

/// `docker-args-process-deploy APP IMAGE_SOURCE_TYPE TAG [PROC [INDEX]]`: the options
/// scoped to the container's process type.
pub fn args_process_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    match args.get(3).filter(|p| !p.is_empty()) {
        Some(process) => filter(ctx, app_arg(args)?, Some(process), "deploy"),
        None => dokku_core::docker::filter_args(""),
    }
}

/// `docker-args-run APP TAG`.
pub fn args_run(ctx: &Ctx, args: &[String]) -> Result<()> {
    filter(ctx, app_arg(args)?, None, "run")
}

/// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`.
pub fn copy_options(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-clone-setup", args)?;
    properties(ctx).clone_app(old, new)
}

pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).destroy_app(app_arg(args)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn phases_are_checked() {
        assert_eq!(phases("build,deploy").unwrap(), ["build", "deploy"]);
        assert!(phases("build,ship").is_err());
        assert!(phases("").is_err());
    }

    #[test]
    fn input_becomes_one_quoted_line_per_flag() {
        let (options, processes) = split_options(&input(&[
            "--build-arg",
            "X=Y",
            "--link foo",
            "--link",
            "bar",
        ]))
        .unwrap();
        assert_eq!(options, ["--build-arg X=Y", "--link foo", "--link bar"]);
        assert!(processes.is_empty());
        let (options, _) = split_options(&input(&["-v '/a b:/c'", "--label=x=$(id)"])).unwrap();
        assert_eq!(options, ["-v '/a b:/c'", "'--label=x=$(id)'"]);
        let (options, processes) =
            split_options(&input(&["--link", "foo", "--process", "web"])).unwrap();
        assert_eq!(
            (options, processes),
            (vec!["--link foo".to_string()], vec!["web".to_string()])
        );
    }

    #[test]
    fn bad_input_is_refused() {
        for bad in [
            &["rm", "-rf"][..],
            &["--x 'open"],
            &["-e A=1\n-e B=2"],
            &["--process"],
        ] {
            assert!(split_options(&input(bad)).is_err(), "{bad:?}");
        }
        assert!(process_scopes(vec!["web".into()], &["build"]).is_err());
        assert!(process_scopes(vec!["_default_".into()], &["deploy"]).is_err());
    }

    #[test]
    fn options_match_by_their_words() {
        assert!(same_option("-v '/a b:/c'", "-v \"/a b:/c\""));
        assert!(!same_option("-v /a:/b", "-v /a:/c"));
    }
}
