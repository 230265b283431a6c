//! `cargo run --release -p dokku-bench --bin dokku-bench-deploys [-- --redeploys N]`:
//!
//! 1. Zero downtime: a bounded load (8 connections, each a loop of `GET /`, stopping by
//!    itself after the deploys or at 200,000 requests or 5 minutes) against the app's web
//!    process at the address the scheduler last put in place (`IP.web.1`/`PORT.web.1`:
//!    what a proxy routes to), while N redeploys (default 10, each a push of a changed
//!    page) and then one rollback run one after another. Prints requests sent and failed.
//! 2. Rollback to serving: `releases:rollback` returns once the new container is ready
//!    and in place; the median of 7, alternating between two releases.
//!
//! With `--through-nginx` the load goes through a private nginx on 127.0.0.1 (the app's
//! generated config, a domain in the `Host` header) instead of straight to the container,
//! and the rollbacks are followed by the time from `certs:add` to the new certificate
//! being served there: first served (a poll running alongside the command) and the
//! command's return, after which every request gets it (nginx keeps its old workers
//! accepting for 100 ms after a reload, and `certs:add` waits them out).
//!
//! Needs a running docker engine and the local base image (tests/base-image).
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_bench::{AppImages, BenchHost, PrivateNginx, git, make_app, median_of, profile};

const CONNECTIONS: usize = 8;
const MAX_REQUESTS: u64 = 200_000;
const MAX_LOAD_TIME: Duration = Duration::from_secs(300);
const ROLLBACKS: usize = 7;
const ROLLBACK_TARGET_MS: f64 = 1000.0;
const CERTS_TARGET_MS: f64 = 100.0;
const CERT_SWAPS: usize = 5;

/// What the load saw.
#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    failed: AtomicU64,
    first_failures: Mutex<Vec<String>>,
}

/// Where the load goes.
#[derive(Clone)]
enum Target {
    /// The web container in place (`IP.web.1`/`PORT.web.1` in the app's directory).
    Direct(PathBuf),
    /// nginx on 127.0.0.1:port, for this `Host`.
    Nginx { port: u16, host: String },
}

