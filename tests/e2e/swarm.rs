use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::build::{UniqueApp, push};
use crate::proxy::{Nginx, routed_app};
use crate::push::setup_building;
use crate::{commit, run};
use dokku_test_support::{docker_bin, workspace_root};

/// A swarm of engines on this machine (`tests/swarm-rig`): each in a network namespace
/// of its own on a private bridge, this host on it too. Stopped and removed when dropped.
struct Rig {
    name: String,
    values: BTreeMap<String, String>,
}

impl Rig {
    fn up(nodes: u32) -> Rig {
        let id = std::process::id();
        let name = format!("sw{}", id % 100_000);
        let net = (id % 200 + 20).to_string();
        let out = Command::new(workspace_root().join("tests/swarm-rig"))
            .args(["up", &name, &net, &nodes.to_string()])
            .output()
            .unwrap();
        let rig = Rig {
            name,
            values: String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(
            out.status.success(),
            "tests/swarm-rig could not start {nodes} docker engines (it needs root, iproute2, \
             util-linux and docker.io):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        rig
    }

    fn value(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("the rig says nothing of {key}"))
    }

    fn socket(&self, node: u32) -> String {
        format!("unix://{}", self.value(&format!("RIG_NODE{node}_SOCKET")))
    }

    fn addr(&self, node: u32) -> &str {
        self.value(&format!("RIG_NODE{node}_ADDR"))
    }

    /// `docker ARGS` against a node's engine: its output, asserted to succeed.
    fn docker(&self, node: u32, args: &[&str]) -> String {
        let out = run(Command::new(docker_bin())
            .args(["--host", &self.socket(node)])
            .args(args));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = Command::new(workspace_root().join("tests/swarm-rig"))
            .args(["down", &self.name])
            .output();
    }
}

/// `GET /` through nginx with this `Host`, up to 10 s for a 200: the body.
fn answer(nginx: &Nginx, domain: &str) -> String {
    let response = nginx.expect(domain, 200);
    response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.trim().to_string())
}

/// The nodes the running tasks of the app's web service in place are on, as the
/// manager says.
fn web_nodes(rig: &Rig, host: &dokku_test_support::TestHost, app: &str) -> Vec<String> {
    let service = std::fs::read_to_string(host.roots.app_dir(app).join("SERVICE.web")).unwrap();
    let tasks = rig.docker(
        1,
        &[
            "service",
            "ps",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
            service.trim(),
        ],
    );
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

    // The swarm: this host's engine manages it, the two others join.
    let out = host.ok([
        "scheduler-swarm:initialize",
        "--advertise-addr",
        rig.addr(1),
    ]);
    assert!(out.contains("Initializing a swarm"), "{out}");
    let again = host.ok(["scheduler-swarm:initialize"]);
    assert!(again.contains("already manages a swarm"), "{again}");
    for node in [2, 3] {
        host.ok(["scheduler-swarm:cluster:add", &rig.socket(node)]);
    }
    let refused = host.run(["scheduler-swarm:cluster:add", "tcp://10.0.0.1:2375"]);
    assert!(!refused.status.success());
    let list = host.ok(["scheduler-swarm:cluster:list", "--format", "json"]);
    let nodes: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 3, "{list}");
    for node in nodes.as_array().unwrap() {
        assert_eq!(node["state"], "ready", "{list}");
    }

    // An app on the swarm scheduler, routed by this host's nginx.
    let nginx = Nginx::start(&host);
    let app = UniqueApp::new("sw");
    let a = app.0.as_str();
    let domain = routed_app(&host, &nginx, a);
    host.ok(["scheduler:set", a, "selected", "swarm"]);
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
         exec httpd -f -p \"$PORT\" -h /tmp/www\n",
    )
    .unwrap();
    std::fs::write(work.join("Procfile"), "web: sh /app/serve.sh\n").unwrap();
    commit(&work, "VERSION", "version 1\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Deploying web (count=1)"), "{out}");
    assert!(out.contains("All checks successful (web.1)"), "{out}");
    assert!(answer(&nginx, &domain).starts_with("version 1 from "));

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
            served.insert(answer(&nginx, &domain));
            served.len() == 3
        },
    );
    let status = host.ok(["ps:report", a, "--running"]);
    assert_eq!(status.trim(), "true", "{status}");

    // Down to one and back.
    host.ok(["ps:scale", a, "web=1"]);
    wait_until(
        "the scaled-away tasks still serve",
        Duration::from_secs(90),
        || web_nodes(&rig, &host, a).len() == 1,
    );
    host.ok(["ps:scale", a, "web=3"]);
    assert_eq!(web_nodes(&rig, &host, a).len(), 3);

    // Destroying the app removes every service it had.
    host.ok(["--force", "apps:destroy", a]);
    let left = rig.docker(
        1,
        &[
            "service",
            "ls",
            "--quiet",
            "--filter",
            &format!("label=com.dokku.app-name={a}"),
        ],
    );
    assert_eq!(left, "", "services left behind");
}
