use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use dokku_test_support::{TestHost, docker_bin, workspace_root};

use crate::build::{UniqueApp, docker, docker_ok, push};
use crate::proxy::Nginx;
use crate::push::setup_building;
use crate::{commit, run, text};

/// The builder image (made once per machine by the script install.sh runs; this host
/// reaches no registry), named in the host's defaults as `DOKKU_IMAGE`.
pub fn builder_image(host: &TestHost) -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    let image = IMAGE.get_or_init(|| {
        let script = workspace_root().join("crates/buildstep/image/make-image");
        let out = Command::new(&script)
            .env("DOCKER_BIN", docker_bin())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} could not make the builder image (docker and debootstrap are needed; \
             install.sh --deps-only installs them):\n{}",
            script.display(),
            text(&out)
        );
        let name = run(Command::new(&script).arg("--name"));
        String::from_utf8_lossy(&name.stdout).trim().to_string()
    });
    let defaults = host.path().join("etc-default-dokku");
    let mut text = std::fs::read_to_string(&defaults).unwrap_or_default();
    text.push_str(&format!("DOKKU_IMAGE={image}\n"));
    std::fs::write(&defaults, text).unwrap();
    image.clone()
}

/// A git work tree laid out as Dokku's python sample: no Dockerfile, a `null` file for the
/// null buildpack, a Procfile with web, worker and custom (`echo -n`) processes, an
/// app.json with comments, a predeploy task and a cron task, and a `.profile.d` script.
fn python_app(dir: &Path) {
    std::fs::create_dir_all(dir.join(".profile.d")).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir));
    std::fs::write(dir.join("null"), "").unwrap();
    std::fs::write(
        dir.join("Procfile"),
        "web: python3 -u web.py\nworker: python3 -u worker.py\ncustom: echo -n\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("web.py"),
        "import http.server, os\n\
         class Hello(http.server.BaseHTTPRequestHandler):\n    \
             def do_GET(self):\n        \
                 body = ('python/' + os.environ.get('GREETING', 'none') + '\\n').encode()\n        \
                 self.send_response(200)\n        \
                 self.end_headers()\n        \
                 self.wfile.write(body)\n\
         http.server.HTTPServer(('', int(os.environ['PORT'])), Hello).serve_forever()\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("worker.py"),
        "import time\nwhile True:\n    time.sleep(60)\n",
    )
    .unwrap();
    std::fs::write(
        dir.join(".profile.d/greeting.sh"),
        "export GREETING=from-profile\n",
    )
    .unwrap();
    commit(
        dir,
        "app.json",
        "{\n  // Dokku's samples carry comments\n  \"scripts\": {\n    \"dokku\": {\n      \
         \"predeploy\": \"touch /app/predeploy.test\"\n    }\n  },\n  \
         \"cron\": [{\"schedule\": \"@daily\", \"command\": \"env\"}],\n}\n",
    );
}

