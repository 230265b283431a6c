//! Commands in the app's tasks and one-off containers. `scheduler-enter swarm APP
//! [TYPE[.N]] [CMD...]` runs a command in a task's container on whichever node runs it,
//! through that node's engine (the manager's API reaches no other node's containers).
//! `scheduler-run swarm ...` runs an attached one-off container on this host's engine, the
//! swarm's manager, which has the app's images, as docker-local runs it; `docker-args-run`
//! puts it on the swarm's overlay network, where it reaches the app's services by name. A
//! detached run and a cron task's run are Swarm jobs instead, on any node.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::formation::{
    CRON_ID_LABEL, CronRun, DETACH_ENV, EnterTarget, OneOff, RunRow, enter_container, enter_target,
};
use serde_json::Value;

use crate::SCHEDULER;
use crate::tasks::{self, running, services_in_place};

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
    let names_process = |word: &str| {
        let kind = word.split_once('.').map_or(word, |(kind, _)| kind);
        Ok(services.contains_key(kind))
    };
    let (target, command) = enter_target(&args[2..], names_process)?;
    let task = match target {
        EnterTarget::Id(id) => app_task(app, &id, &services)?,
        EnterTarget::Dyno(dyno) => {
            let (kind, slot) = dyno.split_once('.').unwrap_or((dyno.as_str(), "1"));
            let service = services
                .get(kind)
                .with_context(|| format!("{app} has no running {kind} service"))?;
            tasks::tasks(service)?
                .into_iter()
                .filter(running)
                .find(|t| t["Slot"].as_u64().map(|s| s.to_string()).as_deref() == Some(slot))
                .with_context(|| format!("{app} has no running task {kind}.{slot}"))?
        }
    };
    let container = task["Status"]["ContainerStatus"]["ContainerID"]
        .as_str()
        .unwrap_or_default();
    let labels = &task["Spec"]["ContainerSpec"]["Labels"];
    let herokuish =
        labels[docker::BUILDER_LABEL].as_str() == Some(dokku_core::formation::HEROKUISH);
    let node = task["NodeID"].as_str().unwrap_or_default();
    enter_container(
        ctx,
        docker_on(ctx, node)?,
        app,
        container,
        herokuish,
        command,
    )
}

