//! Every trust boundary, attacked the way it was attacked on an installed host: each test
//! reproduces an attack and checks that it now fails and changes nothing it must not.
//! Tests that cross the root / dokku-user boundary use a real second account
//! ([`TestHost::with_system_user`]) and so run as root, as CI does.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use dokku_test_support::{TestHost, chown_tree, require_root, system_user};

use crate::{make_plugin, stderr, stdout};

/// Runs `dokku` as sshd's forced command would for a key with this NAME and FINGERPRINT.
fn over_ssh(host: &TestHost, name: &str, fingerprint: &str, command: &str) -> std::process::Output {
    host.dokku(Vec::<&str>::new())
        .env("SSH_ORIGINAL_COMMAND", command)
        .env("NAME", name)
        .env("FINGERPRINT", fingerprint)
        .write_stdin("")
        .output()
        .unwrap()
}

/// A file only root may read or write, standing for `/etc/shadow` and the like.
fn root_secret(host: &TestHost, name: &str) -> std::path::PathBuf {
    let path = host.path().join(name);
    std::fs::write(&path, "root secret\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn owner(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().uid()
}

/// Plants a link as the dokku user would: the link itself is the dokku user's.
fn plant_link(target: &Path, link: &Path) {
    let (uid, gid) = system_user();
    let _ = std::fs::remove_file(link);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, link).unwrap();
    std::os::unix::fs::lchown(link, Some(uid), Some(gid)).unwrap();
}

fn public_key(host: &TestHost, name: &str) -> std::path::PathBuf {
    let key = host.path().join(name);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    key.with_extension("pub")
}

#[test]
fn admin_keys_run_dokku_commands_never_programs() {
    let host = TestHost::new();
    let witness = host.path().join("pwned");
    let touch = format!("touch {}", witness.display());
    for attack in [
        format!("/usr/bin/env {touch}"),
        format!("apps:../../../../usr/bin/env {touch}"),
        format!("deployX=1:../../../../usr/bin/env {touch}"),
        format!("../../../../../usr/bin/env {touch}"),
        format!("apps:/usr/bin/env {touch}"),
    ] {
        let out = over_ssh(&host, "admin", "SHA256:admin", &attack);
        assert!(!out.status.success(), "{attack}: {}", host.render(&out));
        assert!(
            stderr(&out).contains("is not a dokku command"),
            "{attack}: {}",
            host.render(&out)
        );
        let words: Vec<&str> = attack.split(' ').collect();
        let out = host.run(&words);
        assert!(!out.status.success(), "{attack}: {}", host.render(&out));
    }
    assert!(!witness.exists(), "a program outside the plugins ran");
}

#[test]
fn non_utf8_input_is_one_clear_error() {
    use std::os::unix::ffi::OsStrExt;
    let host = TestHost::new();
    let bad = std::ffi::OsStr::from_bytes(b"apps:create\xff");
    let out = host.dokku([bad]).write_stdin("").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert_eq!(
        stderr(&out),
        " !     Invalid command: an argument is not valid UTF-8\n"
    );
    let out = host
        .dokku(Vec::<&str>::new())
        .env(
            "SSH_ORIGINAL_COMMAND",
            std::ffi::OsStr::from_bytes(b"apps:list \xff"),
        )
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", host.render(&out));
    assert_eq!(
        stderr(&out),
        " !     Invalid command: it is not valid UTF-8\n"
    );
    assert!(
        stdout(&out).is_empty(),
        "help must not run: {}",
        host.render(&out)
    );
}

