//! A hermetic dokku-rs host in a temp dir, driven through the real binaries.
//!
//! cargo builds only the tested package's binaries before its integration tests, so the
//! workspace's binaries must be built first (`cargo build --workspace --bins`, as `.ci/run`
//! does); a missing binary is a loud panic, never a skipped test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use dokku_core::env::Roots;
use dokku_core::plugins::{self, BinaryMode};

mod swarm_rig;
pub use swarm_rig::SwarmRig;

/// Gives a tree to `uid:gid`, links themselves and not what they point at.
pub fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid)).unwrap();
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
}

/// `target/<profile>/`, found from the running test executable (`target/<profile>/deps/x`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A workspace binary; panics with the fix when it was not built.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` before the tests",
        path.display()
    );
    path
}

/// The workspace root (this crate lives in `crates/dokku-test-support`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Fails the test when a host tool is missing: end-to-end tests never skip.
pub fn require_tool(tool: &str, install_hint: &str) -> PathBuf {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file());
    match found {
        Some(path) => path,
        None => panic!("{tool} is required for this test and is not installed: {install_hint}"),
    }
}

/// The unprivileged account that trust-boundary tests use as the dokku user.
pub const SYSTEM_USER: &str = "dokku-rs-test";

/// Fails the test unless it runs as root: tests that cross a trust boundary need a real
/// second account (CI runs as root).
pub fn require_root(why: &str) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test must run as root ({why}); CI does"
    );
}

/// [`SYSTEM_USER`], created (once, with an unusable but unlocked password, as install.sh
/// makes the dokku user) when missing. Returns its uid and gid.
pub fn system_user() -> (u32, u32) {
    use std::sync::Mutex;
    static CREATING: Mutex<()> = Mutex::new(());
    require_root("it acts as a second unix user");
    let _guard = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    let lookup = || nix::unistd::User::from_name(SYSTEM_USER).ok().flatten();
    if lookup().is_none() {
        let home = format!("/var/lib/{SYSTEM_USER}");
        let out = std::process::Command::new(require_tool("useradd", "apt-get install passwd"))
            .args([
                "--system",
                "--user-group",
                "--create-home",
                "--home-dir",
                &home,
            ])
            .args(["--shell", "/bin/bash", SYSTEM_USER])
            .output()
            .unwrap();
        assert!(
            out.status.success() || lookup().is_some(),
            "useradd {SYSTEM_USER}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = std::process::Command::new(require_tool("usermod", "apt-get install passwd"))
            .args(["-p", "*", SYSTEM_USER])
            .output()
            .unwrap();
        assert!(out.status.success(), "usermod {SYSTEM_USER}");
    }
    allow_root_helper();
    join_docker_group();
    let user = lookup().unwrap();
    (user.uid.as_raw(), user.gid.as_raw())
}

/// The docker client the host's commands use (`DOCKER_BIN`, else `docker`).
pub fn docker_bin() -> String {
    dokku_core::env::installed_setting("DOCKER_BIN").unwrap_or_else(|| "docker".into())
}

/// Fails with the reason when another account could not run `path` (the dokku user runs
/// the build's `dokku` over SSH): every directory above it must let others through.
fn require_reachable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for dir in path.ancestors().skip(1) {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode();
        assert!(
            mode & 0o001 != 0,
            "{} is not searchable by other users (mode {mode:o}): the trust-boundary tests run \
             the build as {SYSTEM_USER}; build in a directory others may enter",
            dir.display()
        );
    }
}

/// Like the dokku user, the test's system user may use the docker engine.
fn join_docker_group() {
    if nix::unistd::Group::from_name("docker")
        .ok()
        .flatten()
        .is_some()
    {
        join_group("docker");
    }
}

