use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use crate::build::{BASE_IMAGE, UniqueApp, base_image, docker, docker_ok, push};
use crate::push::setup_building;
use crate::{commit, run};

/// `GET /` from a container's address; the whole response.
pub fn http_get(ip: &str, port: u16) -> String {
    let mut stream = TcpStream::connect((ip, port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The address of the container with this name on docker's bridge.
pub fn container_ip(name: &str) -> String {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{.NetworkSettings.IPAddress}}",
        name,
    ])
}

fn running(name: &str) -> bool {
    Command::new(dokku_test_support::docker_bin())
        .args([
            "container",
            "inspect",
            "--format",
            "{{.State.Running}}",
            name,
        ])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "true")
}

/// A web app: Python's http.server on $PORT, from the Procfile.
pub fn web_app(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir));
    std::fs::write(
        dir.join("Dockerfile"),
        format!("FROM {BASE_IMAGE}\nWORKDIR /app\nCOPY . /app\nEXPOSE 5000\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("Procfile"),
        "web: python3 -m http.server $PORT\nworker: sleep infinity\n",
    )
    .unwrap();
    commit(dir, "index.html", "<h1>version 1</h1>\n");
}

/// The start of every web-app scenario: the base image, a building host with its sshd and
/// key, a unique app, and the app's work tree ([`web_app`]).
pub fn web_scenario(
    prefix: &str,
) -> (
    dokku_test_support::TestHost,
    crate::Sshd,
    std::path::PathBuf,
    UniqueApp,
    std::path::PathBuf,
) {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new(prefix);
    let work = host.path().join("work");
    web_app(&work);
    (host, sshd, key, app, work)
}

