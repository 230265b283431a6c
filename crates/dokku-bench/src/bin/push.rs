//! `cargo run --release -p dokku-bench --bin dokku-bench-push [-- --runs N]`: pushes an
//! unchanged 1,000-file Dockerfile web app again and again (an empty commit each time, so
//! the hook runs and every layer comes from docker's cache) and prints the medians of the
//! whole `git push` (build, release, and the new container started, ready and in place) and
//! of the part outside `docker image build` and `docker container run`: extraction,
//! triggers, bookkeeping, and the app's own boot until it answers. Needs a running docker
//! engine and the local base image (tests/base-image).
//!
//! The push goes through git's ssh transport to a stand-in for sshd that runs `dokku` as
//! sshd's forced command would: the figures leave out the SSH handshake itself (about
//! 0.25 s for a no-op push through a real sshd on these machines), which is not ours.
//! `docker image build` is timed by a wrapper named in `DOCKER_BIN`. The docker client and
//! `DOCKER_BUILDKIT` are the host's (the environment, else `/etc/default/dokku`).
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_bench::{host_env, profile};
use dokku_core::env::Roots;
use dokku_core::fs::write_atomic;
use dokku_core::plugins::{self, BinaryMode};

const FILES: usize = 1000;
const BASE_IMAGE: &str = "dokku-rs/base:bookworm";
const TARGET_MS: f64 = 300.0;

