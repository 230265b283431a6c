//! What the benchmark binaries share: the hermetic host's environment, timing one run,
//! medians.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_core::env::Roots;

pub fn profile(bin_dir: &Path) -> &'static str {
    if bin_dir.ends_with("release") {
        "release"
    } else {
        "debug (use --release for real figures)"
    }
}

/// The environment of commands on a benchmark host under `base`.
pub fn host_env(roots: &Roots, base: &Path) -> Vec<(String, String)> {
    vec![
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
        ("USER".into(), "bench".into()),
        ("DOKKU_ROOT".into(), roots.dokku_root.display().to_string()),
        (
            "DOKKU_LIB_PATH".into(),
            roots.lib_root.display().to_string(),
        ),
        (
            "DOKKU_LOGS_DIR".into(),
            roots.logs_dir.display().to_string(),
        ),
        (
            "DOKKU_DEFAULTS_FILE".into(),
            base.join("none").display().to_string(),
        ),
    ]
}

/// Runs `program` with `env` only and no output; fails unless it succeeds.
pub fn run(program: &Path, args: &[&str], env: &[(String, String)]) -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running {}", program.display()))?;
    let elapsed = start.elapsed();
    if !status.success() {
        bail!("{} {args:?} failed: {status}", program.display());
    }
    Ok(elapsed)
}

/// The median of `runs` samples, after up to 20 warm-up samples.
pub fn median(runs: usize, mut sample: impl FnMut() -> Result<Duration>) -> Result<Duration> {
    for _ in 0..runs.min(20) {
        sample()?;
    }
    let mut times: Vec<Duration> = (0..runs).map(|_| sample()).collect::<Result<_>>()?;
    times.sort();
    Ok(times[times.len() / 2])
}
