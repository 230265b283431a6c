use std::process::Command;
use std::time::{Duration, Instant};

use crate::build::{UniqueApp, push};
use crate::proxy::{EventListener, Nginx, routed_app};
use crate::push::setup_building;
use crate::{commit, run};
use dokku_test_support::{SwarmRig, docker_bin, workspace_root};

/// The rig of engines, with `docker` against one of them.
struct Rig(SwarmRig);

impl std::ops::Deref for Rig {
    type Target = SwarmRig;
    fn deref(&self) -> &SwarmRig {
        &self.0
    }
}

impl Rig {
    fn up(nodes: u32) -> Rig {
        Rig(SwarmRig::up("sw", nodes).unwrap_or_else(|err| panic!("{err}")))
    }

    /// `FORMAT` of each running task of `service`, a line each, as the manager says.
    fn running_tasks(&self, service: &str, format: &str) -> String {
        self.docker(
            1,
            &[
                "service",
                "ps",
                "--filter",
                "desired-state=running",
                "--format",
                format,
                service,
            ],
        )
    }

    /// `FORMAT` of `service`'s description.
    fn service_field(&self, service: &str, format: &str) -> String {
        self.docker(1, &["service", "inspect", "--format", format, service])
    }

    /// `docker ARGS` against a node's engine: its output, asserted to succeed.
    fn docker(&self, node: u32, args: &[&str]) -> String {
        let out = run(Command::new(docker_bin())
            .args(["--host", &self.socket(node)])
            .args(args));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

/// What docs/swarm.md has an operator set up for a node added as `ssh://root@ADDR`: a key
/// the node's sshd lets in as root, and the node's host key in `known_hosts`. This test
/// host's commands run as root, whose own `~/.ssh` the test leaves alone: the `ssh` that
/// docker's client runs is found first on the host's PATH (`/etc/default/dokku`) and reads
/// its key and known hosts from the test host's directory.
fn node_login(rig: &Rig, host: &dokku_test_support::TestHost, node: u32) {
    use std::os::unix::fs::PermissionsExt;
    let dir = host.path().join("node-ssh");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    std::fs::write(
        rig.value(&format!("RIG_NODE{node}_SSH_AUTHORIZED_KEYS")),
        std::fs::read(key.with_extension("pub")).unwrap(),
    )
    .unwrap();
    let known_hosts = dir.join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "{} {}\n",
            rig.addr(node),
            rig.value(&format!("RIG_NODE{node}_SSH_HOST_KEY"))
        ),
    )
    .unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             BatchMode yes\n",
            key.display(),
            known_hosts.display()
        ),
    )
    .unwrap();
    let ssh = dir.join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nexec {} -F {} \"$@\"\n",
            dokku_test_support::require_tool("ssh", "apt-get install openssh-client").display(),
            config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = host
        .env()
        .into_iter()
        .find_map(|(k, v)| (k == "PATH").then_some(v))
        .unwrap();
    let defaults = host.path().join("etc-default-dokku");
    let mut text = std::fs::read_to_string(&defaults).unwrap();
    text.push_str(&format!("PATH={}:{path}\n", dir.display()));
    std::fs::write(&defaults, text).unwrap();
}

/// Debian's docker registry on this host's leg of the rig (plain HTTP, port 5000), its
/// storage in the test host; stopped when dropped.
struct Registry {
    address: String,
    child: std::process::Child,
}

