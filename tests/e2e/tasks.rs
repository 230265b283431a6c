use crate::build::{docker, push};
use crate::commit;
use crate::run::{container_ip, http_get, web_scenario};

fn app_json(predeploy: &str) -> String {
    format!(
        r#"{{"scripts": {{"dokku": {{"predeploy": "{predeploy}", "postdeploy": "echo postdeploy saw $GREETING"}},
            "postdeploy": "echo first deploy only"}},
            "formation": {{"web": {{"quantity": 2, "max_parallel": 2}}}},
            "cron": [{{"schedule": "*/5 * * * *", "command": "sh -c 'echo cron saw $GREETING'"}},
                     {{"schedule": "0 0 * * *", "command": "sleep 30", "concurrency_policy": "forbid"}}]}}"#
    )
}

#[test]
fn deployment_tasks_run_once_per_build_and_a_failing_one_keeps_the_old_release() {
    let (host, sshd, key, app, work) = web_scenario("task");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    std::fs::write(
        work.join("Procfile"),
        "web: python3 -m http.server $PORT\nrelease: echo release saw $GREETING\n",
    )
    .unwrap();
    commit(
        &work,
        "app.json",
        &app_json("echo baked > /app/predeployed.txt"),
    );
    host.ok(["apps:create", a]);
    host.ok(["config:set", "--no-restart", a, "GREETING=hello"]);

    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    for line in [
        "Executing predeploy task from app.json: echo baked > /app/predeployed.txt",
        "Executing release task from Procfile in ephemeral container: echo release saw $GREETING",
        "release saw hello",
        "postdeploy saw hello",
        "first deploy only",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    let order = [
        "predeploy task",
        "release task",
        "Renaming containers",
        "postdeploy task",
    ];
    let positions: Vec<usize> = order.iter().map(|l| out.find(l).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
    // The predeploy's file is in the image; the task's command and the config are not.
    assert_eq!(
        docker(&["container", "exec", &web, "cat", "/app/predeployed.txt"]),
        "baked"
    );
    let config = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        &app.image("latest"),
    ]);
    assert!(
        !config.contains("hello") && !config.contains("predeployed"),
        "{config}"
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 1"));
    // app.json's formation sets the scale, and ps:scale gives way to it.
    assert!(http_get(&container_ip(&format!("{a}.web.2")), 5000).contains("version 1"));
    let scale: serde_json::Value =
        serde_json::from_str(&host.ok(["ps:scale", "--format", "json", a])).unwrap();
    assert!(
        scale
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"process_type": "web", "quantity": 2})),
        "{scale}"
    );
    let out = host.run(["ps:scale", a, "web=1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("formation"));

    // The cron task: listed, run on demand, and in the crontab as a line that runs it.
    let tasks: serde_json::Value =
        serde_json::from_str(&host.ok(["cron:list", a, "--format", "json"])).unwrap();
    let id = tasks[0]["id"].as_str().unwrap().to_string();
    assert_eq!(tasks[0]["schedule"], "*/5 * * * *");
    assert!(host.ok(["cron:list", a]).contains(&id));
    assert!(host.ok(["cron:run", a, &id]).contains("cron saw hello"));
    assert!(!host.run(["cron:run", a, "nosuchid"]).status.success());
    // A long task run in the background carries its labels; `forbid` refuses a second run
    // while it goes on, and a run past its deadline is reaped by ps:retire.
    let long_id = tasks[1]["id"].as_str().unwrap().to_string();
    let long = host
        .ok(["cron:run", "--detach", a, &long_id])
        .trim()
        .to_string();
    let label = |name: &str, key: &str| {
        docker(&[
            "container",
            "inspect",
            "--format",
            &format!("{{{{ index .Config.Labels \"{key}\" }}}}"),
            name,
        ])
    };
    assert_eq!(label(&long, "com.dokku.cron-id"), long_id);
    assert_eq!(label(&long, "com.dokku.concurrency-policy"), "forbid");
    assert_eq!(label(&long, "com.dokku.container-type"), "cron");
    assert_eq!(label(&long, "com.dokku.active-deadline-seconds"), "86400");
    let refused = host.run(["cron:run", a, &long_id]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains(&format!("currently has a cron lock in place for {long_id}")),
        "{}",
        host.render(&refused)
    );
    docker(&["container", "rm", "--force", &long]);
    for bad in ["0", "-1", "x"] {
        let out = host.run(["cron:run", "--detach", "--ttl-seconds", bad, a, &long_id]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("--ttl-seconds must be a positive integer"),
            "{}",
            host.render(&out)
        );
    }
    let expiring = host
        .ok(["cron:run", "--detach", "--ttl-seconds", "1", a, &long_id])
        .trim()
        .to_string();
    assert_eq!(label(&expiring, "com.dokku.active-deadline-seconds"), "1");
    std::thread::sleep(std::time::Duration::from_secs(2));
    host.ok(["ps:retire"]);
    assert!(
        docker(&[
            "container",
            "ls",
            "--all",
            "--quiet",
            "--filter",
            &format!("name={expiring}")
        ])
        .is_empty(),
        "{expiring} outlived its deadline"
    );
    let crontab = std::fs::read_to_string(host.roots.lib_root.join("data/cron/crontab")).unwrap();
    let line = crontab
        .lines()
        .find(|l| l.ends_with(&format!("cron:run {a} {id}")))
        .unwrap_or_else(|| panic!("{crontab}"));
    let command = line.strip_prefix("*/5 * * * * ").unwrap();
    let env: Vec<(&str, &str)> = crontab
        .lines()
        .filter(|l| !l.starts_with('#') && !l.contains(' '))
        .filter_map(|l| l.split_once('='))
        .collect();
    let out = std::process::Command::new("sh")
        .args(["-c", command])
        .env_clear()
        .envs(env)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cron saw hello"),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A restart releases the same build again: no task runs.
    let init = || {
        docker(&[
            "container",
            "inspect",
            "--format",
            "{{.HostConfig.Init}}",
            &web,
        ])
    };
    assert_eq!(init(), "true");
    host.ok(["scheduler-docker-local:set", a, "init-process", "false"]);
    let out = host.ok(["ps:restart", a]);
    assert!(!out.contains("Executing"), "{out}");
    // docker records a container started without --init as <nil>.
    assert_ne!(init(), "true");
    host.ok(["checks:set", a, "wait-to-retire", "0"]);

    // A second build runs its tasks, but Heroku's one-time postdeploy not again.
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(out.contains("Executing release task"), "{out}");
    assert!(!out.contains("first deploy only"), "{out}");
    let serving = docker(&["container", "inspect", "--format", "{{.Id}}", &web]);

    // A failing predeploy stops the deploy before anything changes.
    commit(&work, "index.html", "<h1>version 3</h1>\n");
    commit(&work, "app.json", &app_json("echo cannot; exit 3"));
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Execution of predeploy task failed (exit code 3)"),
        "{out}"
    );
    assert!(!out.contains("Executing release task"), "{out}");
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &web]),
        serving
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));

    // So does a failing release task.
    commit(&work, "app.json", &app_json("true"));
    std::fs::write(
        work.join("Procfile"),
        "web: python3 -m http.server $PORT\nrelease: exit 4\n",
    )
    .unwrap();
    commit(&work, "index.html", "<h1>version 4</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(!ok, "{out}");
    assert!(
        out.contains("Execution of release task failed (exit code 4)"),
        "{out}"
    );
    assert_eq!(
        docker(&["container", "inspect", "--format", "{{.Id}}", &web]),
        serving
    );
    assert!(http_get(&container_ip(&web), 5000).contains("version 2"));
    let tasks_left = docker(&[
        "container",
        "ls",
        "--all",
        "--quiet",
        "--filter",
        &format!("label=com.dokku.app-name={a}"),
        "--filter",
        "label=com.dokku.container-type=task",
    ]);
    assert_eq!(tasks_left, "");
}

