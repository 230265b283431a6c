//! What the benchmark binaries share: the hermetic host's environment, timing one run,
//! medians, and a host with the core plugins that Dockerfile apps are pushed to.
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dokku_core::env::Roots;
use dokku_core::fs::write_atomic;
use dokku_core::plugins::{self, BinaryMode};

/// The local base image the benchmark apps build from (tests/base-image makes it).
pub const BASE_IMAGE: &str = "dokku-rs/base:bookworm";

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

/// The median of samples taken already.
pub fn median_of(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

pub fn git(dir: &Path, args: &[&str]) -> Result<()> {
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

/// A hermetic host in a temp dir, its core plugins linked to this build's binaries. Pushes
/// go through git's ssh transport to a stand-in for sshd that runs `dokku` as sshd's
/// forced command would (the SSH handshake itself, about 0.25 s here, is left out).
pub struct BenchHost {
    pub dir: tempfile::TempDir,
    pub roots: Roots,
    pub env: Vec<(String, String)>,
    pub bin_dir: PathBuf,
    /// The host's docker client (the environment's `DOCKER_BIN`, else /etc/default/dokku).
    pub docker: String,
    dokku: PathBuf,
    fake_ssh: PathBuf,
}

impl BenchHost {
    /// Needs this build's `dokku`, a running engine and the base image.
    pub fn new(prefix: &str) -> Result<BenchHost> {
        let exe = std::env::current_exe()?;
        let bin_dir = exe.parent().context("no directory")?.to_path_buf();
        let dokku = bin_dir.join("dokku");
        if !dokku.is_file() {
            bail!(
                "{} is missing: cargo build --release --workspace --bins",
                dokku.display()
            );
        }
        let docker =
            dokku_core::env::installed_setting("DOCKER_BIN").unwrap_or_else(|| "docker".into());
        let base_ok = Command::new(&docker)
            .args(["image", "inspect", BASE_IMAGE])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !base_ok {
            bail!("the base image {BASE_IMAGE} is missing: run tests/base-image first");
        }
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let base = dir.path();
        let roots = Roots::under(base);
        std::fs::create_dir_all(&roots.dokku_root)?;
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        plugins::install_core(&roots, &source, &bin_dir, BinaryMode::Link)?;
        // nginx commands on this host use a configuration of its own (started only by
        // the benchmarks that route through nginx), never the system's.
        dokku_test_support::write_private_nginx(&base.join("nginx"), &base.join("none"));
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
        env.push(("DOCKER_BIN".into(), docker.clone()));
        env.push(("HOME".into(), roots.dokku_root.display().to_string()));
        if let Some(buildkit) = dokku_core::env::installed_setting("DOCKER_BUILDKIT") {
            env.push(("DOCKER_BUILDKIT".into(), buildkit));
        }
        Ok(BenchHost {
            dir,
            roots,
            env,
            bin_dir,
            docker,
            dokku,
            fake_ssh,
        })
    }

    /// Sets (or replaces) one variable of the host's environment.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// `git push dokku@host:<app> main` from `work`; how long it took.
    pub fn push(&self, work: &Path, app: &str) -> Result<Duration> {
        let start = Instant::now();
        let out = Command::new("git")
            .args(["push", &format!("dokku@bench:{app}"), "main"])
            .current_dir(work)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("GIT_SSH_COMMAND", &self.fake_ssh)
            .env("GIT_SSH_VARIANT", "ssh")
            .stdin(Stdio::null())
            .output()?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            bail!("git push failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(elapsed)
    }

    /// `dokku ARGS...`; how long it took.
    pub fn dokku(&self, args: &[&str]) -> Result<Duration> {
        run(&self.dokku, args, &self.env)
    }
}

/// A Dockerfile web app of `files` small files in ten directories, committed in `work`;
/// its index page says `version 1`.
pub fn make_app(work: &Path, files: usize) -> Result<()> {
    for i in 0..files {
        let path: PathBuf = work.join(format!("src/d{}/f{i}.txt", i % 10));
        std::fs::create_dir_all(path.parent().context("no parent")?)?;
        write_atomic(&path, format!("file {i}\n").as_bytes(), 0o644)?;
    }
    write_atomic(&work.join("index.html"), b"version 1\n", 0o644)?;
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

/// A benchmark app's containers and images, removed when the run ends, however it ends.
pub struct AppImages {
    pub docker: String,
    pub app: String,
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

/// A private nginx on two free 127.0.0.1 ports whose http block includes the bench host's
/// app configs; the host's defaults file points the nginx-vhosts plugin at it.
pub struct PrivateNginx {
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub http: u16,
    pub https: u16,
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl PrivateNginx {
    pub fn start(host: &BenchHost) -> Result<PrivateNginx> {
        let dir = host.dir.path().join("nginx");
        let (http, https) = (free_port()?, free_port()?);
        let conf = dokku_test_support::write_private_nginx(&dir, &host.dir.path().join("none"));
        let status = std::process::Command::new("nginx")
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(&dir)
            .status()
            .context("starting nginx (apt-get install nginx)")?;
        if !status.success() {
            bail!("nginx did not start");
        }
        Ok(PrivateNginx {
            dir,
            conf,
            http,
            https,
        })
    }
}

impl Drop for PrivateNginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nginx")
            .args(["-s", "quit", "-c"])
            .arg(&self.conf)
            .status();
    }
}

impl PrivateNginx {
    /// Reloads this nginx (after a config of its own was added).
    pub fn reload(&self) -> Result<()> {
        let status = std::process::Command::new("nginx")
            .args(["-s", "reload", "-c"])
            .arg(&self.conf)
            .status()?;
        if !status.success() {
            bail!("nginx did not reload");
        }
        Ok(())
    }
}
