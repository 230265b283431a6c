use dokku_test_support::TestHost;

use crate::refused_in_one_line;

/// The resource flags among those a docker-args trigger prints (other plugins add theirs).
fn filtered(host: &TestHost, trigger: &[&str]) -> String {
    let mut args = vec!["plugin:trigger"];
    args.extend_from_slice(trigger);
    host.ok(args)
        .split_whitespace()
        .filter(|w| {
            ["--cpus", "--memory", "--gpus"]
                .iter()
                .any(|f| w.starts_with(f))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn limits_and_reservations_become_docker_flags_per_process_type() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let out = host.ok(["resource:limit", "--cpu", "0.5", "--memory", "256", "demo"]);
    assert!(out.contains("Setting resource limits for demo"), "{out}");
    assert!(
        out.contains("cpu: 0.5") && out.contains("memory: 256"),
        "{out}"
    );
    host.ok(["resource:reserve", "--memory", "64m", "demo"]);
    host.ok([
        "resource:limit",
        "--process-type",
        "worker",
        "--memory",
        "1g",
        "demo",
    ]);
    host.ok([
        "resource:limit",
        "--process-type",
        "build",
        "--memory",
        "2g",
        "--cpu",
        "2",
        "demo",
    ]);

    let web = filtered(
        &host,
        &[
            "docker-args-process-deploy",
            "demo",
            "dockerfile",
            "latest",
            "web",
            "1",
        ],
    );
    assert_eq!(
        web.split_whitespace().collect::<Vec<_>>(),
        ["--cpus=0.5", "--memory=256m", "--memory-reservation=64m"]
    );
    let worker = filtered(
        &host,
        &[
            "docker-args-process-deploy",
            "demo",
            "dockerfile",
            "latest",
            "worker",
            "1",
        ],
    );
    assert_eq!(
        worker.split_whitespace().collect::<Vec<_>>(),
        ["--cpus=0.5", "--memory=1g", "--memory-reservation=64m"]
    );
    // A build takes only what was set for builds, and a Dockerfile build memory only.
    let build = filtered(&host, &["docker-args-process-build", "demo", "dockerfile"]);
    assert_eq!(build.trim(), "--memory=2g");
    // A buildpack build runs in a container: every limit set for builds applies.
    host.ok([
        "resource:limit",
        "--process-type",
        "build",
        "--cpu",
        "1",
        "demo",
    ]);
    let buildpack = filtered(&host, &["docker-args-process-build", "demo", "herokuish"]);
    assert_eq!(
        buildpack.split_whitespace().collect::<Vec<_>>(),
        ["--cpus=1", "--memory=2g"]
    );
    let dockerfile = filtered(&host, &["docker-args-process-build", "demo", "dockerfile"]);
    assert_eq!(dockerfile.trim(), "--memory=2g");
    assert_eq!(
        filtered(&host, &["docker-args-process-build", "demo", "pack"]).trim(),
        ""
    );
    // A reservation is for running containers, never a build's.
    host.ok([
        "resource:reserve",
        "--process-type",
        "build",
        "--memory",
        "128m",
        "demo",
    ]);
    assert!(
        !filtered(&host, &["docker-args-process-build", "demo", "herokuish"])
            .contains("reservation")
    );
    // DOKKU_OMIT_RESOURCE_ARGS=1 leaves every resource flag out.
    let omitted = host
        .dokku([
            "plugin:trigger",
            "docker-args-process-build",
            "demo",
            "herokuish",
        ])
        .env("DOKKU_OMIT_RESOURCE_ARGS", "1")
        .write_stdin("")
        .output()
        .unwrap();
    assert!(omitted.status.success(), "{}", host.render(&omitted));
    assert_eq!(String::from_utf8_lossy(&omitted.stdout).trim(), "");

    let shown = host.ok(["resource:limit", "--process-type", "worker", "demo"]);
    assert!(
        shown.contains("resource limits demo information (worker)"),
        "{shown}"
    );
    assert_eq!(
        host.ok(["resource:report", "demo", "--resource-_default_.limit.cpu"])
            .trim(),
        "0.5"
    );
    host.ok(["resource:limit", "--cpu", "clear", "demo"]);
    host.ok(["resource:reserve-clear", "demo"]);
    let web = filtered(
        &host,
        &[
            "docker-args-process-deploy",
            "demo",
            "dockerfile",
            "latest",
            "web",
            "1",
        ],
    );
    assert_eq!(web.trim(), "--memory=256m");
    host.ok(["resource:limit-clear", "--process-type", "worker", "demo"]);
    let worker = filtered(
        &host,
        &[
            "docker-args-process-deploy",
            "demo",
            "dockerfile",
            "latest",
            "worker",
            "1",
        ],
    );
    assert_eq!(worker.trim(), "--memory=256m");

    refused_in_one_line(
        &host,
        &[
            vec!["resource:limit", "--memory", "512 --privileged", "demo"],
            vec!["resource:limit", "--cpu", "lots", "demo"],
            vec![
                "resource:limit",
                "--process-type",
                "../x",
                "--cpu",
                "1",
                "demo",
            ],
            vec!["resource:reserve", "--memory", "1t", "demo"],
            vec!["resource:limit", "--cpu", "1", "missing"],
        ],
    );
    host.ok(["apps:destroy", "--force", "demo"]);
    assert!(!host.roots.config_dir().join("resource/demo").exists());
}