#[test]
fn a_python_app_without_a_dockerfile_builds_with_the_null_buildpack_and_serves() {
    crate::build::base_image();
    let (host, sshd, key) = setup_building();
    let image = builder_image(&host);
    let app = UniqueApp::new("hk");
    let a = app.0.as_str();
    let nginx = Nginx::start(&host);
    let domain = format!("{a}.example.test");
    host.ok(["apps:create", a]);
    host.ok(["domains:set", a, &domain]);
    host.ok(["nginx:set", "--global", "bind-address-ipv4", "127.0.0.1"]);
    host.ok(["ports:set", a, &format!("http:{}:5000", nginx.port)]);
    let work = host.path().join("work");
    python_app(&work);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    for line in [
        format!("-----> Building {a} from herokuish"),
        "-----> Adding BUILD_ENV to build environment...".to_string(),
        "-----> null app detected".to_string(),
        "Procfile declares types -> custom, web, worker".to_string(),
        "Executing predeploy task from app.json: touch /app/predeploy.test".to_string(),
    ] {
        assert!(out.contains(&line), "missing {line:?}:\n{out}");
    }
    let body = nginx.expect(&domain, 200);
    assert!(body.contains("python/from-profile"), "{body}");

    // The image starts its processes itself, as the app's user.
    let web = format!("{a}.web.1");
    let cmd = docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Cmd}}",
        &web,
    ]);
    assert_eq!(cmd, r#"["/start","web"]"#);
    let user = docker(&["container", "inspect", "--format", "{{.Config.User}}", &web]);
    assert_eq!(user, "herokuishuser");
    assert_eq!(
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.dokku.builder-type\"}}",
            &app.image("latest")
        ]),
        "herokuish"
    );
    // The predeploy task's change was committed into the release.
    assert!(docker_ok(&[
        "container",
        "exec",
        &web,
        "test",
        "-f",
        "/app/predeploy.test"
    ]));

    // Which buildpack the pushed code gets, asked again.
    let out = host.ok(["buildpacks:detect", a]);
    assert!(out.contains("null app detected"), "{out}");
    let out = host.run(["buildpacks:detect", a, "--branch", "nosuch"]);
    assert!(!out.status.success());

    // The host's report names the builder image and the herokuish in it.
    let report = host.ok(["report"]);
    assert!(report.contains("-----> herokuish version:"), "{report}");
    assert!(report.contains("herokuish: "), "{report}");
    assert!(report.contains(&format!("image: {image}")), "{report}");
    // With an app, every plugin's report of it follows (and no report of the reports).
    let report = host
        .dokku(["report", a])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(report.status.success(), "{}", host.render(&report));
    assert!(
        text.contains(&format!("=====> {a} app information")),
        "{text}"
    );
    assert_eq!(text.matches("-----> uname:").count(), 1, "{text}");

    // One-off commands run through /exec: the profile and the config apply.
    host.ok(["config:set", "--no-restart", a, "SECRET=s3cret"]);
    let out = host.ok(["run", a, "env"]);
    assert!(out.contains("GREETING=from-profile"), "{out}");
    assert!(out.contains("SECRET=s3cret"), "{out}");
    // A cron task runs as a one-off command does.
    let tasks: serde_json::Value =
        serde_json::from_str(&host.ok(["cron:list", a, "--format", "json"])).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_string();
    let out = host.ok(["cron:run", a, &id]);
    assert!(out.contains("GREETING=from-profile"), "{out}");
    // A first word that names a process type runs its command, with the other words.
    let out = host.ok(["run", a, "custom", "hi dokku"]);
    assert!(out.contains("Found 'custom' in Procfile"), "{out}");
    assert!(out.ends_with("hi dokku"), "{out}");

    // A worker runs its Procfile command.
    host.ok(["ps:scale", a, "worker=1"]);
    let worker = format!("{a}.worker.1");
    let cmd = docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Cmd}}",
        &worker,
    ]);
    assert_eq!(cmd, r#"["/start","worker"]"#);
    let procs = docker(&["container", "top", &worker]);
    assert!(procs.contains("worker.py"), "{procs}");

    // The build cache is the app's volume, and goes with the app.
    let volumes = docker(&[
        "volume",
        "ls",
        "--quiet",
        "--filter",
        &format!("label=com.dokku.app-name={a}"),
    ]);
    assert_eq!(volumes, format!("cache-{a}"));
    host.ok(["apps:destroy", a, "--force"]);
    assert!(!docker_ok(&["volume", "inspect", &format!("cache-{a}")]));
}

#[test]
fn a_failed_compile_keeps_the_old_release_and_several_buildpacks_share_their_exports() {
    crate::build::base_image();
    let (host, sshd, key) = setup_building();
    builder_image(&host);
    let app = UniqueApp::new("hk-multi");
    let a = app.0.as_str();
    let work = host.path().join("work");
    std::fs::create_dir_all(work.join("bp/first/bin")).unwrap();
    std::fs::create_dir_all(work.join("bp/second/bin")).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(&work));
    let script = |path: &str, body: &str| {
        dokku_core::fs::write_atomic(
            &work.join(path),
            format!("#!/usr/bin/env bash\nset -e\n{body}\n").as_bytes(),
            0o755,
        )
        .unwrap();
    };
    script("bp/first/bin/detect", "echo First");
    script(
        "bp/first/bin/compile",
        "n=$(cat $2/count 2>/dev/null || echo 0); echo $((n + 1)) >$2/count\n\
         echo \"first compile, build $((n + 1))\"",
    );
    std::fs::write(work.join("bp/first/export"), "export FROM_FIRST=shared\n").unwrap();
    script("bp/second/bin/detect", "echo Second");
    script(
        "bp/second/bin/compile",
        "[[ -f $1/broken ]] && { echo 'second compile fails'; exit 1; }\n\
         echo \"$FROM_FIRST\" >$1/from-first",
    );
    script(
        "bp/second/bin/release",
        "printf -- '---\\ndefault_process_types:\\n  web: python3 -m http.server $PORT\\n'",
    );
    std::fs::write(work.join(".buildpacks"), "/app/bp/first\n/app/bp/second\n").unwrap();
    commit(&work, "index.html", "<p>multi</p>\n");

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    for line in [
        "-----> Multipack app detected",
        "=====> Detected Framework: First",
        "=====> Detected Framework: Second",
        "first compile, build 1",
        "Default types for Second -> web",
    ] {
        assert!(out.contains(line), "missing {line:?}:\n{out}");
    }
    let web = format!("{a}.web.1");
    let exported = docker(&["container", "exec", &web, "cat", "/app/from-first"]);
    assert_eq!(exported, "shared");
    let serving = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);

    // The cache the first build wrote is read by the second; a failed compile changes
    // nothing that runs.
    commit(&work, "broken", "");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("first compile, build 2"), "{out}");
    assert!(out.contains("second compile fails"), "{out}");
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &web]),
        serving
    );
}

