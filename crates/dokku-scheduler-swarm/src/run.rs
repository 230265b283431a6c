//! Commands in the app's tasks and one-off containers. `scheduler-enter swarm APP
//! [TYPE[.N]] [CMD...]` runs a command in a task's container on whichever node runs it,
//! through that node's engine (the manager's API reaches no other node's containers).
//! `scheduler-run swarm ...` runs a one-off container on this host's engine, the swarm's
//! manager, which has the app's images, as docker-local runs it; `docker-args-run` puts it
//! on the swarm's overlay network, where it reaches the app's services by name.

use anyhow::{Context, Result, bail};
use dokku_core::docker;
use dokku_core::entry::Ctx;

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

/// The one-off run triggers: answered for the app as docker-local answers them, on this
/// host's engine.
pub fn on_manager(ctx: &Ctx, trigger: &str, args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) != Some(SCHEDULER) {
        return Ok(());
    }
    ctx.trigger(trigger)
        .arg("docker-local")
        .args(&args[1..])
        .only("scheduler-docker-local")
        .stream()
}

pub fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    on_manager(ctx, "scheduler-run", args)
}

pub fn run_list(ctx: &Ctx, args: &[String]) -> Result<()> {
    on_manager(ctx, "scheduler-run-list", args)
}

pub fn run_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    on_manager(ctx, "scheduler-run-logs", args)
}

pub fn run_stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    on_manager(ctx, "scheduler-run-stop", args)
}

pub fn run_retire(ctx: &Ctx, args: &[String]) -> Result<()> {
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
