//! `scheduler-deploy swarm APP TAG [TYPE]`: blue/green across the swarm. For each process
//! type a new service runs the released image (`<app>-<type>-<deploy id>`, as many tasks
//! as the scale says); every task is checked from this host (`check-deploy`, at its
//! node's address and published port); only when all are ready does each new service
//! take its type's place (`SERVICE.<type>`), nginx follow, and the old services retire
//! after `wait-to-retire`. A task that fails removes every service this deploy made and
//! the old ones keep serving. Swarm's own rolling update is not used: it stops old tasks
//! as soon as new ones run, before nginx has moved to them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_core::docker::{self, APP_LABEL};
use dokku_core::entry::Ctx;
use dokku_core::failed_logs::{FailedLogs, KEPT_LINES};
use dokku_core::formation::{
    DeployRequest, Dyno, Launcher, ZeroDowntime, check_deploy, deploy_request,
};
use dokku_core::log;
use serde_json::Value;

use crate::tasks::{self, published_port, running, service_file, services_in_place};
use crate::{SCHEDULER, cluster};

/// The label on a web service naming the container port its tasks publish.
pub const PORT_LABEL: &str = "com.dokku.web-port";

/// A service this deploy made, its tasks checked.
struct Made {
    kind: String,
    service: String,
}

/// `scheduler-deploy swarm APP TAG [TYPE]`.
pub fn deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(DeployRequest {
        app,
        tag,
        only,
        image,
    }) = deploy_request(SCHEDULER, args)?
    else {
        return Ok(());
    };
    cluster::require_manager()?;
    dokku_core::deploy_gate::hold_stop_requests();
    remove_leftovers(ctx, app)?;
    let failed_logs = FailedLogs::of(&ctx.roots, crate::SETTINGS.namespace, app);
    failed_logs.forget()?;
    let source = distribute(ctx, app, &image)?;
    let checks = ZeroDowntime::of(ctx, app)?;
    let mut made: Vec<Made> = Vec::new();
    let result = start_all(ctx, app, tag, &source, &checks, only, &mut made)
        .and_then(|()| dokku_core::deploy_gate::commit_deploy());
    if let Err(err) = result {
        let outputs: Vec<_> = made
            .iter()
            .map(|new| {
                let logs = docker::docker()
                    .args(["service", "logs", "--raw", "--tail", KEPT_LINES])
                    .arg(&new.service);
                (new.kind.clone(), logs)
            })
            .collect();
        failed_logs.keep(app, &outputs);
        for new in &made {
            remove_service(&new.service);
        }
        return Err(err);
    }
    let retiring = cut_over(ctx, app, &made, only)?;
    ctx.trigger("core-post-deploy")
        .args([app, "", "", tag])
        .stream()?;
    ctx.trigger("post-deploy")
        .args([app, "", "", tag])
        .stream()?;
    crate::retire::schedule(ctx, app, &retiring, checks.wait_to_retire)
}

/// Where the services' tasks get the released image.
pub struct Source {
    /// The image the services run: the app's own, or its name in the registry.
    pub reference: String,
    /// Whether the nodes pull it from a registry (else every node was given it).
    pub pulled: bool,
}