#[test]
fn a_buildpack_from_a_git_url_with_a_ref_beats_buildpacks_and_the_cache_can_be_purged() {
    crate::build::base_image();
    let (host, sshd, key) = setup_building();
    builder_image(&host);
    let app = UniqueApp::new("hk-git");
    let a = app.0.as_str();
    // A buildpack in a git repository of this machine: its `v2` branch writes `v2`.
    let repo = host.path().join("buildpack.git");
    std::fs::create_dir_all(repo.join("bin")).unwrap();
    let git = |args: &[&str]| {
        run(Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-C"])
            .arg(&repo)
            .args(args));
    };
    let compile = |which: &str| {
        dokku_core::fs::write_atomic(
            &repo.join("bin/compile"),
            format!("#!/usr/bin/env bash\necho {which} >$1/which\necho cached >$2/cached\n")
                .as_bytes(),
            0o755,
        )
        .unwrap();
    };
    dokku_core::fs::write_atomic(
        &repo.join("bin/detect"),
        b"#!/usr/bin/env bash\necho FromGit\n",
        0o755,
    )
    .unwrap();
    compile("main");
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "main"]);
    git(&["checkout", "-q", "-b", "v2"]);
    compile("v2");
    git(&["commit", "-q", "-am", "v2"]);
    git(&["checkout", "-q", "main"]);

    let work = host.path().join("work");
    std::fs::create_dir_all(work.join("bp/local/bin")).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(&work));
    for (name, body) in [
        ("detect", "echo Local"),
        ("compile", "echo local >$1/which"),
    ] {
        dokku_core::fs::write_atomic(
            &work.join(format!("bp/local/bin/{name}")),
            format!("#!/usr/bin/env bash\n{body}\n").as_bytes(),
            0o755,
        )
        .unwrap();
    }
    std::fs::write(work.join(".buildpacks"), "/app/bp/local\n").unwrap();
    std::fs::write(work.join("Procfile"), "web: python3 -m http.server $PORT\n").unwrap();
    commit(&work, "index.html", "<p>git</p>\n");
    host.ok(["apps:create", a]);
    host.ok([
        "config:set",
        "--no-restart",
        a,
        &format!("BUILDPACK_URL=file://{}#v2", repo.display()),
    ]);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("-----> FromGit app detected"), "{out}");
    let web = format!("{a}.web.1");
    assert_eq!(
        docker(&["container", "exec", &web, "cat", "/app/which"]),
        "v2"
    );

    let volume = format!("cache-{a}");
    assert!(docker_ok(&["volume", "inspect", &volume]));
    host.ok(["repo:purge-cache", a]);
    assert!(!docker_ok(&["volume", "inspect", &volume]));
}

