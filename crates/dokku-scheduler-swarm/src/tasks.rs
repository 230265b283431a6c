//! The app's services in place and their tasks: `SERVICE.<type>` in the app's directory
//! names the service that serves each process type, and the manager says where each of
//! its tasks runs. What the proxy, `ps` and `checks:run` learn about the app comes from
//! here.

use std::collections::BTreeMap;

use anyhow::Result;
use dokku_core::docker::engine;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;
use serde_json::Value;

use crate::SCHEDULER;

/// The file naming the service in place for a process type.
pub fn service_file(ctx: &Ctx, app: &str, kind: &str) -> std::path::PathBuf {
    ctx.roots.app_dir(app).join(format!("SERVICE.{kind}"))
}

/// The services in place, by process type.
pub fn services_in_place(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    let mut services = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(ctx.roots.app_dir(app)) else {
        return Ok(services);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(kind) = name.strip_prefix("SERVICE.") else {
            continue;
        };
        let service = dokku_core::fs::read_optional(&entry.path())?.unwrap_or_default();
        if !service.trim().is_empty() {
            services.insert(kind.to_string(), service.trim().to_string());
        }
    }
    Ok(services)
}

/// The tasks of a service meant to run, as the manager describes them, by slot.
pub fn tasks(service: &str) -> Result<Vec<Value>> {
    tasks_filtered(
        service,
        serde_json::json!({
            "service": [service],
            "desired-state": ["running"],
        }),
    )
}

/// Every task of the service the swarm still knows, whatever its state (a job's tasks
/// that completed).
pub fn all_tasks(service: &str) -> Result<Vec<Value>> {
    tasks_filtered(service, serde_json::json!({ "service": [service] }))
}

fn tasks_filtered(service: &str, filters: Value) -> Result<Vec<Value>> {
    let reply = engine::request(
        "GET",
        &format!("/tasks?filters={}", engine::encode(&filters.to_string())),
    )?;
    if reply.status == 404 || reply.status == 503 {
        return Ok(Vec::new());
    }
    let mut tasks = reply
        .ok(&format!("listing the tasks of {service}"))?
        .json()?
        .as_array()
        .cloned()
        .unwrap_or_default();
    tasks.sort_by_key(|t| t["Slot"].as_u64().unwrap_or(0));
    Ok(tasks)
}

/// Whether a task runs now.
pub fn running(task: &Value) -> bool {
    task["Status"]["State"].as_str() == Some("running")
}

/// The host port a task publishes its container port `target` on.
pub fn published_port(task: &Value, target: u16) -> Option<u16> {
    task["Status"]["PortStatus"]["Ports"]
        .as_array()?
        .iter()
        .find(|p| p["TargetPort"].as_u64() == Some(u64::from(target)))
        .and_then(|p| p["PublishedPort"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
}

/// The container port a web service's tasks publish (its `PORT` label).
pub fn service_port(service: &str) -> Result<Option<u16>> {
    let reply = engine::request("GET", &format!("/services/{}", engine::encode(service)))?;
    if reply.status == 404 {
        return Ok(None);
    }
    let spec = reply.ok(&format!("inspecting {service}"))?.json()?;
    Ok(spec["Spec"]["Labels"][crate::deploy::PORT_LABEL]
        .as_str()
        .and_then(|p| p.parse().ok()))
}

/// `scheduler-app-containers swarm APP`: a `<type>.<slot> <task id> <node address>
/// <host port> <container port>` line per running task of the services in place on a
/// node that is up (the ports for web only): nginx on this host reaches each task
/// through its node.
pub fn app_containers(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-app-containers", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let services = services_in_place(ctx, app)?;
    if services.is_empty() {
        return Ok(());
    }
    let addresses = crate::cluster::ready_node_addresses()?;
    for (kind, service) in services {
        let port = service_port(&service)?;
        for task in tasks(&service)?.iter().filter(|t| running(t)) {
            let slot = task["Slot"].as_u64().unwrap_or(0);
            let id = task["ID"].as_str().unwrap_or_default();
            let node = task["NodeID"].as_str().unwrap_or_default();
            let Some(address) = addresses.get(node) else {
                continue;
            };
            let line = match port.and_then(|p| Some((p, published_port(task, p)?))) {
                Some((target, host)) => format!("{kind}.{slot} {id} {address} {host} {target}"),
                None => format!("{kind}.{slot} {id} {address}"),
            };
            log::data(&line);
        }
    }
    Ok(())
}

/// The tasks meant to run and those running, over the services in place.
fn counts(ctx: &Ctx, app: &str) -> Result<(usize, usize)> {
    let mut meant = 0;
    let mut up = 0;
    for service in services_in_place(ctx, app)?.values() {
        let tasks = tasks(service)?;
        meant += tasks.len();
        up += tasks.iter().filter(|t| running(t)).count();
    }
    Ok((meant, up))
}

/// `scheduler-is-deployed swarm APP`: a task of a service in place runs.
pub fn is_deployed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-is-deployed", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    if counts(ctx, app)?.1 == 0 {
        return Err(dokku_core::Error::Exit(1).into());
    }
    Ok(())
}

