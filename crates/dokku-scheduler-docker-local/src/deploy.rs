//! `scheduler-deploy docker-local APP TAG`: every process type of the app's scale gets its
//! containers started from the image and checked (`check-deploy`); only when all of them
//! are ready do they take the old containers' names, and the old ones retire in the
//! background. A container that fails its check fails the deploy: the new containers go,
//! the old keep serving.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use dokku_core::docker;
use dokku_core::docker::APP_LABEL;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::failed_logs::{FailedLogs, KEPT_LINES};
use dokku_core::formation::{
    DeployRequest, Dyno, Launcher, ZeroDowntime, check_deploy, deploy_request,
};
use dokku_core::log;

use crate::SCHEDULER;

fn deploy_labels(app: &str) -> Vec<String> {
    vec![
        format!("{APP_LABEL}={app}"),
        "com.dokku.container-type=deploy".to_string(),
    ]
}

/// A container this deploy started.
struct Started {
    kind: String,
    index: u32,
    id: String,
    ip: String,
    port: String,
}

/// `scheduler-deploy SCHEDULER APP TAG [PROC]`: every process type, or only PROC (whose
/// containers then are the only ones replaced).
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
    // A stop (the pusher went) is answered at the cutover: the containers this deploy
    // started go, or, once it switched, it completes.
    dokku_core::deploy_gate::hold_stop_requests();
    remove_leftovers(app)?;
    let failed_logs = FailedLogs::of(&ctx.roots, crate::PLUGIN.name, app);
    failed_logs.forget()?;
    let mut labels = deploy_labels(app);
    if let Some(kind) = only {
        labels.push(format!("com.dokku.process-type={kind}"));
    }
    let old: Vec<String> = docker::containers_labelled(&labels, true)?
        .iter()
        .filter_map(|c| c["Id"].as_str().map(String::from))
        .collect();
    let env = dokku_core::ask::app_config(ctx, app)?;
    let port = dokku_core::formation::web_port(ctx, app, &image)?;
    let checks = ZeroDowntime::of(ctx, app)?;
    let mut started: Vec<Started> = Vec::new();
    let result = start_all(
        ctx,
        app,
        tag,
        &image,
        &env,
        &port,
        &checks,
        only,
        &mut started,
    )
    .and_then(|()| dokku_core::deploy_gate::commit_deploy());
    if let Err(err) = result {
        let outputs: Vec<_> = started
            .iter()
            .map(|new| {
                let logs = docker::docker()
                    .args(["container", "logs", "--tail", KEPT_LINES])
                    .arg(&new.id);
                (format!("{}.{}", new.kind, new.index), logs)
            })
            .collect();
        failed_logs.keep(app, &outputs);
        for new in &started {
            let _ = docker::force_remove_container(&new.id);
        }
        return Err(err);
    }
    let switched_ms = dokku_core::time::now().as_millis() as u64;
    cut_over(ctx, app, &started, only)?;
    ctx.trigger("core-post-deploy")
        .args([app, "", "", tag])
        .stream()?;
    ctx.trigger("post-deploy")
        .args([app, "", "", tag])
        .stream()?;
    let retiring: Vec<String> = old
        .into_iter()
        .filter(|id| !started.iter().any(|s| s.id == *id))
        .collect();
    // A container scaled away still holds its name: it moves aside as it retires.
    for id in &retiring {
        if let Some(container) = docker::container_inspect(id)? {
            let name = container["Name"].as_str().unwrap_or_default();
            let dyno = container["Config"]["Labels"]["com.dokku.dyno"]
                .as_str()
                .unwrap_or_default();
            if name == format!("/{app}.{dyno}") {
                move_aside(id, &name[1..])?;
            }
        }
    }
    crate::retire::schedule(ctx, app, &retiring, checks.wait_to_retire, switched_ms)
}

/// Containers an interrupted deploy started and never put in place (deploys of an app
/// never overlap, so any found now are strays) are removed before a new deploy starts.
fn remove_leftovers(app: &str) -> Result<()> {
    for container in docker::containers_labelled(&deploy_labels(app), true)? {
        let upcoming = container["Names"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str())
            .any(|n| n.contains(".upcoming-"));
        if upcoming && let Some(id) = container["Id"].as_str() {
            docker::force_remove_container(id)?;
        }
    }
    Ok(())
}