/// The image reaches every node: `image-distribution load` hands it to each node added
/// here that lacks it (the manager's own engine built it); `registry` names the version
/// the registry plugin pushed when it was released, which each node pulls.
pub fn distribute(ctx: &Ctx, app: &str, image: &str) -> Result<Source> {
    let Some(id) = docker::image_id(image)? else {
        bail!("{image} does not exist");
    };
    if crate::SETTINGS.computed(ctx, app, "image-distribution")? == "registry" {
        return pushed_release(ctx, app, &id);
    }
    // Every node at once: a deploy waits for the slowest, not for the sum.
    let engines = cluster::engines(ctx)?;
    std::thread::scope(|scope| {
        let sends: Vec<_> = engines
            .iter()
            .map(|(node, address)| scope.spawn(|| send_image(image, &id, node, address)))
            .collect();
        for send in sends {
            send.join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("sending {image} failed")))?;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(Source {
        reference: image.to_string(),
        pulled: false,
    })
}

/// The registry name of the release being deployed (image `id`): the version the
/// registry plugin pushed last, which must be this very image.
fn pushed_release(ctx: &Ctx, app: &str, id: &str) -> Result<Source> {
    let ask = |trigger: &str| -> Result<String> {
        Ok(ctx
            .trigger(trigger)
            .arg(app)
            .output_string()?
            .trim()
            .to_string())
    };
    let (server, repo, version) = (
        ask("deployed-app-repository")?,
        ask("deployed-app-image-repo")?,
        ask("deployed-app-image-tag")?,
    );
    if server.is_empty() || version.is_empty() {
        bail!(
            "image-distribution registry needs a registry: registry:set {app} server ADDRESS and registry:set {app} push-on-release true"
        );
    }
    let reference = format!("{server}{repo}:{version}");
    if docker::image_id(&reference)?.as_deref() != Some(id) {
        bail!("{reference} is not the release being deployed: it was not pushed to the registry");
    }
    Ok(Source {
        reference,
        pulled: true,
    })
}

/// The image into one node's engine, unless it has it already.
fn send_image(image: &str, id: &str, node: &str, address: &str) -> Result<()> {
    let theirs = cluster::docker_at(address)
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output_unchecked()?;
    if theirs.code == 0 && theirs.stdout_trimmed() == id {
        return Ok(());
    }
    log::verbose(&format!("Sending {image} to node {node}"));
    docker::docker()
        .args(["image", "save", image])
        .pipe_into(&cluster::docker_at(address).args(["image", "load", "--quiet"]))
        .with_context(|| format!("sending {image} to node {node} ({address})"))?;
    Ok(())
}

/// A deploy's id, part of its services' names: unique for this app, short.
fn deploy_id() -> String {
    let now = dokku_core::time::now();
    format!("{:x}{:03x}", now.as_secs(), now.subsec_millis())
}

fn start_all(
    ctx: &Ctx,
    app: &str,
    tag: &str,
    source: &Source,
    checks: &ZeroDowntime,
    only: Option<&str>,
    made: &mut Vec<Made>,
) -> Result<()> {
    let image = docker::app_image(app, tag);
    let env = dokku_core::ask::app_config(ctx, app)?;
    let port = dokku_core::formation::web_port(ctx, app, &image)?;
    let launcher = Launcher::of(ctx, app, &image)?;
    let deploy_args = dokku_core::formation::docker_args(ctx, "docker-args-deploy", &[app, tag])?;
    let deploy_id = deploy_id();
    let in_place = services_in_place(ctx, app)?;
    let timeout = Duration::from_secs(
        crate::SETTINGS
            .computed(ctx, app, "deploy-timeout")?
            .parse()
            .unwrap_or(300),
    );
    dokku_core::formation::deploy_each_type(ctx, app, only, |kind, count, command| {
        if checks.disabled_for(kind)
            && let Some(old) = in_place.get(kind)
        {
            log::verbose(&format!(
                "Zero downtime is disabled for {kind}: removing its old service first"
            ));
            remove_service(old);
        }
        let web_port = (kind == "web").then_some(port.as_str());
        let lookup = |name: &str| match name {
            "PORT" => web_port.map(String::from),
            _ => env.get(name).cloned(),
        };
        let words = launcher.words(kind, command, lookup)?;
        let options = service_options(ctx, app, tag, kind, &launcher.builder, &deploy_args)?;
        let service = swarm_name(&[app, kind], &deploy_id);
        // app.json's max_parallel: the service grows by that many tasks at a time, each
        // step's tasks running and checked before the next step starts.
        let step = dokku_core::formation::declared_parallelism(ctx, app, kind)?
            .map_or(count, |n| u32::try_from(n).unwrap_or(count));
        let mut replicas = count.min(step);
        create_service(
            ctx, app, tag, source, &env, kind, replicas, web_port, &options, &words, &service,
        )?;
        made.push(Made {
            kind: kind.to_string(),
            service: service.clone(),
        });
        let mut checked = std::collections::BTreeSet::new();
        loop {
            let fresh: Vec<Value> = wait_running(&service, replicas, web_port, timeout)?
                .into_iter()
                .filter(|task| checked.insert(task["ID"].as_str().unwrap_or_default().to_string()))
                .collect();
            check_tasks(ctx, app, kind, &service, &fresh, web_port)?;
            if replicas >= count {
                return Ok(());
            }
            replicas = count.min(replicas + step);
            log::verbose(&format!("Scaling {service} to {replicas} tasks"));
            docker::docker()
                .args(["service", "scale", "--detach"])
                .arg(format!("{service}={replicas}"))
                .output()
                .with_context(|| format!("scaling {service}"))?;
        }
    })
}

/// The app's docker options for a process type (storage mounts, resource limits, log
/// options, `docker-options`), as a service takes them: the same for every task of the
/// type (the process-level ones are asked for its first). What a service has no place for
/// is left out, with a warning.
fn service_options(
    ctx: &Ctx,
    app: &str,
    tag: &str,
    kind: &str,
    builder: &str,
    deploy_args: &[String],
) -> Result<Vec<String>> {
    let process_args = dokku_core::formation::docker_args(
        ctx,
        "docker-args-process-deploy",
        &[app, builder, tag, kind, "1"],
    )?;
    let words: Vec<String> = deploy_args.iter().chain(&process_args).cloned().collect();
    let (options, left_out) = docker::options::for_service(&words)?;
    if !left_out.is_empty() {
        log::warn(&format!(
            "Docker options a swarm service has no place for, left out of {kind}: {}",
            left_out.join(" ")
        ));
    }
    Ok(options)
}

#[allow(clippy::too_many_arguments)]
fn create_service(
    ctx: &Ctx,
    app: &str,
    tag: &str,
    source: &Source,
    env: &BTreeMap<String, String>,
    kind: &str,
    count: u32,
    web_port: Option<&str>,
    options: &[String],
    words: &[String],
    service: &str,
) -> Result<()> {
    let network = crate::SETTINGS.computed(ctx, app, "network")?;
    let stop_grace = ctx
        .trigger("ps-get-property")
        .args([app, "stop-timeout-seconds"])
        .output_string()?
        .trim()
        .parse::<u32>()
        .unwrap_or(30);
    let labels = [
        format!("{APP_LABEL}={app}"),
        "com.dokku.container-type=deploy".to_string(),
        format!("com.dokku.process-type={kind}"),
        format!("com.dokku.image-tag={tag}"),
    ];
    let mut cmd = docker::docker()
        .args(["service", "create", "--detach", "--quiet"])
        .arg(match source.pulled {
            // Swarm pins the registry's digest: every node runs the same bits.
            true => "--with-registry-auth",
            false => "--no-resolve-image",
        })
        .args(["--name", service, "--replicas", &count.to_string()])
        .args(["--endpoint-mode", "dnsrr", "--network", &network])
        .args(["--init", "--restart-condition", "any"])
        .arg(format!("--stop-grace-period={stop_grace}s"))
        .args(["--label", "dokku", "--container-label", "dokku"]);
    for label in &labels {
        cmd = cmd
            .args(["--label", label])
            .args(["--container-label", label]);
    }
    cmd = cmd
        .arg("--env")
        .arg(format!("DYNO={kind}.{{{{.Task.Slot}}}}"));
    let mut all = env.clone();
    if let Some(port) = web_port {
        all.insert("PORT".into(), port.to_string());
        cmd = cmd
            .arg("--publish")
            .arg(format!("mode=host,target={port},protocol=tcp"))
            .args(["--label", &format!("{PORT_LABEL}={port}")]);
    }
    let (cmd, _env_file) = docker::pass_env(cmd.args(options), &all)?;
    cmd.arg(&source.reference)
        .args(words)
        .output()
        .with_context(|| format!("creating the service {service}"))?;
    Ok(())
}

/// Waits until `count` tasks of the service run (web ones with their port published),
/// at most `timeout`; a task that failed fails the deploy with the engine's reason and
/// the service's output.
fn wait_running(
    service: &str,
    count: u32,
    web_port: Option<&str>,
    timeout: Duration,
) -> Result<Vec<Value>> {
    let target: Option<u16> = web_port.and_then(|p| p.parse().ok());
    let started = Instant::now();
    loop {
        let tasks = tasks::tasks(service)?;
        let ready: Vec<Value> = tasks
            .iter()
            .filter(|t| running(t))
            .filter(|t| target.is_none_or(|p| published_port(t, p).is_some()))
            .cloned()
            .collect();
        if ready.len() >= count as usize {
            return Ok(ready);
        }
        if let Some(reason) = failure(service)? {
            show_output(service);
            bail!("a task of {service} failed: {reason}");
        }
        if started.elapsed() >= timeout {
            show_output(service);
            bail!(
                "{} of {count} tasks of {service} ran within {} s",
                ready.len(),
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Why a task of the service failed, if one did.
fn failure(service: &str) -> Result<Option<String>> {
    Ok(tasks::all_tasks(service)?
        .iter()
        .find(|t| matches!(t["Status"]["State"].as_str(), Some("failed" | "rejected")))
        .map(|t| {
            let status = &t["Status"];
            let err = status["Err"].as_str().unwrap_or_default();
            match status["ContainerStatus"]["ExitCode"].as_i64() {
                Some(code) if err.is_empty() => format!("exit code {code}"),
                _ => err.to_string(),
            }
        }))
}

fn show_output(service: &str) {
    log::info2(&format!("Start of {service} output"));
    let _ = docker::docker()
        .args(["service", "logs", "--raw", "--tail", "100", service])
        .stream_lines("       ");
    log::info2(&format!("End of {service} output"));
}

/// Every task passes the checks, run from this host against its node's address, all
/// tasks at once.
fn check_tasks(
    ctx: &Ctx,
    app: &str,
    kind: &str,
    service: &str,
    ready: &[Value],
    web_port: Option<&str>,
) -> Result<()> {
    let addresses = cluster::node_addresses()?;
    let target: Option<u16> = web_port.and_then(|p| p.parse().ok());
    let check = |task: &Value| -> Result<()> {
        let id = task["ID"].as_str().unwrap_or_default();
        let slot = task["Slot"].as_u64().unwrap_or(0).to_string();
        let node = task["NodeID"].as_str().unwrap_or_default();
        let address = addresses.get(node).cloned().unwrap_or_default();
        let port = target
            .and_then(|p| published_port(task, p))
            .map_or(String::new(), |p| p.to_string());
        log::verbose(&format!(
            "Attempting pre-flight checks ({kind}.{slot} on {address})"
        ));
        let process = Dyno {
            app,
            container: id,
            kind,
            port: &port,
            ip: &address,
            index: &slot,
        };
        check_deploy(ctx, &process, || {})
    };
    let outcome = std::thread::scope(|scope| {
        let checks: Vec<_> = ready.iter().map(|t| scope.spawn(|| check(t))).collect();
        let mut first_failure = None;
        for check in checks {
            let result = check
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a check failed")));
            if let Err(err) = result {
                first_failure.get_or_insert(err);
            }
        }
        first_failure.map_or(Ok(()), Err)
    });
    if outcome.is_err() {
        show_output(service);
    }
    outcome
}

/// The new services take their types' places; the answer is the services they replaced
/// (and, for a whole deploy, those of types no longer scaled).
fn cut_over(ctx: &Ctx, app: &str, made: &[Made], only: Option<&str>) -> Result<Vec<String>> {
    let in_place = services_in_place(ctx, app)?;
    let mut retiring = Vec::new();
    for new in made {
        dokku_core::fs::write_atomic(
            &service_file(ctx, app, &new.kind),
            new.service.as_bytes(),
            0o644,
        )?;
        if let Some(old) = in_place.get(&new.kind).filter(|old| **old != new.service) {
            retiring.push(old.clone());
        }
    }
    if only.is_none() {
        for (kind, old) in &in_place {
            if !made.iter().any(|m| m.kind == *kind) {
                dokku_core::fs::remove_file_if_exists(&service_file(ctx, app, kind))?;
                retiring.push(old.clone());
            }
        }
    }
    Ok(retiring)
}

/// `docker service rm`; one already gone is fine.
pub fn remove_service(service: &str) {
    let _ = docker::docker()
        .args(["service", "rm", service])
        .output_unchecked();
}

/// Services an interrupted deploy made and never put in place (deploys of an app never
/// overlap, so any found now are strays: neither in place nor retiring) are removed
/// before a new deploy starts, and before `ps:restore` brings the app back.
fn remove_leftovers(ctx: &Ctx, app: &str) -> Result<()> {
    let in_place = services_in_place(ctx, app)?;
    let retiring = crate::retire::read_queue(ctx, app)?;
    for service in app_services(app, Some("deploy"))?.iter().map(service_name) {
        let known =
            in_place.values().any(|s| *s == service) || retiring.iter().any(|(s, _)| *s == service);
        if !known {
            log::verbose(&format!(
                "Removing {service}, left by a deploy that never finished"
            ));
            remove_service(&service);
        }
    }
    Ok(())
}

/// `scheduler-pre-restore swarm APP`: what an interrupted deploy left goes.
pub fn pre_restore(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = dokku_core::entry::exactly::<2>("scheduler-pre-restore", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    remove_leftovers(ctx, app)
}

/// The app's services of a container type (`deploy`: in place or retiring; `run`:
/// one-off jobs), or all of them.
pub fn app_services(app: &str, container_type: Option<&str>) -> Result<Vec<Value>> {
    let mut labels = vec![format!("{APP_LABEL}={app}")];
    labels.extend(container_type.map(|t| format!("com.dokku.container-type={t}")));
    let filters = serde_json::json!({ "label": labels });
    let reply = docker::engine::request(
        "GET",
        &format!(
            "/services?filters={}",
            docker::engine::encode(&filters.to_string())
        ),
    )?;
    if reply.status == 503 {
        return Ok(Vec::new());
    }
    Ok(reply
        .ok("listing services")?
        .json()?
        .as_array()
        .into_iter()
        .flatten()
        .cloned()
        .collect())
}

/// A service name the swarm takes, which is also the name its tasks are found by on the
/// overlay network (a DNS label: at most 63 lowercase letters, digits and dashes): the
/// words of `parts` (an app, a process type: `_` and other characters become dashes),
/// shortened when too long, then `unique`.
pub fn swarm_name(parts: &[&str], unique: &str) -> String {
    let words: String = parts
        .join("-")
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() {
            true => c.to_ascii_lowercase(),
            false => '-',
        })
        .collect();
    let room = 63usize.saturating_sub(unique.len() + 1);
    let head: String = words.chars().take(room).collect();
    format!("{}-{unique}", head.trim_matches('-'))
}

/// A service's name, from its description.
pub fn service_name(service: &Value) -> String {
    service["Spec"]["Name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `scheduler-stop swarm APP [REMOVE]`: the app's services scale to nothing (and go,
/// with `true`).
pub fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-stop: expected SCHEDULER APP [REMOVE]");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let remove = args.get(2).is_some_and(|r| r == "true");
    let kind = if remove { None } else { Some("deploy") };
    for service in app_services(app, kind)?.iter().map(service_name) {
        if remove {
            remove_service(&service);
        } else {
            docker::docker()
                .args(["service", "scale", "--detach", &format!("{service}=0")])
                .output()?;
        }
    }
    if remove {
        for kind in services_in_place(ctx, app)?.keys() {
            dokku_core::fs::remove_file_if_exists(&service_file(ctx, app, kind))?;
        }
    }
    Ok(())
}

/// `scheduler-post-delete swarm APP TAG`: every service of the app goes.
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-post-delete: expected SCHEDULER APP");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    for service in app_services(app, Some("deploy"))?.iter().map(service_name) {
        remove_service(&service);
    }
    dokku_core::fs::remove_dir_all_if_exists(&ctx.roots.data_dir(crate::SETTINGS.namespace, app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_dns_labels_whatever_the_app_and_process_type() {
        assert_eq!(swarm_name(&["shop", "web"], "19a2b"), "shop-web-19a2b");
        assert_eq!(
            swarm_name(&["legacy_app", "Queue_Worker"], "1"),
            "legacy-app-queue-worker-1"
        );
        let long = "a".repeat(63);
        let name = swarm_name(&[&long, "web"], "19a2b3c4d5e");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("a-19a2b3c4d5e"), "{name}");
        let name = swarm_name(&[&"b".repeat(50), "web"], "19a2b3c4d5e");
        assert!(!name.contains("--"), "{name}");
        assert!(name.len() <= 63, "{name}");
    }
}
