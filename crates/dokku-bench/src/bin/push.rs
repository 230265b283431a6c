//! `cargo run --release -p dokku-bench --bin dokku-bench-push [-- --runs N]`: pushes two
//! unchanged 1,000-file web apps again and again (an empty commit each time, so the hook
//! runs and every docker layer comes from its cache): a Dockerfile app, and the same app
//! built by buildpacks (Dokku's python sample shape: the null buildpack in the builder
//! image, which make-image makes when it is missing). For each it prints the medians of
//! the whole `git push` (build, release, and the new container started, ready and in
//! place) and of the part outside docker's own work (`docker image build`, the build
//! container of a buildpack app, `docker container run`, and the time the engine takes
//! to answer our API requests: a commit, a removal, an inspect): extraction, triggers,
//! bookkeeping, the docker client's other commands, and the app's own boot until it
//! answers. Needs a running docker engine and
//! the local base image (tests/base-image).
//!
//! The push goes through git's ssh transport to a stand-in for sshd ([`BenchHost`]): the
//! figures leave out the SSH handshake itself (about 0.25 s for a no-op push through a
//! real sshd on these machines), which is not ours. docker's commands are timed by a
//! wrapper named in `DOCKER_BIN`. The docker client and `DOCKER_BUILDKIT` are the host's
//! (the environment, else `/etc/default/dokku`).
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dokku_bench::{AppImages, BenchHost, git, make_app, median_of as median, profile};
use dokku_core::fs::write_atomic;

const FILES: usize = 1000;
const TARGET_MS: f64 = 250.0;
/// Our part of an unchanged buildpack app's push (Dokku's herokuish path spends seconds in
/// `docker commit` and slug handling alone).
const BUILDPACK_TARGET_MS: f64 = 500.0;

fn main() -> Result<()> {
    let runs: usize = match std::env::args().skip_while(|a| a != "--runs").nth(1) {
        Some(n) => n.parse().context("--runs takes a number")?,
        None => 15,
    };
    let mut host = BenchHost::new("dokku-bench-push-")?;
    let base = host.dir.path().to_path_buf();
    let logs = DockerLogs {
        build: base.join("docker-build.log"),
        run: base.join("docker-run.log"),
        builder: base.join("docker-builder.log"),
        engine: base.join("engine.log"),
    };
    let timer = base.join("docker-timer");
    write_atomic(
        &timer,
        format!(
            "#!/bin/bash
if [[ $1 == image && $2 == build ]]; then log={build}\n\
             elif [[ $1 == container && $2 == run ]]; then log={run}\n\
             elif [[ $1 == container && ( $2 == create || $2 == start ) ]]; then log={builder}\n\
             else exec {real_docker} \"$@\"; fi\n\
             start=$(date +%s%N)\n{real_docker} \"$@\"; code=$?\n\
             echo $(( $(date +%s%N) - start )) >>$log\nexit $code\n",
            build = logs.build.display(),
            run = logs.run.display(),
            builder = logs.builder.display(),
            real_docker = host.docker,
        )
        .as_bytes(),
        0o755,
    )?;
    host.set_env("DOCKER_BIN", &timer.display().to_string());
    let builder_image = builder_image(&host.docker)?;
    host.set_env("DOKKU_IMAGE", &builder_image);
    host.set_env(
        dokku_core::env::DOKKU_ENGINE_LOG,
        &logs.engine.display().to_string(),
    );
    let spawn_log = base.join("spawns.log");
    host.set_env(
        dokku_core::env::DOKKU_SPAWN_LOG,
        &spawn_log.display().to_string(),
    );

    println!(
        "dokku-rs push benchmark: unchanged {FILES}-file apps, {runs} pushes each, {} build",
        profile(&host.bin_dir)
    );
    let dockerfile = format!("bench-{}", std::process::id());
    let _dockerfile_images = AppImages {
        docker: host.docker.clone(),
        app: dockerfile.clone(),
    };
    let work = base.join("work");
    make_app(&work, FILES)?;
    let figures = measure(&host, &work, &dockerfile, runs, &logs, &spawn_log)?;

    let buildpack = format!("bench-bp-{}", std::process::id());
    let _buildpack_images = AppImages {
        docker: host.docker.clone(),
        app: buildpack.clone(),
    };
    let bp_work = base.join("bp-work");
    make_buildpack_app(&bp_work, FILES)?;
    let bp_figures = measure(&host, &bp_work, &buildpack, runs, &logs, &spawn_log)?;

    let plain = plain_git_push(&base, &work, runs)?;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{:<52} {:>10} {:>10}", "measure", "median ms", "target ms");
    for (name, figures, target) in [
        ("Dockerfile app", &figures, TARGET_MS),
        (
            "buildpack app (null buildpack)",
            &bp_figures,
            BUILDPACK_TARGET_MS,
        ),
    ] {
        println!("{name}");
        println!("{:<52} {:>10.1}", "  git push, total", ms(figures.total));
        println!(
            "{:<52} {:>10.1}",
            "    inside docker image build (build + release)",
            ms(figures.build)
        );
        if !figures.builder.is_zero() {
            println!(
                "{:<52} {:>10.1}",
                "    inside the build container (buildpack scripts)",
                ms(figures.builder)
            );
        }
        println!(
            "{:<52} {:>10.1}",
            "    inside docker container run (create + start)",
            ms(figures.run)
        );
        println!(
            "{:<52} {:>10.1}",
            "    inside the engine's API answers (commit, ...)",
            ms(figures.engine)
        );
        let overhead = ms(figures.outside);
        println!(
            "{:<52} {:>10.1} {:>10.1}  {}",
            "    outside docker (ours, app boot)",
            overhead,
            target,
            if overhead <= target { "ok" } else { "OVER" }
        );
        println!(
            "{:<52} {:>10}",
            "    trigger executables started per push", figures.median_spawns
        );
    }
    println!(
        "{:<52} {:>10.1}",
        "git's own push to a bare repo (no hook)",
        ms(plain)
    );
    print_spawns(&figures.spawns);
    Ok(())
}