/// The app's task `id` (a deploy's new task too, which check-deploy names), or the
/// running task of a service in place whose container is `id` (or starts with it).
fn app_task(
    app: &str,
    id: &str,
    services: &std::collections::BTreeMap<String, String>,
) -> Result<Value> {
    let of_app = |task: &Value| {
        task["Spec"]["ContainerSpec"]["Labels"][docker::APP_LABEL].as_str() == Some(app)
    };
    if let Some(task) = docker::swarm_task(id)?.filter(of_app) {
        return Ok(task);
    }
    for service in services.values() {
        if let Some(task) = tasks::tasks(service)?.into_iter().find(|t| {
            running(t)
                && t["Status"]["ContainerStatus"]["ContainerID"]
                    .as_str()
                    .is_some_and(|c| c.starts_with(id))
        }) {
            return Ok(task);
        }
    }
    bail!("{id} is not a task or container of {app}")
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

/// `scheduler-run swarm APP ...`: an attached run (a terminal, the command's exit code)
/// runs on this host's engine; a detached run and a cron task are Swarm jobs, on
/// whichever node Swarm picks, removed when their time to live ends. An attached cron
/// task's job is waited for: its output is printed and its exit code is the answer.
pub fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    if !ours(args) {
        return Ok(());
    }
    let detached = dokku_core::env::var(DETACH_ENV).as_deref() == Some("1");
    let cron = CronRun::from_env();
    if !detached && cron.is_none() {
        return on_manager(ctx, "scheduler-run", args);
    }
    let app = &args[1];
    let one_off = OneOff::of(ctx, app, args)?;
    let mut labels: Vec<String> = one_off
        .labels
        .iter()
        .filter_map(|l| l.strip_prefix("--label=").map(String::from))
        .collect();
    let kind = match &cron {
        Some(cron) => {
            let going = jobs(app, Some(cron))?
                .into_iter()
                .filter(|job| job_exit(job).is_none())
                .collect::<Vec<_>>();
            if cron.replaces(app, !going.is_empty())? {
                for job in &going {
                    crate::deploy::remove_service(&job.name);
                }
            }
            labels.extend(cron.labels());
            "cron"
        }
        None => "run",
    };
    let name = create_job(ctx, app, kind, &one_off, &labels)?;
    crate::retire::queue(ctx, app, std::slice::from_ref(&name), one_off.ttl)?;
    if detached {
        dokku_core::log::data(&name);
        return Ok(());
    }
    let ended = wait_job(&name, Duration::from_secs(one_off.ttl));
    let _ = docker::docker()
        .args(["service", "logs", "--raw", &name])
        .stream_mapped(|line| line.to_string());
    crate::deploy::remove_service(&name);
    match ended? {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// A Swarm job (`replicated-job`, one task, never restarted) running the one-off command
/// on the overlay network; its name.
fn create_job(
    ctx: &Ctx,
    app: &str,
    kind: &str,
    one_off: &OneOff,
    labels: &[String],
) -> Result<String> {
    let source = crate::deploy::distribute(ctx, app, &one_off.image)?;
    let now = dokku_core::time::now();
    let unique = format!("{:x}{:03x}", now.as_secs(), now.subsec_millis());
    let name = crate::deploy::swarm_name(&[app, kind], &unique);
    let network = crate::SETTINGS.computed(ctx, app, "network")?;
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
    let own = [
        format!("{}={app}", docker::APP_LABEL),
        format!("{}={kind}", docker::CONTAINER_TYPE_LABEL),
    ];
    for label in own.iter().chain(labels) {
        cmd = cmd
            .args(["--label", label])
            .args(["--container-label", label]);
    }
    let (cmd, _env_file) = docker::pass_env(cmd, &one_off.env)?;
    cmd.arg(&source.reference)
        .args(&one_off.command)
        .output()
        .with_context(|| format!("creating the job {name}"))?;
    Ok(name)
}

/// Waits until the job's task has ended, at most `limit`: its exit code (a task the
/// swarm refused or could not start fails with the swarm's reason).
fn wait_job(name: &str, limit: Duration) -> Result<i32> {
    let started = Instant::now();
    loop {
        let service = tasks::all_tasks(name)?;
        if let Some(exit) = service.iter().find_map(task_exit) {
            return exit;
        }
        if started.elapsed() > limit {
            bail!("the job {name} ran longer than its {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// How a job's task ended; None while it has not.
fn task_exit(task: &Value) -> Option<Result<i32>> {
    let status = &task["Status"];
    let code = status["ContainerStatus"]["ExitCode"].as_i64().unwrap_or(0) as i32;
    match status["State"].as_str()? {
        "complete" => Some(Ok(0)),
        "failed" if code != 0 => Some(Ok(code)),
        "failed" | "rejected" | "shutdown" | "orphaned" => Some(Err(anyhow::anyhow!(
            "the job's task {}: {}",
            status["State"].as_str().unwrap_or_default(),
            status["Err"].as_str().unwrap_or("no reason given")
        ))),
        _ => None,
    }
}

/// How a listed job ended; None while it runs (or waits to).
fn job_exit(job: &Job) -> Option<Result<i32>> {
    tasks::all_tasks(&job.name).ok()?.iter().find_map(task_exit)
}

/// One of the app's jobs: a detached run or a cron task's run.
struct Job {
    name: String,
    row: RunRow,
}

/// The app's jobs (only those of one cron task, when given), as `run:list` shows them.
fn jobs(app: &str, cron: Option<&CronRun>) -> Result<Vec<Job>> {
    let mut services = crate::deploy::app_services(app, Some("run"))?;
    services.extend(crate::deploy::app_services(app, Some("cron"))?);
    Ok(services
        .iter()
        .filter(|service| {
            cron.is_none_or(|cron| {
                service["Spec"]["Labels"][CRON_ID_LABEL].as_str() == Some(cron.id.as_str())
            })
        })
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
            let name = crate::deploy::service_name(service);
            Job {
                name: name.clone(),
                row: RunRow {
                    name,
                    state: "job".into(),
                    command: format!("\"{}\"", words.join(" ")),
                    created,
                },
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
    rows.extend(jobs(app, None)?.into_iter().map(|job| job.row));
    dokku_core::formation::print_runs(app, &rows, format)
}

/// Whether `name` is one of the app's jobs.
fn is_job(app: &str, name: &str) -> Result<bool> {
    Ok(jobs(app, None)?.iter().any(|j| j.name == name))
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
    for job in jobs(app, None)?
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

/// `scheduler-uses-host-cron swarm`: the cron of this host, the manager, starts the
/// app's scheduled tasks (`cron:run`), each a Swarm job.
pub fn uses_host_cron(_ctx: &Ctx, args: &[String]) -> Result<()> {
    if ours(args) {
        dokku_core::log::data("true");
    }
    Ok(())
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
