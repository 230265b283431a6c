//! Commands in the app's tasks and one-off containers. `scheduler-enter swarm APP
//! [TYPE[.N]] [CMD...]` runs a command in a task's container on whichever node runs it,
//! through that node's engine (the manager's API reaches no other node's containers).
//! `scheduler-run swarm ...` runs an attached one-off container (or a cron task) on this
//! host's engine, the swarm's manager, which has the app's images, as docker-local runs
//! it; `docker-args-run` puts it on the swarm's overlay network, where it reaches the
//! app's services by name. A detached run is a Swarm job instead, on any node.

use anyhow::{Context, Result, bail};
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::formation::{CRON_ID_ENV, DETACH_ENV, OneOff, RunRow};

use crate::SCHEDULER;
use crate::tasks::{running, services_in_place, tasks};

/// `docker` against the engine of the node `node`: this host's for the manager, else the
/// address `cluster:add` was given.
fn docker_on(ctx: &Ctx, node: &str) -> Result<dokku_core::cmd::Cmd> {
    let manager = crate::cluster::require_manager()?;
    if manager["NodeID"].as_str() == Some(node) {
        return Ok(docker::docker());
    }
    let engines = crate::cluster::engines(ctx)?;
    let address = engines.get(node).with_context(|| {
        format!("node {node} was not added with scheduler-swarm:cluster:add: its engine cannot be reached")
    })?;
    Ok(crate::cluster::docker_at(address))
}

pub fn enter(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-enter: expected SCHEDULER APP [TYPE[.N]] [CMD...]");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let services = services_in_place(ctx, app)?;
    let rest = &args[2..];
    let names_process = |word: &str| {
        let kind = word.split_once('.').map_or(word, |(kind, _)| kind);
        services.contains_key(kind)
    };
    let (wanted, command) = match rest.split_first() {
        Some((first, command)) if names_process(first) => (first.clone(), command),
        _ => ("web".to_string(), rest),
    };
    let (kind, slot) = wanted.split_once('.').unwrap_or((wanted.as_str(), "1"));
    let service = services
        .get(kind)
        .with_context(|| format!("{app} has no running {kind} service"))?;
    let task = tasks(service)?
        .into_iter()
        .filter(running)
        .find(|t| t["Slot"].as_u64().map(|s| s.to_string()).as_deref() == Some(slot))
        .with_context(|| format!("{app} has no running task {kind}.{slot}"))?;
    let container = task["Status"]["ContainerStatus"]["ContainerID"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let node = task["NodeID"].as_str().unwrap_or_default();
    let shell = ctx
        .trigger("scheduler-get-property")
        .args([app.as_str(), "shell"])
        .output_string()?;
    let default_shell = [match shell.trim() {
        "" => "/bin/bash".to_string(),
        shell => shell.to_string(),
    }];
    let command = if command.is_empty() {
        &default_shell[..]
    } else {
        command
    };
    let tty = dokku_core::env::var("DOKKU_RUN_TTY").as_deref() == Some("true");
    let herokuish = task["Spec"]["ContainerSpec"]["Labels"][docker::BUILDER_LABEL].as_str()
        == Some(dokku_core::formation::HEROKUISH);
    match docker_on(ctx, node)?
        .args(["container", "exec", "--interactive"])
        .args(tty.then_some("--tty"))
        .arg(&container)
        .args(herokuish.then_some("/exec"))
        .args(command)
        .status()?
    {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// The one-off run triggers for what runs on this host's engine: answered for the app
/// as docker-local answers them.
pub fn on_manager(ctx: &Ctx, trigger: &str, args: &[String]) -> Result<()> {
    ctx.trigger(trigger)
        .arg("docker-local")
        .args(&args[1..])
        .only("scheduler-docker-local")
        .stream()
}

/// `scheduler-proxy-config swarm APP PROXY_TYPE`: the proxy of a swarm app is this
/// host's, the manager's, which answers as it does for docker-local apps.
pub fn proxy_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    proxy_here(ctx, "scheduler-proxy-config", args)
}

/// `scheduler-proxy-logs swarm APP PROXY_TYPE LOG_TYPE TAIL NUM`, as [`proxy_config`].
pub fn proxy_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    proxy_here(ctx, "scheduler-proxy-logs", args)
}

fn proxy_here(ctx: &Ctx, trigger: &str, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    ctx.trigger(trigger)
        .arg("docker-local")
        .args(&args[1..])
        .stream()
}

fn ours(args: &[String]) -> bool {
    args.first().map(String::as_str) == Some(SCHEDULER)
}

/// `scheduler-run swarm APP ...`: an attached run (a terminal, the command's exit code) or
/// a cron task runs on this host's engine; a detached run is a Swarm job, on whichever
/// node Swarm picks, removed when its time to live ends.
pub fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    let detached = dokku_core::env::var(DETACH_ENV).as_deref() == Some("1");
    let cron = dokku_core::env::var(CRON_ID_ENV).is_some_and(|id| !id.is_empty());
    if !detached || cron {
        return on_manager(ctx, "scheduler-run", args);
    }
    let app = &args[1];
    let one_off = OneOff::of(ctx, app, args)?;
    let source = crate::deploy::distribute(ctx, app, &one_off.image)?;
    let now = dokku_core::time::now();
    let name = format!("{app}-run-{:x}{:03x}", now.as_secs(), now.subsec_millis());
    let network = crate::SETTINGS.computed(ctx, app, "network")?;
    let labels = [
        format!("{}={app}", docker::APP_LABEL),
        format!("{JOB_TYPE_LABEL}=run"),
    ];
    let mut cmd = docker::docker()
        .args([
            "service",
            "create",
            "--detach",
            "--quiet",
            "--mode",
            "replicated-job",
        ])
        .arg(if source.pulled {
            "--with-registry-auth"
        } else {
            "--no-resolve-image"
        })
        .args(["--restart-condition", "none", "--init", "--name", &name])
        .args(["--network", &network])
        .args(["--label", "dokku", "--container-label", "dokku"]);
    for label in labels.iter().cloned().chain(
        one_off
            .labels
            .iter()
            .filter_map(|l| l.strip_prefix("--label=").map(String::from)),
    ) {
        cmd = cmd
            .args(["--label", &label])
            .args(["--container-label", &label]);
    }
    let (cmd, _env_file) = docker::pass_env(cmd, &one_off.env)?;
    cmd.arg(&source.reference)
        .args(&one_off.command)
        .output()
        .with_context(|| format!("creating the job {name}"))?;
    crate::retire::queue(ctx, app, std::slice::from_ref(&name), one_off.ttl)?;
    dokku_core::log::data(&name);
    Ok(())
}

