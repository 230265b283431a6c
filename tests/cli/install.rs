use std::path::Path;
use std::process::{Command, Output};

use dokku_test_support::{bin_dir, workspace_root};

fn install(root: &Path) -> Output {
    install_with(root, &[])
}

fn install_with(root: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(workspace_root().join("install.sh"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("DOKKU_INSTALL_SYSTEM", "0")
        .env("DOKKU_ROOT", root.join("home/dokku"))
        .env("DOKKU_LIB_PATH", root.join("var/lib/dokku"))
        .env("DOKKU_LOGS_DIR", root.join("var/log/dokku"))
        .env("DOKKU_PREFIX", root.join("usr/local"))
        .env("DOKKU_BIN_SOURCE", bin_dir())
        .output()
        .unwrap()
}

/// `dokku ARGS` as installed under `root`.
fn installed_dokku(root: &Path, args: &[&str]) -> Output {
    Command::new(root.join("usr/local/bin/dokku"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DOKKU_ROOT", root.join("home/dokku"))
        .env("DOKKU_LIB_PATH", root.join("var/lib/dokku"))
        .env("DOKKU_DEFAULTS_FILE", root.join("none"))
        .output()
        .unwrap()
}

/// Every path under `root` with a digest of what it holds (a link's target, a file's bytes
/// and modification time).
fn tree(root: &Path) -> Vec<(String, u64)> {
    use std::hash::{Hash, Hasher};
    let mut out = Vec::new();
    for entry in walk(root) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        let rel = entry.strip_prefix(root).unwrap().display().to_string();
        let data = if meta.file_type().is_symlink() {
            std::fs::read_link(&entry)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if meta.is_file() {
            let mut d = std::fs::read(&entry).unwrap();
            d.extend(format!("{:?}", meta.modified().unwrap()).into_bytes());
            d
        } else {
            Vec::new()
        };
        let mut digest = std::collections::hash_map::DefaultHasher::new();
        data.hash(&mut digest);
        out.push((rel, digest.finish()));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}

/// install.sh into a temp root: installs, runs the sample job, and a second run changes
/// nothing (not even a file's modification time).
#[test]
fn install_is_hermetic_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let first = install(dir.path());
    let show = |o: &Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(first.status.success(), "{}", show(&first));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("-----> Installed core plugin apps"),
        "{stdout}"
    );
    assert!(stdout.ends_with("=====> My Apps\nsample\n"), "{stdout}");
    let before = tree(dir.path());
    let second = install(dir.path());
    assert!(second.status.success(), "{}", show(&second));
    assert!(!String::from_utf8_lossy(&second.stdout).contains("Installed core plugin"));
    assert_eq!(tree(dir.path()), before, "a second install changed files");

    let run = |args: &[&str]| installed_dokku(dir.path(), args);
    assert!(run(&["apps:create", "second"]).status.success());
    assert_eq!(
        String::from_utf8_lossy(&run(&["--quiet", "apps:list"]).stdout),
        "sample\nsecond\n"
    );
    let apps_bin = dir
        .path()
        .join("var/lib/dokku/core-plugins/available/apps/bin/dokku-apps");
    assert!(
        std::fs::symlink_metadata(&apps_bin).unwrap().is_file(),
        "core plugin binaries are copies"
    );
}

/// `--registry=ADDRESS` runs Debian's docker registry at that address (and nowhere else),
/// makes it every app's registry, and a second run leaves the running one alone.
#[test]
fn install_runs_a_registry_at_the_address_given() {
    let bin =
        dokku_test_support::require_tool("docker-registry", "apt-get install docker-registry");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let pid_file = dir.path().join("var/lib/dokku/registry/registry.pid");
    struct Stop(std::path::PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            if let Ok(pid) = std::fs::read_to_string(&self.0) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
        }
    }
    let _stop = Stop(pid_file.clone());
    let show = |o: &Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let refused = install_with(dir.path(), &["--no-sample", "--registry=nowhere"]);
    assert_eq!(refused.status.code(), Some(1), "{}", show(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Invalid registry address nowhere"),
        "{}",
        show(&refused)
    );
    let registry = format!("--registry={address}");
    let first = install_with(dir.path(), &["--no-sample", &registry]);
    assert!(first.status.success(), "{}", show(&first));
    assert!(
        String::from_utf8_lossy(&first.stdout).contains(&format!(
            "Every app's releases go to the registry at {address}"
        )),
        "{}",
        show(&first)
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).starts_with(&bin.display().to_string()),
        "{cmdline:?}"
    );
    let answer = |addr: &str| -> Option<String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream
            .write_all(b"GET /v2/ HTTP/1.0\r\nHost: registry\r\n\r\n")
            .ok()?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).ok()?;
        Some(reply)
    };
    let reply = answer(&address).expect("the registry answers");
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
    let second = install_with(dir.path(), &["--no-sample", &registry]);
    assert!(second.status.success(), "{}", show(&second));
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("Starting the docker registry"),
        "{}",
        show(&second)
    );
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid);

    let report = |args: &[&str]| {
        let out = installed_dokku(dir.path(), args);
        assert!(out.status.success(), "{}", show(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        report(&["registry:report", "--global", "--registry-global-server"]),
        address
    );
    assert_eq!(
        report(&[
            "registry:report",
            "--global",
            "--registry-global-push-on-release"
        ]),
        "true"
    );
    assert_eq!(
        report(&[
            "scheduler-swarm:report",
            "--global",
            "--scheduler-swarm-global-image-distribution"
        ]),
        "registry"
    );
}
