use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use dokku_test_support::{TestHost, docker_bin, workspace_root};

use crate::push::setup_building;
use crate::{Sshd, commit, head, run, text};

pub const BASE_IMAGE: &str = "dokku-rs/base:bookworm";
/// The end of a test app's Dockerfile: a web process the scheduler can check.
pub const SERVE: &str = "EXPOSE 5000\nCMD [\"python3\", \"-m\", \"http.server\", \"5000\"]\n";

/// The local base image every test app builds FROM (made once per machine by the same
/// script install.sh runs; this host reaches no registry).
pub fn base_image() {
    static MADE: Once = Once::new();
    MADE.call_once(|| {
        let out = Command::new(workspace_root().join("tests/base-image"))
            .env("DOCKER_BIN", docker_bin())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tests/base-image could not make {BASE_IMAGE} (docker and debootstrap are needed; \
             install.sh --deps-only installs them):\n{}",
            text(&out)
        );
    });
}

/// `docker ARGS`, which must succeed; its stdout, trimmed.
pub fn docker(args: &[&str]) -> String {
    let out = run(Command::new(docker_bin()).args(args));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker ARGS`'s exit status only.
pub fn docker_ok(args: &[&str]) -> bool {
    Command::new(docker_bin())
        .args(args)
        .output()
        .unwrap()
        .status
        .success()
}

/// An app name no other test (or run) on this docker engine uses, whose images are
/// removed when the guard goes.
pub struct UniqueApp(pub String);

impl UniqueApp {
    pub fn new(prefix: &str) -> UniqueApp {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        UniqueApp(format!("{prefix}-{}-{nanos}", std::process::id()))
    }

    pub fn image(&self, tag: &str) -> String {
        format!("dokku/{}:{tag}", self.0)
    }

    pub fn layers(&self, tag: &str) -> Vec<String> {
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{range .RootFS.Layers}}{{.}} {{end}}",
            &self.image(tag),
        ])
        .split_whitespace()
        .map(String::from)
        .collect()
    }

    pub fn image_id(&self, tag: &str) -> Option<String> {
        let out = Command::new(docker_bin())
            .args(["image", "inspect", "--format", "{{.Id}}", &self.image(tag)])
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for UniqueApp {
    fn drop(&mut self) {
        let containers = Command::new(docker_bin())
            .args(["container", "ls", "-aq", "--filter"])
            .arg(format!("label=com.dokku.app-name={}", self.0))
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
            .unwrap_or_default();
        for id in containers.lines() {
            let _ = Command::new(docker_bin())
                .args(["container", "rm", "-f", id])
                .output();
        }
        let list = |filter: String| {
            Command::new(docker_bin())
                .args(["image", "ls", "--no-trunc", "--format", "{{.ID}}"])
                .args(["--filter", &filter])
                .output()
                .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
                .unwrap_or_default()
        };
        let volumes = Command::new(docker_bin())
            .args(["volume", "ls", "--quiet", "--filter"])
            .arg(format!("label=com.dokku.app-name={}", self.0))
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).to_string())
            .unwrap_or_default();
        for volume in volumes.lines() {
            let _ = Command::new(docker_bin())
                .args(["volume", "rm", "-f", volume])
                .output();
        }
        let ids = list(format!("reference=dokku/{}", self.0))
            + &list(format!("label=com.dokku.app-name={}", self.0));
        for id in ids.lines() {
            let _ = Command::new(docker_bin())
                .args(["image", "rm", "-f", id])
                .output();
        }
    }
}

/// A git work tree holding a small Dockerfile app: a cached system step, then the app's
/// files copied in.
pub fn dockerfile_app(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir));
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {BASE_IMAGE}\nRUN echo system > /system.txt\nWORKDIR /app\nCOPY . /app\n\
             EXPOSE 5000\nCMD [\"python3\", \"-m\", \"http.server\", \"5000\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(".dockerignore"), "ignored/\n").unwrap();
    commit(dir, "index.html", "<h1>version 1</h1>\n")
}

fn empty_commit(dir: &Path) -> String {
    run(Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["commit", "-q", "--allow-empty", "-m", "again"])
        .current_dir(dir));
    head(dir)
}

pub fn push(sshd: &Sshd, key: &Path, work: &Path, app: &str) -> (bool, String) {
    let out = sshd.git(key, work, &["push", &sshd.remote(app), "main"]);
    (out.status.success(), text(&out))
}

/// A plugin that records every pipeline trigger with its arguments, in the order they are
/// fired (its name sorts first, so it runs before any other plugin answers).
fn recorder(host: &TestHost) -> PathBuf {
    const TRIGGERS: [&str; 14] = [
        "receive-app",
        "core-post-extract",
        "post-extract",
        "builder-detect",
        "pre-receive-app",
        "builder-set-property",
        "builder-build",
        "pre-build",
        "post-build",
        "release-and-deploy",
        "builder-release",
        "pre-release-builder",
        "post-release-builder",
        "ports-set-detected",
    ];
    let log = host.path().join("triggers.log");
    let dir = host.path().join("recorder-src");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("plugin.toml"),
        "[plugin]\ndescription = \"records triggers\"\nversion = \"0.0.1\"\n[plugin.config]\n",
    )
    .unwrap();
    for trigger in TRIGGERS {
        dokku_core::fs::write_atomic(
            &dir.join(trigger),
            format!(
                "#!/usr/bin/env bash\ncat >/dev/null 2>&1 </dev/null\necho \"{trigger} $*\" >>{}\n",
                log.display()
            )
            .as_bytes(),
            0o755,
        )
        .unwrap();
    }
    let out = host.install_plugin(&dir, "00_recorder");
    assert!(out.status.success(), "{}", host.render(&out));
    log
}

#[test]
fn a_pushed_dockerfile_app_builds_fires_every_trigger_in_order_and_reuses_its_cache() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("build");
    let log = recorder(&host);
    let work = host.path().join("work");
    let rev = dockerfile_app(&work);

    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert!(out.contains("remote: -----> Cleaning up..."), "{out}");
    assert!(
        out.contains(&format!(
            "remote: -----> Building {} from Dockerfile",
            app.0
        )),
        "{out}"
    );
    // docker's own lines reach the pusher as they come, under the step, indented.
    assert!(out.contains("remote:        #"), "{out}");
    assert!(
        out.contains(&format!("remote: -----> Releasing {}...", app.0)),
        "{out}"
    );
    assert!(out.contains("Application deployed:"), "{out}");

    let labels = docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .Config.Labels \"com.dokku.app-name\"}} {{index .Config.Labels \"com.dokku.image-stage\"}} {{index .Config.Labels \"com.dokku.builder-type\"}}",
        &app.image("latest"),
    ]);
    assert_eq!(labels, format!("{} release dockerfile", app.0));
    assert_eq!(app.image_id("latest"), app.image_id("build-1"));
    assert_eq!(
        host.ok(["builder:report", &app.0, "--builder-detected"]),
        "dockerfile\n"
    );

    let dir = "DIR";
    let calls: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            l.split(' ')
                .map(|w| if w.starts_with('/') { dir } else { w })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let a = &app.0;
    let image = app.image("build-1");
    assert_eq!(
        calls,
        [
            format!("receive-app {a} {rev}"),
            format!("core-post-extract {a} {dir} {rev}"),
            format!("post-extract {a} {dir} {rev}"),
            format!("builder-detect {a} {dir}"),
            format!("pre-receive-app {a} dockerfile {dir} {rev}"),
            format!("builder-set-property {a} detected dockerfile"),
            format!("builder-build dockerfile {a} {dir}"),
            format!("pre-build dockerfile {a} {dir}"),
            format!("ports-set-detected {a} http:5000:5000"),
            format!("post-build dockerfile {a} {dir}"),
            format!("release-and-deploy {a} build-1"),
            format!("builder-release dockerfile {a} build-1"),
            format!("pre-release-builder dockerfile {a} {image}"),
            format!("post-release-builder dockerfile {a} {image}"),
        ]
    );

    // The same tree again: every layer comes from the cache.
    let first = app.layers("latest");
    let _ = empty_commit(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert_eq!(app.layers("latest"), first);
    assert!(app.image_id("build-2").is_some());

    // A file docker ignores changes nothing either.
    std::fs::create_dir_all(work.join("ignored")).unwrap();
    commit(&work, "ignored/notes.txt", "not part of the image\n");
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert_eq!(app.layers("latest"), first);

    // An app file changes only the layers from its COPY on.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    let changed = app.layers("latest");
    // Each build's build-stage image went once its release existed: pushes leave no
    // untagged images behind.
    assert_eq!(
        docker(&[
            "image",
            "ls",
            "-q",
            "--filter",
            "label=com.dokku.image-stage=build",
            "--filter",
            &format!("label=com.dokku.app-name={}", app.0),
        ]),
        ""
    );
    assert_eq!(changed.len(), first.len());
    let copy_layer = first.len() - 1;
    assert_eq!(changed[..copy_layer], first[..copy_layer]);
    assert_ne!(changed[copy_layer], first[copy_layer]);
    assert_eq!(
        docker(&[
            "run",
            "--rm",
            &app.image("latest"),
            "cat",
            "/app/index.html"
        ]),
        "<h1>version 2</h1>"
    );
}

#[test]
fn a_failing_build_changes_nothing_and_releases_the_lock() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("fail");
    let work = host.path().join("work");
    dockerfile_app(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");

    // A stopped container of the app's (a finished one-off run) is cleaned up before the
    // next build, unless cleanup is skipped.
    let label = format!("com.dokku.app-name={}", app.0);
    let stopped = docker(&["run", "-d", "--label", &label, BASE_IMAGE, "true"]);
    docker(&["wait", &stopped]);
    host.ok(["builder:set", &app.0, "skip-cleanup", "true"]);
    empty_commit(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert!(out.contains("Skipping dokku cleanup"), "{out}");
    assert!(docker_ok(&["container", "inspect", &stopped]));
    host.ok(["builder:set", &app.0, "skip-cleanup"]);
    let good = empty_commit(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert!(!docker_ok(&["container", "inspect", &stopped]));
    // `dokku cleanup APP` does the same on demand, for that app only.
    let stopped = docker(&["run", "-d", "--label", &label, BASE_IMAGE, "true"]);
    let other = docker(&[
        "run",
        "-d",
        "--label",
        "com.dokku.app-name=someone-else",
        BASE_IMAGE,
        "true",
    ]);
    docker(&["wait", &stopped]);
    docker(&["wait", &other]);
    host.ok(["cleanup", &app.0]);
    assert!(!docker_ok(&["container", "inspect", &stopped]));
    assert!(docker_ok(&["container", "inspect", &other]));
    docker(&["container", "rm", &other]);
    let latest = app.image_id("latest");

    let dockerfile = std::fs::read_to_string(work.join("Dockerfile")).unwrap();
    commit(
        &work,
        "Dockerfile",
        &dockerfile.replace("RUN echo system", "RUN echo about to fail && false && echo"),
    );
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(!ok, "{out}");
    assert!(out.contains("remote:        "), "{out}");
    assert!(
        out.contains("about to fail"),
        "the failing step's output: {out}"
    );
    assert!(out.contains("App build failed"), "{out}");
    assert!(out.contains("pre-receive hook declined"), "{out}");
    assert_eq!(app.image_id("latest"), latest);
    assert!(app.image_id("build-4").is_none());
    assert_eq!(
        host.ok(["config:get", &app.0, "GIT_REV"]),
        format!("{good}\n")
    );
    assert_eq!(
        host.ok(["git:report", &app.0, "--git-sha"]),
        format!("{good}\n")
    );

    // The lock went with the failed build: a fixed push deploys at once.
    let fixed = commit(&work, "Dockerfile", &dockerfile);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
    assert_eq!(
        host.ok(["config:get", &app.0, "GIT_REV"]),
        format!("{fixed}\n")
    );
}

#[test]
fn dockerfile_path_build_args_and_build_options_reach_docker() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("opts");
    let a = app.0.as_str();
    host.ok(["apps:create", a]);
    let work = host.path().join("work");
    dockerfile_app(&work);
    std::fs::create_dir_all(work.join("docker")).unwrap();
    std::fs::remove_file(work.join("Dockerfile")).unwrap();
    commit(
        &work,
        "docker/web.Dockerfile",
        &format!(
            "FROM {BASE_IMAGE}\nARG GREETING\nARG COLOUR=none\n\
             RUN echo \"$GREETING $COLOUR\" > /greeting\n{SERVE}"
        ),
    );
    host.ok([
        "builder-dockerfile:set",
        a,
        "dockerfile-path",
        "docker/web.Dockerfile",
    ]);
    host.ok(["config:set", "--no-restart", a, "GREETING=hello there"]);
    host.ok(["docker-options:add", a, "build", "--build-arg", "GREETING"]);
    host.ok(["docker-options:add", a, "build", "--build-arg COLOUR=blue"]);
    host.ok(["docker-options:add", a, "deploy", "--restart=always"]);
    assert_eq!(
        host.ok(["docker-options:report", a, "--docker-options-build"]),
        "--build-arg GREETING --build-arg COLOUR=blue\n"
    );

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert_eq!(
        docker(&["run", "--rm", &app.image("latest"), "cat", "/greeting"]),
        "hello there blue"
    );
    // The value came through docker's environment, never its command line.
    assert!(!out.contains("GREETING=hello"), "{out}");
    // A published host port is warned of where two containers of a type would want it.
    host.ok([
        "docker-options:add",
        a,
        "deploy",
        "--publish 127.0.0.1::5000",
    ]);
    let warned = |scale: &str| {
        let out = host.run(["ps:scale", a, scale]);
        assert!(out.status.success(), "{}", host.render(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let stderr = warned("web=2");
    assert!(
        stderr.contains(
            "Deploys may fail when publishing ports and scaling to multiple containers. \
             Consider scaling process type web to 1."
        ),
        "{stderr}"
    );
    let stderr = warned("web=1");
    assert!(
        stderr.contains("Deploys may fail when publishing ports and enabling zero downtime"),
        "{stderr}"
    );
    host.ok([
        "docker-options:remove",
        a,
        "deploy",
        "--publish 127.0.0.1::5000",
    ]);

    host.ok([
        "docker-options:remove",
        a,
        "build",
        "--build-arg COLOUR=blue",
    ]);
    host.ok(["config:set", "--no-restart", a, "GREETING=bye"]);
    commit(&work, "index.html", "again\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert_eq!(
        docker(&["run", "--rm", &app.image("latest"), "cat", "/greeting"]),
        "bye none"
    );

    host.ok([
        "builder-dockerfile:set",
        a,
        "dockerfile-path",
        "docker/missing.Dockerfile",
    ]);
    commit(&work, "index.html", "third\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Invalid dockerfile-path specified: docker/missing.Dockerfile"),
        "{out}"
    );
}

#[test]
fn a_push_to_a_locked_app_is_refused_before_anything_builds() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("locked");
    let a = app.0.as_str();
    host.ok(["apps:create", a]);
    host.ok(["apps:lock", a]);
    let work = host.path().join("work");
    dockerfile_app(&work);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("is locked for deploys"), "{out}");
    assert!(!out.contains("Building"), "{out}");
    assert!(app.image_id("latest").is_none());
    host.ok(["apps:unlock", a]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(docker_ok(&["image", "inspect", &app.image("latest")]));
}

#[test]
fn the_procfile_and_app_json_are_kept_with_each_build_and_a_bad_one_fails_it() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("procfile");
    let a = app.0.as_str();
    let work = host.path().join("work");
    dockerfile_app(&work);
    std::fs::write(work.join("app.json"), r#"{"scripts": {"dokku": {}}}"#).unwrap();
    commit(
        &work,
        "Procfile",
        "# processes\nweb: python3 -m http.server $PORT  # the site\nworker: sleep infinity\n",
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let kept = |plugin: &str, file: &str| {
        std::fs::read_to_string(
            host.roots
                .data_dir(plugin, a)
                .join("builds/build-1")
                .join(file),
        )
        .unwrap()
    };
    assert!(kept("ps", "Procfile").contains("worker: sleep infinity"));
    assert!(kept("app-json", "app.json").contains("scripts"));

    commit(
        &work,
        "Procfile",
        "web: python3 -m http.server $PORT\nnot a process\n",
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Invalid Procfile: invalid line in procfile, line 2"),
        "{out}"
    );
    assert!(app.image_id("build-2").is_none());

    commit(&work, "Procfile", "web: python3 -m http.server $PORT\n");
    commit(&work, "app.json", "[1, 2]");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("Invalid app.json"), "{out}");

    // Files docker's client would read for us may not lead out of the tree.
    commit(&work, "app.json", "{}");
    std::fs::remove_file(work.join(".dockerignore")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", work.join(".dockerignore")).unwrap();
    commit(&work, "index.html", "linked\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains(".dockerignore must be a file, not a link"),
        "{out}"
    );
    std::fs::remove_file(work.join("Procfile")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", work.join("Procfile")).unwrap();
    std::fs::remove_file(work.join(".dockerignore")).unwrap();
    commit(&work, ".dockerignore", "ignored/\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Procfile must be a file in the repository, not a link"),
        "{out}"
    );
    assert!(!out.contains("root:x:0:0"), "{out}");
}

#[test]
fn images_and_archives_deploy_without_a_push() {
    base_image();
    let host = TestHost::new();
    let app = UniqueApp::new("image");
    let a = app.0.as_str();
    host.ok(["apps:create", a]);

    // git:from-image of an image built on this host.
    let source = UniqueApp::new("source");
    let context = host.path().join("source");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM {BASE_IMAGE}\nRUN echo from-image > /marker\nWORKDIR /app\nCOPY Procfile .\n{SERVE}"
        ),
    )
    .unwrap();
    // The image's Procfile (in its working directory) is the app's, as a pushed one is.
    std::fs::write(
        context.join("Procfile"),
        "web: python3 -m http.server 5000\nworker: sleep 600\n",
    )
    .unwrap();
    let source_image = source.image("v1");
    docker(&[
        "build",
        "-q",
        "-t",
        &source_image,
        context.to_str().unwrap(),
    ]);
    let out = host.ok(["git:from-image", a, &source_image]);
    assert!(out.contains("Image exists on host, skipping pull"), "{out}");
    assert_eq!(
        docker(&["run", "--rm", &app.image("latest"), "cat", "/marker"]),
        "from-image"
    );
    assert_eq!(
        host.ok(["git:report", a, "--git-source-image"]),
        format!("{source_image}\n")
    );
    assert_eq!(
        host.ok(["apps:report", a, "--app-deploy-source"]),
        "docker-image\n"
    );
    let scale = host.ok(["ps:scale", a]);
    assert!(scale.contains("worker"), "{scale}");

    // git:load-image: the same image as a tarball on stdin, under another name.
    let loaded = source.image("v2");
    docker(&["tag", &source_image, &loaded]);
    let tarball = host.path().join("image.tar");
    docker(&["save", "-o", tarball.to_str().unwrap(), &loaded]);
    docker(&["image", "rm", &loaded]);
    let out = host
        .dokku(["git:load-image", a, &loaded])
        .write_stdin(std::fs::read(&tarball).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(
        host.ok(["git:report", a, "--git-source-image"]),
        format!("{loaded}\n")
    );
    assert!(app.image_id("build-2").is_some());

    // git:from-archive: a tar.gz of a Dockerfile app (in one top directory) on stdin.
    let tree = host.path().join("archive/app-1.0");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\nCOPY hello.txt /hello.txt\n{SERVE}"),
    )
    .unwrap();
    std::fs::write(tree.join("hello.txt"), "from an archive\n").unwrap();
    let tar = run(Command::new("tar")
        .args(["-cz", "-C"])
        .arg(host.path().join("archive"))
        .arg("app-1.0"));
    let out = host
        .dokku(["git:from-archive", "--archive-type", "tar.gz", a, "-"])
        .write_stdin(tar.stdout)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(
        docker(&["run", "--rm", &app.image("latest"), "cat", "/hello.txt"]),
        "from an archive"
    );

    // Bad input is one clear line and changes nothing.
    let latest = app.image_id("latest");
    for args in [
        vec!["git:from-image", a, "--no-such-image"],
        vec!["git:from-image", a, "bad image"],
        vec!["git:from-archive", "--archive-type", "rar", a, "-"],
    ] {
        let out = host.run(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    let out = host
        .dokku(["git:from-archive", a, "-"])
        .write_stdin(b"not an archive".to_vec())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(app.image_id("latest"), latest);

    // The app's images go with it.
    host.ok(["apps:destroy", a, "--force"]);
    assert!(app.image_id("latest").is_none());
    assert!(app.image_id("build-1").is_none());
}

/// Pushes `work` to `app` and, once the push's output shows `marker`, kills the pusher
/// (git and its ssh) as a user who closes the terminal would.
pub fn gone_once_seen(sshd: &Sshd, key: &Path, work: &Path, app: &str, marker: &str) {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut pusher = Command::new("git")
        .args(["push", &sshd.remote(app), "main"])
        .current_dir(work)
        .env("GIT_SSH_COMMAND", sshd.ssh_command(key))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stderr = pusher.stderr.take().unwrap();
    let mut seen = String::new();
    let mut chunk = [0u8; 4096];
    while !seen.contains(marker) {
        let n = stderr.read(&mut chunk).unwrap();
        assert!(n > 0, "the push never showed {marker:?}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pusher.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = pusher.wait();
}

#[test]
fn a_pusher_who_disconnects_midway_changes_nothing_and_frees_the_app() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("gone");
    let a = app.0.as_str();
    let work = host.path().join("work");
    let good = dockerfile_app(&work);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let latest = app.image_id("latest");

    // A step whose output the pusher sees, then a slow one (docker prints a step's output
    // once it is done): the pusher goes while docker works.
    let dockerfile = std::fs::read_to_string(work.join("Dockerfile")).unwrap();
    let marker = format!("{}", std::process::id());
    commit(
        &work,
        "Dockerfile",
        &dockerfile.replace(
            "RUN echo system > /system.txt",
            &format!("RUN echo slow step {marker}\nRUN sleep 6 && echo done > /system.txt"),
        ),
    );
    gone_once_seen(&sshd, &key, &work, a, &format!("slow step {marker}"));

    // The deploy notices, stops, and lets go of the app.
    let started = std::time::Instant::now();
    while dokku_core::fs::AppLock::is_held(&host.roots.lib_root, a) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the app stayed locked after its pusher went away"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(app.image_id("latest"), latest);
    assert_eq!(host.ok(["config:get", a, "GIT_REV"]), format!("{good}\n"));
    assert_eq!(host.ok(["git:report", a, "--git-sha"]), format!("{good}\n"));

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert_ne!(app.image_id("latest"), latest);
}