/// Adds [`SYSTEM_USER`] to `group`, made first when missing: the groups the dokku user is in
/// on a real host (`docker`, and `dokku`, which service plugins' sudoers rules name).
pub fn join_group(group: &str) {
    use std::sync::Mutex;
    static CHANGING: Mutex<()> = Mutex::new(());
    let _guard = CHANGING.lock().unwrap_or_else(|e| e.into_inner());
    let lookup = || nix::unistd::Group::from_name(group).ok().flatten();
    if lookup().is_none() {
        let out = std::process::Command::new(require_tool("groupadd", "apt-get install passwd"))
            .args(["--system", group])
            .output()
            .unwrap();
        assert!(
            out.status.success() || lookup().is_some(),
            "groupadd {group}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if lookup().is_some_and(|g| g.mem.iter().any(|m| m == SYSTEM_USER)) {
        return;
    }
    let out = std::process::Command::new(require_tool("usermod", "apt-get install passwd"))
        .args(["-aG", group, SYSTEM_USER])
        .output()
        .unwrap();
    assert!(out.status.success(), "usermod -aG {group} {SYSTEM_USER}");
}

/// The sudoers rule install.sh writes for the dokku user, for [`SYSTEM_USER`] and this
/// build's root helper (`/etc/sudoers.d/dokku-rs-test-<hash of the helper's path>`, so
/// builds in two checkouts never take each other's rule; checked by visudo first).
fn allow_root_helper() {
    let helper = binary("dokku-root-helper");
    let rule = format!("{SYSTEM_USER} ALL=(root) NOPASSWD: {}\n", helper.display());
    let hash = helper
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    let path = PathBuf::from(format!("/etc/sudoers.d/dokku-rs-test-{hash:016x}"));
    let path = path.as_path();
    if std::fs::read_to_string(path).is_ok_and(|current| current == rule) {
        return;
    }
    require_tool("sudo", "apt-get install sudo (install.sh does)");
    let staged = path.with_extension("new");
    std::fs::write(&staged, &rule).unwrap();
    let check = std::process::Command::new(require_tool("visudo", "apt-get install sudo"))
        .args(["-c", "-q", "-f"])
        .arg(&staged)
        .output()
        .unwrap();
    assert!(check.status.success(), "visudo refused {rule}");
    std::fs::set_permissions(
        &staged,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o440),
    )
    .unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A self-signed certificate for `domain` (its CN and only SAN), valid two days, written
/// as `crt` and `key` by openssl.
pub fn self_signed_certificate(domain: &str, crt: &Path, key: &Path) {
    let out = std::process::Command::new(require_tool("openssl", "apt-get install openssl"))
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={domain}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{domain}"))
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(crt)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private nginx's configuration in `dir` (its pid, logs and temp files there too): root's
/// copy of every app config (`dir/dokku-rs/apps/*.conf`), and `dir/extra/*.conf` for a
/// test's own servers. The
/// `defaults` file points dokku at it (`DOKKU_NGINX_CONF`, `DOKKU_NGINX_LOG_DIR`), so no
/// command on the host touches the system's nginx. Returns the configuration's path.
pub fn write_private_nginx(dir: &Path, defaults: &Path) -> PathBuf {
    let conf = dir.join("nginx.conf");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::create_dir_all(dir.join("extra")).unwrap();
    let d = dir.display();
    std::fs::write(
        &conf,
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n\
             proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n\
             uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n\
             include {d}/extra/*.conf;\n  include {d}/dokku-rs/apps/*.conf;\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        defaults,
        format!(
            "DOKKU_NGINX_CONF={}\nDOKKU_NGINX_LOG_DIR={d}\n",
            conf.display()
        ),
    )
    .unwrap();
    conf
}

pub struct TestHost {
    dir: tempfile::TempDir,
    pub roots: Roots,
    /// The account that owns app state (`DOKKU_SYSTEM_USER`).
    pub system_user: String,
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost::new()
    }
}

impl TestHost {
    /// A fresh host with the core plugins installed by the same code as install.sh.
    pub fn new() -> TestHost {
        let dir = tempfile::Builder::new()
            .prefix("dokku-host-")
            .tempdir()
            .unwrap();
        let roots = Roots::under(dir.path());
        std::fs::create_dir_all(&roots.dokku_root).unwrap();
        binary("dokku");
        plugins::install_core(
            &roots,
            &workspace_root().join("plugins"),
            &bin_dir(),
            BinaryMode::Link,
        )
        .expect("installing the core plugins");
        let host = TestHost {
            dir,
            roots,
            system_user: "dokku-test-nobody".into(),
        };
        host.write_private_nginx_conf();
        host
    }

    /// The host's own nginx configuration (root's nginx commands use it, never the
    /// system's): every app config of this host, plus whatever a test puts in
    /// `extra/*.conf` beside it. No nginx runs it until a test starts one.
    pub fn nginx_conf(&self) -> PathBuf {
        self.path().join("nginx/nginx.conf")
    }

    fn write_private_nginx_conf(&self) {
        write_private_nginx(
            &self.path().join("nginx"),
            &self.path().join("etc-default-dokku"),
        );
    }

    /// A host laid out as install.sh lays out a real one: the plugin tree is root's, and
    /// app state (`$DOKKU_ROOT`, `data`, `config`, logs) belongs to [`SYSTEM_USER`], as
    /// which root runs ordinary commands. Needs root.
    pub fn with_system_user() -> TestHost {
        use std::os::unix::fs::PermissionsExt;
        let (uid, gid) = system_user();
        require_reachable_by_others(&binary("dokku"));
        let mut host = TestHost::new();
        host.system_user = SYSTEM_USER.into();
        std::fs::set_permissions(host.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for dir in [
            host.roots.dokku_root.clone(),
            host.roots.dokku_root.join(".ssh"),
            host.roots.lib_root.join("data"),
            host.roots.lib_root.join("config"),
            host.roots.logs_dir.clone(),
        ] {
            std::fs::create_dir_all(&dir).unwrap();
            chown_tree(&dir, uid, gid);
        }
        host
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The environment a command on this host gets: nothing from the caller but PATH, with
    /// the build's binaries first (bash plugins run `dokku` and `plugn` by name).
    pub fn env(&self) -> Vec<(String, String)> {
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        vec![
            ("PATH".into(), path),
            ("HOME".into(), self.roots.dokku_root.display().to_string()),
            (
                "DOKKU_ROOT".into(),
                self.roots.dokku_root.display().to_string(),
            ),
            (
                "DOKKU_LIB_PATH".into(),
                self.roots.lib_root.display().to_string(),
            ),
            (
                "DOKKU_LOGS_DIR".into(),
                self.roots.logs_dir.display().to_string(),
            ),
            (
                "DOKKU_DEFAULTS_FILE".into(),
                self.dir
                    .path()
                    .join("etc-default-dokku")
                    .display()
                    .to_string(),
            ),
            ("DOKKU_SYSTEM_USER".into(), self.system_user.clone()),
            ("DOCKER_BIN".into(), docker_bin()),
        ]
        .into_iter()
        .chain(
            dokku_core::env::installed_setting("DOCKER_BUILDKIT")
                .map(|v| ("DOCKER_BUILDKIT".to_string(), v)),
        )
        .collect()
    }

    /// `dokku ARGS` on this host, ready to run.
    pub fn dokku<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = assert_cmd::Command::new(binary("dokku"));
        cmd.env_clear()
            .envs(self.env())
            .args(args)
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs `dokku ARGS` with empty stdin.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.dokku(args).write_stdin("").output().unwrap()
    }

    /// Runs and asserts success, returning stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "command failed:\n{}",
            self.render(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// uv's snapshot form, with this host's temp dir shown as `[ROOT]`.
    pub fn render(&self, out: &Output) -> String {
        let root = self.dir.path().display().to_string();
        let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&root, "[ROOT]");
        format!(
            "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            out.status.success(),
            out.status.code().unwrap_or(-1),
            clean(&out.stdout),
            clean(&out.stderr)
        )
    }

    /// Copies a plugin directory to a temp location and `plugin:install`s it.
    pub fn install_plugin(&self, source: &Path, name: &str) -> Output {
        self.run([
            "plugin:install".as_ref(),
            source.as_os_str(),
            "--name".as_ref(),
            name.as_ref(),
        ])
    }

    /// A snapshot of every file under the host (paths and contents), to prove that a
    /// refused command changed nothing.
    pub fn state(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let rel = path
                    .strip_prefix(self.dir.path())
                    .unwrap()
                    .display()
                    .to_string();
                if meta.is_dir() {
                    out.push((rel, Vec::new()));
                    stack.push(path);
                } else if meta.file_type().is_symlink() {
                    out.push((
                        rel,
                        std::fs::read_link(&path)
                            .unwrap()
                            .into_os_string()
                            .into_encoded_bytes(),
                    ));
                } else {
                    out.push((rel, std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

/// The directory of the released third-party plugins' git bundles (test data): the
/// `DOKKU_THIRD_PARTY_DIR` setting, else `shared/third-party` beside this checkout or beside
/// the local checkout it was cloned from (a clean clone elsewhere still finds it).
pub fn third_party_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOKKU_THIRD_PARTY_DIR") {
        return PathBuf::from(dir);
    }
    let beside = |checkout: &Path| checkout.join("../shared/third-party");
    let here = beside(&workspace_root());
    if here.is_dir() {
        return here;
    }
    let origin = std::process::Command::new("git")
        .args(["config", "--get", "remote.origin.url"])
        .current_dir(workspace_root())
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|url| url.starts_with('/'));
    origin
        .map(|url| beside(Path::new(&url)))
        .filter(|dir| dir.is_dir())
        .unwrap_or(here)
}

/// Clones a released plugin from its bundle in [`third_party_dir`] at `tag` into `dest`.
pub fn clone_third_party(bundle: &str, tag: &str, dest: &Path) {
    let path = third_party_dir().join(bundle);
    assert!(
        path.is_file(),
        "{} is missing: the released plugins are cloned from it \
         (set DOKKU_THIRD_PARTY_DIR to the directory of the bundles)",
        path.display()
    );
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "advice.detachedHead=false",
            "clone",
            "-q",
            "--branch",
            tag,
        ])
        .arg(&path)
        .arg(dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cloning {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