/// An app.json's env: set on the first deploy before the predeploy task (which sees it)
/// and in the containers; later deploys leave changed values alone but set `sync` ones
/// again; a required variable without a value fails the first deploy.
#[test]
fn app_json_env_is_set_on_the_first_deploy_and_sync_values_on_every_one() {
    let (host, sshd, key, app, work) = web_scenario("appenv");
    let a = app.0.as_str();
    let web = format!("{a}.web.1");
    commit(
        &work,
        "app.json",
        r#"{"env": {"SIMPLE_VAR": "simple_value",
                    "SECRET_VAR": {"generator": "secret"},
                    "OPTIONAL_VAR": {"description": "optional", "required": false},
                    "SYNC_VAR": {"value": "sync_value", "sync": true}},
            "scripts": {"dokku": {"predeploy": "echo ENV_CHECK $SIMPLE_VAR"}}}"#,
    );
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    for line in [
        "Processing app.json env vars",
        "Setting 3 env var(s) from app.json",
        "ENV_CHECK simple_value",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert_eq!(
        host.ok(["config:get", a, "SIMPLE_VAR"]).trim(),
        "simple_value"
    );
    let secret = host.ok(["config:get", a, "SECRET_VAR"]).trim().to_string();
    assert_eq!(secret.len(), 64, "{secret}");
    assert!(!host.run(["config:get", a, "OPTIONAL_VAR"]).status.success());
    let env = crate::releases::env_of(&web);
    assert!(env.contains("SYNC_VAR=sync_value"), "{env}");
    assert_eq!(
        host.ok(["releases", a, "--format", "json"])
            .matches("\"version\"")
            .count(),
        1
    );

    host.ok([
        "config:set",
        "--no-restart",
        a,
        "SIMPLE_VAR=changed",
        "SYNC_VAR=manual",
    ]);
    host.ok(["ps:rebuild", a]);
    assert_eq!(host.ok(["config:get", a, "SIMPLE_VAR"]).trim(), "changed");
    assert_eq!(host.ok(["config:get", a, "SYNC_VAR"]).trim(), "sync_value");
    assert_eq!(host.ok(["config:get", a, "SECRET_VAR"]).trim(), secret);

    let required = crate::build::UniqueApp::new("appenv-req");
    commit(
        &work,
        "app.json",
        r#"{"env": {"REQUIRED_VAR": {"description": "needed"}}}"#,
    );
    let (ok, out) = push(&sshd, &key, &work, &required.0);
    assert!(!ok, "{out}");
    assert!(
        out.contains("required env var REQUIRED_VAR has no value"),
        "{out}"
    );
}