const JOB_TYPE_LABEL: &str = "com.dokku.container-type";

/// The app's one-off jobs, as `run:list` shows them.
fn jobs(app: &str) -> Result<Vec<RunRow>> {
    Ok(crate::deploy::app_services(app, Some("run"))?
        .iter()
        .map(|service| {
            let spec = &service["Spec"]["TaskTemplate"]["ContainerSpec"];
            let words: Vec<&str> = spec["Args"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_str())
                .collect();
            let created = service["CreatedAt"]
                .as_str()
                .and_then(dokku_core::time::parse_utc)
                .unwrap_or(0);
            RunRow {
                name: crate::deploy::service_name(service),
                state: "job".into(),
                command: format!("\"{}\"", words.join(" ")),
                created,
            }
        })
        .collect())
}

/// `scheduler-run-list swarm APP FORMAT`: the runs on this host's engine and the jobs.
pub fn run_list(_ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    let [_, app, format] = dokku_core::entry::exactly::<3>("scheduler-run-list", args)?;
    let mut rows = dokku_core::formation::local_runs(app)?;
    rows.extend(jobs(app)?);
    dokku_core::formation::print_runs(app, &rows, format)
}

/// Whether `name` is one of the app's jobs.
fn is_job(app: &str, name: &str) -> Result<bool> {
    Ok(jobs(app)?.iter().any(|j| j.name == name))
}

/// `scheduler-run-logs swarm APP CONTAINER TAIL PRETTY NUM`: a job's output, wherever it
/// ran; anything else as on this host's engine.
pub fn run_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    let [_, app, container, tail, _pretty, num] = args else {
        bail!("scheduler-run-logs: expected SCHEDULER APP CONTAINER TAIL PRETTY NUM");
    };
    if container.is_empty() || !is_job(app, container)? {
        return on_manager(ctx, "scheduler-run-logs", args);
    }
    let code = docker::docker()
        .args(["service", "logs", "--raw", "--tail", num])
        .args((tail == "true").then_some("--follow"))
        .arg(container)
        .stream_mapped(|line| line.to_string())?;
    match code {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// `scheduler-run-stop swarm APP [CONTAINER]`: a job, or every job and run, stops; each
/// name is printed.
pub fn run_stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    let app = args.get(1).map_or("", String::as_str);
    let only = args.get(2).map_or("", String::as_str);
    if !only.is_empty() && !is_job(app, only)? {
        return on_manager(ctx, "scheduler-run-stop", args);
    }
    for job in jobs(app)?
        .iter()
        .filter(|j| only.is_empty() || j.name == only)
    {
        crate::deploy::remove_service(&job.name);
        dokku_core::log::data(&job.name);
    }
    if only.is_empty() && !dokku_core::formation::local_runs(app)?.is_empty() {
        return on_manager(ctx, "scheduler-run-stop", args);
    }
    Ok(())
}

pub fn run_retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    on_manager(ctx, "scheduler-run-retire", args)
}

/// `docker-args-run APP TAG`: a one-off container of a swarm app joins the swarm's
/// overlay network.
pub fn run_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(app) = args.first() else {
        bail!("docker-args-run: expected APP");
    };
    let extra = match dokku_core::ask::scheduler(ctx, app)? == SCHEDULER {
        true => format!(
            " --network={}",
            crate::SETTINGS.computed(ctx, app, "network")?
        ),
        false => String::new(),
    };
    docker::filter_args(&extra)
}