#[test]
fn root_takes_no_code_path_from_the_dokku_users_rc_files() {
    let host = TestHost::with_system_user();
    let (uid, gid) = system_user();
    let witness = host.path().join("ran-as-root");
    let fake = host.roots.dokku_root.join("x");
    make_plugin(
        &fake.join("enabled/ssh-keys"),
        &[("subcommands/add", &format!("id -u > {}", witness.display()))],
    );
    let rc = host.roots.dokku_root.join(".dokkurc/x");
    std::fs::create_dir_all(rc.parent().unwrap()).unwrap();
    std::fs::write(
        &rc,
        format!(
            "export PLUGIN_PATH={}\nexport DOKKU_LIB_PATH={}\n",
            fake.display(),
            fake.display()
        ),
    )
    .unwrap();
    std::fs::write(
        host.roots.dokku_root.join("dokkurc"),
        format!("export PATH={}\n", fake.display()),
    )
    .unwrap();
    chown_tree(&host.roots.dokku_root, uid, gid);
    let key = public_key(&host, "admin");
    let out = host.run(["ssh-keys:add", "admin", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(!witness.exists(), "root ran the dokku user's plugin");
    let keys = std::fs::read_to_string(host.roots.dokku_root.join(".ssh/authorized_keys")).unwrap();
    assert!(keys.contains("NAME=\\\"admin\\\""), "{keys}");
}

#[test]
fn root_follows_no_link_in_the_dokku_users_ssh_dir() {
    let host = TestHost::with_system_user();
    let ssh = host.roots.dokku_root.join(".ssh");
    let key = public_key(&host, "admin");
    host.ok(["ssh-keys:add", "admin", key.to_str().unwrap()]);

    // The lock linked to a root file: root's remove must not hand that file to dokku.
    let lock_target = root_secret(&host, "root-owned-file");
    plant_link(&lock_target, &ssh.join(".authorized_keys.lock"));
    let _ = host.run(["ssh-keys:remove", "admin"]);
    assert_eq!(
        owner(&lock_target),
        0,
        "root's file was given to the dokku user"
    );
    assert_eq!(
        std::fs::read_to_string(&lock_target).unwrap(),
        "root secret\n"
    );

    // authorized_keys linked to a root-only file: root's add must not copy it out.
    std::fs::remove_file(ssh.join(".authorized_keys.lock")).unwrap();
    let secret = root_secret(&host, "root-only-secret");
    plant_link(&secret, &ssh.join("authorized_keys"));
    let other = public_key(&host, "other");
    let _ = host.run(["ssh-keys:add", "other", other.to_str().unwrap()]);
    assert_eq!(owner(&secret), 0);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root secret\n");
    for entry in walk(&host.roots.dokku_root) {
        if entry.is_file() && !entry.is_symlink() {
            let text = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&text).contains("root secret"),
                "{} holds root's secret",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        out.push(path);
    }
    out
}

#[test]
fn ensure_directory_never_chowns_through_a_link() {
    let host = TestHost::with_system_user();
    let system_dir = host.path().join("system-dir");
    std::fs::create_dir(&system_dir).unwrap();
    let storage = host.roots.lib_root.join("data/storage");
    plant_link(&system_dir, &storage.join("evil"));
    let out = host.run(["storage:ensure-directory", "evil", "--chown", "heroku"]);
    assert!(!out.status.success(), "{}", host.render(&out));
    assert_eq!(
        owner(&system_dir),
        0,
        "root chowned a directory through a link"
    );
    // A link higher up: data/storage itself.
    std::fs::remove_dir_all(&storage).unwrap();
    std::fs::create_dir(system_dir.join("inner")).unwrap();
    plant_link(&system_dir, &storage);
    let out = host.run(["storage:ensure-directory", "inner", "--chown", "heroku"]);
    assert!(!out.status.success(), "{}", host.render(&out));
    assert_eq!(owner(&system_dir.join("inner")), 0);
}

#[test]
fn plugin_install_migrates_config_as_the_dokku_user() {
    let host = TestHost::with_system_user();
    let (uid, gid) = system_user();
    host.ok(["apps:create", "demo"]);
    host.ok(["apps:create", "other"]);
    // A legacy ENV, as an upgrade from an older Dokku leaves it (no record of a move).
    std::fs::remove_file(host.roots.config_dir().join("config/demo/env-migrated")).unwrap();
    let legacy = host.roots.app_dir("demo").join("ENV");
    std::fs::write(&legacy, "export OLD='value'\n").unwrap();
    std::os::unix::fs::chown(&legacy, Some(uid), Some(gid)).unwrap();
    // Another app's config dir linked to a system directory, with a legacy ENV planted.
    let system_dir = host.path().join("system-config");
    std::fs::create_dir(&system_dir).unwrap();
    std::fs::write(system_dir.join("keep"), "system file\n").unwrap();
    let other_config = host.roots.config_dir().join("other");
    std::fs::remove_dir_all(&other_config).ok();
    plant_link(&system_dir, &other_config);
    let planted = host.roots.app_dir("other").join("ENV");
    std::fs::write(&planted, "export X='1'\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(uid), Some(gid)).unwrap();

    let out = host.run(["plugin:install"]);
    assert!(out.status.success(), "{}", host.render(&out));

    let env_file = host.roots.config_dir().join("demo/ENV");
    assert_eq!(
        owner(&env_file),
        uid,
        "migrated config must belong to the dokku user"
    );
    for entry in walk(&host.roots.config_dir()) {
        assert_ne!(owner(&entry), 0, "{} is root's", entry.display());
    }
    assert_eq!(
        std::fs::read_dir(&system_dir).unwrap().count(),
        1,
        "root wrote into the linked system directory"
    );
    host.ok(["config:set", "--no-restart", "demo", "NEW=1"]);
    assert_eq!(host.ok(["config:get", "demo", "OLD"]), "value\n");
}

#[test]
fn a_deploy_key_with_no_app_is_refused_everything() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["config:set", "--no-restart", "demo", "SECRET=1"]);
    let name = "deploy:SHA256:orphan";
    for command in [
        "apps:list",
        "config:show demo",
        "apps:create mine",
        "git-receive-pack 'demo'",
        "git-upload-pack 'demo'",
        "ssh-keys:list",
        "help",
    ] {
        let out = over_ssh(&host, name, "SHA256:orphan", command);
        assert!(!out.status.success(), "{command}: {}", host.render(&out));
        assert!(
            stderr(&out).contains("Access denied"),
            "{command}: {}",
            host.render(&out)
        );
        assert!(!stdout(&out).contains("SECRET"));
    }
    assert!(!host.roots.app_dir("mine").exists());
}

#[test]
fn a_deploy_key_gets_push_and_fetch_and_nothing_else() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let key = public_key(&host, "ci");
    host.dokku(["deploy:allow", "demo"])
        .write_stdin(std::fs::read(&key).unwrap())
        .assert()
        .success();
    let fingerprint = host
        .ok(["deploy:list", "demo", "--format", "json"])
        .split('"')
        .find(|s| s.starts_with("SHA256:"))
        .unwrap()
        .to_string();
    let name = format!("deploy:{fingerprint}");
    let before = host.state();
    for command in [
        "git-hook demo",
        "--trace git-upload-pack 'demo'",
        "git-upload-pack 'demo' --trace",
        "--quiet git-upload-pack 'demo'",
        "git:report demo",
    ] {
        let out = over_ssh(&host, &name, &fingerprint, command);
        assert_eq!(
            stderr(&out),
            " !     Access denied\n",
            "{command}: refused before anything runs, traced or not"
        );
    }
    assert_eq!(host.state(), before);
}