fn main() -> Result<()> {
    let runs: usize = match std::env::args().skip_while(|a| a != "--runs").nth(1) {
        Some(n) => n.parse().context("--runs takes a number")?,
        None => 15,
    };
    let exe = std::env::current_exe()?;
    let bin_dir = exe.parent().context("no directory")?.to_path_buf();
    let dokku = bin_dir.join("dokku");
    if !dokku.is_file() {
        bail!(
            "{} is missing: cargo build --release --workspace --bins",
            dokku.display()
        );
    }
    let real_docker =
        dokku_core::env::installed_setting("DOCKER_BIN").unwrap_or_else(|| "docker".into());
    let base_ok = Command::new(&real_docker)
        .args(["image", "inspect", BASE_IMAGE])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !base_ok {
        bail!("the base image {BASE_IMAGE} is missing: run tests/base-image first");
    }

    let dir = tempfile::Builder::new()
        .prefix("dokku-bench-push-")
        .tempdir()?;
    let base = dir.path();
    let roots = Roots::under(base);
    std::fs::create_dir_all(&roots.dokku_root)?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    plugins::install_core(&roots, &source, &bin_dir, BinaryMode::Link)?;

    let build_log = base.join("docker-build.log");
    let run_log = base.join("docker-run.log");
    let timer = base.join("docker-timer");
    write_atomic(
        &timer,
        format!(
            "#!/bin/bash\nif [[ $1 == image && $2 == build ]]; then log={build}\n\
             elif [[ $1 == container && $2 == run ]]; then log={run}\n\
             else exec {real_docker} \"$@\"; fi\n\
             start=$(date +%s%N)\n{real_docker} \"$@\"; code=$?\n\
             echo $(( $(date +%s%N) - start )) >>$log\nexit $code\n",
            build = build_log.display(),
            run = run_log.display()
        )
        .as_bytes(),
        0o755,
    )?;
    let fake_ssh = base.join("ssh-forced-command");
    write_atomic(
        &fake_ssh,
        format!(
            "#!/bin/sh\nfor last; do :; done\nexec env FINGERPRINT=SHA256:bench NAME=admin \
             SSH_ORIGINAL_COMMAND=\"$last\" {}\n",
            dokku.display()
        )
        .as_bytes(),
        0o755,
    )?;
    let mut env = host_env(&roots, base);
    env.push(("DOCKER_BIN".into(), timer.display().to_string()));
    env.push(("HOME".into(), roots.dokku_root.display().to_string()));
    if let Some(buildkit) = dokku_core::env::installed_setting("DOCKER_BUILDKIT") {
        env.push(("DOCKER_BUILDKIT".into(), buildkit));
    }

    let app = format!("bench-{}", std::process::id());
    let _images = AppImages {
        docker: real_docker.clone(),
        app: app.clone(),
    };
    let work = base.join("work");
    make_app(&work)?;
    let push = |env: &[(String, String)]| -> Result<Duration> {
        let start = Instant::now();
        let out = Command::new("git")
            .args(["push", &format!("dokku@bench:{app}"), "main"])
            .current_dir(&work)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("GIT_SSH_COMMAND", &fake_ssh)
            .env("GIT_SSH_VARIANT", "ssh")
            .stdin(Stdio::null())
            .output()?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!("git push failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(elapsed)
    };

    println!(
        "dokku-rs push benchmark: unchanged {FILES}-file Dockerfile app, {runs} pushes, {} build",
        profile(&bin_dir)
    );
    push(&env).context("the first (uncached) push")?;
    let mut totals = Vec::new();
    let mut builds = Vec::new();
    let mut starts = Vec::new();
    let logged = |path: &Path| {
        let nanos: u64 = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    };
    for _ in 0..runs {
        git(&work, &["commit", "-q", "--allow-empty", "-m", "again"])?;
        let _ = std::fs::remove_file(&build_log);
        let _ = std::fs::remove_file(&run_log);
        totals.push(push(&env)?);
        builds.push(logged(&build_log));
        starts.push(logged(&run_log));
    }
    let outside: Vec<Duration> = totals
        .iter()
        .zip(builds.iter().zip(&starts))
        .map(|(t, (b, r))| t.saturating_sub(*b + *r))
        .collect();

    let plain = plain_git_push(base, &work, runs)?;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{:<52} {:>10} {:>10}", "measure", "median ms", "target ms");
    println!("{:<52} {:>10.1}", "git push, total", ms(median(&totals)));
    println!(
        "{:<52} {:>10.1}",
        "  inside docker image build (build + release)",
        ms(median(&builds))
    );
    println!(
        "{:<52} {:>10.1}",
        "  inside docker container run (create + start)",
        ms(median(&starts))
    );
    let overhead = ms(median(&outside));
    println!(
        "{:<52} {:>10.1} {:>10.1}  {}",
        "  outside docker build and run (ours, app boot)",
        overhead,
        TARGET_MS,
        if overhead <= TARGET_MS { "ok" } else { "OVER" }
    );
    println!(
        "{:<52} {:>10.1}",
        "  of which git's own push to a bare repo (no hook)",
        ms(plain)
    );
    Ok(())
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .args(["-c", "user.name=bench", "-c", "user.email=bench@localhost"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("git {args:?} failed");
    }
    Ok(())
}

/// The app: a Dockerfile that copies 1,000 small files in ten directories.
fn make_app(work: &Path) -> Result<()> {
    for i in 0..FILES {
        let path: PathBuf = work.join(format!("src/d{}/f{i}.txt", i % 10));
        std::fs::create_dir_all(path.parent().context("no parent")?)?;
        write_atomic(&path, format!("file {i}\n").as_bytes(), 0o644)?;
    }
    write_atomic(
        &work.join("Dockerfile"),
        format!(
            "FROM {BASE_IMAGE}\nWORKDIR /app\nCOPY . /app\nEXPOSE 5000\n\
             CMD [\"python3\", \"-m\", \"http.server\", \"5000\"]\n"
        )
        .as_bytes(),
        0o644,
    )?;
    git(work, &["init", "-q", "-b", "main"])?;
    git(work, &["add", "-A"])?;
    git(work, &["commit", "-q", "-m", "bench app"])
}

/// git alone: the same empty-commit push to a bare repository with no hook.
fn plain_git_push(base: &Path, work: &Path, runs: usize) -> Result<Duration> {
    let bare = base.join("plain.git");
    git(
        base,
        &["init", "-q", "--bare", bare.to_str().context("path")?],
    )?;
    let target = bare.display().to_string();
    git(work, &["push", "-q", &target, "main"])?;
    let mut times = Vec::new();
    for _ in 0..runs {
        git(work, &["commit", "-q", "--allow-empty", "-m", "again"])?;
        let start = Instant::now();
        git(work, &["push", "-q", &target, "main"])?;
        times.push(start.elapsed());
    }
    Ok(median(&times))
}

/// The benchmark app's containers and images, removed when the run ends, however it ends.
struct AppImages {
    docker: String,
    app: String,
}

impl Drop for AppImages {
    fn drop(&mut self) {
        if let Ok(out) = Command::new(&self.docker)
            .args(["container", "ls", "-aq", "--filter"])
            .arg(format!("label=com.dokku.app-name={}", self.app))
            .output()
        {
            for id in String::from_utf8_lossy(&out.stdout).lines() {
                let _ = Command::new(&self.docker)
                    .args(["container", "rm", "-f", id])
                    .output();
            }
        }
        let Ok(out) = Command::new(&self.docker)
            .args(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
            .arg(format!("dokku/{}", self.app))
            .output()
        else {
            return;
        };
        for image in String::from_utf8_lossy(&out.stdout).lines() {
            let _ = Command::new(&self.docker)
                .args(["image", "rm", "-f", image])
                .output();
        }
    }
}