/// Where the docker wrapper logs the nanoseconds of each command it timed.
struct DockerLogs {
    build: PathBuf,
    run: PathBuf,
    builder: PathBuf,
    /// `PROGRAM METHOD PATH NANOSECONDS` of each engine API request (`DOKKU_ENGINE_LOG`).
    engine: PathBuf,
}

/// The medians of one app's pushes.
struct Figures {
    total: Duration,
    build: Duration,
    run: Duration,
    builder: Duration,
    engine: Duration,
    outside: Duration,
    median_spawns: usize,
    spawns: Vec<Vec<String>>,
}

/// Pushes `work` once uncached, then `runs` times with an empty commit.
fn measure(
    host: &BenchHost,
    work: &Path,
    app: &str,
    runs: usize,
    logs: &DockerLogs,
    spawn_log: &Path,
) -> Result<Figures> {
    host.push(work, app)
        .with_context(|| format!("the first (uncached) push of {app}"))?;
    let logged = |path: &Path| {
        let nanos: u64 = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    };
    let (mut totals, mut builds, mut starts, mut builders, mut engines) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut spawns: Vec<Vec<String>> = Vec::new();
    for _ in 0..runs {
        git(work, &["commit", "-q", "--allow-empty", "-m", "again"])?;
        for log in [&logs.build, &logs.run, &logs.builder, &logs.engine] {
            let _ = std::fs::remove_file(log);
        }
        let _ = std::fs::remove_file(spawn_log);
        totals.push(host.push(work, app)?);
        engines.push(engine_time(&logs.engine));
        builds.push(logged(&logs.build));
        starts.push(logged(&logs.run));
        builders.push(logged(&logs.builder));
        spawns.push(
            std::fs::read_to_string(spawn_log)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
        );
    }
    let outside: Vec<Duration> = (0..totals.len())
        .map(|i| totals[i].saturating_sub(builds[i] + starts[i] + builders[i] + engines[i]))
        .collect();
    let mut counts: Vec<usize> = spawns.iter().map(Vec::len).collect();
    counts.sort_unstable();
    Ok(Figures {
        total: median(&totals),
        build: median(&builds),
        run: median(&starts),
        builder: median(&builders),
        engine: median(&engines),
        outside: median(&outside),
        median_spawns: counts.get(counts.len() / 2).copied().unwrap_or(0),
        spawns,
    })
}

/// The time of the engine requests logged in `log`, but those of an earlier push's
/// retirement of its old containers, which may run meanwhile.
fn engine_time(log: &Path) -> Duration {
    let nanos: u64 = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.starts_with("scheduler-retire "))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// The builder image, made by its script when missing (as install.sh does).
fn builder_image(docker: &str) -> Result<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../buildstep/image/make-image");
    let made = std::process::Command::new(&script)
        .env("DOCKER_BIN", docker)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !made.success() {
        anyhow::bail!("{} could not make the builder image", script.display());
    }
    let name = std::process::Command::new(&script).arg("--name").output()?;
    Ok(String::from_utf8_lossy(&name.stdout).trim().to_string())
}

/// Dokku's python sample shape of `files` small files: no Dockerfile, a `null` file for
/// the null buildpack, a Procfile web process.
fn make_buildpack_app(work: &Path, files: usize) -> Result<()> {
    make_app(work, files)?;
    std::fs::remove_file(work.join("Dockerfile"))?;
    write_atomic(&work.join("null"), b"", 0o644)?;
    write_atomic(
        &work.join("Procfile"),
        b"web: python3 -m http.server $PORT\n",
        0o644,
    )?;
    git(work, &["add", "-A"])?;
    git(work, &["commit", "-q", "-m", "buildpack app"])
}

/// How many trigger executables one push started (the median push), and how many times
/// each trigger was.
fn print_spawns(spawns: &[Vec<String>]) {
    let mut counts: Vec<usize> = spawns.iter().map(Vec::len).collect();
    counts.sort_unstable();
    let Some(&median) = counts.get(counts.len() / 2) else {
        return;
    };
    println!("Dockerfile app: trigger executables by trigger (median push, {median})");
    let Some(one) = spawns.iter().find(|s| s.len() == median) else {
        return;
    };
    let mut by_name = std::collections::BTreeMap::<&str, usize>::new();
    for name in one {
        *by_name.entry(name).or_default() += 1;
    }
    let mut most: Vec<(&str, usize)> = by_name.into_iter().collect();
    most.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for row in most.chunks(4) {
        let shown: Vec<String> = row.iter().map(|(name, n)| format!("{name} {n}")).collect();
        println!("  {}", shown.join(", "));
    }
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
