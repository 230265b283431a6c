//! End-to-end suite: a private OpenSSH server on 127.0.0.1 (its own config and host key,
//! `AuthorizedKeysFile` in the test host), client keys from `ssh-keygen`, real `git`.
//! A missing tool fails the test with the package to install; nothing is skipped.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

/// git push builds: the Dockerfile builder, the trigger chain, caching, failures.
mod build;
/// Health checks: app.json healthchecks and CHECKS gate the cutover; skip and disable.
mod checks;
/// Apps without a Dockerfile: herokuish and buildpacks in the locally made builder image.
mod herokuish;
/// Let's Encrypt against a private pebble: issue, serve, renew, revoke, disable.
mod letsencrypt;
/// Docker networks an app's containers start on and join, and ports on every interface.
mod network;
/// Third-party plugins: a broken one is named and can be turned off.
mod plugins;
/// nginx routes domains to the live containers and never takes a broken config.
mod proxy;
/// git push and fetch over SSH: admin keys, deploy keys, refusals, concurrency.
mod push;
/// Releases: numbered on each change, listed, rolled back without a build.
mod releases;
/// Deploys killed midway, and deploys that race: the old release keeps serving.
mod robust;
/// Pushed apps run: containers, readiness, cutover, config restarts, failed releases.
mod run;
/// Attacks over SSH: racing pushes, submodules that reach into the host, the root helper.
mod security;
/// Dokku's postgres and redis plugins, unmodified, serving a pushed app.
mod services;
/// Apps across the nodes of a Docker Swarm: the swarm scheduler behind this host's nginx.
mod swarm;
/// Deployment tasks: predeploy, the Procfile's release, postdeploy.
mod tasks;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dokku_test_support::{TestHost, require_tool};

/// A running private sshd whose every key runs this host's `dokku`.
pub struct Sshd {
    child: Child,
    pub port: u16,
    pub user: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a server and waits (10 s at most) until it accepts connections on 127.0.0.1:`port`.
fn spawn_listening(command: &mut Command, port: u16) -> Child {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{command:?} did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Starts sshd for `host`, logging keys in as the user running the tests; the session
/// environment points `dokku` at the host's roots.
pub fn start_sshd(host: &TestHost) -> Sshd {
    let user = String::from_utf8(run(Command::new("id").arg("-un")).stdout)
        .unwrap()
        .trim()
        .to_string();
    start_sshd_for(host, &user)
}

/// Starts sshd for `host`, logging keys in as `user` (the host's dokku user).
pub fn start_sshd_for(host: &TestHost, user: &str) -> Sshd {
    let sshd = require_tool("sshd", "apt-get install openssh-server (install.sh does)");
    require_tool("ssh", "apt-get install openssh-client");
    require_tool("git", "apt-get install git");
    let dir = host.path().join("sshd");
    std::fs::create_dir_all(&dir).unwrap();
    // sshd insists on its privilege-separation directory even for a private instance.
    let _ = std::fs::create_dir_all("/run/sshd");
    let key = dir.join("host_key");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    let port = free_port();
    let env: Vec<String> = host
        .env()
        .into_iter()
        .filter(|(k, _)| k != "HOME")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
         PermitRootLogin prohibit-password\nLogLevel ERROR\nSetEnv {}\n",
        key.display(),
        dir.join("sshd.pid").display(),
        host.roots.dokku_root.join(".ssh/authorized_keys").display(),
        env.join(" ")
    );
    let config_path = dir.join("sshd_config");
    std::fs::write(&config_path, config).unwrap();
    let child = spawn_listening(
        Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config_path),
        port,
    );
    Sshd {
        child,
        port,
        user: user.to_string(),
    }
}

/// A client key pair; returns the private key path (`.pub` beside it).
pub fn client_key(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key));
    key
}

impl Sshd {
    /// The `ssh` command line git and the tests use for `key`.
    pub fn ssh_command(&self, key: &Path) -> String {
        format!(
            "ssh -F /dev/null -p {} -i {} -o IdentitiesOnly=yes -o BatchMode=yes \
             -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            self.port,
            key.display()
        )
    }

    /// `ssh user@127.0.0.1 COMMAND` with `key`.
    pub fn ssh(&self, key: &Path, command: &str) -> Output {
        let mut args = shell_words(&self.ssh_command(key));
        let program = args.remove(0);
        Command::new(program)
            .args(args)
            .arg(format!("{}@127.0.0.1", self.user))
            .arg("--")
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The git remote for `app`.
    pub fn remote(&self, app: &str) -> String {
        format!("{}@127.0.0.1:{app}", self.user)
    }

    /// `git ARGS` in `dir`, through this server with `key`.
    pub fn git(&self, key: &Path, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_SSH_COMMAND", self.ssh_command(key))
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

fn shell_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// A work repository with one commit on `branch`; returns its HEAD.
pub fn work_repo(dir: &Path, branch: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", branch])
        .current_dir(dir));
    commit(dir, "app.txt", "version 1\n")
}

/// Writes a file and commits it; returns the new HEAD.
pub fn commit(dir: &Path, file: &str, contents: &str) -> String {
    std::fs::write(dir.join(file), contents).unwrap();
    run(Command::new("git").args(["add", "-A"]).current_dir(dir));
    run(Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["commit", "-q", "-m", "change"])
        .current_dir(dir));
    head(dir)
}

pub fn head(dir: &Path) -> String {
    String::from_utf8(
        run(Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(dir))
        .stdout,
    )
    .unwrap()
    .trim()
    .to_string()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `git daemon` serving a directory's repositories on a free 127.0.0.1 port (a network
/// remote a build may fetch submodules from); stopped when dropped.
pub struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    pub fn serve(base: &Path) -> GitDaemon {
        require_tool("git", "apt-get install git");
        // The daemon itself, not `git daemon`, which would leave it running as a child.
        let exec_path = run(Command::new("git").arg("--exec-path")).stdout;
        let daemon = Path::new(String::from_utf8(exec_path).unwrap().trim()).join("git-daemon");
        let port = free_port();
        let child = spawn_listening(
            Command::new(daemon)
                .arg(format!("--base-path={}", base.display()))
                .args(["--export-all", "--reuseaddr", "--listen=127.0.0.1"])
                .arg(format!("--port={port}"))
                .arg(base),
            port,
        );
        GitDaemon { child, port }
    }

    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
