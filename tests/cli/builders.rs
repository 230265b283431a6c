use dokku_test_support::TestHost;

use crate::{refused_in_one_line, stderr};

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
    // JSON has each phase's options as a list too.
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["docker-options:report", "demo", "--format", "json"]))
            .unwrap();
    assert_eq!(json["deploy.web-list"], serde_json::json!(["-p 8080:5000"]));
    assert_eq!(json["build-list"], serde_json::json!(["--build-arg A=1"]));
    assert_eq!(json["run-list"], serde_json::json!(["--init"]), "{json}");
    assert!(json.get("docker-options-deploy-list").is_none(), "{json}");
    // A value the shell passed as one word stays one, spaces and all.
    host.ok([
        "docker-options:add",
        "demo",
        "deploy",
        "--label",
        "com.example.description=my app",
    ]);
    let deploy = host.ok(["docker-options:report", "demo", "--docker-options-deploy"]);
    assert!(
        deploy.contains("--label 'com.example.description=my app'"),
        "{deploy}"
    );
    host.ok([
        "docker-options:remove",
        "demo",
        "deploy",
        "--label",
        "com.example.description=my app",
    ]);
    // (No log size limit: whether docker takes one depends on this host's log driver.)
    host.ok(["logs:set", "demo", "max-size", "unlimited"]);
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
    // An option for a process type the Procfile does not declare is kept, with a warning.
    let procfile = host.roots.data_dir("ps", "demo").join("Procfile");
    std::fs::create_dir_all(procfile.parent().unwrap()).unwrap();
    std::fs::write(&procfile, "web: python3 web.py\n").unwrap();
    let undeclared = host.run([
        "docker-options:add",
        "--process",
        "nonexistent",
        "demo",
        "deploy",
        "--label x=1",
    ]);
    assert!(undeclared.status.success(), "{}", host.render(&undeclared));
    assert!(
        stderr(&undeclared)
            .contains("Process type \"nonexistent\" is not declared in the Procfile for demo"),
        "{}",
        host.render(&undeclared)
    );
    let declared = host.run([
        "docker-options:add",
        "--process",
        "web",
        "demo",
        "deploy",
        "--init",
    ]);
    assert!(stderr(&declared).is_empty(), "{}", host.render(&declared));
    // An option an older release stored verbatim, unquoted, is removed as it is written.
    let stored = host
        .roots
        .lib_root
        .join("config/docker-options/demo/_default_.deploy");
    let mut lines = std::fs::read_to_string(&stored).unwrap();
    lines.push_str("--group-add $(getent group docker | cut -d: -f3)\n");
    std::fs::write(&stored, &lines).unwrap();
    host.ok([
        "docker-options:remove",
        "demo",
        "deploy",
        "--group-add $(getent group docker | cut -d: -f3)",
    ]);
    assert!(!std::fs::read_to_string(&stored).unwrap().contains("getent"));
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