#[test]
fn app_names_the_root_dir_uses_are_reserved_and_a_bad_rc_file_is_survived() {
    let host = TestHost::new();
    for name in ["dokkurc", "tls"] {
        let out = host.run(["apps:create", name]);
        assert!(!out.status.success(), "{name}: {}", host.render(&out));
        assert!(stderr(&out).contains("reserved"), "{}", host.render(&out));
    }
    // What an app named dokkurc did to the host: a directory where the rc file goes.
    std::fs::create_dir(host.roots.dokku_root.join("dokkurc")).unwrap();
    host.ok(["apps:create", "demo"]);
    let out = host.run(["apps:list"]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(stdout(&out), "=====> My Apps\ndemo\n");
    assert!(stderr(&out).contains("dokkurc"), "{}", host.render(&out));
}

#[test]
fn destroy_keeps_the_apps_storage_and_finishes() {
    let host = TestHost::with_system_user();
    host.ok(["apps:create", "demo"]);
    host.ok(["storage:ensure-directory", "demo"]);
    let data = host.roots.lib_root.join("data/storage/demo");
    assert_eq!(owner(&data), 32767);
    std::fs::write(data.join("upload.bin"), "user data").unwrap();
    let spec = format!("{}:/app/storage", data.display());
    host.ok(["storage:mount", "demo", &spec]);
    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!host.roots.app_dir("demo").exists());
    assert_eq!(
        std::fs::read_to_string(data.join("upload.bin")).unwrap(),
        "user data"
    );
    assert!(!host.roots.config_dir().join("demo").exists());
}

