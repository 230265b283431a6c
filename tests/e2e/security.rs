use std::os::unix::fs::MetadataExt;

use dokku_test_support::{SYSTEM_USER, TestHost};

use crate::push::{racing_setup, record_build_files, repo_with_submodule, setup};
use crate::{client_key, commit, start_sshd_for, text, work_repo};

/// Pairs of pushes race; whichever wins, the revision recorded (`GIT_REV`, the last
/// received revision) is the one the deploy branch holds. A slow `deploy-source-set`
/// (the last step of a push's hook, after the build) holds each push between recording
/// its revision and git's ref update, where a second push used to slip in.
#[test]
fn racing_pushes_record_the_revision_the_branch_holds() {
    let (host, sshd, key, [(a, _), (b, _)]) = racing_setup("deploy-source-set");
    for round in 0..4 {
        commit(&a, "a.txt", &format!("a {round}\n"));
        commit(&b, "b.txt", &format!("b {round}\n"));
        let results: Vec<String> = std::thread::scope(|s| {
            let pushes: Vec<_> = [&a, &b]
                .into_iter()
                .map(|dir| {
                    let (sshd, key) = (&sshd, &key);
                    s.spawn(move || {
                        text(&sshd.git(
                            key,
                            dir,
                            &["push", "--force", &sshd.remote("demo"), "master"],
                        ))
                    })
                })
                .collect();
            pushes.into_iter().map(|p| p.join().unwrap()).collect()
        });
        let branch = host.ok(["git:report", "demo", "--git-sha"]);
        assert_eq!(
            host.ok(["config:get", "demo", "GIT_REV"]),
            branch,
            "round {round}: GIT_REV is not what the branch holds\n{results:#?}"
        );
        assert_eq!(
            host.ok(["git:report", "demo", "--git-last-received-rev"]),
            branch,
            "round {round}"
        );
    }
}

/// A submodule that names a path on the host (another app's repository) is refused, in
/// every spelling, and the push changes nothing.
#[test]
fn submodules_cannot_reach_into_the_host() {
    let (host, sshd, key) = setup();
    let secret = host.path().join("secret-app");
    work_repo(&secret, "master");
    commit(&secret, "secret.txt", "another tenant's code\n");
    let listing = record_build_files(&host);
    for (round, url) in [
        secret.display().to_string(),
        format!("file://{}", secret.display()),
    ]
    .into_iter()
    .enumerate()
    {
        let work = repo_with_submodule(&host.path().join(format!("work{round}")), &url);
        let app = format!("tenant{round}");
        let push = sshd.git(&key, &work, &["push", &sshd.remote(&app), "master"]);
        assert!(!push.status.success(), "{url}: {}", text(&push));
        assert!(text(&push).contains("Submodule URL"), "{}", text(&push));
        assert_eq!(host.ok(["git:report", &app, "--git-sha"]), "\n");
        let built = std::fs::read_to_string(&listing).unwrap_or_default();
        assert!(!built.contains("secret.txt"), "{built}");
    }
}

/// Over SSH, as the real dokku user, `storage:ensure-directory` gets its chown from the
/// root helper through sudo, and nothing else the dokku user asks of the helper works.
#[test]
fn the_root_helper_serves_the_dokku_user_over_ssh() {
    let host = TestHost::with_system_user();
    let sshd = start_sshd_for(&host, SYSTEM_USER);
    let key = client_key(host.path(), "admin");
    host.ok([
        "ssh-keys:add",
        "admin",
        key.with_extension("pub").to_str().unwrap(),
    ]);
    let out = sshd.ssh(&key, "storage:ensure-directory uploads");
    assert!(out.status.success(), "{}", text(&out));
    let dir = host.roots.lib_root.join("data/storage/uploads");
    assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 32767);
    let out = sshd.ssh(&key, "storage:ensure-directory mine --chown heroku");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::metadata(dir.with_file_name("mine")).unwrap().uid(),
        1000
    );
    // The admin key reaches no shell from which to call the helper with other arguments.
    let helper = dokku_test_support::binary("dokku-root-helper");
    for attack in [
        format!("sudo -n {} storage-chown / etc 1000", helper.display()),
        "/usr/bin/env sh -c id".to_string(),
        "apps:../../../../usr/bin/id".to_string(),
    ] {
        let out = sshd.ssh(&key, &attack);
        assert!(!out.status.success(), "{attack}: {}", text(&out));
        assert!(!text(&out).contains("uid="), "{attack}: {}", text(&out));
    }
}
