use std::process::Command;

use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn new_apps_are_bare_repositories_with_the_hook() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let dir = host.roots.app_dir("demo");
    assert_eq!(git(&dir, &["rev-parse", "--is-bare-repository"]), "true");
    let hook = std::fs::read_to_string(dir.join("hooks/pre-receive")).unwrap();
    // The hook calls the git plugin itself: the push was authorised when it began.
    assert!(
        hook.ends_with(&format!(
            "exec {} git-hook \"demo\"\n",
            host.roots
                .plugin_enabled()
                .join("git/subcommands/git-hook")
                .display()
        )),
        "{hook}"
    );
    assert_eq!(
        host.ok(["git:report", "demo", "--git-computed-deploy-branch"]),
        "master\n"
    );
}

#[test]
fn status_is_what_git_says_of_the_bare_repository() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let out = host.run(["git:status", "demo"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must be run in a work tree"),
        "{}",
        host.render(&out)
    );
    assert!(!host.run(["git:status", "nope"]).status.success());
}

#[test]
fn set_validates_and_report() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["git:set", "demo", "deploy-branch", "main"]);
    assert_eq!(
        git(&host.roots.app_dir("demo"), &["symbolic-ref", "HEAD"]),
        "refs/heads/main"
    );
    host.ok(["git:set", "demo", "source-image", "alpine:3.20"]);
    assert_eq!(
        host.ok(["git:report", "demo", "--git-source-image"]),
        "alpine:3.20\n"
    );
    host.ok(["git:set", "demo", "source-image"]);
    assert_eq!(host.ok(["git:report", "demo", "--git-source-image"]), "\n");
    host.ok(["git:set", "--global", "deploy-branch", "trunk"]);
    assert_eq!(
        host.ok(["git:report", "demo", "--git-global-deploy-branch"]),
        "trunk\n"
    );
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["git:set", "demo", "deploy-branch", "bad..branch"],
            vec!["git:set", "demo", "deploy-branch", "-x"],
            vec!["git:set", "demo", "keep-git-dir", "maybe"],
            vec!["git:set", "demo", "rev-env-var", "1BAD"],
            vec!["git:set", "demo", "source-image", "--privileged"],
            vec!["git:set", "--global", "source-image", "alpine:3.20"],
            vec!["git:set", "demo", "unknown", "x"],
            vec!["git:set", "nope", "deploy-branch", "main"],
            vec!["git:sync", "demo", "--upload-pack=touch /tmp/x"],
            vec!["git:from-archive", "demo", "ftp://example.com/x.tar"],
        ],
    );
    assert_eq!(host.state(), before);
}