#[test]
fn mounts_are_judged_where_they_lead() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let storage = host.roots.lib_root.join("data/storage");
    std::fs::create_dir_all(&storage).unwrap();
    std::os::unix::fs::symlink("/etc", storage.join("etc")).unwrap();
    let before = host.state();
    for host_path in [
        "/var/run/docker.sock".to_string(),
        "/run".into(),
        "/usr".into(),
        "/bin".into(),
        "/lib".into(),
        "/root/.ssh".into(),
        format!("{}/etc", storage.display()),
        format!("{}/etc/ssl", storage.display()),
    ] {
        let out = host.run(["storage:mount", "demo", &format!("{host_path}:/data")]);
        assert!(!out.status.success(), "{host_path}: {}", host.render(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", host.render(&out));
    }
    assert_eq!(host.state(), before);
}

/// A `config:set` that arrives while a destroy is under way (config already gone, the app
/// directory not yet) must not leave an ENV behind for the next app of that name. A plugin
/// holds the destroy at that point until the write has started.
#[test]
fn a_write_racing_a_destroy_leaves_nothing_for_the_next_app() {
    let host = TestHost::new();
    let (inside, release) = (host.path().join("inside"), host.path().join("release"));
    let dir = host.path().join("hold-src");
    make_plugin(
        &dir,
        &[(
            "post-delete",
            &format!(
                "touch {}\nfor _ in $(seq 1 100); do [[ -e {} ]] && exit 0; sleep 0.1; done",
                inside.display(),
                release.display()
            ),
        )],
    );
    assert!(host.install_plugin(&dir, "zz-hold").status.success());
    host.ok(["apps:create", "demo"]);
    std::thread::scope(|s| {
        let destroy = s.spawn(|| host.run(["--force", "apps:destroy", "demo"]));
        while !inside.exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let set = s.spawn(|| host.run(["config:set", "--no-restart", "demo", "SECRET=x"]));
        std::thread::sleep(std::time::Duration::from_millis(500));
        std::fs::write(&release, "").unwrap();
        let destroyed = destroy.join().unwrap();
        assert!(destroyed.status.success(), "{}", host.render(&destroyed));
        let set = set.join().unwrap();
        assert!(!set.status.success(), "{}", host.render(&set));
    });
    assert!(!host.roots.app_dir("demo").exists());
    assert!(
        !host.roots.config_dir().join("demo/ENV").exists(),
        "an ENV outlived its app"
    );
    host.ok(["apps:create", "demo"]);
    assert!(!host.ok(["config:keys", "demo"]).contains("SECRET"));
}

#[test]
fn creates_racing_destroys_leave_whole_apps_or_none() {
    let host = TestHost::new();
    for round in 0..8 {
        let (create, destroy) = std::thread::scope(|s| {
            let create = s.spawn(|| host.run(["apps:create", "demo"]));
            let destroy = s.spawn(|| host.run(["--force", "apps:destroy", "demo"]));
            (create.join().unwrap(), destroy.join().unwrap())
        });
        let dir = host.roots.app_dir("demo");
        if dir.exists() {
            assert!(
                dir.join("refs").is_dir(),
                "round {round}: half an app:\n{}\n{}",
                host.render(&create),
                host.render(&destroy)
            );
            host.ok(["--force", "apps:destroy", "demo"]);
        }
        assert!(!dir.exists(), "round {round}");
    }
}

#[test]
fn killed_writes_leave_no_copy_of_secrets() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["config:set", "--no-restart", "demo", "SECRET=1"]);
    let dir = host.roots.config_dir().join("demo");
    let stale = dir.join(".ENV.4242.0.tmp");
    std::fs::write(&stale, "SECRET=\"1\"\n").unwrap();
    host.ok(["config:set", "--no-restart", "demo", "OTHER=2"]);
    assert!(
        !stale.exists(),
        "a stale temp file survived a write under the lock"
    );
    assert_eq!(
        std::fs::metadata(dir.join("ENV")).unwrap().mode() & 0o777,
        0o600
    );
    std::fs::write(&stale, "SECRET=\"1\"\n").unwrap();
    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!stale.exists(), "a stale temp file survived the app");
}