impl Registry {
    fn start(rig: &Rig, host: &dokku_test_support::TestHost) -> Registry {
        let bin =
            dokku_test_support::require_tool("docker-registry", "apt-get install docker-registry");
        let address = format!("{}:5000", rig.value("RIG_HOST_ADDR"));
        let dir = host.path().join("registry");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_until(
            "the registry never listened",
            Duration::from_secs(20),
            || std::net::TcpStream::connect(&address).is_ok(),
        );
        Registry { address, child }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /` with this `Host` at `addr:port`: the status (0 when there was no answer) and
/// the body.
fn get(addr: &str, port: u16, domain: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect((addr, port)) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    if write!(stream, "GET / HTTP/1.0\r\nHost: {domain}\r\n\r\n").is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.trim().to_string());
    (status, body)
}

/// The app's answer through nginx on this host's address on the rig, once it is a 200
/// (at most 20 s).
fn answer(rig: &Rig, nginx: &Nginx, domain: &str) -> String {
    let started = Instant::now();
    loop {
        let (status, body) = get(rig.value("RIG_HOST_ADDR"), nginx.port, domain);
        if status == 200 {
            return body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{domain}: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Requests from inside a node's network namespace through nginx on this host, one after
/// another until `stop` exists (at most 4000): one status code a line, `000` for none.
fn request_loop(
    rig: &Rig,
    node: u32,
    nginx: &Nginx,
    domain: &str,
    stop: &std::path::Path,
) -> std::process::Child {
    let script = format!(
        "i=0; while [ $i -lt 4000 ] && [ ! -e {stop} ]; do \
         curl -s -o /dev/null -w '%{{http_code}}\\n' --max-time 10 -H 'Host: {domain}' \
         http://{addr}:{port}/; i=$((i+1)); done",
        stop = stop.display(),
        addr = rig.value("RIG_HOST_ADDR"),
        port = nginx.port,
    );
    Command::new("ip")
        .args([
            "netns",
            "exec",
            rig.value(&format!("RIG_NODE{node}_NS")),
            "sh",
            "-c",
            &script,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The app's web service in place.
fn web_service(host: &dokku_test_support::TestHost, app: &str) -> String {
    std::fs::read_to_string(host.roots.app_dir(app).join("SERVICE.web"))
        .unwrap()
        .trim()
        .to_string()
}

/// The nodes the running tasks of the app's web service in place are on, as the
/// manager says.
fn web_nodes(rig: &Rig, host: &dokku_test_support::TestHost, app: &str) -> Vec<String> {
    let service = web_service(host, app);
    let tasks = rig.running_tasks(&service, "{{.Node}} {{.CurrentState}}");
    let mut nodes: Vec<String> = tasks
        .lines()
        .filter(|l| l.contains("Running"))
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    nodes.sort();
    nodes
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn an_app_runs_across_the_nodes_of_a_swarm_behind_this_hosts_nginx() {
    let rig = Rig::up(3);
    // The app's base image, on the manager's engine (the one dokku builds with).
    let out = Command::new(workspace_root().join("tests/service-images"))
        .arg("--busybox")
        .env("DOCKER_BIN", docker_bin())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let save = Command::new(docker_bin())
        .args(["image", "save", "dokku-rs/busybox:1.35"])
        .output()
        .unwrap();
    assert!(save.status.success());
    let mut load = Command::new(docker_bin())
        .args(["--host", &rig.socket(1), "image", "load", "--quiet"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(load.stdin.as_mut().unwrap(), &save.stdout).unwrap();
    drop(load.stdin.take());
    assert!(load.wait().unwrap().success());

    let (host, sshd, key) = setup_building();
    let defaults = host.path().join("etc-default-dokku");
    let mut text = std::fs::read_to_string(&defaults).unwrap();
    text.push_str(&format!("DOCKER_HOST={}\n", rig.socket(1)));
    std::fs::write(&defaults, text).unwrap();

    // The swarm: this host's engine manages it; node 2 joins over SSH as a second manager,
    // node 3 as a worker.
    let out = host.ok([
        "scheduler-swarm:initialize",
        "--advertise-addr",
        rig.addr(1),
    ]);
    assert!(out.contains("Initializing a swarm"), "{out}");
    let again = host.ok(["scheduler-swarm:initialize"]);
    assert!(again.contains("already manages a swarm"), "{again}");
    node_login(&rig, &host, 2);
    let over_ssh = format!("ssh://root@{}", rig.addr(2));
    host.ok([
        "scheduler-swarm:cluster:add",
        "--role",
        "manager",
        &over_ssh,
    ]);
    host.ok(["scheduler-swarm:cluster:add", &rig.socket(3)]);
    let refused = host.run(["scheduler-swarm:cluster:add", "tcp://10.0.0.1:2375"]);
    assert!(!refused.status.success());
    let list = host.ok(["scheduler-swarm:cluster:list", "--format", "json"]);
    let nodes: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 3, "{list}");
    for node in nodes.as_array().unwrap() {
        assert_eq!(node["state"], "ready", "{list}");
        let expected = match node["address"].as_str() {
            Some(a) if a == rig.addr(2) => ("manager", over_ssh.clone()),
            Some(a) if a == rig.addr(3) => ("worker", rig.socket(3)),
            _ => ("manager", String::new()),
        };
        assert_eq!(
            (
                node["role"].as_str().unwrap(),
                node["engine"].as_str().unwrap()
            ),
            (expected.0, expected.1.as_str()),
            "{list}"
        );
    }

    // An app on the swarm scheduler, routed by this host's nginx.
    let nginx = Nginx::start(&host);
    let app = UniqueApp::new("sw");
    let a = app.0.as_str();
    let domain = routed_app(&host, &nginx, a);
    // nginx listens on this host's address on the rig: the nodes reach it there.
    host.ok([
        "nginx:set",
        "--global",
        "bind-address-ipv4",
        rig.value("RIG_HOST_ADDR"),
    ]);
    host.ok(["scheduler:set", a, "selected", "swarm"]);
    host.ok(["checks:set", a, "wait-to-retire", "5"]);
    let work = host.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(&work));
    std::fs::write(
        work.join("Dockerfile"),
        "FROM dokku-rs/busybox:1.35\nCOPY . /app\nEXPOSE 5000\n",
    )
    .unwrap();
    std::fs::write(
        work.join("serve.sh"),
        "mkdir -p /tmp/www\necho \"$(cat /app/VERSION) from $(hostname)\" >/tmp/www/index.html\n\
         echo \"serving $(cat /app/VERSION) as $DYNO\"\nexec httpd -f -p \"$PORT\" -h /tmp/www\n",
    )
    .unwrap();
    std::fs::write(work.join("Procfile"), "web: sh /app/serve.sh\n").unwrap();
    std::fs::write(
        work.join("app.json"),
        r#"{"cron": [
            {"command": "sh -c 'echo the task says $(cat /app/VERSION) on $DYNO'", "schedule": "@daily"},
            {"command": "sh -c 'echo failing; exit 3'", "schedule": "@daily"},
            {"command": "sleep 120", "schedule": "@daily", "concurrency_policy": "forbid"}
        ]}"#,
    )
    .unwrap();
    commit(&work, "VERSION", "version 1\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Deploying web (count=1)"), "{out}");
    assert!(out.contains("All checks successful (web.1)"), "{out}");
    assert!(answer(&rig, &nginx, &domain).starts_with("version 1 from "));

    // Three web tasks spread over the nodes; nginx reaches each at its node's address.
    let out = host.ok(["ps:scale", a, "web=3"]);
    assert!(out.contains("Deploying web (count=3)"), "{out}");
    let nodes = web_nodes(&rig, &host, a);
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    let mut distinct = nodes.clone();
    distinct.dedup();
    assert!(distinct.len() > 1, "every task on one node: {nodes:?}");
    let config = host.ok(["nginx:show-config", a]);
    for node in &distinct {
        let n: u32 = node.rsplit('n').next().unwrap().parse().unwrap();
        assert!(
            config.contains(&format!("server {}:", rig.addr(n))),
            "{node}: {config}"
        );
    }
    let mut served = std::collections::BTreeSet::new();
    wait_until(
        "nginx never reached all three tasks",
        Duration::from_secs(20),
        || {
            served.insert(answer(&rig, &nginx, &domain));
            served.len() == 3
        },
    );
    let status = host.ok(["ps:report", a, "--running"]);
    assert_eq!(status.trim(), "true", "{status}");
    let report = host.ok(["ps:report", a]);
    for slot in 1..=3 {
        assert!(
            report.contains(&format!("Status web {slot}:")) && report.contains(", on 10.213."),
            "{report}"
        );
    }

    // enter, logs and run reach the tasks wherever they run.
    let service = web_service(&host, a);
    let placed = rig.running_tasks(&service, "{{.Name}} {{.Node}}");
    // Each task elsewhere is entered through its node's engine: node 2's over SSH.
    let elsewhere: Vec<(String, u32)> = placed
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, node)| !node.ends_with("-n1"))
        .map(|(name, node)| {
            (
                name.rsplit('.').next().unwrap().to_string(),
                node.rsplit('n').next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert!(
        elsewhere.iter().any(|(_, n)| *n == 2),
        "no task on the node added over SSH: {placed}"
    );
    for (slot, n) in &elsewhere {
        let inside = host.ok(["enter", a, &format!("web.{slot}"), "hostname"]);
        rig.docker(
            *n,
            &["container", "inspect", "--format", "{{.Id}}", inside.trim()],
        );
    }
    let slot = &elsewhere[0].0;
    // A task named by its id is entered on its node too.
    let ids = rig.running_tasks(&service, "{{.ID}} {{.Node}}");
    let task_id = ids
        .lines()
        .find(|l| l.ends_with("-n2"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let inside = host.ok(["enter", a, "--container-id", &task_id, "hostname"]);
    assert!(inside.trim().len() >= 12, "{inside}");
    rig.docker(2, &["container", "inspect", inside.trim()]);
    // The app's config reaches the tasks (a change redeploys them).
    host.ok(["config:set", a, "GREETING=hello from the config"]);
    let greeting = host.ok([
        "enter",
        a,
        &format!("web.{slot}"),
        "sh",
        "-c",
        "echo $GREETING",
    ]);
    assert_eq!(greeting.trim(), "hello from the config");
    let logs = host.ok(["logs", a]);
    for slot in 1..=3 {
        assert!(
            logs.contains(&format!("{a}[web.{slot}]: serving version 1 as web.{slot}")),
            "{logs}"
        );
    }
    let only = host.ok(["logs", a, "-p", &format!("web.{slot}")]);
    assert_eq!(only.lines().count(), 1, "{only}");
    assert_eq!(host.ok(["run", a, "cat", "/app/VERSION"]), "version 1\n");
    let through = host.ok(["run", a, "wget", "-qO-", &format!("http://{service}:5000/")]);
    assert!(through.starts_with("version 1 from "), "{through}");

    // A detached run is a Swarm job: listed, its output read, stopped.
    let job = host.ok([
        "run:detached",
        a,
        "sh",
        "-c",
        "echo the job says $(cat /app/VERSION); sleep 120",
    ]);
    let job = job.trim().to_string();
    assert!(job.starts_with(&format!("{a}-run-")), "{job}");
    assert!(host.ok(["run:list", a]).contains(&job));
    let listed: serde_json::Value =
        serde_json::from_str(&host.ok(["run:list", "--format", "json", a])).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == job.as_str()),
        "{listed}"
    );
    wait_until("the job said nothing", Duration::from_secs(30), || {
        host.ok(["run:logs", "--container", &job])
            .contains("the job says version 1")
    });
    assert_eq!(host.ok(["run:stop", "--container", &job]).trim(), job);
    let names = rig.docker(1, &["service", "ls", "--format", "{{.Name}}"]);
    assert!(!names.lines().any(|n| n == job), "{names}");

    // A cron task runs as a Swarm job, from this host's crontab: its output and its exit
    // code are the run's, and no job is left; `forbid` holds while a run goes on.
    let tasks: serde_json::Value =
        serde_json::from_str(&host.ok(["cron:list", a, "--format", "json"])).unwrap();
    let id = |n: usize| tasks[n]["id"].as_str().unwrap().to_string();
    let crontab = std::fs::read_to_string(host.roots.lib_root.join("data/cron/crontab")).unwrap();
    assert!(
        crontab.contains(&format!("cron:run {a} {}", id(0))),
        "{crontab}"
    );
    let jobs_left = || {
        rig.docker(
            1,
            &[
                "service",
                "ls",
                "--quiet",
                "--filter",
                "label=com.dokku.container-type=cron",
            ],
        )
    };
    let said = host.ok(["cron:run", a, &id(0)]);
    assert!(said.contains("the task says version 1 on"), "{said}");
    let out = host.run(["cron:run", a, &id(1)]);
    assert_eq!(out.status.code(), Some(3), "{}", host.render(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failing"));
    assert_eq!(jobs_left(), "");
    let long = host.ok(["cron:run", "--detach", a, &id(2)]);
    let long = long.trim();
    assert!(long.starts_with(&format!("{a}-cron-")), "{long}");
    let refused = host.run(["cron:run", a, &id(2)]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains(&format!("currently has a cron lock in place for {}", id(2))),
        "{}",
        host.render(&refused)
    );
    assert_eq!(host.ok(["run:stop", "--container", long]).trim(), long);
    assert_eq!(jobs_left(), "");

    // Down to one and back.
    host.ok(["ps:scale", a, "web=1"]);
    wait_until(
        "the scaled-away tasks still serve",
        Duration::from_secs(90),
        || web_nodes(&rig, &host, a).len() == 1,
    );
    host.ok(["ps:scale", a, "web=3"]);
    assert_eq!(web_nodes(&rig, &host, a).len(), 3);

    // No request fails across three redeploys, asked from a node's namespace.
    let stop = host.path().join("stop-requests");
    let looping = request_loop(&rig, 2, &nginx, &domain, &stop);
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..3 {
        host.ok(["ps:restart", a]);
    }
    std::fs::write(&stop, "").unwrap();
    let out = looping.wait_with_output().unwrap();
    let codes = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = codes.lines().filter(|c| *c != "200").collect();
    assert!(codes.lines().count() > 50, "too few requests: {codes}");
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        codes.lines().count()
    );
    eprintln!(
        "{} requests across three redeploys, none failed",
        codes.lines().count()
    );

    // A service a deploy made and never put in place (the deploy was killed) goes at the
    // next deploy.
    let stray = format!("{a}-web-stray");
    rig.docker(
        1,
        &[
            "service",
            "create",
            "--detach",
            "--quiet",
            "--no-resolve-image",
            "--name",
            &stray,
            "--label",
            &format!("com.dokku.app-name={a}"),
            "--label",
            "com.dokku.container-type=deploy",
            "dokku-rs/busybox:1.35",
            "sleep",
            "600",
        ],
    );
    // Storage mounts and resource limits reach every task (the rig's nodes share this
    // machine's filesystem, as nodes would share a network one); an option a service has no
    // place for is named and left out.
    let shared = host.path().join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("note.txt"), "from the host\n").unwrap();
    host.ok(["storage:mount", a, &format!("{}:/data", shared.display())]);
    host.ok(["resource:limit", "--memory", "256", a]);
    host.ok(["docker-options:add", a, "deploy", "--shm-size=64m"]);
    // A job going on is no leftover.
    let job = host.ok(["run:detached", a, "sleep", "120"]);
    let job = job.trim();
    let restarted = host.run(["ps:restart", a]);
    assert!(restarted.status.success(), "{}", host.render(&restarted));
    assert!(
        String::from_utf8_lossy(&restarted.stderr).contains("left out of web: --shm-size"),
        "{}",
        host.render(&restarted)
    );
    let service = web_service(&host, a);
    let limit = rig.service_field(
        &service,
        "{{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}}",
    );
    assert_eq!(limit, (256 * 1024 * 1024).to_string());
    for slot in 1..=3 {
        assert_eq!(
            host.ok(["enter", a, &format!("web.{slot}"), "cat", "/data/note.txt"]),
            "from the host\n"
        );
    }
    host.ok(["docker-options:clear", a, "deploy"]);
    let names = rig.docker(1, &["service", "ls", "--format", "{{.Name}}"]);
    assert!(!names.lines().any(|n| n == stray), "{names}");
    assert!(names.lines().any(|n| n == job), "{names}");
    host.ok(["run:stop", "--container", job]);

    // A release whose health check fails never serves; the old one goes on.
    std::fs::write(
        work.join("app.json"),
        r#"{"healthchecks": {"web": [
            {"name": "version page", "path": "/", "content": "version 3", "attempts": 2, "wait": 1},
            {"name": "version file", "command": ["grep", "-q", "version 3", "/app/VERSION"]},
            {"uptime": 2}
        ]}, "formation": {"web": {"max_parallel": 2}}}"#,
    )
    .unwrap();
    commit(&work, "VERSION", "version 2\n");
    let services = || -> std::collections::BTreeSet<String> {
        rig.docker(
            1,
            &[
                "service",
                "ls",
                "--quiet",
                "--filter",
                &format!("label=com.dokku.app-name={a}"),
            ],
        )
        .lines()
        .map(String::from)
        .collect()
    };
    let before = services();
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Could not start due to a failed check"),
        "{out}"
    );
    for _ in 0..6 {
        assert!(answer(&rig, &nginx, &domain).starts_with("version 1 from "));
    }
    let after = services();
    assert!(
        after.is_subset(&before),
        "the failed release's service stayed: {after:?}, before {before:?}"
    );
    let failed = host.ok(["logs:failed", a]);
    assert!(
        failed.contains(&format!("{a}[web]: serving version 2 as web.")),
        "{failed}"
    );
    commit(&work, "VERSION", "version 3\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    // The checks that look inside a task reach it on its node.
    for check in ["version page", "version file", "uptime 2s"] {
        assert!(
            out.contains(&format!("Running healthcheck: {check}")),
            "{out}"
        );
    }
    // max_parallel 2: two tasks started and checked, then the third.
    assert!(
        out.contains("-----> Deploying web (count=3)") && out.contains(" to 3 tasks"),
        "{out}"
    );
    assert_eq!(web_nodes(&rig, &host, a).len(), 3);
    assert!(answer(&rig, &nginx, &domain).starts_with("version 3 from "));
    // A rollback deploys the earlier release's image again, without a build.
    let out = host.ok(["releases:rollback", a]);
    assert!(!out.contains("Building"), "{out}");
    wait_until("the rollback never served", Duration::from_secs(20), || {
        answer(&rig, &nginx, &domain).starts_with("version 1 from ")
    });

    // A node that runs a web task goes down: nginx skips it at once, and once the swarm
    // has started its tasks elsewhere, nginx no longer lists it. The worker goes: the
    // two managers keep their quorum only together.
    let _listener = EventListener::start(&host, &[("DOCKER_HOST", &rig.socket(1))]);
    let victim = web_nodes(&rig, &host, a)
        .into_iter()
        .find(|n| n.ends_with("-n3"))
        .expect("a web task on the worker");
    let v = 3;
    let lan = format!("{}-lan", rig.name);
    run(Command::new("ip").args([
        "-n",
        &lan,
        "link",
        "set",
        &format!("{}-v{v}", rig.name),
        "down",
    ]));
    let down = Instant::now();
    for _ in 0..6 {
        assert!(answer(&rig, &nginx, &domain).starts_with("version 1 from "));
    }
    let dead = format!("server {}:", rig.addr(v));
    wait_until(
        "nginx still lists the dead node",
        Duration::from_secs(60),
        || !host.ok(["nginx:show-config", a]).contains(&dead),
    );
    eprintln!(
        "nginx dropped the dead node {} s after it went down",
        down.elapsed().as_secs()
    );
    wait_until(
        "the swarm never ran three web tasks again",
        Duration::from_secs(60),
        || {
            web_nodes(&rig, &host, a)
                .iter()
                .filter(|n| **n != victim)
                .count()
                == 3
        },
    );

    let out = host.ok(["scheduler-swarm:reconcile"]);
    assert!(
        out.contains(&format!("Reconciling the routing of {a}")),
        "{out}"
    );
    let config = host.ok(["nginx:show-config", a]);
    assert_eq!(config.matches("  server 10.213.").count(), 3, "{config}");
    assert!(!config.contains(&dead), "{config}");

    // ps:inspect shows each task with its node; stop and start.
    let inspected: serde_json::Value = serde_json::from_str(&host.ok(["ps:inspect", a])).unwrap();
    let tasks = inspected[0]["Tasks"].as_array().unwrap();
    assert!(
        tasks.iter().all(|t| t["NodeAddr"]
            .as_str()
            .is_some_and(|n| n.starts_with("10.213."))),
        "{inspected}"
    );
    host.ok(["ps:stop", a]);
    assert_eq!(host.ok(["ps:report", a, "--running"]).trim(), "false");
    host.ok(["ps:start", a]);
    assert!(answer(&rig, &nginx, &domain).starts_with("version 1 from "));

    // Through a registry: the release is pushed as <server>/<repo>:<N> and every node
    // pulls it from there.
    let registry = Registry::start(&rig, &host);
    host.ok(["registry:set", a, "server", &registry.address]);
    host.ok(["registry:set", a, "push-on-release", "true"]);
    host.ok(["scheduler-swarm:set", a, "image-distribution", "registry"]);
    std::fs::remove_file(work.join("app.json")).unwrap();
    commit(&work, "VERSION", "version 4\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Pushing image to registry"), "{out}");
    assert!(answer(&rig, &nginx, &domain).starts_with("version 4 from "));
    let service = web_service(&host, a);
    let image = rig.service_field(&service, "{{.Spec.TaskTemplate.ContainerSpec.Image}}");
    assert!(
        image.starts_with(&format!("{}/dokku/{a}:", registry.address)),
        "{image}"
    );
    for n in [2, 3] {
        let pulled = rig.docker(n, &["image", "ls", "--format", "{{.Repository}}"]);
        let worked = web_nodes(&rig, &host, a)
            .iter()
            .any(|node| node.ends_with(&format!("-n{n}")));
        assert!(
            !worked || pulled.contains(&format!("{}/dokku/{a}", registry.address)),
            "node {n} runs a task but has no image from the registry: {pulled}"
        );
    }

    // Renamed, the app runs as services of its new name, behind the same domain.
    let labelled = |app: &str| {
        rig.docker(
            1,
            &[
                "service",
                "ls",
                "--quiet",
                "--filter",
                &format!("label=com.dokku.app-name={app}"),
            ],
        )
    };
    let renamed = format!("{a}-2");
    host.ok(["apps:rename", a, &renamed]);
    assert_eq!(labelled(a), "", "services of the old name stayed");
    assert_eq!(web_nodes(&rig, &host, &renamed).len(), 3);
    wait_until(
        "the renamed app never answered",
        Duration::from_secs(20),
        || answer(&rig, &nginx, &domain).starts_with("version 4 from "),
    );

    // Destroying the app removes every service it had.
    host.ok(["--force", "apps:destroy", &renamed]);
    assert_eq!(labelled(&renamed), "", "services left behind");

    // The manager added over SSH is demoted and leaves the swarm.
    let n2 = rig.docker(2, &["info", "--format", "{{.Swarm.NodeID}}"]);
    host.ok(["scheduler-swarm:cluster:remove", &n2]);
    assert_eq!(
        rig.docker(2, &["info", "--format", "{{.Swarm.LocalNodeState}}"]),
        "inactive"
    );
    let list = host.ok(["scheduler-swarm:cluster:list", "--format", "json"]);
    assert!(!list.contains(&n2), "{list}");
}
