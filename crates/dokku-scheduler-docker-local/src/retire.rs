//! Old containers retire after a deploy: they keep serving for `wait-to-retire` seconds
//! (requests in flight finish), then stop and go. The queue is
//! `data/scheduler-docker-local/<app>/retire`, one `<container id> <unix time due>` line
//! each; `scheduler-retire` empties what is due, started in the background by the deploy
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
/// How long a stopping container has to exit on SIGTERM before it is killed.
const STOP_SECONDS: u32 = 10;

fn now() -> u64 {
    dokku_core::time::now().as_secs()
}

fn queue_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(PLUGIN, app).join("retire")
}

fn read_queue(ctx: &Ctx, app: &str) -> Result<Vec<(String, u64)>> {
    let text = dokku_core::fs::read_optional(&queue_path(ctx, app))?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let (id, due) = line.split_once(' ')?;
            Some((id.to_string(), due.parse().ok()?))
        })
        .collect())
}

fn write_queue(ctx: &Ctx, app: &str, entries: &[(String, u64)]) -> Result<()> {
    let text: String = entries
        .iter()
        .map(|(id, due)| format!("{id} {due}\n"))
        .collect();
    dokku_core::fs::write_atomic(&queue_path(ctx, app), text.as_bytes(), 0o600)
}

fn lock(ctx: &Ctx, app: &str) -> Result<FileLock> {
    let dir = ctx.roots.data_dir(PLUGIN, app);
    std::fs::create_dir_all(&dir)?;
    FileLock::wait(&dir.join(".retire.lock"))
}

/// Queues `ids` to retire in `wait` seconds and starts the worker that will do it.
pub fn schedule(ctx: &Ctx, app: &str, ids: &[String], wait: u64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    {
        let _lock = lock(ctx, app)?;
        let mut queue = read_queue(ctx, app)?;
        for id in ids {
            if !queue.iter().any(|(queued, _)| queued == id) {
                queue.push((id.clone(), now() + wait));
            }
        }
        write_queue(ctx, app, &queue)?;
    }
    log::info1(&format!("Shutting down old containers in {wait} seconds"));
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
            let (due, later): (Vec<_>, Vec<_>) = read_queue(ctx, app)?
                .into_iter()
                .partition(|(_, at)| *at <= now());
            for (id, _) in &due {
                let _ = docker::stop_container(id, STOP_SECONDS);
                let _ = docker::force_remove_container(id);
            }
            write_queue(ctx, app, &later)?;
            later.iter().map(|(_, at)| *at).min()
        };
        let Some(at) = next_due else {
            return Ok(());
        };
        std::thread::sleep(Duration::from_secs(at.saturating_sub(now()).max(1)));
    }
}
