use std::path::Path;
use std::process::{Command, Output};

use dokku_test_support::{bin_dir, workspace_root};

fn install(root: &Path) -> Output {
    Command::new("bash")
        .arg(workspace_root().join("install.sh"))
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

    let dokku = dir.path().join("usr/local/bin/dokku");
    let run = |args: &[&str]| {
        Command::new(&dokku)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DOKKU_ROOT", dir.path().join("home/dokku"))
            .env("DOKKU_LIB_PATH", dir.path().join("var/lib/dokku"))
            .env("DOKKU_DEFAULTS_FILE", dir.path().join("none"))
            .output()
            .unwrap()
    };
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