/// `scheduler-app-status swarm APP`: `<tasks> <true|false|mixed>`.
pub fn app_status(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-app-status", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let (meant, up) = counts(ctx, app)?;
    let state = match up {
        0 => "false",
        n if n == meant => "true",
        _ => "mixed",
    };
    log::data(&format!("{meant} {state}"));
    Ok(())
}

/// `scheduler-inspect swarm APP`: the services in place and their tasks, each task with
/// the node it runs on.
pub fn inspect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-inspect", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let addresses = crate::cluster::node_addresses()?;
    let mut described = Vec::new();
    for service in services_in_place(ctx, app)?.values() {
        let reply = engine::request("GET", &format!("/services/{}", engine::encode(service)))?;
        if reply.status == 404 {
            continue;
        }
        let mut spec = reply.ok(&format!("inspecting {service}"))?.json()?;
        // The app's config is the app's secret: the service's environment shows its keys.
        if let Some(env) = spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"].as_array_mut() {
            for entry in env.iter_mut() {
                if let Some((key, _)) = entry.as_str().and_then(|e| e.split_once('=')) {
                    *entry = Value::String(format!("{key}=<hidden>"));
                }
            }
        }
        let tasks: Vec<Value> = tasks(service)?
            .into_iter()
            .map(|t| {
                let node = t["NodeID"].as_str().unwrap_or_default().to_string();
                serde_json::json!({
                    "ID": t["ID"],
                    "Slot": t["Slot"],
                    "NodeID": node,
                    "NodeAddr": addresses.get(&node),
                    "State": t["Status"]["State"],
                    "ContainerID": t["Status"]["ContainerStatus"]["ContainerID"],
                })
            })
            .collect();
        spec["Tasks"] = Value::Array(tasks);
        described.push(spec);
    }
    log::data(&serde_json::to_string_pretty(&described)?);
    Ok(())
}

/// `scheduler-swarm:reconcile [APP]`: the routing of the app (of every app with services
/// in place) follows its tasks as they are now, wherever Swarm moved them (the event
/// listener does it within seconds of a move; `ps:restore` too).
pub fn reconcile(ctx: &Ctx, args: &[String]) -> Result<()> {
    let apps: Vec<String> = match args {
        [] => dokku_core::app::list(&ctx.roots)?
            .into_iter()
            .map(|a| a.to_string())
            .collect(),
        [app] => vec![dokku_core::app::verify(&ctx.roots, app)?.to_string()],
        _ => anyhow::bail!("scheduler-swarm:reconcile takes at most one app"),
    };
    for app in apps {
        if services_in_place(ctx, &app)?.is_empty() {
            continue;
        }
        log::info1(&format!("Reconciling the routing of {app} with its tasks"));
        ctx.trigger("proxy-build-config").arg(&app).stream()?;
    }
    Ok(())
}
