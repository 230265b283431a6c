use dokku_test_support::TestHost;

use crate::refused_in_one_line;

#[test]
fn builder_settings_set_report_and_travel_with_the_app() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["builder:set", "demo", "build-dir", "services/web"]);
    host.ok(["builder:set", "--global", "selected", "dockerfile"]);
    host.ok([
        "builder-dockerfile:set",
        "demo",
        "dockerfile-path",
        "docker/Dockerfile",
    ]);
    host.ok(["ps:set", "demo", "procfile-path", "deploy/Procfile"]);
    host.ok([
        "app-json:set",
        "--global",
        "appjson-path",
        "deploy/app.json",
    ]);
    insta::assert_snapshot!("builder_report", host.ok(["builder:report", "demo"]));
    assert_eq!(
        host.ok(["builder:report", "demo", "--builder-computed-selected"]),
        "dockerfile\n"
    );
    assert_eq!(
        host.ok(["builder:report", "--global", "--builder-global-selected"]),
        "dockerfile\n"
    );
    assert_eq!(
        host.ok([
            "app-json:report",
            "demo",
            "--app-json-computed-appjson-path"
        ]),
        "deploy/app.json\n"
    );
    // builder-detect: the selected builder wins over detection, app before global.
    assert_eq!(
        host.ok(["plugin:trigger", "builder-detect", "demo", "/nonexistent"]),
        "dockerfile\n"
    );
    host.ok(["builder:set", "demo", "selected", "null"]);
    assert_eq!(
        host.ok(["plugin:trigger", "builder-detect", "demo", "/nonexistent"]),
        "null\n"
    );

    host.ok(["apps:clone", "demo", "copy"]);
    assert_eq!(
        host.ok(["builder:report", "copy", "--builder-build-dir"]),
        "services/web\n"
    );
    assert_eq!(
        host.ok([
            "builder-dockerfile:report",
            "copy",
            "--builder-dockerfile-dockerfile-path"
        ]),
        "docker/Dockerfile\n"
    );
    host.ok(["apps:destroy", "demo", "--force"]);
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["builder:report", "demo", "--builder-build-dir"]),
        "\n"
    );
}

#[test]
fn bad_settings_are_one_line_and_change_nothing() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let before = host.state();
    refused_in_one_line(
        &host,
        &[
            vec!["builder:set", "demo", "build-dir", "../elsewhere"],
            vec!["builder:set", "demo", "build-dir", "/etc"],
            vec!["builder:set", "demo", "selected", "Docker File"],
            vec!["builder:set", "demo", "skip-cleanup", "maybe"],
            vec!["builder:set", "demo", "unknown", "x"],
            vec!["builder:set", "nope", "selected", "dockerfile"],
            vec![
                "builder-dockerfile:set",
                "demo",
                "dockerfile-path",
                "a/../../b",
            ],
            vec!["ps:set", "demo", "procfile-path", "/etc/passwd"],
            vec!["docker-options:add", "demo", "build"],
            vec!["docker-options:add", "demo", "ship", "--no-cache"],
            vec!["docker-options:add", "demo", "build", "rm", "-rf"],
            vec!["docker-options:add", "demo", "build", "--label 'open"],
            vec!["docker-options:add", "nope", "build", "--no-cache"],
            vec!["docker-options:clear", "demo", "build,nope"],
        ],
    );
    assert_eq!(host.state(), before);
}

#[test]
fn docker_options_are_kept_per_phase_and_handed_to_each_phase() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok([
        "docker-options:add",
        "demo",
        "build,deploy",
        "--build-arg",
        "A=1",
    ]);
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "-v '/srv/a b:/data'",
    ]);
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "-v '/srv/a b:/data'",
    ]);
    host.ok(["docker-options:add", "demo", "run", "--init"]);
    insta::assert_snapshot!(
        "docker_options_report",
        host.ok(["docker-options:report", "demo"])
    );
    // The filter triggers pass on what they read, then add their phase's options.
    let deploy = host
        .dokku(["plugin:trigger", "docker-args-deploy", "demo", "latest"])
        .write_stdin("--env=X")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&deploy.stdout),
        "--env=X --build-arg A=1 -v '/srv/a b:/data'"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "docker-args-build", "demo", "dockerfile"]),
        " --build-arg A=1"
    );
    // Several flags at once become one option each; a misplaced --process scopes them.
    host.ok([
        "docker-options:add",
        "demo",
        "build",
        "--link foo --link",
        "bar",
    ]);
    assert_eq!(
        host.ok(["docker-options:list", "demo", "--phase", "build"]),
        "--build-arg A=1\n--link foo\n--link bar\n"
    );
    host.ok([
        "docker-options:remove",
        "demo",
        "build",
        "--link foo --link bar",
    ]);
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "-p 8080:5000 --process web",
    ]);
    assert_eq!(
        host.ok([
            "docker-options:list",
            "demo",
            "--phase",
            "deploy",
            "--process",
            "web"
        ]),
        "-p 8080:5000\n"
    );
    assert_eq!(
        host.ok([
            "docker-options:report",
            "demo",
            "--docker-options-deploy.web"
        ]),
        "-p 8080:5000\n"
    );
    let process = host
        .dokku([
            "plugin:trigger",
            "docker-args-process-deploy",
            "demo",
            "dockerfile",
            "latest",
            "web",
            "1",
        ])
        .write_stdin("")
        .output()
        .unwrap();
    // ps adds the restart policy after the options of docker-options.
    assert_eq!(
        String::from_utf8_lossy(&process.stdout),
        " -p 8080:5000 --restart=on-failure:10"
    );
    assert!(
        !host
            .run([
                "docker-options:add",
                "--process",
                "web",
                "demo",
                "build",
                "--no-cache"
            ])
            .status
            .success()
    );
    host.ok(["docker-options:remove", "demo", "deploy", "--build-arg A=1"]);
    host.ok(["docker-options:clear", "demo", "run"]);
    assert_eq!(
        host.ok(["docker-options:report", "demo", "--docker-options-deploy"]),
        "-v '/srv/a b:/data'\n"
    );
    assert_eq!(
        host.ok(["docker-options:report", "demo", "--docker-options-run"]),
        "\n"
    );
    host.ok(["apps:destroy", "demo", "--force"]);
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["docker-options:report", "demo", "--docker-options-build"]),
        "\n"
    );
}
