//! `cargo run --release -p dokku-bench --bin dokku-bench-swarm [-- --redeploys N]`: the same
//! small web app (busybox httpd, three web processes) deployed twice in one run, once with
//! docker-local on this host's engine and once with the swarm scheduler on a three-node
//! swarm of engines on this machine (`tests/swarm-rig`), each behind a private nginx on
//! 127.0.0.1.
//! For each: a bounded load (8 connections through nginx, stopping by itself after the
//! deploys or at 200,000 requests or 5 minutes) while N redeploys (default 10, each a push of
//! a changed page) and then a rollback run; prints the requests sent and failed, and the
//! median redeploy time from `git push` to serving. Target: swarm/docker-local ≤ 2, and no
//! failed request.
//!
//! Needs root (the rig makes network namespaces), a running docker engine, and the base
//! image (tests/base-image).
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_bench::{AppImages, BenchHost, PrivateNginx, git, median_of, profile};
use dokku_test_support::SwarmRig;

const CONNECTIONS: usize = 8;
const MAX_REQUESTS: u64 = 200_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(300);
const RATIO_TARGET: f64 = 2.0;
const APP_IMAGE: &str = "dokku-rs/busybox:1.35";
/// The app's web processes, the same under both schedulers.
const WEB: u32 = 3;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The benchmark's app, committed in `work`: busybox's httpd serving `index.html`.
fn make_app(work: &Path) -> Result<()> {
    std::fs::create_dir_all(work)?;
    for (file, text) in [
        (
            "Dockerfile",
            format!("FROM {APP_IMAGE}\nCOPY . /app\nEXPOSE 5000\n"),
        ),
        ("Procfile", "web: httpd -f -p $PORT -h /app\n".to_string()),
        ("index.html", "version 1\n".to_string()),
    ] {
        dokku_core::fs::write_atomic(&work.join(file), text.as_bytes(), 0o644)?;
    }
    git(work, &["init", "-q", "-b", "main"])?;
    git(work, &["add", "-A"])?;
    git(work, &["commit", "-q", "-m", "bench app"])
}

/// One request through nginx for this `Host`.
fn request(port: u16, host: &str) -> Result<()> {
    let address = format!("127.0.0.1:{port}").parse()?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    if !response.starts_with(b"HTTP/1.1 200") && !response.starts_with(b"HTTP/1.0 200") {
        bail!(
            "answer: {}",
            String::from_utf8_lossy(&response[..response.len().min(40)])
        );
    }
    Ok(())
}

/// What one scheduler's run measured.
struct Measured {
    sent: u64,
    failed: u64,
    first_failures: Vec<String>,
    redeploy: Duration,
}

