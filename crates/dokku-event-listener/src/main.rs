//! `dokku-event-listener`: keeps every app's routing on its containers as the engine has
//! them. A container that starts again (its restart policy, an engine restart) gets a new
//! address, and the address it had may go to another app's container; the proxy config
//! written at deploy time would then send one app's traffic to another. This service
//! watches the engine's container events for apps' deployed containers (`start`, `die`) and has
//! the app's proxy config built again (`dokku proxy:build-config APP`, which reads the
//! live addresses), and builds every app's again whenever it (re)connects to the engine,
//! since events during an outage are lost.
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
    loop {
        if engine_answers() {
            log::info1("Connected to the docker engine: building every app's routing again");
            build_config(&["--all"]);
            if let Err(err) = follow_events() {
                log::warn(&format!("docker events: {err:#}"));
            }
        }
        std::thread::sleep(RETRY);
    }
}

fn engine_answers() -> bool {
    dokku_core::docker::docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok()
}

/// Follows the engine's events until the stream ends (the engine stopped), building the
/// config of each app whose containers started or died.
fn follow_events() -> Result<()> {
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
    let (send, receive) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    while let Ok(first) = receive.recv() {
        let mut apps = vec![first];
        while let Ok(more) = receive.recv_timeout(SETTLE) {
            apps.push(more);
        }
        apps.sort();
        apps.dedup();
        for app in apps {
            if dokku_core::app::AppName::parse(&app).is_ok() {
                build_config(&[&app]);
            }
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
