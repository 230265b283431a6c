//! Dokku's postgres plugin on dokku-rs against the same steps by hand, in the same run:
//! `postgres:create` until the server accepts connections, against `docker run` of the
//! same image; `postgres:link` until the app serves with the new config, against
//! `docker-options:add` plus `config:set`. Needs root, docker, the images of
//! `tests/service-images`, and the released plugin's bundle (`DOKKU_THIRD_PARTY_DIR`, else
//! `shared/third-party` beside the checkout).
//!
//!   cargo run --release -p dokku-bench --bin dokku-bench-services -- [--runs N]
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_bench::{median_of, profile};
use dokku_test_support::{TestHost, docker_bin, workspace_root};

const POSTGRES_IMAGE: &str = "dokku-rs/postgres:15";

fn docker(args: &[&str]) -> Result<String> {
    let out = Command::new(docker_bin()).args(args).output()?;
    if !out.status.success() {
        bail!(
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn dokku(host: &TestHost, args: &[&str]) -> Result<String> {
    let out = host.run(args);
    if !out.status.success() {
        bail!("dokku {args:?} failed:\n{}", host.render(&out));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ip_of(container: &str) -> Result<String> {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        container,
    ])
}

/// Waits (60 s at most, polling every 10 ms) until `ready` says yes.
fn until(what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
    let started = Instant::now();
    while !ready() {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("{what} did not happen within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

fn accepts(container: &str, port: u16) -> bool {
    ip_of(container).is_ok_and(|ip| {
        !ip.is_empty()
            && TcpStream::connect_timeout(
                &format!("{ip}:{port}").parse().expect("an address"),
                Duration::from_millis(200),
            )
            .is_ok()
    })
}

/// The app's answer to `GET /`: `1` once its DATABASE_URL reaches the database.
fn app_answer(app: &str) -> String {
    let Ok(ip) = ip_of(&format!("{app}.web.1")) else {
        return String::new();
    };
    let Ok(mut stream) = TcpStream::connect((ip.as_str(), 5000)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
        .is_err()
    {
        return String::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_string())
        .unwrap_or_default()
}

/// An image of a web app that answers `GET /` with `select 1` through DATABASE_URL.
fn app_image(dir: &Path, tag: &str) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {POSTGRES_IMAGE}\nENTRYPOINT []\nCOPY server.py /server.py\nEXPOSE 5000\n\
             CMD [\"python3\", \"/server.py\"]\n"
        ),
    )?;
    std::fs::write(
        dir.join("server.py"),
        r#"import os, subprocess
from http.server import BaseHTTPRequestHandler, HTTPServer
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = os.environ.get("DATABASE_URL", "")
        out = subprocess.run(["psql", url, "-tAc", "select 1"], capture_output=True, text=True) if url else None
        body = (out.stdout if out and out.returncode == 0 else "no database").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
HTTPServer(("", int(os.environ.get("PORT", "5000"))), Handler).serve_forever()
"#,
    )?;
    docker(&[
        "image",
        "build",
        "--quiet",
        "-t",
        tag,
        &dir.display().to_string(),
    ])?;
    Ok(())
}

fn main() -> Result<()> {
    let runs: usize = match std::env::args().skip_while(|a| a != "--runs").nth(1) {
        Some(n) => n.parse().context("--runs takes a number")?,
        None => 3,
    };
    if docker(&["image", "inspect", POSTGRES_IMAGE]).is_err() {
        bail!("{POSTGRES_IMAGE} is missing: run tests/service-images first");
    }
    let bin_dir = dokku_test_support::bin_dir();
    println!(
        "dokku-rs service plugin benchmarks: dokku-postgres 1.48.0, {runs} runs, {} build",
        profile(&bin_dir)
    );

    let host = TestHost::with_system_user();
    dokku_test_support::join_group("dokku");
    let settings = Command::new(workspace_root().join("tests/service-images"))
        .arg("--settings")
        .output()?;
    let defaults = host.path().join("etc-default-dokku");
    let mut text = std::fs::read_to_string(&defaults).unwrap_or_default();
    text.push_str(&String::from_utf8_lossy(&settings.stdout));
    std::fs::write(&defaults, text)?;
    let clone = host.path().join("postgres-release");
    dokku_test_support::clone_third_party("dokku-postgres-1.48.0.bundle", "1.48.0", &clone);
    dokku(
        &host,
        &[
            "plugin:install",
            &format!("file://{}", clone.display()),
            "--name",
            "postgres",
        ],
    )?;
    let tag = format!("dokku-rs-bench/services:{}", std::process::id());
    app_image(&host.path().join("app"), &tag)?;
    let pid = std::process::id();

    let (mut plugin_create, mut hand_create) = (Vec::new(), Vec::new());
    for n in 0..runs {
        let service = format!("bench{pid}n{n}");
        let started = Instant::now();
        dokku(&host, &["postgres:create", &service])?;
        let container = format!("dokku.postgres.{service}");
        until("the service accepting connections", || {
            accepts(&container, 5432)
        })?;
        plugin_create.push(started.elapsed());
        dokku(&host, &["postgres:destroy", &service, "--force"])?;

        let data = tempfile::tempdir()?;
        let name = format!("bench-by-hand-{pid}-{n}");
        let started = Instant::now();
        docker(&[
            "container",
            "run",
            "-d",
            "--name",
            &name,
            "--env=POSTGRES_PASSWORD=bench",
            &format!(
                "--volume={}:/var/lib/postgresql/data",
                data.path().display()
            ),
            POSTGRES_IMAGE,
        ])?;
        until("the hand-made server accepting connections", || {
            accepts(&name, 5432)
        })?;
        hand_create.push(started.elapsed());
        docker(&["container", "rm", "-f", &name])?;
    }

    let app = format!("bench-services-{pid}");
    let service = format!("bench{pid}link");
    dokku(&host, &["apps:create", &app])?;
    dokku(&host, &["proxy:disable", &app])?;
    dokku(&host, &["git:from-image", &app, &tag])?;
    dokku(&host, &["postgres:create", &service])?;
    let url = dokku(&host, &["postgres:info", &service, "--dsn"])?
        .trim()
        .to_string();
    let link_option = format!("--link dokku.postgres.{service}:dokku-postgres-{service}");
    let (mut plugin_link, mut hand_link) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        dokku(&host, &["postgres:link", &service, &app])?;
        until("the app serving through DATABASE_URL", || {
            app_answer(&app) == "1"
        })?;
        plugin_link.push(started.elapsed());
        dokku(&host, &["postgres:unlink", &service, &app])?;
        until("the app without a database", || {
            app_answer(&app) == "no database"
        })?;

        let started = Instant::now();
        dokku(
            &host,
            &["docker-options:add", &app, "build,deploy,run", &link_option],
        )?;
        dokku(&host, &["config:set", &app, &format!("DATABASE_URL={url}")])?;
        until("the hand-linked app serving", || app_answer(&app) == "1")?;
        hand_link.push(started.elapsed());
        dokku(
            &host,
            &[
                "docker-options:remove",
                &app,
                "build,deploy,run",
                &link_option,
            ],
        )?;
        dokku(&host, &["config:unset", &app, "DATABASE_URL"])?;
        until("the app without a database", || {
            app_answer(&app) == "no database"
        })?;
    }
    dokku(&host, &["--force", "apps:destroy", &app])?;
    dokku(&host, &["postgres:destroy", &service, "--force"])?;
    let _ = docker(&["image", "rm", "-f", &tag]);

    let ms = |d: Duration| d.as_millis();
    println!(
        "postgres:create to accepting connections: {} ms (by hand, docker run: {} ms)",
        ms(median_of(&plugin_create)),
        ms(median_of(&hand_create))
    );
    println!(
        "postgres:link to the app serving with DATABASE_URL: {} ms (by hand, docker-options:add + config:set: {} ms)",
        ms(median_of(&plugin_link)),
        ms(median_of(&hand_link))
    );
    Ok(())
}
