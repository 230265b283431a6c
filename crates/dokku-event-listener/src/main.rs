//! `dokku-event-listener`: keeps every app's routing on its containers as the engine has
//! them. A container that starts again (its restart policy, an engine restart) gets a new
//! address, and the address it had may go to another app's container; the proxy config
//! written at deploy time would then send one app's traffic to another. This service
//! watches the engine's container events for apps' deployed containers (`start`, `die`) and has
//! the app's proxy config built again (`dokku proxy:build-config APP`, which reads the
//! live addresses), and builds every app's again whenever it (re)connects to the engine,
//! since events during an outage are lost.
//!
//! On a swarm's manager it also follows the tasks of the apps' services, wherever they
//! run (the engine reports no events of containers on other hosts): every few seconds
//! it reads the tasks meant to run and the nodes' states, and an app whose tasks moved
//! (a node went down and Swarm started them elsewhere) has its config built again.
//!
//! One runs per host: a second exits at once. install.sh starts it, and where no init
//! system restarts it a cron line starts it every minute (a no-op while one runs). Root
//! starting it hands it to the dokku user first.

use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;
use dokku_core::cmd::Cmd;
use dokku_core::env::Roots;
use dokku_core::log;

/// Events of one burst (a deploy's containers, an engine starting every container) are
/// gathered this long and each app's config built once.
const SETTLE: Duration = Duration::from_millis(300);
/// How long to wait before asking an engine that is not answering again.
const RETRY: Duration = Duration::from_secs(2);

fn main() {
    dokku_core::entry::exit(run().map(|()| 0))
}

fn run() -> Result<()> {
    let roots = Roots::from_env();
    dokku_core::privilege::drop_to_system_user(&roots)?;
    let dir = roots.lib_root.join("data/event-listener");
    std::fs::create_dir_all(&dir)?;
    let Some(_running) = dokku_core::fs::FileLock::try_exclusive(&dir.join(".lock"))? else {
        log::verbose("an event listener already runs on this host");
        return Ok(());
    };
    let (send, receive) = mpsc::channel::<Changed>();
    let tasks = send.clone();
    std::thread::spawn(move || follow_swarm_tasks(&tasks));
    loop {
        if engine_answers() {
            log::info1("Connected to the docker engine: building every app's routing again");
            build_config(&["--all"]);
            if let Err(err) = follow_events(&send, &receive) {
                log::warn(&format!("docker events: {err:#}"));
            }
        }
        std::thread::sleep(RETRY);
    }
}

/// What the listener hears from its watchers.
enum Changed {
    /// The app's containers or tasks changed.
    App(String),
    /// The engine's event stream ended.
    EventsEnded,
}

/// How often the swarm's tasks are read.
const SWARM_POLL: Duration = Duration::from_secs(3);

/// Every [`SWARM_POLL`], while this engine manages a swarm: which of each app's deployed
/// tasks run where, and on which nodes that are up; an app whose answer changed is sent.
fn follow_swarm_tasks(send: &mpsc::Sender<Changed>) {
    let mut known: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    loop {
        if let Ok(now) = swarm_tasks() {
            for (app, tasks) in &now {
                if known.get(app) != Some(tasks) && known.contains_key(app) {
                    let _ = send.send(Changed::App(app.clone()));
                }
            }
            for app in known.keys().filter(|app| !now.contains_key(*app)) {
                let _ = send.send(Changed::App(app.clone()));
            }
            known = now;
        }
        std::thread::sleep(SWARM_POLL);
    }
}

/// Each app's running deployed tasks (`id node node-state port...`, sorted), when this
/// engine manages a swarm.
fn swarm_tasks() -> Result<std::collections::BTreeMap<String, Vec<String>>> {
    use dokku_core::docker::engine;
    let mut apps: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let nodes = engine::request("GET", "/nodes")?;
    if nodes.status != 200 {
        return Ok(apps);
    }
    let node_state: std::collections::BTreeMap<String, String> = nodes
        .json()?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            Some((
                n["ID"].as_str()?.to_string(),
                n["Status"]["State"].as_str()?.to_string(),
            ))
        })
        .collect();
    let filters = serde_json::json!({"desired-state": ["running"]}).to_string();
    let tasks = engine::request(
        "GET",
        &format!("/tasks?filters={}", engine::encode(&filters)),
    )?
    .ok("listing the swarm's tasks")?
    .json()?;
    for task in tasks.as_array().into_iter().flatten() {
        let labels = &task["Spec"]["ContainerSpec"]["Labels"];
        if labels["com.dokku.container-type"].as_str() != Some("deploy") {
            continue;
        }
        let Some(app) = labels["com.dokku.app-name"].as_str() else {
            continue;
        };
        let node = task["NodeID"].as_str().unwrap_or_default();
        let ports: Vec<String> = task["Status"]["PortStatus"]["Ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["PublishedPort"].as_u64().map(|p| p.to_string()))
            .collect();
        apps.entry(app.to_string()).or_default().push(format!(
            "{} {} {} {} {}",
            task["ID"].as_str().unwrap_or_default(),
            task["Status"]["State"].as_str().unwrap_or_default(),
            node,
            node_state.get(node).map_or("", String::as_str),
            ports.join(",")
        ));
    }
    for tasks in apps.values_mut() {
        tasks.sort();
    }
    Ok(apps)
}

fn engine_answers() -> bool {
    dokku_core::docker::docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok()
}

/// Follows the engine's events until the stream ends (the engine stopped), building the
/// config of each app whose containers started or died (or whose tasks moved).
fn follow_events(send: &mpsc::Sender<Changed>, receive: &mpsc::Receiver<Changed>) -> Result<()> {
    let reader = dokku_core::docker::docker()
        .args(["events", "--filter", "type=container"])
        .args(["--filter", "event=start", "--filter", "event=die"])
        .args(["--filter", "label=com.dokku.app-name"])
        // Only the containers a deploy puts in place are routed to: one-off, cron and task
        // containers come and go without concerning the proxy.
        .args(["--filter", "label=com.dokku.container-type=deploy"])
        .args([
            "--format",
            "{{index .Actor.Attributes \"com.dokku.app-name\"}}",
        ])
        .reader()?;
    let events = send.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if events.send(Changed::App(line)).is_err() {
                break;
            }
        }
        let _ = events.send(Changed::EventsEnded);
    });
    while let Ok(Changed::App(first)) = receive.recv() {
        let mut apps = vec![first];
        let mut ended = false;
        while let Ok(more) = receive.recv_timeout(SETTLE) {
            match more {
                Changed::App(app) => apps.push(app),
                Changed::EventsEnded => {
                    ended = true;
                    break;
                }
            }
        }
        apps.sort();
        apps.dedup();
        for app in apps {
            if dokku_core::app::AppName::parse(&app).is_ok() {
                build_config(&[&app]);
            }
        }
        if ended {
            break;
        }
    }
    Ok(())
}

/// `dokku proxy:build-config ARGS`; a failure is logged, never the end of the service.
fn build_config(args: &[&str]) {
    let out = Cmd::new(dokku_core::env::dokku_bin())
        .arg("proxy:build-config")
        .args(args)
        .output_unchecked();
    match out {
        Ok(out) if out.code == 0 => {
            log::verbose(&format!("Built the routing of {}", args.join(" ")))
        }
        Ok(out) => log::warn(&format!(
            "proxy:build-config {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(err) => log::warn(&format!("proxy:build-config {}: {err:#}", args.join(" "))),
    }
}
