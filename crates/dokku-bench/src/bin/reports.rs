//! `cargo run --release -p dokku-bench --bin dokku-bench-reports [-- --apps N --runs N]`:
//! a host with the core plugins and N apps (200 by default, never deployed), then every
//! plugin's `<plugin>:report` over all of them: the median wall time and how many plugin
//! executables one run starts. Run on demand; no test times it.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use anyhow::{Context, Result};
use dokku_bench::{BenchHost, median, profile};

/// The target for a report of every app, in milliseconds.
const TARGET_MS: f64 = 100.0;

fn flag(name: &str, default: usize) -> Result<usize> {
    match std::env::args().skip_while(|a| a != name).nth(1) {
        Some(n) => n.parse().with_context(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn main() -> Result<()> {
    let apps = flag("--apps", 200)?;
    let runs = flag("--runs", 5)?;
    let mut host = BenchHost::new("dokku-bench-reports-")?;
    for i in 0..apps {
        host.dokku(&["apps:create", &format!("app-{i:03}")])?;
    }
    let spawn_log = host.dir.path().join("spawns.log");
    host.set_env(
        dokku_core::env::DOKKU_SPAWN_LOG,
        &spawn_log.display().to_string(),
    );
    let mut plugins: Vec<String> = std::fs::read_dir(host.roots.plugin_enabled())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|p| {
            host.roots
                .plugin_enabled()
                .join(p)
                .join("subcommands/report")
                .exists()
        })
        .collect();
    plugins.sort();
    println!(
        "dokku-rs report benchmark: {apps} apps, {runs} runs each, {} build",
        profile(&host.bin_dir)
    );
    println!(
        "{:<34} {:>10} {:>10} {:>16}  verdict",
        "command", "median ms", "target ms", "plugin execs/run"
    );
    let mut over = 0;
    for plugin in plugins {
        let command = format!("{plugin}:report");
        let elapsed = median(runs, || host.dokku(&[&command]))?;
        let _ = std::fs::remove_file(&spawn_log);
        host.dokku(&[&command])?;
        let spawns = std::fs::read_to_string(&spawn_log)
            .map(|log| log.lines().count())
            .unwrap_or(0);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let verdict = if ms <= TARGET_MS { "ok" } else { "OVER" };
        over += usize::from(ms > TARGET_MS);
        println!("{command:<34} {ms:>10.1} {TARGET_MS:>10.0} {spawns:>16}  {verdict}");
    }
    println!("{over} report commands over the target");
    Ok(())
}
