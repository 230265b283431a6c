use std::path::PathBuf;
use std::process::Command;

use dokku_test_support::TestHost;

use crate::{Sshd, client_key, commit, head, start_sshd, text, work_repo};

/// A host with sshd and an admin key named `admin`. Its apps use the null builder: these
/// tests are about git and SSH, and build nothing.
pub(crate) fn setup() -> (TestHost, Sshd, PathBuf) {
    let (host, sshd, key) = setup_building();
    host.ok(["builder:set", "--global", "selected", "null"]);
    (host, sshd, key)
}

/// A host with sshd and an admin key named `admin`, whose pushes build.
pub(crate) fn setup_building() -> (TestHost, Sshd, PathBuf) {
    let host = TestHost::new();
    let sshd = start_sshd(&host);
    let key = client_key(host.path(), "admin");
    let pub_key = key.with_extension("pub");
    host.ok(["ssh-keys:add", "admin", pub_key.to_str().unwrap()]);
    (host, sshd, key)
}

pub(crate) fn make_plugin(host: &TestHost, name: &str, trigger: &str, body: &str) {
    let dir = host.path().join(format!("{name}-src"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        "[plugin]\ndescription = \"test\"\nversion = \"0.0.1\"\n[plugin.config]\n",
    )
    .unwrap();
    dokku_core::fs::write_atomic(
        &dir.join(trigger),
        format!("#!/usr/bin/env bash\nset -eo pipefail\n{body}\n").as_bytes(),
        0o755,
    )
    .unwrap();
    let out = host.install_plugin(&dir, name);
    assert!(out.status.success(), "{}", host.render(&out));
}

#[test]
fn admin_pushes_a_new_app_then_fetches_and_runs_commands() {
    let (host, sshd, key) = setup();
    let work = host.path().join("work");
    let rev = work_repo(&work, "main");
    let push = sshd.git(&key, &work, &["push", &sshd.remote("demo"), "main"]);
    let out = text(&push);
    assert!(push.status.success(), "{out}");
    // Created before git's protocol starts, so it reaches the pusher as plain stderr.
    assert!(out.contains("-----> Creating demo..."), "{out}");
    assert!(
        out.contains("remote: -----> Set main as deploy-branch"),
        "{out}"
    );
    assert!(
        out.contains("remote: -----> The null builder built nothing for demo"),
        "{out}"
    );
    assert_eq!(
        host.ok(["git:report", "demo", "--git-sha"]),
        format!("{rev}\n")
    );
    assert_eq!(
        host.ok(["git:report", "demo", "--git-deploy-branch"]),
        "main\n"
    );
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{rev}\n")
    );
    assert_eq!(
        host.ok(["apps:report", "demo", "--app-deploy-source"]),
        "git-push\n"
    );

    let rev2 = commit(&work, "app.txt", "version 2\n");
    let push = sshd.git(&key, &work, &["push", &sshd.remote("demo"), "main"]);
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{rev2}\n")
    );
    // Each push is a build on record, its output kept as the pusher saw it.
    let builds: serde_json::Value =
        serde_json::from_str(&host.ok(["builds:list", "demo", "--format", "json"])).unwrap();
    let builds = builds.as_array().unwrap();
    assert_eq!(builds.len(), 2, "{builds:?}");
    for build in builds {
        assert_eq!(build["source"], "git-hook");
        assert_eq!(build["kind"], "build");
        assert_eq!(build["status"], "succeeded");
        assert_eq!(build["exit_code"], 0);
    }
    let newest = builds[0]["id"].as_str().unwrap();
    let log = host.ok(["builds:output", "demo", newest]);
    assert!(
        log.contains("-----> The null builder built nothing for demo"),
        "{log}"
    );

    let clone = host.path().join("clone");
    let fetched = sshd.git(
        &key,
        host.path(),
        &["clone", "-q", &sshd.remote("demo"), "clone"],
    );
    assert!(fetched.status.success(), "{}", text(&fetched));
    assert_eq!(head(&clone), rev2);

    let listed = sshd.ssh(&key, "apps:list");
    assert!(listed.status.success(), "{}", text(&listed));
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "=====> My Apps\ndemo\n"
    );
    let keys = sshd.ssh(&key, "ssh-keys:list");
    assert!(String::from_utf8_lossy(&keys.stdout).contains("NAME=\"admin\""));
}

