//! Old containers retire after a deploy: they keep serving for `wait-to-retire` seconds
//! (requests in flight finish), then stop and go. The queue is
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

/// Queues `ids` (containers replaced by a deploy) to retire in `wait` seconds, says so,
/// and starts the worker that will do it.
pub fn schedule(ctx: &Ctx, app: &str, ids: &[String], wait: u64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    log::info1(&format!("Shutting down old containers in {wait} seconds"));
    queue(ctx, app, ids, wait)
}

/// Queues containers (ids or names) to be stopped and removed in `wait` seconds, unless
/// they are gone by then, and starts the worker that will do it.
pub fn queue(ctx: &Ctx, app: &str, ids: &[String], wait: u64) -> Result<()> {
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
    Cmd::new(worker)
        .args([SCHEDULER, app])
        .env_remove(dokku_core::env::DOKKU_DEPLOY_LOCKED)
        .spawn_detached()
}

/// How long the worker sleeps at most between looks at its queue: entries whose container
/// has gone meanwhile (a one-off run that ended) leave it, and a worker with nothing left
/// to wait for exits.
const LOOK_EVERY: u64 = 60;

/// `scheduler-retire SCHEDULER APP`: stops and removes the app's queued containers as they
/// fall due, waiting for the last of them.
pub fn retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(scheduler), Some(app)) = (args.first(), args.get(1)) else {
        bail!("scheduler-retire: expected SCHEDULER APP");
    };
    if scheduler != SCHEDULER {
        return Ok(());
    }
    loop {
        let next_due = {
            let _lock = lock(ctx, app)?;
            // A container gone for good leaves the queue (one queued a moment before it
            // was created is given a minute to appear).
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
            later.iter().map(|e| e.due).min()
        };
        let Some(at) = next_due else {
            return Ok(());
        };
        let wait = at.saturating_sub(now()).clamp(1, LOOK_EVERY);
        std::thread::sleep(Duration::from_secs(wait));
    }
}