/// What every container of a deploy shares.
struct Launch<'a> {
    ctx: &'a Ctx,
    app: &'a str,
    tag: &'a str,
    image: &'a str,
    env: &'a BTreeMap<String, String>,
    deploy_args: Vec<String>,
    init: bool,
    launcher: Launcher,
}

impl Launch<'_> {
    /// Starts and checks one container: the container (when it started) and the outcome.
    fn one(
        &self,
        kind: &str,
        index: u32,
        command: &str,
        port: &str,
    ) -> (Option<Started>, Result<()>) {
        let (app, dyno) = (self.app, format!("{kind}.{index}"));
        let lookup = |name: &str| match name {
            "PORT" => Some(port.to_string()),
            "DYNO" => Some(dyno.clone()),
            _ => self.env.get(name).cloned(),
        };
        let started = self
            .launcher
            .words(kind, command, lookup)
            .and_then(|words| {
                let process_args = dokku_core::formation::docker_args(
                    self.ctx,
                    "docker-args-process-deploy",
                    &[
                        app,
                        &self.launcher.builder,
                        self.tag,
                        kind,
                        &index.to_string(),
                    ],
                )?;
                self.run_container(kind, index, port, &process_args, &words)
            })
            .and_then(|id| Ok((container_ip(&id)?, id)));
        let (ip, id) = match started {
            Ok(pair) => pair,
            Err(err) => return (None, Err(err)),
        };
        let container = Started {
            kind: kind.to_string(),
            index,
            id: id.clone(),
            ip: ip.clone(),
            port: port.to_string(),
        };
        log::verbose(&format!("Attempting pre-flight checks ({dyno})"));
        let process = Dyno {
            app,
            container: &id,
            kind,
            port,
            ip: &ip,
            index: &index.to_string(),
        };
        if let Err(err) = check_deploy(self.ctx, &process, || show_output(app, &dyno, &id)) {
            return (Some(container), Err(err));
        }
        (Some(container), Ok(()))
    }

    fn run_container(
        &self,
        kind: &str,
        index: u32,
        port: &str,
        process_args: &[String],
        command: &[String],
    ) -> Result<String> {
        let (app, dyno) = (self.app, format!("{kind}.{index}"));
        let unique = dokku_core::time::now().subsec_nanos();
        let name = format!("{app}.{dyno}.upcoming-{unique}");
        let cmd = docker::docker()
            .args(["container", "create"])
            .args(self.init.then_some("--init"))
            .args(["--name", &name])
            .args(["--label", "dokku", "--label"])
            .arg(format!("{APP_LABEL}={app}"))
            .args(["--label", "com.dokku.container-type=deploy", "--label"])
            .arg(format!("com.dokku.process-type={kind}"))
            .arg("--label")
            .arg(format!("com.dokku.dyno={dyno}"));
        let mut all = self.env.clone();
        all.insert("DYNO".into(), dyno.clone());
        all.insert("PORT".into(), port.to_string());
        let (cmd, _env_file) = docker::pass_env(cmd, &all)?;
        let id = cmd
            .args(&self.deploy_args)
            .args(process_args)
            .arg(self.image)
            .args(command)
            .output()
            .with_context(|| format!("creating {dyno} of {app}"))?
            .stdout_trimmed();
        // Between create and start, plugins may prepare the container (the network
        // plugin joins it to the app's attach-post-create networks).
        let prepared = self
            .ctx
            .trigger("post-container-create")
            .args(["app", &id, app, "deploy", kind])
            .stdin(Vec::new())
            .stream()
            .and_then(|()| docker::start_container(&id))
            .with_context(|| format!("starting {dyno} of {app}"));
        if let Err(err) = prepared {
            let _ = docker::force_remove_container(&id);
            return Err(err);
        }
        Ok(id)
    }
}

