use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{docker, push};
use crate::commit;
use crate::run::{container_ip, http_get, web_scenario};

/// The app's containers whose names say a deploy started them and never put them in place.
fn upcoming(app: &str) -> Vec<String> {
    docker(&["container", "ls", "--all", "--format", "{{.Names}}"])
        .lines()
        .filter(|n| n.starts_with(&format!("{app}.")) && n.contains(".upcoming-"))
        .map(String::from)
        .collect()
}

fn web_id(web: &str) -> String {
    docker(&["container", "inspect", "--format", "{{.Id}}", web])
}

/// `dokku ARGS` in a process group of its own, output discarded.
fn spawn_dokku(host: &dokku_test_support::TestHost, args: &[&str]) -> Child {
    Command::new(dokku_test_support::binary("dokku"))
        .args(args)
        .env_clear()
        .envs(host.env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_deploy_killed_midway_or_raced_leaves_the_old_release_serving() {
    let (host, sshd, key, app, work) = web_scenario("kill");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    // DELAY seconds pass before the web process listens: a window to act in.
    std::fs::write(
        work.join("Procfile"),
        "web: sh -c 'sleep $DELAY; exec python3 -m http.server $PORT'\n",
    )
    .unwrap();
    commit(&work, "index.html", "<h1>version 1</h1>\n");
    host.ok(["apps:create", a]);
    host.ok(["config:set", "--no-restart", a, "DELAY=0"]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    host.ok(["checks:set", a, "wait-to-retire", "0"]);
    host.ok(["config:set", "--no-restart", a, "DELAY=4"]);
    let serving = web_id(&web);

    // A second deploy, scale or rollback while one runs is refused in one clear line.
    let mut slow = spawn_dokku(&host, &["ps:restart", a]);
    wait_for("the restart never started a container", || {
        !upcoming(a).is_empty()
    });
    for args in [
        vec!["ps:restart", a],
        vec!["ps:scale", a, "web=2"],
        vec!["releases:rollback", a],
        vec!["config:set", a, "X=1"],
    ] {
        let out = host.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains("being deployed"), "{args:?}: {stderr}");
        if args[0] == "config:set" {
            // The change stands; the command fails since its restart was refused.
            assert!(
                stderr.contains("is saved but its containers do not have it"),
                "{stderr}"
            );
        } else {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
    assert_eq!(host.ok(["config:get", a, "X"]), "1\n");
    assert!(slow.wait().unwrap().success());
    let restarted = web_id(&web);
    assert_ne!(restarted, serving);
    let builds = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut list = vec!["builds:list", a, "--format", "json"];
        list.extend(args);
        serde_json::from_str(&host.ok(list)).unwrap()
    };
    let newest = &builds(&[])[0];
    assert_eq!(newest["source"], "ps:restart", "{newest}");
    assert_eq!(newest["kind"], "deploy");
    assert_eq!(newest["status"], "succeeded");

    // kill -9 of the whole deploy while its new container boots: the old one serves on.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let killed = spawn_dokku(&host, &["ps:rebuild", a]);
    wait_for("the rebuild never started a container", || {
        !upcoming(a).is_empty()
    });
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(killed.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let _ = { killed }.wait();
    assert_eq!(web_id(&web), restarted);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    assert_eq!(upcoming(a).len(), 1);
    let abandoned = builds(&["--status", "abandoned"]);
    assert_eq!(abandoned.len(), 1, "{abandoned:?}");
    assert_eq!(abandoned[0]["source"], "ps:rebuild");

    // The next deploy takes the lock the dead one held, clears its stray, and succeeds.
    host.ok(["config:set", "--no-restart", a, "DELAY=0"]);
    host.ok(["ps:restart", a]);
    assert!(upcoming(a).is_empty(), "{:?}", upcoming(a));
    assert_ne!(web_id(&web), restarted);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));

    // builds:cancel stops a deploy that is booting its container: the old one serves on.
    let serving = web_id(&web);
    host.ok(["config:set", "--no-restart", a, "DELAY=4"]);
    let mut canceled = spawn_dokku(&host, &["ps:restart", a]);
    wait_for("the restart never started a container", || {
        !upcoming(a).is_empty()
    });
    let running = builds(&["--status", "running"]);
    assert_eq!(running.len(), 1, "{running:?}");
    assert!(host.ok(["builds:cancel", a]).contains("Killing app deploy"));
    assert!(!canceled.wait().unwrap().success());
    let id = running[0]["id"].as_str().unwrap();
    let info: serde_json::Value =
        serde_json::from_str(&host.ok(["builds:info", a, id, "--format", "json"])).unwrap();
    assert_eq!(info["status"], "canceled", "{info}");
    wait_for("the canceled deploy left its container", || {
        upcoming(a).is_empty()
    });
    assert_eq!(web_id(&web), serving);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
}

/// A pusher who goes once the new release has the app's traffic does not leave it serving
/// code the branch does not hold: the deploy completes, and the branch, the rev env var and
/// the releases all name the new revision, so a later rebuild builds what serves.
#[test]
fn a_pusher_who_goes_after_the_switch_leaves_everything_on_the_new_release() {
    let (host, sshd, key, app, work) = web_scenario("late");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    // A postdeploy task runs after the switch and takes its time: the window to go in.
    std::fs::write(
        work.join("app.json"),
        r#"{"scripts": {"dokku": {"postdeploy": "sleep 4"}}}"#,
    )
    .unwrap();
    let rev = commit(&work, "index.html", "<h1>version 2</h1>\n");
    crate::build::gone_once_seen(&sshd, &key, &work, a, "Executing postdeploy task");
    wait_for("the app stayed locked after its pusher went", || {
        !dokku_core::fs::AppLock::is_held(&host.roots.lib_root, a)
    });

    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    assert_eq!(host.ok(["git:report", a, "--git-sha"]), format!("{rev}\n"));
    assert_eq!(host.ok(["config:get", a, "GIT_REV"]), format!("{rev}\n"));
    let releases: Vec<serde_json::Value> =
        serde_json::from_str(&host.ok(["releases", a, "--format", "json"])).unwrap();
    let current = releases.iter().find(|r| r["current"] == true).unwrap();
    assert_eq!(current["revision"], rev.as_str(), "{releases:?}");
    host.ok(["ps:rebuild", a]);
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
}