#[test]
fn from_archive_and_sync_receive_code() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    // What arrives is the subject here; the null builder builds none of it.
    host.ok(["builder:set", "demo", "selected", "null"]);
    let src = host.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("index.html"), "hello").unwrap();
    let tar = Command::new("tar")
        .args(["-cz", "-C"])
        .arg(&src)
        .arg(".")
        .output()
        .unwrap();
    let out = host
        .dokku(["git:from-archive", "demo", "-"])
        .write_stdin(tar.stdout)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", host.render(&out));
    let repo = host.roots.app_dir("demo");
    let rev = git(&repo, &["rev-parse", "refs/heads/master"]);
    assert_eq!(git(&repo, &["show", "master:index.html"]), "hello");
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{rev}\n")
    );
    assert_eq!(
        host.ok(["apps:report", "demo", "--app-deploy-source"]),
        "git-from-archive\n"
    );

    let upstream = host.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q", "-b", "release"]);
    std::fs::write(upstream.join("app.txt"), "synced").unwrap();
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-q", "-m", "x"]);
    let head = git(&upstream, &["rev-parse", "HEAD"]);
    host.ok([
        "git:sync",
        "--build",
        "demo",
        upstream.to_str().unwrap(),
        "release",
    ]);
    assert_eq!(git(&repo, &["rev-parse", "refs/heads/master"]), head);
    assert_eq!(
        host.ok(["config:get", "demo", "GIT_REV"]),
        format!("{head}\n")
    );
    let again = host.ok([
        "git:sync",
        "--build-if-changes",
        "demo",
        upstream.to_str().unwrap(),
        "release",
    ]);
    assert!(
        again.contains("Skipping build as no changes were detected"),
        "{again}"
    );
    assert!(
        again.contains("Fetching remote code for demo from"),
        "{again}"
    );
    // Another branch synced into an app with code is kept under its own name as well.
    git(&upstream, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(upstream.join("app.txt"), "feature").unwrap();
    git(&upstream, &["commit", "-q", "-am", "feature"]);
    let feature = git(&upstream, &["rev-parse", "HEAD"]);
    host.ok(["git:sync", "demo", upstream.to_str().unwrap(), "feature"]);
    assert_eq!(git(&repo, &["rev-parse", "refs/heads/feature"]), feature);
    assert_eq!(git(&repo, &["rev-parse", "refs/heads/master"]), feature);

    // A branch synced into an app without code becomes its deploy branch, unless asked not.
    host.ok(["apps:create", "fresh"]);
    let out = host.ok(["git:sync", "fresh", upstream.to_str().unwrap(), "release"]);
    assert!(
        out.contains("Detected branch, setting deploy-branch to release"),
        "{out}"
    );
    assert_eq!(
        host.ok(["git:report", "fresh", "--git-deploy-branch"]),
        "release\n"
    );
    let fresh = host.roots.app_dir("fresh");
    assert_eq!(git(&fresh, &["rev-parse", "refs/heads/release"]), head);
    host.ok(["apps:create", "kept"]);
    let out = host.ok([
        "git:sync",
        "--skip-deploy-branch",
        "kept",
        upstream.to_str().unwrap(),
        "release",
    ]);
    assert!(out.contains("skipping deploy-branch setting"), "{out}");
    let kept = host.roots.app_dir("kept");
    assert_eq!(git(&kept, &["rev-parse", "refs/heads/master"]), head);
}

#[test]
fn netrc_logins_are_set_checked_and_removed_and_the_deploy_key_is_shown() {
    let host = TestHost::new();
    let netrc = host.roots.dokku_root.join(".netrc");
    assert!(!host.run(["git:auth"]).status.success());
    let missing = host.run(["git:auth", "github.com", "someone"]);
    assert!(stderr(&missing).contains("Missing password for netrc auth entry"));
    assert!(
        host.ok(["git:auth", "github.com", "user", "secret"])
            .contains("Setting netrc auth entry for host github.com")
    );
    host.ok(["git:auth", "other.example.com", "u2", "p2"]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o644)).unwrap();
    let piped = host
        .dokku(["git:auth", "github.com", "piped"])
        .write_stdin("from-stdin\n")
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", host.render(&piped));
    let mode = std::fs::metadata(&netrc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&netrc).unwrap();
    assert!(
        text.contains("machine github.com\n  login piped\n  password from-stdin\n"),
        "{text}"
    );
    assert!(
        host.run(["git:auth-status", "github.com", "piped", "from-stdin"])
            .status
            .success()
    );
    assert!(
        !host
            .run(["git:auth-status", "github.com", "piped", "wrong"])
            .status
            .success()
    );
    assert!(!host.run(["git:auth-status", "github.com"]).status.success());
    assert!(
        host.ok(["git:auth", "github.com"])
            .contains("Removing netrc auth entry for host github.com")
    );
    host.ok(["git:auth-status", "github.com"]);
    assert!(
        std::fs::read_to_string(&netrc)
            .unwrap()
            .contains("other.example.com")
    );
    assert!(
        !host
            .run(["git:auth", "bad host", "u", "p"])
            .status
            .success()
    );

    let none = host.run(["git:public-key"]);
    assert!(!none.status.success());
    assert!(stderr(&none).contains("There is no deploy key associated with the"));
    let ssh = host.roots.dokku_root.join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("id_rsa.pub"), "ssh-rsa AAAA dokku\n").unwrap();
    assert_eq!(host.ok(["git:public-key"]), "ssh-rsa AAAA dokku\n");
}