#[test]
fn buildpacks_are_listed_in_order_and_reach_the_tree_at_post_extract() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["buildpacks:add", "demo", "heroku/python"]);
    host.ok([
        "buildpacks:add",
        "--index",
        "1",
        "demo",
        "heroku-community/apt",
    ]);
    host.ok([
        "buildpacks:add",
        "demo",
        "https://github.com/dokku/buildpack-null.git#v3",
    ]);
    let list = host.ok(["buildpacks:list", "demo"]);
    assert_eq!(
        list,
        "=====> demo buildpack urls\n\
         https://github.com/heroku/heroku-buildpack-apt.git\n\
         https://github.com/heroku/heroku-buildpack-python.git\n\
         https://github.com/dokku/buildpack-null.git#v3\n"
            .replace("=====> ", "-----> ")
            .replace("\nhttps", "\n       https")
    );
    host.ok(["buildpacks:set", "--index", "2", "demo", "heroku/nodejs"]);
    host.ok(["buildpacks:remove", "demo", "--index", "1"]);
    assert_eq!(
        host.ok(["buildpacks:report", "demo", "--buildpacks-list"]),
        "https://github.com/heroku/heroku-buildpack-nodejs.git,https://github.com/dokku/buildpack-null.git#v3\n"
    );

    // The list is written over the tree's own .buildpacks when a build extracts it.
    let tree = host.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join(".buildpacks"), "https://example.com/other.git\n").unwrap();
    host.ok([
        "plugin:trigger",
        "post-extract",
        "demo",
        tree.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(tree.join(".buildpacks")).unwrap(),
        "https://github.com/heroku/heroku-buildpack-nodejs.git\nhttps://github.com/dokku/buildpack-null.git#v3\n"
    );
    host.ok([
        "buildpacks:set",
        "--replace",
        "demo",
        "heroku/ruby",
        "heroku/go",
    ]);
    assert_eq!(
        host.ok(["buildpacks:report", "demo", "--buildpacks-list"]),
        "https://github.com/heroku/heroku-buildpack-ruby.git,https://github.com/heroku/heroku-buildpack-go.git\n"
    );
    host.ok(["buildpacks:clear", "demo"]);
    assert_eq!(
        host.ok(["buildpacks:report", "demo", "--buildpacks-list"]),
        "\n"
    );

    // The stack: the app's, else the global one; a change empties the build cache.
    assert_eq!(
        host.ok(["plugin:trigger", "buildpack-stack-name", "demo"]),
        ""
    );
    host.ok([
        "buildpacks:set-property",
        "--global",
        "stack",
        "example/stack:1",
    ]);
    assert_eq!(
        host.ok(["plugin:trigger", "buildpack-stack-name", "demo"]),
        "example/stack:1\n"
    );
    host.ok([
        "buildpacks:set-property",
        "demo",
        "stack",
        "example/stack:2",
    ]);
    assert_eq!(
        host.ok(["buildpacks:report", "demo", "--buildpacks-computed-stack"]),
        "example/stack:2\n"
    );

    refused_in_one_line(
        &host,
        &[
            vec!["buildpacks:add", "demo", "python"],
            vec!["buildpacks:add", "demo", "ftp://example.com/bp"],
            vec!["buildpacks:add", "missing", "heroku/python"],
            vec!["buildpacks:set", "demo", "heroku/a", "heroku/b"],
            vec!["buildpacks:remove", "demo"],
            vec!["buildpacks:remove", "demo", "heroku/python"],
            vec!["buildpacks:set-property", "demo", "stack", "-bad"],
        ],
    );
}

#[test]
fn buildpack_requests_choose_herokuish_even_beside_a_dockerfile() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let tree = host.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("Dockerfile"), "FROM scratch\n").unwrap();
    let detect = |host: &TestHost| {
        host.ok([
            "plugin:trigger",
            "builder-detect",
            "demo",
            tree.to_str().unwrap(),
        ])
    };
    assert_eq!(detect(&host), "dockerfile\n");
    std::fs::write(
        tree.join(".env"),
        "export BUILDPACK_URL=https://example.com/bp.git\n",
    )
    .unwrap();
    assert_eq!(detect(&host), "herokuish\n");
    std::fs::remove_file(tree.join(".env")).unwrap();
    host.ok([
        "config:set",
        "--no-restart",
        "demo",
        "BUILDPACK_URL=https://example.com/bp.git",
    ]);
    assert_eq!(detect(&host), "herokuish\n");
    host.ok(["config:unset", "--no-restart", "demo", "BUILDPACK_URL"]);
    std::fs::write(tree.join(".buildpacks"), "https://example.com/bp.git\n").unwrap();
    assert_eq!(detect(&host), "herokuish\n");
    host.ok(["builder-herokuish:set", "demo", "allowed", "true"]);
    assert_eq!(
        host.ok([
            "builder-herokuish:report",
            "demo",
            "--builder-herokuish-computed-allowed"
        ]),
        "true\n"
    );
}
