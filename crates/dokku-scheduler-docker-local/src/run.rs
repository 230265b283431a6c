//! One-off commands. `scheduler-run docker-local APP ENV_COUNT KEY VALUE... -- CMD...`: a
//! one-off container of the app's released image, `<app>.run.<n>`, removed when it ends
//! (in the background with `DOKKU_DETACH_CONTAINER=1`, printing its name),
//! with the app's config and the run's own variables (values through docker's
//! environment), the `docker-args-run` options (mounts) and the caller's `--label` flags,
//! a terminal when the caller has one; a command whose first word names a process type of
//! the Procfile runs that process's command, followed by the other words.
//! `scheduler-enter`: a command in a running container.

use anyhow::{Context, Result, bail};
use dokku_core::docker;
use dokku_core::docker::{APP_LABEL, CONTAINER_TYPE_LABEL};
use dokku_core::entry::Ctx;
use dokku_core::formation::{
    CRON_ID_LABEL, CronRun, DETACH_ENV, EnterTarget, OneOff, enter_container, enter_target,
};

use crate::SCHEDULER;

pub fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-run: expected SCHEDULER APP ENV_COUNT KEY VALUE... -- CMD...");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let OneOff {
        image,
        env,
        command,
        mut labels,
        ttl,
    } = OneOff::of(ctx, app, args)?;
    let kind = match CronRun::from_env() {
        Some(cron) => {
            labels.extend(cron_labels(ctx, app, &cron)?);
            "cron"
        }
        None => "run",
    };
    let unique = dokku_core::time::now().subsec_nanos();
    let tty = dokku_core::env::var("DOKKU_RUN_TTY").as_deref() == Some("true");
    let detach = dokku_core::env::var(DETACH_ENV).as_deref() == Some("1");
    let name = format!("{app}.{kind}.{unique}");
    let cmd = docker::docker()
        .args(["container", "run", "--rm", "--init"])
        .arg(if detach { "--detach" } else { "--interactive" })
        .args(if tty { &["--tty"][..] } else { &[] })
        .arg("--name")
        .arg(&name)
        .args(["--label", "dokku", "--label"])
        .arg(format!("{APP_LABEL}={app}"))
        .arg("--label")
        .arg(format!("{CONTAINER_TYPE_LABEL}={kind}"))
        .args(&labels);
    let (cmd, _env_file) = docker::pass_env(cmd, &env)?;
    let options = ctx
        .trigger("docker-args-run")
        .args([app.as_str(), "latest"])
        .stdin(Vec::new())
        .output_docker_args(app.as_str(), docker::options::Phase::Container)?;
    let cmd = cmd.args(options).arg(&image).args(&command);
    crate::retire::queue(ctx, app, std::slice::from_ref(&name), ttl)?;
    if detach {
        cmd.output()?;
        ctx.trigger("scheduler-post-run")
            .args([SCHEDULER, app.as_str(), &name])
            .stream()?;
        dokku_core::log::data(&name);
        return Ok(());
    }
    match cmd.status()? {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// The labels of a cron task's run, after its concurrency policy had its say about the
/// task's runs still going (a run it replaces is stopped and removed).
fn cron_labels(ctx: &Ctx, app: &str, cron: &CronRun) -> Result<Vec<String>> {
    let running: Vec<String> =
        docker::containers_labelled(&[format!("{CRON_ID_LABEL}={}", cron.id)], false)?
            .iter()
            .filter_map(|c| c["Id"].as_str().map(String::from))
            .collect();
    if cron.replaces(app, !running.is_empty())? {
        for id in &running {
            let _ = docker::stop_container(id, crate::stop_timeout(ctx, app));
            let _ = docker::force_remove_container(id);
        }
    }
    Ok(cron
        .labels()
        .iter()
        .map(|l| format!("--label={l}"))
        .collect())
}

fn run_labels(app: &str) -> Vec<String> {
    vec![
        format!("{APP_LABEL}={app}"),
        "com.dokku.container-type=run".to_string(),
    ]
}

/// A listed container's name, without docker's leading `/`.
fn name_of(container: &serde_json::Value) -> String {
    container["Names"][0]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string()
}

/// The app's running one-off containers as `(name, id)`, or only the one named (any
/// other name is refused: these commands never reach another container).
pub fn one_off_containers(app: &str, only: &str) -> Result<Vec<(String, String)>> {
    let mut found: Vec<(String, String)> = docker::containers_labelled(&run_labels(app), false)?
        .iter()
        .filter_map(|c| Some((name_of(c), c["Id"].as_str()?.to_string())))
        .filter(|(name, _)| only.is_empty() || name == only)
        .collect();
    found.sort();
    if found.is_empty() && !only.is_empty() {
        bail!("{only} is not a running one-off container of {app}");
    }
    Ok(found)
}

/// `scheduler-run-list docker-local APP FORMAT`: the app's running one-off containers.
pub fn list(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app, format] = dokku_core::entry::exactly::<3>("scheduler-run-list", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    dokku_core::formation::print_runs(app, &dokku_core::formation::local_runs(app)?, format)
}

/// `scheduler-run-stop docker-local APP [CONTAINER]`: one of the app's one-off containers
/// (only one of them: any other container is refused), or all of them, stop; each name is
/// printed.
pub fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-run-stop: expected SCHEDULER APP [CONTAINER]");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let only = args.get(2).map_or("", String::as_str);
    for (name, id) in one_off_containers(app, only)? {
        docker::stop_container(&id, crate::stop_timeout(ctx, app))?;
        dokku_core::log::data(&name);
    }
    Ok(())
}