#[test]
fn plugin_names_follow_the_name_rules() {
    let host = TestHost::new();
    let dir = host.path().join("src-plugin");
    make_plugin(&dir, &[]);
    let before = host.state();
    for name in ["--name=-x", "--name=X", "--name=a.b", "--name=../x"] {
        let out = host.run(["plugin:install", dir.to_str().unwrap(), name]);
        assert!(!out.status.success(), "{name}: {}", host.render(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", host.render(&out));
    }
    assert_eq!(host.state(), before);
}

#[test]
fn root_actions_are_refused_to_others() {
    require_root("the helper checks who asks");
    let host = TestHost::with_system_user();
    let helper = dokku_test_support::binary("dokku-root-helper");
    let storage = host.roots.lib_root.join("data/storage");
    std::fs::create_dir_all(storage.join("root-dir")).unwrap();
    let (uid, _) = system_user();
    // Through sudo the caller may give away only what it owns.
    let out = std::process::Command::new(&helper)
        .args([
            "storage-chown",
            host.roots.lib_root.to_str().unwrap(),
            "root-dir",
            "1000",
        ])
        .env("SUDO_UID", uid.to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(owner(&storage.join("root-dir")), 0);
    for args in [
        vec!["storage-chown", "relative", "x", "1"],
        vec!["storage-chown", "/", "../etc", "1"],
        vec!["storage-chown", "/", "x", "-1"],
        vec!["rm", "-rf", "/"],
        vec![],
    ] {
        let out = std::process::Command::new(&helper)
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
    }
}

#[test]
fn the_hook_never_pins_an_invalid_deploy_branch() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let rev = "1".repeat(40);
    for refname in [
        "refs/heads/a..b",
        "refs/heads/-x",
        "refs/heads/a b",
        "refs/heads/@{1}",
    ] {
        let out = host
            .dokku(["git-hook", "demo"])
            .write_stdin(format!("{} {rev} {refname}\n", "0".repeat(40)))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{refname}: {}", host.render(&out));
        assert_eq!(
            host.ok(["git:report", "demo", "--git-computed-deploy-branch"]),
            "master\n",
            "{refname} was stored as the deploy branch"
        );
    }
}

#[test]
fn admin_keys_cannot_give_containers_the_host_through_docker_options() {
    require_root("root grants what admin keys cannot");
    let host = TestHost::with_system_user();
    let admin = |command: &str| over_ssh(&host, "admin", "SHA256:admin", command);
    assert!(admin("apps:create demo").status.success());
    let before = host.state();
    for option in [
        "-v /:/host",
        "--volume=/etc:/etc",
        "--mount type=bind,source=/,target=/host",
        "--mount type=volume,target=/x,volume-opt=device=/,volume-opt=o=bind",
        "--pid=host",
        "--network host",
        "--net=container:other.web.1",
        "--ipc host",
        "--privileged",
        "--cap-add SYS_ADMIN",
        "--device /dev/sda",
        "--security-opt seccomp=unconfined",
        "--userns host",
        "--cgroup-parent /",
        "--volumes-from other.web.1",
        "--env-file /etc/passwd",
        "--cidfile /tmp/cid",
        r#"--mount '"type=bind","source=/",target=/host'"#,
        "/:/host",
    ] {
        let out = admin(&format!("docker-options:add demo deploy,run {option}"));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{option}: {}",
            host.render(&out)
        );
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "{option}: {}",
            stderr(&out)
        );
    }
    let out = admin("docker-options:add demo build --allow security.insecure");
    assert!(!out.status.success(), "{}", host.render(&out));
    assert_eq!(host.state(), before, "a refused option is never stored");

    // Root may grant an option to one app; an admin key may not grant it.
    let out = admin("docker-options:allow demo --privileged");
    assert!(!out.status.success(), "{}", host.render(&out));
    host.ok(["docker-options:allow", "demo", "--privileged"]);
    let out = admin("docker-options:add demo deploy --privileged");
    assert!(out.status.success(), "{}", host.render(&out));
    let out = admin("docker-options:add demo deploy --cap-add SYS_ADMIN");
    assert!(!out.status.success(), "only what root granted");
    let grant = host
        .roots
        .lib_root
        .join("root-settings/docker-options/demo");
    assert_eq!(owner(&grant), 0, "the grant is root's file");
    // The app destroyed and made again under its name gets none of the old grants.
    assert!(admin("--force apps:destroy demo").status.success());
    assert!(admin("apps:create demo").status.success());
    let out = admin("docker-options:add demo deploy --privileged");
    assert!(!out.status.success(), "{}", host.render(&out));
    host.ok(["docker-options:allow", "demo", "--privileged"]);
    host.ok(["docker-options:disallow", "demo", "--privileged"]);
    assert!(!grant.exists());
}