#[test]
fn a_pushed_app_runs_answers_and_is_replaced_only_by_a_ready_one() {
    let (host, sshd, key, app, work) = web_scenario("web");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    for line in [
        format!("Deploying {a} via the docker-local scheduler..."),
        "Deploying web (count=1)".to_string(),
        "All checks successful (web.1)".to_string(),
        "Application deployed:".to_string(),
    ] {
        assert!(out.contains(&line), "{line}: {out}");
    }
    let first = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    assert_eq!(
        std::fs::read_to_string(host.roots.app_dir(a).join("CONTAINER.web.1")).unwrap(),
        first
    );
    // The worker is not scaled: only web runs.
    assert!(!running(&format!("{a}.worker.1")));

    // logs: each container's output, with its timestamp and name, or bare.
    let logs = host.ok(["logs", a, "-n", "20"]);
    assert!(logs.contains(&format!("{a}[web.1]:")), "{logs}");
    assert!(logs.contains("\"GET / HTTP/1.0\" 200"), "{logs}");
    let quiet = host.ok(["logs", a, "-q", "-p", "web"]);
    assert!(
        quiet.contains("GET / HTTP/1.0") && !quiet.contains("[web.1]"),
        "{quiet}"
    );
    assert!(!host.run(["logs", a, "-p", "worker"]).status.success());
    // Following: a request made afterwards shows up.
    let mut follow = std::process::Command::new(dokku_test_support::binary("dokku"))
        .args(["logs", a, "-t", "-n", "0"])
        .env_clear()
        .envs(host.env())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let _ = http_get(&container_ip(&web), 5000);
    let mut seen = String::new();
    let mut stdout = follow.stdout.take().unwrap();
    let started = std::time::Instant::now();
    let mut chunk = [0u8; 1024];
    while !seen.contains("GET / HTTP/1.0") && started.elapsed() < Duration::from_secs(20) {
        let n = stdout.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(seen.contains("GET / HTTP/1.0"), "{seen}");

    // A new release takes over only once it answers; the old one keeps serving meanwhile
    // and is retired in the background: told to stop as soon as no proxy sends it requests
    // (none does here), removed only once its wait to retire ends.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains("Shutting down old containers in 60 seconds"),
        "{out}"
    );
    let second = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    assert_ne!(second, first);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    let started = std::time::Instant::now();
    let state = || {
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.State.Status}}",
            &first,
        ])
    };
    while state() != "exited" {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the old container was not told to stop: {}",
            state()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // With no wait to retire, the replaced container goes as soon as its successor is in
    // place (the one queued before keeps its own 60 s).
    host.ok(["checks:set", a, "wait-to-retire", "0"]);
    host.ok(["ps:set", a, "restart-policy", "unless-stopped"]);
    host.ok(["ps:restart", a]);
    let started = std::time::Instant::now();
    while docker_ok(&["container", "inspect", &second]) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replaced container was not retired"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.HostConfig.RestartPolicy.Name}}",
            &web
        ]),
        "unless-stopped"
    );
    let second = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    for bad in [
        vec!["checks:set", a, "wait-to-retire", "soon"],
        vec!["ps:set", a, "restart-policy", "sometimes"],
    ] {
        assert!(!host.run(&bad).status.success(), "{bad:?}");
    }

    // Config reaches the containers through docker's environment, and a change restarts.
    host.ok(["config:set", a, "GREETING=hello there"]);
    let third = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    assert_ne!(third, second);
    let env = docker(&[
        "container",
        "inspect",
        "--format",
        "{{json .Config.Env}}",
        &web,
    ]);
    assert!(env.contains("GREETING=hello there"), "{env}");
    let args = docker(&["container", "inspect", "--format", "{{json .Args}}", &web]);
    assert!(!args.contains("hello"), "{args}");

    // Resource limits and reservations reach docker at the next deploy.
    host.ok(["resource:limit", "--memory", "256", "--cpu", "0.5", a]);
    host.ok(["resource:reserve", "--memory", "64", a]);
    host.ok(["ps:restart", a]);
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.MemoryReservation}}",
            &web
        ]),
        "268435456 500000000 67108864"
    );
    host.ok(["resource:limit-clear", a]);
    host.ok(["resource:reserve-clear", a]);
    // The web process listens on the container port of the app's first port mapping.
    host.ok(["ports:set", a, "http:80:8000"]);
    host.ok(["ps:restart", a]);
    assert!(http_get(&container_ip(&web), 8000).contains("version 2"));
    host.ok(["ports:clear", a]);
    host.ok(["ps:restart", a]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    let third = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);

    // inspect: docker's description, the config's values hidden.
    let inspected = host.ok(["ps:inspect", a]);
    assert!(inspected.contains("\"GREETING=<hidden>\""), "{inspected}");
    assert!(!inspected.contains("hello there"), "{inspected}");

    // enter: a command inside the running web container.
    assert_eq!(host.ok(["enter", a, "web", "printenv", "DYNO"]), "web.1\n");
    assert_eq!(
        host.ok(["enter", a, "cat", "/app/index.html"]),
        "<h1>version 2</h1>\n"
    );
    assert_eq!(
        host.ok([
            "enter",
            a,
            "--container-id",
            &third[..12],
            "printenv",
            "DYNO"
        ]),
        "web.1\n"
    );
    let foreign = docker(&[
        "container",
        "run",
        "--detach",
        "--rm",
        "dokku-rs/base:bookworm",
        "sleep",
        "60",
    ]);
    let refused = host.run(["enter", a, "--container-id", &foreign, "true"]);
    docker(&["container", "rm", "--force", &foreign]);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!("is not a container of {a}")),
        "{}",
        host.render(&refused)
    );
    let idle = host.run(["enter", a, "worker.1", "true"]);
    assert!(!idle.status.success());
    assert!(
        String::from_utf8_lossy(&idle.stderr).contains("has no running container worker.1"),
        "{}",
        host.render(&idle)
    );

    // run: a one-off container with the app's config and the run's own variables, gone
    // when it ends, whose exit code is the command's.
    assert_eq!(host.ok(["run", a, "printenv", "GREETING"]), "hello there\n");
    assert_eq!(
        host.ok([
            "run",
            "--env",
            "EXTRA=1 2",
            a,
            "sh",
            "-c",
            "echo \"$EXTRA\""
        ]),
        "1 2\n"
    );
    assert_eq!(
        host.run(["run", a, "sh", "-c", "exit 7"]).status.code(),
        Some(7)
    );
    // A storage mount reaches one-off containers.
    let shared = host.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("note.txt"), "from the host\n").unwrap();
    host.ok(["storage:mount", a, &format!("{}:/data", shared.display())]);
    assert_eq!(
        host.ok(["run", a, "cat", "/data/note.txt"]),
        "from the host\n"
    );
    assert!(
        !host
            .run(["run", "--env", "1BAD=x", a, "true"])
            .status
            .success()
    );
    assert_eq!(
        docker(&[
            "container",
            "ls",
            "-aq",
            "--filter",
            &format!("label=com.dokku.app-name={a}"),
            "--filter",
            "label=com.dokku.container-type=run",
        ]),
        ""
    );

    // Detached one-off containers: listed, and stopped one by one or all together.
    let name = host
        .ok(["run:detached", a, "sleep", "60"])
        .trim()
        .to_string();
    assert!(name.starts_with(&format!("{a}.run.")), "{name}");
    assert!(running(&name));
    let list = host.ok(["run:list", a]);
    assert!(list.contains(&name) && list.contains("sleep"), "{list}");
    let quiet = host.ok(["--quiet", "run:list", a]);
    assert_eq!(quiet.lines().count(), 1, "{quiet}");
    assert!(quiet.starts_with(&name), "{quiet}");
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["run:list", "--format", "json", a])).unwrap();
    assert_eq!(json[0]["name"], name.as_str());
    assert!(!host.run(["run:stop", "--container", &web]).status.success());
    assert!(running(&web));
    let logged = host.ok([
        "--label=com.example.note=kept",
        "run:detached",
        a,
        "sh",
        "-c",
        "echo one-off says hi; sleep 60",
    ]);
    let logged = logged.trim();
    assert_eq!(
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.example.note\"}}",
            logged
        ]),
        "kept"
    );
    let started = std::time::Instant::now();
    loop {
        let out = host.ok(["run:logs", "--container", logged]);
        if out.contains("one-off says hi") {
            assert!(out.contains(&format!("{a}[run.")), "{out}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(host.ok(["run:logs", a, "-q"]).contains("one-off says hi"));
    assert!(!host.run(["run:logs", "--container", &web]).status.success());
    host.ok(["run:stop", "--container", logged]);
    assert_eq!(host.ok(["run:stop", "--container", &name]).trim(), name);
    let second = host
        .ok(["run:detached", a, "sleep", "60"])
        .trim()
        .to_string();
    let third_run = host
        .ok(["run:detached", a, "sleep", "60"])
        .trim()
        .to_string();
    let stopped = host.ok(["run:stop", a]);
    assert!(
        stopped.contains(&second) && stopped.contains(&third_run),
        "{stopped}"
    );
    assert!(!running(&second) && !running(&third_run));
    // A one-off container outliving its time to live is stopped.
    let short = host
        .ok(["run:detached", "--ttl-seconds", "2", a, "sleep", "60"])
        .trim()
        .to_string();
    let started = std::time::Instant::now();
    while running(&short) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the one-off container outlived its time to live"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        !host
            .run(["run", "--ttl-seconds", "0", a, "true"])
            .status
            .success()
    );

    // Scaling touches only the process types whose count changed.
    let web_id = || docker(&["container", "inspect", "--format", "{{.Id}}", &web]);
    let worker = format!("{a}.worker.1");
    host.ok(["ps:scale", a, "worker=1"]);
    assert!(running(&worker));
    assert_eq!(web_id(), third);
    let worker_id = docker(&["container", "inspect", "--format", "{{.Id}}", &worker]);
    host.ok([
        "scheduler-docker-local:set",
        a,
        "parallel-schedule-count",
        "2",
    ]);
    host.ok(["ps:scale", a, "web=2", "worker=1"]);
    assert!(running(&format!("{a}.web.2")));
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &worker]),
        worker_id
    );
    assert!(host.roots.app_dir(a).join("CONTAINER.web.2").exists());
    host.ok(["ps:scale", a, "web=1", "worker=0"]);
    assert!(!host.roots.app_dir(a).join("CONTAINER.web.2").exists());
    assert!(!host.roots.app_dir(a).join("CONTAINER.worker.1").exists());
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    let listed = host.ok(["ps:scale", a]);
    assert!(
        listed.contains("web:  1") && listed.contains("worker: 0"),
        "{listed}"
    );
    for bad in [
        vec!["ps:scale", a, "web=-1"],
        vec!["ps:scale", a, "clock=1"],
        vec!["ps:scale", a, "web"],
    ] {
        let out = host.run(&bad);
        assert!(!out.status.success(), "{bad:?}");
    }

    // stop, start, restart, rebuild.
    // restore: an app whose containers stopped behind its back (the engine restarted)
    // comes back; one stopped with ps:stop stays stopped.
    docker(&["container", "stop", &web]);
    assert!(!running(&web));
    host.ok(["ps:restore"]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    host.ok(["ps:stop", a]);
    assert!(!running(&web));
    assert_eq!(host.ok(["ps:report", a, "--running"]), "false\n");
    host.ok(["ps:restore"]);
    assert!(!running(&web));
    host.ok(["ps:start", a]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    assert_eq!(host.ok(["ps:report", a, "--running"]), "true\n");
    let before = web_id();
    host.ok(["ps:restart", a]);
    assert_ne!(web_id(), before);
    assert!(
        host.ok(["ps:rebuild", a])
            .contains(&format!("Building {a} from Dockerfile"))
    );
    let third = web_id();
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));

    // A release that never becomes ready changes nothing: the last one keeps answering.
    commit(
        &work,
        "Procfile",
        "web: python3 -c 'import sys; sys.exit(3)'\n",
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Could not start due to a failed check (web.1)"),
        "{out}"
    );
    // (docker may already be restarting it, when its exit code is no longer reported)
    assert!(out.contains("the container exited with code"), "{out}");
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &web]),
        third
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));

    // A deploy killed midway leaves a container it never put in place: the next deploy
    // removes it.
    let stray = format!("{a}.web.1.upcoming-1");
    docker(&[
        "run",
        "-d",
        "--name",
        &stray,
        "--label",
        &format!("com.dokku.app-name={a}"),
        "--label",
        "com.dokku.container-type=deploy",
        BASE_IMAGE,
        "sleep",
        "infinity",
    ]);
    commit(&work, "Procfile", "web: python3 -m http.server $PORT\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(!running(&stray));

    // A renamed app is rebuilt and runs under its new name; the old containers go.
    let renamed = UniqueApp::new("renamed");
    let b = renamed.0.as_str();
    host.ok(["apps:rename", a, b]);
    assert!(!running(&web));
    let new_web = format!("{b}.web.1");
    assert!(http_get(&container_ip(&new_web), 5000).contains("version 2"));

    host.ok(["apps:destroy", b, "--force"]);
    assert!(!running(&new_web));
}