/// How many containers of a process type start at once: app.json's
/// `formation.<type>.max_parallel` (`app-json-process-deploy-parallelism`), else the
/// `parallel-schedule-count` setting.
fn parallelism(ctx: &Ctx, app: &str, kind: &str) -> Result<usize> {
    let count = match dokku_core::formation::declared_parallelism(ctx, app, kind)? {
        Some(n) => n,
        None => crate::SETTINGS
            .computed(ctx, app, "parallel-schedule-count")?
            .parse()
            .unwrap_or(1),
    };
    Ok(count.clamp(1, 64))
}

#[allow(clippy::too_many_arguments)]
fn start_all(
    ctx: &Ctx,
    app: &str,
    tag: &str,
    image: &str,
    env: &BTreeMap<String, String>,
    port: &str,
    checks: &ZeroDowntime,
    only: Option<&str>,
    started: &mut Vec<Started>,
) -> Result<()> {
    let launch = Launch {
        ctx,
        app,
        tag,
        image,
        env,
        deploy_args: dokku_core::formation::docker_args(ctx, "docker-args-deploy", &[app, tag])?,
        init: crate::SETTINGS.computed(ctx, app, "init-process")? == "true",
        launcher: Launcher::of(ctx, app, image)?,
    };
    let publishes = docker::options::publishes(&launch.deploy_args);
    dokku_core::formation::deploy_each_type(ctx, app, only, |kind, count, command| {
        if publishes && count > 1 {
            log::warn(&format!(
                "Deploys may fail when publishing ports and scaling to multiple containers. \
                 Consider scaling process type {kind} to 1."
            ));
        } else if publishes && !checks.disabled_for(kind) {
            log::warn(&format!(
                "Deploys may fail when publishing ports and enabling zero downtime. \
                 Consider disabling zero downtime for process type {kind}."
            ));
        }
        if checks.disabled_for(kind) {
            log::verbose(&format!(
                "Zero downtime is disabled for {kind}: stopping its old containers first"
            ));
            stop_old(ctx, app, kind)?;
        }
        let port_value = if kind == "web" { port } else { "" };
        let indexes: Vec<u32> = (1..=count).collect();
        for batch in indexes.chunks(parallelism(ctx, app, kind)?) {
            let outcomes: Vec<(Option<Started>, Result<()>)> = std::thread::scope(|scope| {
                let runs: Vec<_> = batch
                    .iter()
                    .map(|&index| {
                        let launch = &launch;
                        scope.spawn(move || launch.one(kind, index, command, port_value))
                    })
                    .collect();
                runs.into_iter()
                    .map(|run| {
                        run.join().unwrap_or_else(|_| {
                            (None, Err(anyhow::anyhow!("starting a container failed")))
                        })
                    })
                    .collect()
            });
            let mut failure = None;
            for (container, outcome) in outcomes {
                started.extend(container);
                if let Err(err) = outcome {
                    failure.get_or_insert(err);
                }
            }
            if let Some(err) = failure {
                return Err(err);
            }
        }
        Ok(())
    })
}

/// The container's address (see [`docker::container_address`]).
fn container_ip(id: &str) -> Result<String> {
    let Some(container) = docker::container_inspect(id)? else {
        bail!("the container is gone");
    };
    Ok(docker::container_address(&container).unwrap_or_else(|| "127.0.0.1".to_string()))
}

/// Stops the app's containers of one process type (a deploy without zero downtime).
fn stop_old(ctx: &Ctx, app: &str, kind: &str) -> Result<()> {
    let timeout = crate::stop_timeout(ctx, app);
    let mut labels = deploy_labels(app);
    labels.push(format!("com.dokku.process-type={kind}"));
    for container in docker::containers_labelled(&labels, false)? {
        if let Some(id) = container["Id"].as_str() {
            docker::stop_container(id, timeout)?;
        }
    }
    Ok(())
}

fn show_output(app: &str, dyno: &str, id: &str) {
    log::info2(&format!("Start of {app} container output ({dyno})"));
    let _ = docker::docker()
        .args(["container", "logs", "--tail", "100", id])
        .stream_lines("       ");
    log::info2(&format!("End of {app} container output ({dyno})"));
}