#[test]
fn another_branch_is_stored_but_does_not_deploy() {
    let (host, sshd, key) = setup();
    let work = host.path().join("work");
    let rev = work_repo(&work, "main");
    assert!(
        sshd.git(&key, &work, &["push", &sshd.remote("demo"), "main"])
            .status
            .success()
    );
    Command::new("git")
        .args(["checkout", "-q", "-b", "feature"])
        .current_dir(&work)
        .status()
        .unwrap();
    commit(&work, "feature.txt", "wip\n");
    let push = sshd.git(&key, &work, &["push", &sshd.remote("demo"), "feature"]);
    let out = text(&push);
    assert!(push.status.success(), "{out}");
    assert!(
        out.contains("WARNING: deploy did not complete, you must push to main."),
        "{out}"
    );
    assert!(!out.contains("Building"), "{out}");
    let refs = sshd.git(&key, &work, &["ls-remote", &sshd.remote("demo")]);
    let refs = String::from_utf8_lossy(&refs.stdout).into_owned();
    assert!(refs.contains("refs/heads/feature"), "{refs}");
    assert!(refs.contains(&format!("{rev}\trefs/heads/main")), "{refs}");
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{rev}\n")
    );
}

#[test]
fn deploy_keys_push_only_their_apps() {
    let (host, sshd, admin) = setup();
    host.ok(["apps:create", "demo"]);
    host.ok(["apps:create", "other"]);
    let deploy = client_key(host.path(), "ci");
    let pub_key = std::fs::read(deploy.with_extension("pub")).unwrap();
    host.dokku(["deploy:allow", "demo", "--name", "ci"])
        .write_stdin(pub_key.clone())
        .assert()
        .success();
    assert!(host.ok(["deploy:list", "demo"]).contains("ci:"));
    let refused_admin = host
        .dokku(["deploy:allow", "demo"])
        .write_stdin(std::fs::read(admin.with_extension("pub")).unwrap())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&refused_admin.stderr).contains("admin key"));

    let work = host.path().join("work");
    let rev = work_repo(&work, "master");
    let push = sshd.git(&deploy, &work, &["push", &sshd.remote("demo"), "master"]);
    assert!(push.status.success(), "{}", text(&push));
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{rev}\n")
    );
    let fetch = sshd.git(&deploy, &work, &["fetch", "-q", &sshd.remote("demo")]);
    assert!(fetch.status.success(), "{}", text(&fetch));

    for app in ["other", "brand-new"] {
        let push = sshd.git(&deploy, &work, &["push", &sshd.remote(app), "master"]);
        assert!(!push.status.success());
        assert!(text(&push).contains("Access denied"), "{}", text(&push));
    }
    assert!(
        !host.roots.app_dir("brand-new").exists(),
        "a deploy key created an app"
    );
    for command in [
        "config:set demo A=1",
        "apps:list",
        "bash",
        "apps:list; id",
        "git-receive-pack 'demo' --app other",
        "git-receive-pack 'demo' extra",
        "--app other git-receive-pack 'demo'",
    ] {
        let out = sshd.ssh(&deploy, command);
        assert!(!out.status.success(), "{command:?} allowed");
        assert!(
            text(&out).contains("Access denied"),
            "{command:?}: {}",
            text(&out)
        );
    }
    assert!(
        !host.run(["config:get", "demo", "A"]).status.success(),
        "config:set ran"
    );

    host.ok(["deploy:revoke", "demo", "ci"]);
    let push = sshd.git(&deploy, &work, &["push", &sshd.remote("demo"), "master"]);
    assert!(!push.status.success());
    assert!(text(&push).contains("Permission denied"), "{}", text(&push));
}

#[test]
fn injection_through_ssh_runs_nothing() {
    let (host, sshd, key) = setup();
    let witness = host.path().join("pwned");
    let w = witness.display();
    for command in [
        format!("apps:list; touch {w}"),
        format!("apps:list && touch {w}"),
        format!("$(touch {w})"),
        format!("`touch {w}`"),
        format!("apps:create \"x$(touch {w})\""),
        format!("git-receive-pack 'a;touch {w}'"),
        format!("git-upload-pack '$(touch {w})'"),
        format!("bash -c 'touch {w}'"),
        format!("sh -c \"touch {w}\""),
    ] {
        let out = sshd.ssh(&key, &command);
        assert!(
            !out.status.success(),
            "{command:?} succeeded: {}",
            text(&out)
        );
    }
    assert!(!witness.exists(), "a command reached a shell");
    assert_eq!(host.ok(["apps:list", "--format", "json"]), "[]\n");
}

