use std::process::Command;

use crate::build::{docker, docker_ok, push};
use crate::run::{container_ip, http_get, web_scenario};
use crate::{commit, run};

fn web_id(web: &str) -> String {
    docker(&["container", "inspect", "--format", "{{.Id}}", web])
}

/// `git rm` of one file, committed.
fn remove(dir: &std::path::Path, file: &str) {
    run(Command::new("git")
        .args(["rm", "-q", file])
        .current_dir(dir));
    run(Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(["commit", "-q", "-m", "remove"])
        .current_dir(dir));
}

#[test]
fn healthchecks_gate_the_cutover_and_a_failing_one_keeps_the_old_release() {
    let (host, sshd, key, app, work) = web_scenario("chk");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    std::fs::write(
        work.join("app.json"),
        r#"{"healthchecks": {"web": [
            {"name": "health page", "path": "/health", "content": "healthy", "attempts": 2, "wait": 1}
        ]}}"#,
    )
    .unwrap();
    commit(&work, "health", "healthy\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains("Running healthcheck: health page (web.1)"),
        "{out}"
    );
    assert!(out.contains("All checks successful (web.1)"), "{out}");
    host.ok(["checks:set", a, "wait-to-retire", "0"]);
    let serving = web_id(&web);

    // The new release's health page is wrong: the push fails with the check's words, the
    // new container goes, the old one keeps answering.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    commit(&work, "health", "sick\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Failure in health page (attempt 2/2)"),
        "{out}"
    );
    assert!(out.contains("does not contain \"healthy\""), "{out}");
    assert!(
        out.contains("Could not start due to a failed check (web.1)"),
        "{out}"
    );
    assert_eq!(web_id(&web), serving);
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    let strays = docker(&[
        "container",
        "ls",
        "--all",
        "--quiet",
        "--filter",
        &format!("name={a}.web.1.upcoming"),
    ]);
    assert_eq!(strays, "", "the failed release's container stays behind");
    // What the failed release's container printed is kept, though it is gone.
    let failed = host.ok(["logs:failed", a]);
    assert!(
        failed.contains(&format!("{a}[web.1]: ")) && failed.contains("GET /health"),
        "{failed}"
    );

    // Skipped checks let it through (the failed push was refused, so it is pushed again);
    // checks:run then finds it unhealthy.
    let out = host.ok(["checks:skip", a, "web"]);
    assert!(out.contains("Skipping zero downtime for app's"), "{out}");
    let report = host.ok(["checks:report", a, "--checks-skipped-list"]);
    assert_eq!(report.trim(), "web");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    let out = host.run(["logs:failed", a]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No failed containers found"),
        "{}",
        host.render(&out)
    );
    host.ok(["checks:enable", a]);
    let out = host.run(["checks:run", a]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("Running checks for app ({a}.web.1)")),
        "{text}"
    );
    for (only, says) in [
        ("web.3", "Invalid container id"),
        ("clock", "Invalid process type"),
    ] {
        let out = host.run(["checks:run", a, only]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{only}"
        );
    }

    // A web process on another port than the app's fails its default check in seconds,
    // not at the end of the wait, and the old release keeps serving.
    commit(&work, "Procfile", "web: python3 -m http.server 5001\n");
    let started = std::time::Instant::now();
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("container listening on expected IPv4 interface with an unexpected port: expected=5000 actual=5001"),
        "{out}"
    );
    assert!(
        out.contains("Running healthcheck name='port listening check' attempts=3 port=5000 retries=2 timeout=5 type='listening' wait=5"),
        "{out}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(40),
        "{out}"
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    commit(
        &work,
        "Procfile",
        "web: python3 -m http.server $PORT\nworker: sleep infinity\n",
    );

    // The legacy CHECKS file, when app.json declares nothing.
    remove(&work, "app.json");
    std::fs::write(work.join("CHECKS"), "WAIT=0\nATTEMPTS=1\n/ version 3\n").unwrap();
    commit(&work, "index.html", "<h1>version 3</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains("Running healthcheck: CHECKS / (web.1)"),
        "{out}"
    );
    let out = host.ok(["checks:run", a, "web"]);
    assert!(out.contains("All checks successful (web.1)"), "{out}");

    // Without zero downtime the old container stops before the new one starts.
    host.ok(["checks:disable", a, "web"]);
    let before = web_id(&web);
    let out = host.ok(["ps:restart", a]);
    assert!(out.contains("stopping its old containers first"), "{out}");
    assert!(out.contains("Zero downtime checks for"), "{out}");
    assert_ne!(web_id(&web), before);
    assert!(
        !docker_ok(&["container", "inspect", &before])
            || docker(&[
                "container",
                "inspect",
                "--format",
                "{{.State.Running}}",
                &before
            ]) == "false"
    );
    let report = host.ok(["checks:report", a]);
    assert!(
        report.contains("Checks disabled list:") && report.contains("web"),
        "{report}"
    );
    assert!(!host.run(["checks:disable", a, "web;rm"]).status.success());
}