/// The new containers take their final names (an old one holding a name is renamed out of
/// the way first), and the app's `CONTAINER/IP/PORT.<type>.<n>` files follow.
fn cut_over(ctx: &Ctx, app: &str, started: &[Started], only: Option<&str>) -> Result<()> {
    log::info1("Renaming containers");
    let app_dir = ctx.roots.app_dir(app);
    for new in started {
        let name = format!("{app}.{}.{}", new.kind, new.index);
        if let Some(existing) = docker::container_inspect(&name)? {
            move_aside(existing["Id"].as_str().unwrap_or(&name), &name)?;
        }
        docker::rename_container(&new.id, &name)?;
        log::verbose(&format!(
            "Renaming container {} to {name}",
            &new.id[..new.id.len().min(12)]
        ));
        let dyno = format!("{}.{}", new.kind, new.index);
        for (file, value) in [("CONTAINER", &new.id), ("IP", &new.ip), ("PORT", &new.port)] {
            dokku_core::fs::write_atomic(
                &app_dir.join(format!("{file}.{dyno}")),
                value.as_bytes(),
                0o644,
            )?;
        }
    }
    remove_stale_files(&app_dir, started, only)
}

/// Renames a container out of its dyno's name (`<name>.<time>-<id>`: unique even for two
/// deploys within a second), so that only containers in place carry dyno names.
fn move_aside(id: &str, name: &str) -> Result<()> {
    let stamp = dokku_core::time::now().as_secs();
    let short = &id[..id.len().min(12)];
    docker::rename_container(id, &format!("{name}.{stamp}-{short}"))
}

/// Drops the files of dynos this deploy did not start (scaled down or gone), of one
/// process type when the deploy was of that type only.
fn remove_stale_files(app_dir: &Path, started: &[Started], only: Option<&str>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(app_dir) else {
        return Ok(());
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(dyno) = ["CONTAINER.", "IP.", "PORT."]
            .iter()
            .find_map(|prefix| name.strip_prefix(prefix))
        else {
            continue;
        };
        let in_scope = only.is_none_or(|kind| dyno.starts_with(&format!("{kind}.")));
        if in_scope
            && !started
                .iter()
                .any(|s| format!("{}.{}", s.kind, s.index) == dyno)
        {
            dokku_core::fs::remove_file_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// `scheduler-uses-host-cron SCHEDULER`: this scheduler's apps run their scheduled tasks
/// from the host's cron.
pub fn uses_host_cron(_ctx: &Ctx, args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) == Some(SCHEDULER) {
        log::data("true");
    }
    Ok(())
}

/// `scheduler-is-deployed SCHEDULER APP`: a container of the app in place is running (one
/// retiring does not count). For another scheduler's app this plugin has nothing to say
/// (success), as in Dokku.
pub fn is_deployed(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-is-deployed", args)?;
    if scheduler == SCHEDULER
        && !containers_in_place(app)?
            .iter()
            .any(|c| c["State"].as_str() == Some("running"))
    {
        return Err(dokku_core::Error::Exit(1).into());
    }
    Ok(())
}

/// The app's containers in place, running or not: each carries its dyno's name (those
/// retiring and the strays of a deploy do not).
pub fn containers_in_place(app: &str) -> Result<Vec<serde_json::Value>> {
    Ok(docker::containers_labelled(&deploy_labels(app), true)?
        .into_iter()
        .filter(|c| {
            let dyno = c["Labels"]["com.dokku.dyno"].as_str().unwrap_or_default();
            let name = format!("/{app}.{dyno}");
            c["Names"]
                .as_array()
                .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(&name)))
        })
        .collect())
}

