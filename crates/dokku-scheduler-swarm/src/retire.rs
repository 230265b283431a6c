//! Old services retire after a deploy: they keep serving for `wait-to-retire` seconds,
//! then go (Swarm stops their tasks: SIGTERM, then SIGKILL after the stop grace period).
//! The queue is `data/scheduler-swarm/<app>/retire`, one `<service> <unix time due>` line
//! each; `scheduler-retire swarm APP` removes what is due, and the deploy starts it in the
//! background with `--wait` to go on until the queue is empty.

use std::time::Duration;

use anyhow::Result;
use dokku_core::cmd::Cmd;
use dokku_core::entry::Ctx;
use dokku_core::fs::FileLock;
use dokku_core::log;

use crate::SCHEDULER;

fn now() -> u64 {
    dokku_core::time::now().as_secs()
}

fn dir(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(crate::SETTINGS.namespace, app)
}

pub fn read_queue(ctx: &Ctx, app: &str) -> Result<Vec<(String, u64)>> {
    let text = dokku_core::fs::read_optional(&dir(ctx, app).join("retire"))?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let (service, due) = line.split_once(' ')?;
            Some((service.to_string(), due.parse().ok()?))
        })
        .collect())
}

fn write_queue(ctx: &Ctx, app: &str, queue: &[(String, u64)]) -> Result<()> {
    let text: String = queue
        .iter()
        .map(|(service, due)| format!("{service} {due}\n"))
        .collect();
    dokku_core::fs::write_atomic(&dir(ctx, app).join("retire"), text.as_bytes(), 0o600)
}

fn lock(ctx: &Ctx, app: &str) -> Result<FileLock> {
    let dir = dir(ctx, app);
    std::fs::create_dir_all(&dir)?;
    FileLock::wait(&dir.join(".retire.lock"))
}

/// Queues the services a deploy replaced to go in `wait` seconds, says so, and starts
/// the worker that removes them.
pub fn schedule(ctx: &Ctx, app: &str, services: &[String], wait: u64) -> Result<()> {
    if services.is_empty() {
        return Ok(());
    }
    log::info1(&format!("Shutting down old services in {wait} seconds"));
    queue(ctx, app, services, wait)
}

/// Queues services (a deploy's old ones, a one-off job) to be removed in `wait` seconds,
/// and starts the worker that removes them.
pub fn queue(ctx: &Ctx, app: &str, services: &[String], wait: u64) -> Result<()> {
    {
        let _lock = lock(ctx, app)?;
        let mut queue = read_queue(ctx, app)?;
        for service in services {
            if !queue.iter().any(|(s, _)| s == service) {
                queue.push((service.clone(), now() + wait));
            }
        }
        write_queue(ctx, app, &queue)?;
    }
    let worker = ctx
        .roots
        .plugin_enabled()
        .join(crate::SETTINGS.namespace)
        .join("scheduler-retire");
    Cmd::new(worker)
        .args([SCHEDULER, app, "--wait"])
        .env_remove(dokku_core::env::DOKKU_DEPLOY_LOCKED)
        .spawn_detached()
}

/// Removes the app's services that are due; when the next of the others is due.
fn retire_due(ctx: &Ctx, app: &str) -> Result<Option<u64>> {
    let _lock = lock(ctx, app)?;
    let (due, later): (Vec<_>, Vec<_>) = read_queue(ctx, app)?
        .into_iter()
        .partition(|(_, due)| *due <= now());
    for (service, _) in &due {
        crate::deploy::remove_service(service);
    }
    write_queue(ctx, app, &later)?;
    Ok(later.iter().map(|(_, due)| *due).min())
}

/// `scheduler-retire swarm APP [--wait]`.
pub fn retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    if args.first().map(String::as_str) != Some(SCHEDULER) {
        return Ok(());
    }
    let Some(app) = args.get(1).filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let wait = args.get(2).is_some_and(|a| a == "--wait");
    loop {
        let Some(at) = retire_due(ctx, app)? else {
            return Ok(());
        };
        if !wait {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(at.saturating_sub(now()).clamp(1, 60)));
    }
}