/// One request to the app.
fn request(target: &Target) -> Result<()> {
    let (address, host): (SocketAddr, &str) = match target {
        Target::Direct(app_dir) => {
            let ip = std::fs::read_to_string(app_dir.join("IP.web.1"))?;
            let port = std::fs::read_to_string(app_dir.join("PORT.web.1"))?;
            (format!("{}:{}", ip.trim(), port.trim()).parse()?, "bench")
        }
        Target::Nginx { port, host } => (format!("127.0.0.1:{port}").parse()?, host),
    };
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    if !response.starts_with(b"HTTP/1.0 200") && !response.starts_with(b"HTTP/1.1 200") {
        bail!(
            "answer: {}",
            String::from_utf8_lossy(&response[..response.len().min(40)])
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let redeploys: usize = match std::env::args().skip_while(|a| a != "--redeploys").nth(1) {
        Some(n) => n.parse().context("--redeploys takes a number")?,
        None => 10,
    };
    let through_nginx = std::env::args().any(|a| a == "--through-nginx");
    let host = BenchHost::new("dokku-bench-deploys-")?;
    let app = format!("bench-{}", std::process::id());
    let _images = AppImages {
        docker: host.docker.clone(),
        app: app.clone(),
    };
    let work = host.dir.path().join("work");
    make_app(&work, 100)?;
    println!(
        "dokku-rs deploy benchmarks: {redeploys} redeploys under load, {ROLLBACKS} rollbacks, {}, {} build",
        if through_nginx {
            "through nginx"
        } else {
            "straight to the container"
        },
        profile(&host.bin_dir)
    );
    let mut nginx = None;
    let target = if through_nginx {
        let private = PrivateNginx::start(&host)?;
        let domain = format!("{app}.bench.test");
        host.dokku(&["apps:create", &app])?;
        host.dokku(&["domains:set", &app, &domain])?;
        host.dokku(&["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"])?;
        host.dokku(&[
            "ports:set",
            &app,
            &format!("http:{}:5000", private.http),
            &format!("https:{}:5000", private.https),
        ])?;
        let target = Target::Nginx {
            port: private.http,
            host: domain,
        };
        nginx = Some(private);
        target
    } else {
        Target::Direct(host.roots.app_dir(&app))
    };
    host.push(&work, &app).context("the first push")?;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let load: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (stop, tally, target) = (stop.clone(), tally.clone(), target.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed)
                    && tally.sent.load(Ordering::Relaxed) < MAX_REQUESTS
                    && started.elapsed() < MAX_LOAD_TIME
                {
                    tally.sent.fetch_add(1, Ordering::Relaxed);
                    if let Err(err) = request(&target) {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = tally.first_failures.lock()
                            && first.len() < 5
                        {
                            first.push(format!("{err:#}"));
                        }
                    }
                }
            })
        })
        .collect();
    let mut deploy_times = Vec::new();
    let deployed = (|| -> Result<()> {
        for n in 2..=redeploys + 1 {
            std::fs::write(work.join("index.html"), format!("version {n}\n"))?;
            git(&work, &["commit", "-q", "-am", "again"])?;
            deploy_times.push(host.push(&work, &app)?);
        }
        host.dokku(&["releases:rollback", &app])?;
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    for worker in load {
        let _ = worker.join();
    }
    deployed?;
    let load_time = started.elapsed();

    let mut rollbacks = Vec::new();
    for _ in 0..ROLLBACKS {
        rollbacks.push(host.dokku(&["releases:rollback", &app])?);
    }

    let certs = match &nginx {
        Some(private) => Some(certs_add_to_served(&host, &app, private)?),
        None => None,
    };

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let sent = tally.sent.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    println!("{:<52} {:>12} {:>10}", "measure", "value", "target");
    println!(
        "{:<52} {:>12} {:>10}",
        format!(
            "requests sent over {:.1} s ({CONNECTIONS} connections)",
            load_time.as_secs_f64()
        ),
        sent,
        ""
    );
    println!(
        "{:<52} {:>12} {:>10}  {}",
        format!("requests failed across {redeploys} redeploys and a rollback"),
        failed,
        0,
        if failed == 0 { "ok" } else { "FAILED" }
    );
    println!(
        "{:<52} {:>10.1}ms",
        "redeploy (git push to serving), median",
        ms(median_of(&deploy_times))
    );
    let rollback = ms(median_of(&rollbacks));
    println!(
        "{:<52} {:>10.1}ms {:>8.0}ms  {}",
        "releases:rollback to serving, median",
        rollback,
        ROLLBACK_TARGET_MS,
        if rollback <= ROLLBACK_TARGET_MS {
            "ok"
        } else {
            "OVER"
        }
    );
    if let Some(certs) = certs {
        let first: Vec<Duration> = certs.iter().map(|c| c.first_served).collect();
        let returned: Vec<Duration> = certs.iter().map(|c| c.returned).collect();
        let median = ms(median_of(&first));
        println!(
            "{:<52} {:>10.1}ms {:>8.0}ms  {}",
            "certs:add to the new certificate first served, median",
            median,
            CERTS_TARGET_MS,
            if median <= CERTS_TARGET_MS {
                "ok"
            } else {
                "OVER"
            }
        );
        println!(
            "{:<52} {:>10.1}ms",
            "certs:add returned (every request served with it)",
            ms(median_of(&returned))
        );
    }
    if let Ok(first) = tally.first_failures.lock() {
        for failure in first.iter() {
            println!("  failure: {failure}");
        }
    }
    Ok(())
}

/// One certificate swap: when https first presented the new certificate, and when
/// `certs:add` returned (from then on every request gets it).
struct CertSwap {
    first_served: Duration,
    returned: Duration,
}

/// `certs:add` of a new self-signed certificate, for several certificates in turn, while
/// another thread polls https through nginx (curl trusting only the new certificate) from
/// the moment the command starts.
fn certs_add_to_served(host: &BenchHost, app: &str, nginx: &PrivateNginx) -> Result<Vec<CertSwap>> {
    let domain = format!("{app}.bench.test");
    let dir = host.dir.path().join("certs");
    std::fs::create_dir_all(&dir)?;
    let mut swaps = Vec::new();
    for n in 0..CERT_SWAPS {
        let (crt, key) = (dir.join(format!("{n}.crt")), dir.join(format!("{n}.key")));
        dokku_test_support::self_signed_certificate(&domain, &crt, &key);
        let start = Instant::now();
        let poll = {
            let (crt, domain, port) = (crt.clone(), domain.clone(), nginx.https);
            std::thread::spawn(move || -> Result<Duration> {
                loop {
                    let out = std::process::Command::new("curl")
                        .args(["-sS", "-o", "/dev/null", "--max-time", "2", "--cacert"])
                        .arg(&crt)
                        .arg("--resolve")
                        .arg(format!("{domain}:{port}:127.0.0.1"))
                        .arg(format!("https://{domain}:{port}/"))
                        .output()?;
                    if out.status.success() {
                        return Ok(start.elapsed());
                    }
                    if start.elapsed() > Duration::from_secs(10) {
                        bail!(
                            "the new certificate was not served within 10 s: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        );
                    }
                }
            })
        };
        host.dokku(&[
            "certs:add",
            app,
            &crt.display().to_string(),
            &key.display().to_string(),
        ])?;
        let returned = start.elapsed();
        let first_served = poll
            .join()
            .map_err(|_| anyhow::anyhow!("the polling thread panicked"))??;
        swaps.push(CertSwap {
            first_served,
            returned,
        });
    }
    Ok(swaps)
}
