//! `cargo run --release -p dokku-bench [-- --runs N]`: builds a host with 40 enabled
//! plugins in a temp dir and prints wall-time medians. Run on demand; no test times it.
//!
//! It spawns processes with `std::process::Command` directly on purpose: the figures are
//! the cost of exec itself, with no wrapper in between.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use dokku_bench::{host_env, median, profile, run};
use dokku_core::env::Roots;
use dokku_core::fs::write_atomic;
use dokku_core::plugins::{self, BinaryMode};
use dokku_core::trigger::Trigger;

const ENABLED_PLUGINS: usize = 40;
const UNUSED_TRIGGER: &str = "bench-nobody-implements-this";

fn main() -> Result<()> {
    let runs: usize = match std::env::args().skip_while(|a| a != "--runs").nth(1) {
        Some(n) => n.parse().context("--runs takes a number")?,
        None => 300,
    };
    let exe = std::env::current_exe()?;
    let bin_dir = exe
        .parent()
        .context("bench binary has no directory")?
        .to_path_buf();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let dir = tempfile::Builder::new().prefix("dokku-bench-").tempdir()?;
    let roots = Roots::under(dir.path());
    std::fs::create_dir_all(roots.dokku_root.join("demo"))?;
    if !bin_dir.join("dokku").is_file() {
        bail!(
            "{} is missing: cargo build --release --workspace --bins",
            bin_dir.join("dokku").display()
        );
    }
    plugins::install_core(&roots, &source, &bin_dir, BinaryMode::Link)?;
    let core = dokku_core::trigger::enabled_plugins(&roots).len();
    for i in 0..ENABLED_PLUGINS.saturating_sub(core) {
        generated_plugin(&roots, &format!("bench-{i:02}"))?;
    }
    let enabled = dokku_core::trigger::enabled_plugins(&roots).len();
    let env = host_env(&roots, dir.path());
    let dokku = bin_dir.join("dokku");
    let exists_entry = roots.plugin_enabled().join("apps/subcommands/exists");

    println!(
        "dokku-rs dispatch benchmark: {enabled} enabled plugins, {runs} runs each, {} build",
        profile(&bin_dir)
    );
    let rows = [
        (
            "dokku apps:exists demo",
            median(runs, || run(&dokku, &["apps:exists", "demo"], &env))?,
            Some(3.0),
        ),
        (
            "dokku plugin:trigger <unused>",
            median(runs, || {
                run(&dokku, &["plugin:trigger", UNUSED_TRIGGER], &env)
            })?,
            Some(1.0),
        ),
        (
            "trigger() in-process <unused>",
            median(runs * 10, || {
                let start = Instant::now();
                Trigger::with_roots(UNUSED_TRIGGER, roots.clone()).output()?;
                Ok(start.elapsed())
            })?,
            Some(1.0),
        ),
        (
            "spawn apps binary directly (exists)",
            median(runs, || run(&exists_entry, &["apps:exists", "demo"], &env))?,
            None,
        ),
        (
            "spawn /bin/true",
            median(runs, || run(Path::new("/bin/true"), &[], &env))?,
            None,
        ),
    ];
    println!(
        "{:<40} {:>12} {:>10}  verdict",
        "measure", "median ms", "target ms"
    );
    for (name, value, target) in &rows {
        let ms = value.as_secs_f64() * 1000.0;
        let (target_text, verdict) = match target {
            Some(t) if ms <= *t => (format!("{t:.1}"), "ok"),
            Some(t) => (format!("{t:.1}"), "OVER"),
            None => ("-".into(), ""),
        };
        println!("{name:<40} {ms:>12.3} {target_text:>10}  {verdict}");
    }
    let dispatch = rows[0].1.as_secs_f64();
    let direct = rows[3].1.as_secs_f64();
    println!(
        "dispatcher overhead: apps:exists through dokku costs {:.2}x the direct spawn",
        dispatch / direct
    );
    Ok(())
}

/// A plugin as third parties write them: plugin.toml, a `commands` script, three triggers.
fn generated_plugin(roots: &Roots, name: &str) -> Result<()> {
    let dir = roots.plugin_available().join(name);
    let manifest = format!(
        "[plugin]\ndescription = \"generated {name}\"\nversion = \"0.0.1\"\n[plugin.config]\n"
    );
    write_atomic(&dir.join("plugin.toml"), manifest.as_bytes(), 0o644)?;
    let commands = "#!/bin/sh\n[ \"$1\" = help ] && echo \"    x, y\" && exit 0\nexit 10\n";
    write_atomic(&dir.join("commands"), commands.as_bytes(), 0o755)?;
    for trigger in ["post-create", "post-delete", "install"] {
        write_atomic(&dir.join(trigger), b"#!/bin/sh\nexit 0\n", 0o755)?;
    }
    plugins::enable(roots, name)
}