/// As the real dokku user, with a directory in the shared temp dir it cannot read (root's
/// own, as on any host): the builder's image builds read only what is theirs.
#[test]
fn the_dokku_user_builds_a_buildpack_app_beside_a_private_temp_directory() {
    use dokku_test_support::SYSTEM_USER;
    use std::os::unix::fs::PermissionsExt;
    crate::build::base_image();
    let host = TestHost::with_system_user();
    builder_image(&host);
    let sshd = crate::start_sshd_for(&host, SYSTEM_USER);
    let key = crate::client_key(host.path(), "admin");
    host.ok([
        "ssh-keys:add",
        "admin",
        key.with_extension("pub").to_str().unwrap(),
    ]);
    let private = std::env::temp_dir().join(format!("dokku-rs-private-{}", std::process::id()));
    std::fs::create_dir_all(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let app = UniqueApp::new("hk-user");
    // This test host's nginx logs are not where root's nginx rules put them: no proxy.
    host.ok(["apps:create", &app.0]);
    host.ok(["proxy:disable", &app.0]);
    let work = host.path().join("work");
    python_app(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    let _ = std::fs::remove_dir_all(&private);
    assert!(ok, "{out}");
    assert!(out.contains("-----> null app detected"), "{out}");
}

/// Releases of two builders: a rollback runs the buildpack release as its image starts
/// itself, and forward again the Dockerfile one, with no build; a tree no buildpack
/// detects is refused, naming what was tried, and the release keeps serving.
#[test]
fn rollback_crosses_builders_and_a_tree_no_buildpack_detects_is_refused() {
    use crate::run::{container_ip, http_get};
    crate::build::base_image();
    let (host, sshd, key) = setup_building();
    builder_image(&host);
    let app = UniqueApp::new("hk-roll");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    let work = host.path().join("work");
    python_app(&work);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    host.ok(["checks:set", a, "wait-to-retire", "0"]);
    let serves = |says: &str| {
        let body = http_get(&container_ip(&web), 5000);
        assert!(body.contains(says), "{body}");
    };
    let started_by = || {
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{json .Config.Cmd}}",
            &web,
        ])
    };
    serves("python/from-profile");

    // The same tree with a Dockerfile: the profile script is the buildpack image's.
    commit(
        &work,
        "Dockerfile",
        &format!(
            "FROM {}\nWORKDIR /app\nCOPY . /app\nEXPOSE 5000\n",
            crate::build::BASE_IMAGE
        ),
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("Building {a} from Dockerfile")),
        "{out}"
    );
    serves("python/none");
    assert_ne!(started_by(), r#"["/start","web"]"#);

    let out = host.ok(["releases:rollback", a, "v1"]);
    assert!(!out.contains("Building"), "{out}");
    serves("python/from-profile");
    assert_eq!(started_by(), r#"["/start","web"]"#);
    host.ok(["releases:rollback", a]);
    serves("python/none");

    for gone in ["Dockerfile", "null"] {
        run(Command::new("git")
            .args(["rm", "-q", gone])
            .current_dir(&work));
    }
    commit(&work, "README", "nothing a buildpack knows\n");
    let serving = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(out.contains("Unable to select a buildpack"), "{out}");
    assert!(out.contains("Tried: "), "{out}");
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &web]),
        serving
    );
    serves("python/none");
}

/// A pusher who goes while a buildpack compiles stops the build: its container stops,
/// the app is let go, and the release and the next push are as if the push never was.
#[test]
fn a_pusher_who_goes_mid_compile_stops_the_build_container() {
    crate::build::base_image();
    let (host, sshd, key) = setup_building();
    builder_image(&host);
    let app = UniqueApp::new("hk-gone");
    let a = app.0.as_str();
    let work = host.path().join("work");
    python_app(&work);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let latest = app.image_id("latest");

    let marker = format!("slow compile {}", std::process::id());
    std::fs::create_dir_all(work.join("bp/slow/bin")).unwrap();
    for (name, body) in [
        ("detect", "echo Slow".to_string()),
        ("compile", format!("echo {marker}; sleep 30")),
    ] {
        dokku_core::fs::write_atomic(
            &work.join(format!("bp/slow/bin/{name}")),
            format!("#!/usr/bin/env bash\n{body}\n").as_bytes(),
            0o755,
        )
        .unwrap();
    }
    commit(&work, ".buildpacks", "/app/bp/slow\n");
    crate::build::gone_once_seen(&sshd, &key, &work, a, &marker);

    let building = || {
        docker(&[
            "container",
            "ls",
            "--quiet",
            "--filter",
            &format!("label=com.dokku.app-name={a}"),
            "--filter",
            "label=com.dokku.image-stage=build",
        ])
    };
    let started = std::time::Instant::now();
    while dokku_core::fs::AppLock::is_held(&host.roots.lib_root, a) || !building().is_empty() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the build went on after its pusher went away: {}",
            building()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(app.image_id("latest"), latest);

    run(Command::new("git")
        .args(["rm", "-q", ".buildpacks"])
        .current_dir(&work));
    commit(&work, "README", "back to the null buildpack\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
}