/// An app `demo` deploying from master, one trigger slowed by a plugin, and two work
/// repositories `a` and `b` to race pushes from; returns their first revisions too.
pub(crate) fn racing_setup(
    slow_trigger: &str,
) -> (TestHost, Sshd, PathBuf, [(PathBuf, String); 2]) {
    let (host, sshd, key) = setup();
    host.ok(["apps:create", "demo"]);
    host.ok(["git:set", "demo", "deploy-branch", "master"]);
    make_plugin(&host, "slow", slow_trigger, "sleep 1");
    let repos = ["a", "b"].map(|name| {
        let dir = host.path().join(name);
        let rev = work_repo(&dir, "master");
        (dir, rev)
    });
    (host, sshd, key, repos)
}

#[test]
fn two_concurrent_pushes_end_consistently() {
    let (host, sshd, key, [(a, rev_a), (b, rev_b)]) = racing_setup("post-extract");
    let results: Vec<(bool, String)> = std::thread::scope(|s| {
        let pushes: Vec<_> = [&a, &b]
            .into_iter()
            .map(|dir| {
                let (sshd, key) = (&sshd, &key);
                s.spawn(move || {
                    let out = sshd.git(key, dir, &["push", &sshd.remote("demo"), "master"]);
                    (out.status.success(), text(&out))
                })
            })
            .collect();
        pushes.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let won: Vec<usize> = (0..2).filter(|i| results[*i].0).collect();
    assert_eq!(won.len(), 1, "{results:#?}");
    let lost = &results[1 - won[0]].1;
    assert!(
        lost.contains("currently being deployed") || lost.contains("rejected"),
        "{lost}"
    );
    let winner = if won[0] == 0 { rev_a } else { rev_b };
    assert_eq!(
        host.ok(["git:report", "demo", "--git-sha"]),
        format!("{winner}\n")
    );
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{winner}\n")
    );
    let fsck = Command::new("git")
        .args(["fsck", "--full"])
        .current_dir(host.roots.app_dir("demo"))
        .output()
        .unwrap();
    assert!(fsck.status.success(), "{}", text(&fsck));
}

/// A work repository whose second commit adds `url` as the submodule `vendor/lib`.
pub(crate) fn repo_with_submodule(work: &std::path::Path, url: &str) -> PathBuf {
    work_repo(work, "master");
    let add = Command::new("git")
        .args(["-c", "protocol.file.allow=always", "submodule", "add", "-q"])
        .args([url, "vendor/lib"])
        .current_dir(work)
        .output()
        .unwrap();
    assert!(add.status.success(), "{}", text(&add));
    commit(work, "main.txt", "uses the submodule\n");
    work.to_path_buf()
}

/// A plugin whose `post-extract` lists the build's files into the returned file.
pub(crate) fn record_build_files(host: &TestHost) -> PathBuf {
    let listing = host.path().join("build-listing");
    make_plugin(
        host,
        "inspect",
        "post-extract",
        &format!("cd \"$2\" && find . | sort > {}", listing.display()),
    );
    listing
}

#[test]
fn submodules_are_checked_out_for_the_build() {
    let (host, sshd, key) = setup();
    let lib = host.path().join("served/lib-src");
    work_repo(&lib, "master");
    let daemon = crate::GitDaemon::serve(&host.path().join("served"));
    let work = repo_with_submodule(&host.path().join("work"), &daemon.url("lib-src"));
    let listing = record_build_files(&host);
    let push = sshd.git(&key, &work, &["push", &sshd.remote("demo"), "master"]);
    assert!(push.status.success(), "{}", text(&push));
    let files = std::fs::read_to_string(&listing).unwrap();
    assert!(files.contains("./vendor/lib/app.txt"), "{files}");
    assert!(!files.contains(".git/"), "{files}");
}
