//! `cargo run --release -p dokku-bench --bin dokku-bench-push [-- --runs N]`: pushes an
//! unchanged 1,000-file Dockerfile web app again and again (an empty commit each time, so
//! the hook runs and every layer comes from docker's cache) and prints the medians of the
//! whole `git push` (build, release, and the new container started, ready and in place) and
//! of the part outside `docker image build` and `docker container run`: extraction,
//! triggers, bookkeeping, and the app's own boot until it answers. Needs a running docker
//! engine and the local base image (tests/base-image).
//!
//! The push goes through git's ssh transport to a stand-in for sshd ([`BenchHost`]): the
//! figures leave out the SSH handshake itself (about 0.25 s for a no-op push through a
//! real sshd on these machines), which is not ours. `docker image build` is timed by a wrapper named in `DOCKER_BIN`. The docker client and
//! `DOCKER_BUILDKIT` are the host's (the environment, else `/etc/default/dokku`).
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use dokku_bench::{AppImages, BenchHost, git, make_app, median_of as median, profile};
use dokku_core::fs::write_atomic;

const FILES: usize = 1000;
const TARGET_MS: f64 = 250.0;

fn main() -> Result<()> {
    let runs: usize = match std::env::args().skip_while(|a| a != "--runs").nth(1) {
        Some(n) => n.parse().context("--runs takes a number")?,
        None => 15,
    };
    let mut host = BenchHost::new("dokku-bench-push-")?;
    let base = host.dir.path().to_path_buf();
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
            run = run_log.display(),
            real_docker = host.docker,
        )
        .as_bytes(),
        0o755,
    )?;
    host.set_env("DOCKER_BIN", &timer.display().to_string());
    let spawn_log = base.join("spawns.log");
    host.set_env(
        dokku_core::env::DOKKU_SPAWN_LOG,
        &spawn_log.display().to_string(),
    );

    let app = format!("bench-{}", std::process::id());
    let _images = AppImages {
        docker: host.docker.clone(),
        app: app.clone(),
    };
    let work = base.join("work");
    make_app(&work, FILES)?;

    println!(
        "dokku-rs push benchmark: unchanged {FILES}-file Dockerfile app, {runs} pushes, {} build",
        profile(&host.bin_dir)
    );
    host.push(&work, &app)
        .context("the first (uncached) push")?;
    let mut totals = Vec::new();
    let mut builds = Vec::new();
    let mut starts = Vec::new();
    let mut spawns: Vec<Vec<String>> = Vec::new();
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
        let _ = std::fs::remove_file(&spawn_log);
        totals.push(host.push(&work, &app)?);
        builds.push(logged(&build_log));
        starts.push(logged(&run_log));
        spawns.push(
            std::fs::read_to_string(&spawn_log)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect(),
        );
    }
    let outside: Vec<Duration> = totals
        .iter()
        .zip(builds.iter().zip(&starts))
        .map(|(t, (b, r))| t.saturating_sub(*b + *r))
        .collect();

    let plain = plain_git_push(&base, &work, runs)?;

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
    print_spawns(&spawns);
    Ok(())
}

/// How many trigger executables one push started (the median push), and how many times
/// each trigger was.
fn print_spawns(spawns: &[Vec<String>]) {
    let mut counts: Vec<usize> = spawns.iter().map(Vec::len).collect();
    counts.sort_unstable();
    let Some(&median) = counts.get(counts.len() / 2) else {
        return;
    };
    println!(
        "{:<52} {:>10}",
        "trigger executables started per push", median
    );
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
