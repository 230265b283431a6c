//! `cargo run --release -p dokku-bench --bin dokku-bench-nginx`: requests per second
//! through the nginx config dokku-rs generates for an app, against a hand-written minimal
//! proxy config (`proxy_pass` to the same container) in the same nginx, same run: 8
//! connections for 5 s on each, twice in turn. Prints both rates and their ratio (target
//! at least 0.95). Needs a running docker engine, nginx and the local base image.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_bench::{AppImages, BenchHost, PrivateNginx, free_port, make_app, profile};

const CONNECTIONS: usize = 8;
const ROUND: Duration = Duration::from_secs(5);
const TARGET_RATIO: f64 = 0.95;

/// Requests per second of `CONNECTIONS` clients on 127.0.0.1:port for one round; any
/// answer but 200 is an error.
fn rate(port: u16, host: &str) -> Result<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
            let request = format!("GET / HTTP/1.0\r\nHost: {host}\r\n\r\n");
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let ok = (|| -> std::io::Result<bool> {
                        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
                        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                        stream.write_all(request.as_bytes())?;
                        let mut response = Vec::new();
                        stream.read_to_end(&mut response)?;
                        Ok(response.starts_with(b"HTTP/1.1 200"))
                    })();
                    match ok {
                        Ok(true) => done.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(ROUND);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    if failed.load(Ordering::Relaxed) > 0 {
        bail!(
            "{} requests failed on port {port}",
            failed.load(Ordering::Relaxed)
        );
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<()> {
    let host = BenchHost::new("dokku-bench-nginx-")?;
    let app = format!("bench-{}", std::process::id());
    let _images = AppImages {
        docker: host.docker.clone(),
        app: app.clone(),
    };
    let work = host.dir.path().join("work");
    make_app(&work, 10)?;
    let nginx = PrivateNginx::start(&host)?;
    let domain = format!("{app}.bench.test");
    host.dokku(&["apps:create", &app])?;
    host.dokku(&["domains:set", &app, &domain])?;
    host.dokku(&["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"])?;
    host.dokku(&["ports:set", &app, &format!("http:{}:5000", nginx.http)])?;
    host.push(&work, &app).context("the push")?;
    let ip = std::fs::read_to_string(host.roots.app_dir(&app).join("IP.web.1"))?;
    let plain = free_port()?;
    std::fs::write(
        nginx.dir.join("extra/hand-written.conf"),
        format!(
            "server {{\n  listen 127.0.0.1:{plain};\n  location / {{\n    proxy_pass http://{}:5000;\n  }}\n}}\n",
            ip.trim()
        ),
    )?;
    nginx.reload()?;
    std::thread::sleep(Duration::from_millis(500));
    println!(
        "dokku-rs nginx benchmark: {CONNECTIONS} connections, {} s rounds, {} build",
        ROUND.as_secs(),
        profile(&host.bin_dir)
    );
    let (mut generated, mut hand) = (Vec::new(), Vec::new());
    for _ in 0..2 {
        generated.push(rate(nginx.http, &domain)?);
        hand.push(rate(plain, "bench")?);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (g, h) = (mean(&generated), mean(&hand));
    println!("{:<44} {:>10.0} req/s", "through the generated config", g);
    println!(
        "{:<44} {:>10.0} req/s",
        "through a hand-written proxy_pass", h
    );
    let ratio = g / h;
    println!(
        "{:<44} {:>10.3} {:>8.2}  {}",
        "ratio (generated / hand-written)",
        ratio,
        TARGET_RATIO,
        if ratio >= TARGET_RATIO { "ok" } else { "UNDER" }
    );
    Ok(())
}