#[test]
fn storage_goes_to_app_users_never_to_system_accounts() {
    require_root("the helper checks who asks");
    let host = TestHost::with_system_user();
    let helper = dokku_test_support::binary("dokku-root-helper");
    let (uid, gid) = system_user();
    let storage = host.roots.lib_root.join("data/storage/mine");
    std::fs::create_dir_all(&storage).unwrap();
    chown_tree(&host.roots.lib_root.join("data"), uid, gid);
    let chown = |to: &str| {
        std::process::Command::new(&helper)
            .args([
                "storage-chown",
                host.roots.lib_root.to_str().unwrap(),
                "mine",
                to,
            ])
            .env("SUDO_UID", uid.to_string())
            .output()
            .unwrap()
    };
    for system in ["0", "1", "33", "999", "4294967295"] {
        assert!(!chown(system).status.success(), "uid {system}");
        assert_eq!(owner(&storage), uid);
    }
    assert!(chown("32767").status.success(), "herokuish's user");
    assert_eq!(owner(&storage), 32767);
}

#[test]
fn root_takes_no_nginx_config_the_dokku_user_wrote_without_judging_it() {
    require_root("the helper runs as root for the dokku user");
    let host = TestHost::with_system_user();
    let helper = dokku_test_support::binary("dokku-root-helper");
    let (uid, gid) = system_user();
    host.ok(["apps:create", "web"]);
    let app_dir = host.roots.app_dir("web");
    let secret = root_secret(&host, "host.key");
    let helper_check = || {
        std::process::Command::new(&helper)
            .args([
                "nginx-check",
                host.roots.dokku_root.to_str().unwrap(),
                "web",
            ])
            .env("SUDO_UID", uid.to_string())
            .output()
            .unwrap()
    };
    // Written straight into its own tree, past the plugin's checks: root still judges it.
    for (config, refusal) in [
        (
            "server { listen 80; access_log /etc/cron.d/job; }",
            "logs go to a file directly in /var/log/nginx",
        ),
        ("include /etc/shadow;", "\"include\""),
        (
            "server { listen 80; client_body_temp_path /root; }",
            "\"client_body_temp_path\" is not allowed",
        ),
        (
            "server { listen 80; ssl_certificate_key /etc/ssl/private/host.key; }",
            "certificate files are the app's own",
        ),
        ("server { listen 80 default_server; }", "default_server"),
    ] {
        dokku_core::fs::write_atomic(&app_dir.join("nginx.conf"), config.as_bytes(), 0o644)
            .unwrap();
        chown_tree(&app_dir, uid, gid);
        let out = helper_check();
        assert!(!out.status.success(), "{config}");
        let words = String::from_utf8_lossy(&out.stderr);
        assert!(words.contains(refusal), "{config}: {words}");
    }
    // A certificate that is a link to a root-only file is never read.
    let tls = app_dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    plant_link(&secret, &tls.join("server.key"));
    let config = format!(
        "server {{ listen 443 ssl; ssl_certificate_key {}/server.key; }}",
        tls.display()
    );
    dokku_core::fs::write_atomic(&app_dir.join("nginx.conf"), config.as_bytes(), 0o644).unwrap();
    chown_tree(&app_dir, uid, gid);
    let out = helper_check();
    assert!(!out.status.success());
    let words = String::from_utf8_lossy(&out.stderr);
    assert!(words.contains("not a plain file"), "{words}");
    assert!(!words.contains("root secret"), "{words}");
    assert!(
        !std::path::Path::new("/etc/nginx/dokku-rs/apps/web.conf").exists(),
        "nothing refused reaches root's copies"
    );
    // Someone else's tree is not the caller's to hand over.
    let out = std::process::Command::new(&helper)
        .args(["nginx-check", "/root", "web"])
        .env("SUDO_UID", uid.to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn storage_bin_scripts_never_act_through_a_link_the_dokku_user_planted() {
    let host = TestHost::with_system_user();
    let system_dir = host.path().join("system-dir");
    std::fs::create_dir(&system_dir).unwrap();
    std::fs::write(system_dir.join("keep"), "system file\n").unwrap();
    let storage = host.roots.lib_root.join("data/storage");
    plant_link(&system_dir, &storage.join("evil"));
    let script = |name: &str, args: &[&str]| {
        std::process::Command::new(host.roots.plugin_available().join("storage/bin").join(name))
            .args(args)
            .env_clear()
            .envs(host.env())
            .output()
            .unwrap()
    };
    for (name, args) in [
        ("destroy-storage-dir", vec!["evil"]),
        ("chown-storage-dir", vec!["evil", "1000"]),
        ("chmod-storage-dir", vec!["evil", "0777"]),
    ] {
        let out = script(name, &args);
        assert!(!out.status.success(), "{name}: {}", host.render(&out));
        assert_eq!(owner(&system_dir), 0, "{name} changed the link's target");
        assert!(
            system_dir.join("keep").exists(),
            "{name} removed the link's target"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(
        std::fs::metadata(&system_dir).unwrap().permissions().mode() & 0o777,
        0o777
    );
}

#[test]
fn destroy_finishes_past_an_app_data_directory_root_made() {
    let host = TestHost::with_system_user();
    host.ok(["apps:create", "demo"]);
    // What a script run as root leaves: the app's data directory remade by root, with a
    // file of root's inside.
    let data = host.roots.lib_root.join("data/apps/demo");
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("root-file"), "x").unwrap();
    assert_eq!(owner(&data), 0);

    let out = host.run(["--force", "apps:destroy", "demo"]);
    assert!(out.status.success(), "{}", host.render(&out));
    let said = stderr(&out);
    let aside = said
        .split("rm -rf ")
        .nth(1)
        .map(str::trim)
        .unwrap_or_else(|| panic!("no command for root: {said}"));
    assert!(
        std::path::Path::new(aside).join("root-file").exists(),
        "{said}"
    );
    assert!(!host.roots.app_dir("demo").exists());
    host.ok(["apps:create", "demo"]);
    assert_ne!(owner(&data), 0);
    host.ok(["--force", "apps:destroy", "demo"]);
}