/// `scheduler-enter docker-local APP [--container-id ID | TYPE[.N]] [CMD...]`: `docker
/// exec` in the app's container with that id, or the one in place for that dyno (the
/// first of the type, `web` when none is named), with a terminal when the caller has one;
/// the app's shell (`scheduler:set APP shell`, else `/bin/bash`) when no command is given.
pub fn enter(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-enter: expected SCHEDULER APP [TYPE[.N]] [CMD...]");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let containers = crate::deploy::containers_in_place(app)?;
    let dyno_of = |c: &serde_json::Value| c["Labels"]["com.dokku.dyno"].as_str().map(String::from);
    let dynos: Vec<String> = containers.iter().filter_map(dyno_of).collect();
    // The first word names a dyno when a container in place runs it, or when it is a
    // process type of the Procfile (`worker`, `worker.2`), running or not.
    let names_process = |word: &str| -> Result<bool> {
        let kind = word.split_once('.').map_or(word, |(kind, _)| kind);
        Ok(dynos
            .iter()
            .any(|d| d == word || d.split_once('.').is_some_and(|(k, _)| k == word))
            || !ctx
                .trigger("procfile-get-raw-command")
                .args([app.as_str(), kind])
                .output_string()?
                .trim()
                .is_empty())
    };
    let (target, command) = enter_target(&args[2..], names_process)?;
    let (id, labels) = match target {
        EnterTarget::Id(id) => {
            let info = docker::container_inspect(&id)?
                .filter(|c| c["Config"]["Labels"][APP_LABEL].as_str() == Some(app))
                .with_context(|| format!("{id} is not a container of {app}"))?;
            (info["Id"].clone(), info["Config"]["Labels"].clone())
        }
        EnterTarget::Dyno(dyno) => {
            let Some(container) = containers
                .iter()
                .find(|c| dyno_of(c).as_deref() == Some(dyno.as_str()))
            else {
                bail!("{app} has no running container {dyno}");
            };
            (container["Id"].clone(), container["Labels"].clone())
        }
    };
    let herokuish =
        labels[docker::BUILDER_LABEL].as_str() == Some(dokku_core::formation::HEROKUISH);
    enter_container(
        ctx,
        docker::docker(),
        app,
        id.as_str().unwrap_or_default(),
        herokuish,
        command,
    )
}