/// An app whose Procfile has no web process deploys (there is nothing to run until a
/// process type is scaled up), as in Dokku; its worker then runs, scaled and started.
#[test]
fn a_procfile_without_web_deploys_and_its_worker_runs_once_scaled() {
    let (host, sshd, key, app, work) = web_scenario("noweb");
    let a = app.0.as_str();
    commit(&work, "Procfile", "worker: sleep infinity\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains("Skipping web as it is missing from the current Procfile"),
        "{out}"
    );
    assert!(!running(&format!("{a}.web.1")));
    // Deployed, though nothing runs yet.
    assert_eq!(host.ok(["ps:report", a, "--deployed"]).trim(), "true");
    assert_eq!(host.ok(["ps:report", a, "--processes"]).trim(), "0");
    // A config change releases it again, as for any deployed app.
    let out = host.ok(["config:set", a, "FOO=bar"]);
    assert!(out.contains(&format!("Releasing {a}")), "{out}");
    host.ok(["ps:scale", a, "worker=1"]);
    let out = host.ok(["ps:start", a]);
    assert!(running(&format!("{a}.worker.1")), "{out}");
}

#[test]
fn a_dockerfile_start_cmd_replaces_the_procfile_command_until_unset() {
    let (host, sshd, key, app, work) = web_scenario("startcmd");
    let a = app.0.as_str();
    host.ok(["apps:create", a]);
    host.ok([
        "ps:set",
        a,
        "dockerfile-start-cmd",
        "python3 -m http.server $PORT --directory /app",
    ]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let web = format!("{a}.web.1");
    let command = docker(&["inspect", "-f", "{{json .Config.Cmd}}", &web]);
    assert!(command.contains("--directory"), "{command}");
    assert!(
        command.contains("5000"),
        "the command is expanded: {command}"
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    host.ok(["ps:set", a, "dockerfile-start-cmd"]);
    host.ok(["ps:rebuild", a]);
    let command = docker(&["inspect", "-f", "{{json .Config.Cmd}}", &web]);
    assert!(!command.contains("--directory"), "{command}");
}