/// `scheduler-app-containers SCHEDULER APP`: one `<type>.<n> <container id> <ip> <port>`
/// line per container in place (the port is empty for processes other than web), for the
/// proxy and commands that reach the app's containers (`checks:run`). Addresses are the
/// engine's, read now: a container that restarted (the engine did) has a new one, and a
/// container that is not running, or not this app's, has none, so no upstream ever
/// points at an address another container may hold. The `IP.<dyno>` files follow.
pub fn app_containers(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-app-containers", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let dir = ctx.roots.app_dir(app);
    let mut dynos: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some(name.strip_prefix("CONTAINER.")?.to_string())
        })
        .collect();
    dynos.sort();
    let read = |file: &str, dyno: &str| -> Result<String> {
        Ok(
            dokku_core::fs::read_optional(&dir.join(format!("{file}.{dyno}")))?
                .unwrap_or_default()
                .trim()
                .to_string(),
        )
    };
    let ids: Vec<String> = dynos
        .iter()
        .map(|dyno| read("CONTAINER", dyno))
        .collect::<Result<_>>()?;
    let live = live_addresses(app, &ids)?;
    for (dyno, id) in dynos.iter().zip(&ids) {
        let ip = live.get(id).cloned().unwrap_or_default();
        let port = read("PORT", dyno)?;
        if !ip.is_empty() && read("IP", dyno)? != ip {
            dokku_core::fs::write_atomic(&dir.join(format!("IP.{dyno}")), ip.as_bytes(), 0o644)?;
        }
        log::data(format!("{dyno} {id} {ip} {port}").trim_end());
    }
    Ok(())
}

/// The address of each of `ids` that is a running container of `app`, as the engine has
/// it now (through its socket: a millisecond each).
fn live_addresses(app: &str, ids: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    let mut live = std::collections::BTreeMap::new();
    for id in ids.iter().filter(|id| !id.is_empty()) {
        let Some(container) = docker::container_inspect(id)? else {
            continue;
        };
        let own = container["Config"]["Labels"][APP_LABEL].as_str() == Some(app);
        let running = container["State"]["Running"].as_bool() == Some(true);
        if !(own && running) {
            continue;
        }
        if let Some(ip) = docker::container_address(&container) {
            live.insert(id.clone(), ip);
        }
    }
    Ok(live)
}

/// `scheduler-app-status SCHEDULER APP`: `<containers> <true|false|mixed>` (are the
/// app's containers in place running).
pub fn app_status(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-app-status", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let containers = containers_in_place(app)?;
    let running = containers
        .iter()
        .filter(|c| c["State"].as_str() == Some("running"))
        .count();
    let state = match running {
        0 => "false",
        n if n == containers.len() => "true",
        _ => "mixed",
    };
    log::data(&format!("{} {state}", containers.len()));
    Ok(())
}

/// `scheduler-inspect SCHEDULER APP`: `docker container inspect` of the app's containers in
/// place, with the values of the app's config hidden from their environment.
pub fn inspect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app] = exactly::<2>("scheduler-inspect", args)?;
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let config = dokku_core::ask::app_config(ctx, app)?;
    let mut described = Vec::new();
    for container in containers_in_place(app)? {
        let Some(id) = container["Id"].as_str() else {
            continue;
        };
        let Some(mut full) = docker::container_inspect(id)? else {
            continue;
        };
        if let Some(env) = full["Config"]["Env"].as_array_mut() {
            for entry in env.iter_mut() {
                let key = entry
                    .as_str()
                    .and_then(|e| e.split_once('='))
                    .map(|(k, _)| k.to_string());
                if let Some(key) = key.filter(|k| config.contains_key(k)) {
                    *entry = serde_json::Value::String(format!("{key}=<hidden>"));
                }
            }
        }
        described.push(full);
    }
    log::data(&serde_json::to_string_pretty(&described)?);
    Ok(())
}

/// `scheduler-stop SCHEDULER APP [REMOVE]`: the app's containers stop (and go, with
/// `true`).
pub fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-stop: expected SCHEDULER APP [REMOVE]");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    let remove = args.get(2).is_some_and(|r| r == "true");
    let label = [format!("{APP_LABEL}={app}")];
    let timeout = crate::stop_timeout(ctx, app);
    for container in docker::containers_labelled(&label, true)? {
        let Some(id) = container["Id"].as_str() else {
            continue;
        };
        if remove {
            docker::force_remove_container(id)?;
        } else {
            docker::stop_container(id, timeout)?;
        }
    }
    Ok(())
}

/// `scheduler-post-delete docker-local APP`: the output a failed deploy of the app kept
/// goes with it.
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-post-delete: expected SCHEDULER APP");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    FailedLogs::of(&ctx.roots, crate::PLUGIN.name, app).forget()
}