/// An image with an entrypoint of its own gets a task's words as its arguments, predeploy
/// included (whose container becomes the image), as Dokku runs them; the app's config
/// reaches the task but not the image.
#[test]
fn an_images_own_entrypoint_runs_the_tasks() {
    let (host, sshd, key, app, work) = web_scenario("entry");
    let a = app.0.as_str();
    std::fs::write(
        work.join("entrypoint"),
        "#!/bin/sh\necho \"entrypoint saw $* with $GREETING\"\nexec \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(
        work.join("entrypoint"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let dockerfile = std::fs::read_to_string(work.join("Dockerfile")).unwrap();
    std::fs::write(
        work.join("Dockerfile"),
        format!("{dockerfile}ENTRYPOINT [\"/app/entrypoint\"]\n"),
    )
    .unwrap();
    commit(
        &work,
        "app.json",
        r#"{"scripts": {"dokku": {"predeploy": "touch /app/predeployed.txt"}}}"#,
    );
    host.ok(["apps:create", a]);
    host.ok(["config:set", "--no-restart", a, "GREETING=hello"]);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    assert!(
        out.contains("entrypoint saw touch /app/predeployed.txt with hello"),
        "{out}"
    );
    let web = format!("{a}.web.1");
    assert_eq!(
        docker(&["container", "exec", &web, "ls", "/app/predeployed.txt"]),
        "/app/predeployed.txt"
    );
    let config = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        &app.image("latest"),
    ]);
    assert!(!config.contains("hello"), "{config}");
    assert!(config.contains("/app/entrypoint"), "{config}");
}
