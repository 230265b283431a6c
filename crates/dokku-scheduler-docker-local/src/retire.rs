//! Old containers retire after a deploy: once nginx no longer has requests in flight to
//! them (every worker of the configuration of before has exited) they are told to shut
//! down (SIGTERM, as Dokku sends at the switch: an app can drain and flush), and after
//! `wait-to-retire` seconds they stop and go. The queue is
//! `data/scheduler-docker-local/<app>/retire`, one `<container> <unix time due> <unix time
//! queued>` line each; `scheduler-retire` empties what is due, started in the background by the deploy
//! (which never waits for it) and safe to run again at any time.

use std::time::Duration;

use anyhow::{Result, bail};
use dokku_core::cmd::Cmd;
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::fs::FileLock;
use dokku_core::log;

use crate::SCHEDULER;

const PLUGIN: &str = "scheduler-docker-local";

fn now() -> u64 {
    dokku_core::time::now().as_secs()
}

fn queue_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(PLUGIN, app).join("retire")
}

/// A queued container: its id or name, when it is due, when it was queued.
struct Entry {
    id: String,
    due: u64,
    queued: u64,
}

fn read_queue(ctx: &Ctx, app: &str) -> Result<Vec<Entry>> {
    let text = dokku_core::fs::read_optional(&queue_path(ctx, app))?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut words = line.split(' ');
            let id = words.next()?.to_string();
            let due = words.next()?.parse().ok()?;
            let queued = words.next().and_then(|q| q.parse().ok()).unwrap_or(0);
            Some(Entry { id, due, queued })
        })
        .collect())
}

fn write_queue(ctx: &Ctx, app: &str, entries: &[Entry]) -> Result<()> {
    let text: String = entries
        .iter()
        .map(|e| format!("{} {} {}\n", e.id, e.due, e.queued))
        .collect();
    dokku_core::fs::write_atomic(&queue_path(ctx, app), text.as_bytes(), 0o600)
}

fn lock(ctx: &Ctx, app: &str) -> Result<FileLock> {
    let dir = ctx.roots.data_dir(PLUGIN, app);
    std::fs::create_dir_all(&dir)?;
    FileLock::wait(&dir.join(".retire.lock"))
}

/// The worker's flag before the switch time and the ids it signals once drained.
const TERM_ONCE_DRAINED: &str = "--term-once-drained";

/// Queues `ids` (containers replaced by a deploy whose traffic switched at `switched_ms`,
/// milliseconds since the epoch) to retire in `wait` seconds, says so, and starts the
/// worker that signals them once drained and retires them when due.
pub fn schedule(ctx: &Ctx, app: &str, ids: &[String], wait: u64, switched_ms: u64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    log::info1(&format!("Shutting down old containers in {wait} seconds"));
    queue_and_start(ctx, app, ids, wait, Some(switched_ms))
}

/// Queues containers (ids or names) to be stopped and removed in `wait` seconds, unless
/// they are gone by then, and starts the worker that will do it.
pub fn queue(ctx: &Ctx, app: &str, ids: &[String], wait: u64) -> Result<()> {
    queue_and_start(ctx, app, ids, wait, None)
}

fn queue_and_start(
    ctx: &Ctx,
    app: &str,
    ids: &[String],
    wait: u64,
    switched_ms: Option<u64>,
) -> Result<()> {
    {
        let _lock = lock(ctx, app)?;
        let mut queue = read_queue(ctx, app)?;
        for id in ids {
            if !queue.iter().any(|e| e.id == *id) {
                queue.push(Entry {
                    id: id.clone(),
                    due: now() + wait,
                    queued: now(),
                });
            }
        }
        write_queue(ctx, app, &queue)?;
    }
    let worker = ctx
        .roots
        .plugin_enabled()
        .join(PLUGIN)
        .join("scheduler-retire");
    let mut worker = Cmd::new(worker).args([SCHEDULER, app, "--wait"]);
    // Due at once, they stop at once: there is nothing to signal before.
    if let Some(switched_ms) = switched_ms.filter(|_| wait > 0) {
        worker = worker
            .args([TERM_ONCE_DRAINED, &switched_ms.to_string()])
            .args(ids);
    }
    worker
        .env_remove(dokku_core::env::DOKKU_DEPLOY_LOCKED)
        .spawn_detached()
}

/// How long the worker sleeps at most between looks at its queue: entries whose container
/// has gone meanwhile (a one-off run that ended) leave it, and a worker with nothing left
/// to wait for exits.
const LOOK_EVERY: u64 = 60;