/// Deploys the app on `host`, then redeploys it `redeploys` times and rolls it back under
/// load through `nginx`.
fn measure(
    host: &BenchHost,
    nginx: &PrivateNginx,
    app: &str,
    redeploys: usize,
) -> Result<Measured> {
    let domain = format!("{app}.bench.test");
    host.dokku(&["domains:set", app, &domain])?;
    host.dokku(&["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"])?;
    host.dokku(&["ports:set", app, &format!("http:{}:5000", nginx.http)])?;
    let work = host.dir.path().join("work");
    make_app(&work)?;
    host.push(&work, app).context("the first push")?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_failures = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let load: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (stop, sent, failed, first) = (
                stop.clone(),
                sent.clone(),
                failed.clone(),
                first_failures.clone(),
            );
            let (port, domain) = (nginx.http, domain.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed)
                    && sent.load(Ordering::Relaxed) < MAX_REQUESTS
                    && started.elapsed() < MAX_LOAD_TIME
                {
                    sent.fetch_add(1, Ordering::Relaxed);
                    if let Err(err) = request(port, &domain) {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first.lock()
                            && first.len() < 5
                        {
                            first.push(format!("{err:#}"));
                        }
                    }
                }
            })
        })
        .collect();
    let mut times = Vec::new();
    let deployed = (|| -> Result<()> {
        for n in 2..=redeploys + 1 {
            dokku_core::fs::write_atomic(
                &work.join("index.html"),
                format!("version {n}\n").as_bytes(),
                0o644,
            )?;
            git(&work, &["commit", "-q", "-am", "again"])?;
            times.push(host.push(&work, app)?);
        }
        host.dokku(&["releases:rollback", app])?;
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    for worker in load {
        let _ = worker.join();
    }
    deployed?;
    let first_failures = first_failures.lock().map(|f| f.clone()).unwrap_or_default();
    Ok(Measured {
        sent: sent.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        first_failures,
        redeploy: median_of(&times),
    })
}

/// The app's base image on the engine at `socket`.
fn load_app_image(docker: &str, socket: &str) -> Result<()> {
    let mut save = Command::new(docker)
        .args(["image", "save", APP_IMAGE])
        .stdout(Stdio::piped())
        .spawn()?;
    let status = Command::new(docker)
        .args(["--host", socket, "image", "load", "--quiet"])
        .stdin(save.stdout.take().context("no pipe")?)
        .stdout(Stdio::null())
        .status()?;
    if !save.wait()?.success() || !status.success() {
        bail!("loading {APP_IMAGE} into {socket} failed");
    }
    Ok(())
}

fn main() -> Result<()> {
    let redeploys: usize = match std::env::args().skip_while(|a| a != "--redeploys").nth(1) {
        Some(n) => n.parse().context("--redeploys takes a number")?,
        None => 10,
    };
    let made = Command::new(workspace().join("tests/service-images"))
        .arg("--busybox")
        .output()?;
    if !made.status.success() {
        bail!(
            "tests/service-images --busybox: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }

    let local = BenchHost::new("dokku-bench-swarm-local-")?;
    let app = format!("bench-{}", std::process::id());
    let _images = AppImages {
        docker: local.docker.clone(),
        app: app.clone(),
    };
    println!(
        "dokku-rs swarm benchmark: {redeploys} redeploys and a rollback under load through nginx, {} build",
        profile(&local.bin_dir)
    );
    let local_nginx = PrivateNginx::start(&local)?;
    local.dokku(&["apps:create", &app])?;
    local.dokku(&["ps:scale", "--skip-deploy", &app, &format!("web={WEB}")])?;
    let on_local = measure(&local, &local_nginx, &app, redeploys)?;
    drop(local_nginx);

    let rig = SwarmRig::up("bs", 3).map_err(anyhow::Error::msg)?;
    let manager = rig.socket(1);
    load_app_image(&local.docker, &manager)?;
    let mut swarm = BenchHost::new("dokku-bench-swarm-")?;
    swarm.set_env("DOCKER_HOST", &manager);
    swarm.dokku(&[
        "scheduler-swarm:initialize",
        "--advertise-addr",
        rig.value("RIG_NODE1_ADDR"),
    ])?;
    for node in [2, 3] {
        swarm.dokku(&["scheduler-swarm:cluster:add", &rig.socket(node)])?;
    }
    let swarm_nginx = PrivateNginx::start(&swarm)?;
    swarm.dokku(&["apps:create", &app])?;
    swarm.dokku(&["scheduler:set", &app, "selected", "swarm"])?;
    swarm.dokku(&["ps:scale", "--skip-deploy", &app, &format!("web={WEB}")])?;
    let on_swarm = measure(&swarm, &swarm_nginx, &app, redeploys)?;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio = on_swarm.redeploy.as_secs_f64() / on_local.redeploy.as_secs_f64();
    println!("{:<60} {:>12} {:>10}", "measure", "value", "target");
    let local_name = format!("docker-local, {WEB} web");
    let swarm_name = format!("swarm, 3 nodes, {WEB} web");
    for (name, m) in [(&local_name, &on_local), (&swarm_name, &on_swarm)] {
        println!("{:<60} {:>12}", format!("{name}: requests sent"), m.sent);
        println!(
            "{:<60} {:>12} {:>10}  {}",
            format!("{name}: requests failed across {redeploys} redeploys and a rollback"),
            m.failed,
            0,
            if m.failed == 0 { "ok" } else { "FAILED" }
        );
        for failure in &m.first_failures {
            println!("    {failure}");
        }
        println!(
            "{:<60} {:>10.1}ms",
            format!("{name}: redeploy (git push to serving), median"),
            ms(m.redeploy)
        );
    }
    println!(
        "{:<60} {:>12.2} {:>10}  {}",
        "swarm / docker-local redeploy",
        ratio,
        format!("<= {RATIO_TARGET}"),
        if ratio <= RATIO_TARGET { "ok" } else { "OVER" }
    );
    Ok(())
}