/// `scheduler-retire SCHEDULER [APP] [--wait [--term-once-drained SWITCHED_MS ID...]]`:
/// stops and removes the queued containers that are due, of the app or of every app; with
/// `--wait` (the worker a deploy starts), goes on until the last of the app's has gone,
/// first signalling the given containers to shut down once the proxy has drained them.
pub fn retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(scheduler) = args.first() else {
        bail!("scheduler-retire: expected SCHEDULER [APP] [--wait]");
    };
    if scheduler != SCHEDULER && !scheduler.is_empty() {
        return Ok(());
    }
    let app = args.get(1).map(String::as_str).unwrap_or_default();
    if args.get(2).map(String::as_str) != Some("--wait") {
        let apps = if app.is_empty() {
            queued_apps(ctx)
        } else {
            vec![app.to_string()]
        };
        for app in apps {
            retire_due(ctx, &app)?;
        }
        return Ok(());
    }
    if let Some([flag, switched_ms, ids @ ..]) = args.get(3..)
        && flag == TERM_ONCE_DRAINED
    {
        term_once_drained(ctx, app, switched_ms, ids)?;
    }
    loop {
        let Some(at) = retire_due(ctx, app)? else {
            return Ok(());
        };
        let wait = at.saturating_sub(now()).clamp(1, LOOK_EVERY);
        std::thread::sleep(Duration::from_secs(wait));
    }
}

/// Waits (until the first of them is due at most) for the proxy to finish the requests it
/// sent before the switch, then tells the containers still queued to shut down: an app
/// that drains on SIGTERM gets its whole `wait-to-retire`, and no request in flight to it
/// is cut short by one that exits at once.
fn term_once_drained(ctx: &Ctx, app: &str, switched_ms: &str, ids: &[String]) -> Result<()> {
    let first_due = {
        let _lock = lock(ctx, app)?;
        read_queue(ctx, app)?
            .iter()
            .filter(|e| ids.contains(&e.id))
            .map(|e| e.due)
            .min()
    };
    let Some(first_due) = first_due else {
        return Ok(());
    };
    let seconds = first_due.saturating_sub(now()).to_string();
    ctx.trigger("proxy-wait-drained")
        .args([app, switched_ms, &seconds])
        .stream()?;
    let _lock = lock(ctx, app)?;
    let queued = read_queue(ctx, app)?;
    for id in ids.iter().filter(|id| queued.iter().any(|e| e.id == **id)) {
        let _ = docker::signal_stop(id);
    }
    Ok(())
}

/// The apps with a retire queue.
fn queued_apps(ctx: &Ctx) -> Vec<String> {
    let root = ctx.roots.data_dir(PLUGIN, "");
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("retire").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Retires the app's containers that are due; when the next of the others is due.
fn retire_due(ctx: &Ctx, app: &str) -> Result<Option<u64>> {
    let _lock = lock(ctx, app)?;
    // A container gone for good leaves the queue (one queued a moment before it was
    // created is given a minute to appear).
    let exists = |e: &Entry| {
        now() < e.queued + LOOK_EVERY
            || docker::container_inspect(&e.id).map_or(true, |c| c.is_some())
    };
    let (due, later): (Vec<_>, Vec<_>) = read_queue(ctx, app)?
        .into_iter()
        .filter(exists)
        .partition(|e| e.due <= now());
    let timeout = crate::stop_timeout(ctx, app);
    for entry in &due {
        let _ = docker::stop_container(&entry.id, timeout);
        let _ = docker::force_remove_container(&entry.id);
    }
    write_queue(ctx, app, &later)?;
    Ok(later.iter().map(|e| e.due).min())
}

/// `scheduler-run-retire [SCHEDULER APP]`: stops and removes the one-off and cron
/// containers (of the app, or of every app) that have run longer than the deadline on
/// their label, whether or not a retire queue still knows them.
pub fn run_retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    let scheduler = args.first().map(String::as_str).unwrap_or_default();
    if scheduler != SCHEDULER && !scheduler.is_empty() {
        return Ok(());
    }
    let app = args.get(1).map(String::as_str).unwrap_or_default();
    for kind in ["run", "cron"] {
        let mut labels = vec![format!("{}={kind}", docker::CONTAINER_TYPE_LABEL)];
        if !app.is_empty() {
            labels.push(format!("{}={app}", docker::APP_LABEL));
        }
        for container in docker::containers_labelled(&labels, false)? {
            let deadline = container["Labels"][dokku_core::formation::DEADLINE_LABEL]
                .as_str()
                .and_then(|d| d.parse::<u64>().ok());
            let created = container["Created"].as_u64().unwrap_or(0);
            let (Some(deadline), Some(id)) = (deadline, container["Id"].as_str()) else {
                continue;
            };
            if created + deadline >= now() {
                continue;
            }
            let owner = container["Labels"][docker::APP_LABEL]
                .as_str()
                .unwrap_or_default();
            log::verbose_quiet(&format!("Retiring container {}", &id[..12.min(id.len())]));
            let _ = docker::stop_container(id, crate::stop_timeout(ctx, owner));
            let _ = docker::force_remove_container(id);
        }
    }
    Ok(())
}
