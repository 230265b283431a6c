use std::path::PathBuf;

use dokku_test_support::{TestHost, binary, workspace_root};
use insta::assert_snapshot;

use crate::stderr;

fn fixture(name: &str) -> PathBuf {
    workspace_root().join("tests/fixtures/plugins").join(name)
}

/// The Rust plugin as its author ships it: the fixture plus its built binary in `bin/`.
fn packaged_hello_rust(host: &TestHost) -> PathBuf {
    let dir = host.path().join("hello-rust-package");
    dokku_core::fs::copy_tree(&fixture("hello-rust"), &dir).unwrap();
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(binary("dokku-hello-rust"), dir.join("bin/dokku-hello-rust")).unwrap();
    dir
}

#[test]
fn bash_plugin_behaves_like_a_built_in() {
    let host = TestHost::new();
    assert!(
        host.install_plugin(&fixture("hello-bash"), "hello")
            .status
            .success()
    );
    assert_eq!(host.ok(["hello:world"]), "hello world\n");
    assert_eq!(host.ok(["hello:world", "bob"]), "hello world (bob)\n");
    assert_eq!(host.ok(["hello:greet", "ann"]), "hello, ann\n");
    assert_eq!(
        stderr(&host.run(["hello:greet"])),
        " !     Please give a name\n"
    );
    assert!(
        host.ok(["hello:help"])
            .starts_with("Usage: dokku hello[:COMMAND]")
    );
    host.ok(["apps:create", "demo"]);
    let marker = host.roots.data_dir("hello", "demo");
    assert_eq!(std::fs::read_to_string(marker).unwrap(), "created demo\n");
    assert_snapshot!("help_with_community", host.render(&host.run(["help"])));
    assert!(host.ok(["help", "--all"]).contains("hello:greet <name>"));
}

#[test]
fn rust_plugin_behaves_like_a_built_in() {
    let host = TestHost::new();
    let package = packaged_hello_rust(&host);
    let out = host.run([
        "plugin:install",
        package.to_str().unwrap(),
        "--name",
        "hello-rust",
    ]);
    assert!(out.status.success(), "{}", host.render(&out));
    assert_eq!(host.ok(["hello-rust:world"]), "hello from rust, world\n");
    assert_eq!(
        host.ok(["hello-rust:world", "ann", "--quiet"]),
        "hello from rust, ann\n"
    );
    assert!(
        host.ok(["hello-rust:help"])
            .contains("hello-rust:world [<name>]  Print a greeting")
    );
    assert!(
        host.ok(["help"])
            .contains("hello-rust  Say hello from Rust")
    );
    host.ok(["apps:create", "demo"]);
    let marker = host.roots.data_dir("hello-rust", "demo").join("created");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "created demo\n");
    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!marker.exists(), "post-delete did not reach the plugin");
    let enabled = host.roots.plugin_enabled().join("hello-rust");
    assert_eq!(
        std::fs::read_link(enabled.join("subcommands/world")).unwrap(),
        PathBuf::from("../bin/dokku-hello-rust")
    );
}

#[test]
fn bash_plugin_on_the_helper_library_works_unmodified() {
    let host = TestHost::new();
    let out = host.install_plugin(&fixture("notes-bash"), "notes");
    assert!(out.status.success(), "{}", host.render(&out));
    let installed =
        std::fs::read_to_string(host.roots.lib_root.join("data/notes/installed")).unwrap();
    assert!(
        installed.contains("api=1 core=set"),
        "install trigger environment: {installed}"
    );
    assert!(host.roots.config_dir().join("notes").is_dir());

    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["notes:set", "demo", "header", "hi there"]),
        "=====> Setting header to hi there\nnow: hi there\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.roots.config_dir().join("notes/demo/header")).unwrap(),
        "hi there"
    );
    host.ok(["notes:add", "demo", "first"]);
    assert_eq!(
        host.ok(["notes:add", "demo", "second note"]),
        "-----> Setting config vars\n       NOTES_COUNT:  2\n=====> Added note 2 to demo\n"
    );
    assert_eq!(
        host.ok(["notes:list", "demo"]),
        "=====> demo notes\n       first\n       second note\ncount from config: 2\nlisted in config: NOTES_COUNT\n"
    );
    assert_eq!(host.ok(["config:get", "demo", "NOTES_COUNT"]), "2\n");
    assert_eq!(
        host.ok(["notes:card", "demo"]),
        "Notes of DEMO:\n- First\n- Second note\ncount: 2\n"
    );
    assert_eq!(
        host.ok(["notes:ping", "demo"]),
        "pong demo (stdin: input)\n"
    );
    assert!(host.ok(["notes:help"]).contains("notes:list <app>"));
    assert_eq!(
        host.ok(["notes:set", "demo", "header"]),
        "=====> Unsetting header\nnow: (default)\n"
    );

    let missing = host.run(["notes:add", "ghost", "x"]);
    assert_eq!(missing.status.code(), Some(20));
    assert_eq!(stderr(&missing), " !     App ghost does not exist\n");

    host.ok(["--force", "apps:destroy", "demo"]);
    assert!(!host.roots.config_dir().join("notes/demo").exists());
    host.ok(["plugin:uninstall", "notes"]);
    assert!(!host.roots.config_dir().join("notes").exists());
}

/// `bash -c SCRIPT` as a plugin on this host runs it: the host's environment and roots.
#[test]
fn archive_functions_extract_checked_archives_for_bash_plugins() {
    let host = TestHost::new();
    let good = crate::archives::Crafted {
        links: &[("top/link", "README.md")],
        files: &[
            ("top/README.md", "hello\n"),
            ("top/web/Procfile", "web: x\n"),
        ],
    }
    .write(&host.path().join("good.tar"), true);
    let outside = host.path().join("outside");
    let evil = crate::archives::Crafted {
        links: &[("pwn", outside.to_str().unwrap())],
        files: &[("pwn/canary.txt", "x")],
    }
    .write(&host.path().join("evil.tar"), false);
    std::fs::create_dir(&outside).unwrap();
    let out = bash(
        &host,
        &format!(
            r#"source "$PLUGIN_CORE_AVAILABLE_PATH/common/functions"
source "$PLUGIN_CORE_AVAILABLE_PATH/common/archive-functions"
mkdir stripped whole piped
fn-archive-extract-tar {good} stripped tar.gz 1
cat stripped/link stripped/web/Procfile
fn-archive-extract-tar-stdin piped < {good_tar}
ls piped/top
echo "max $(fn-archive-computed-max-files) flag $(fn-archive-tar-flag tar.gz)"
( fn-archive-extract-tar {evil} whole tar; echo not reached ) || echo "exit $?"
"#,
            good = good.display(),
            good_tar = host.path().join("good.tar").display(),
            evil = evil.display(),
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello\nweb: x\nREADME.md\nlink\nweb\nmax 10000 flag -z\nexit 1\n",
        "{}",
        host.render(&out)
    );
    assert!(
        stderr(&out).contains(" !     Archive contains symlinks with absolute targets"),
        "{}",
        host.render(&out)
    );
    assert!(!outside.join("canary.txt").exists());
}

/// `bash -c SCRIPT` with the environment the dispatcher gives a plugin: the host's roots
/// and the settings of its defaults file (its private nginx among them).
fn bash(host: &TestHost, script: &str) -> std::process::Output {
    let defaults =
        std::fs::read_to_string(host.path().join("etc-default-dokku")).unwrap_or_default();
    std::process::Command::new("bash")
        .args(["-c", script])
        .env_clear()
        .envs(host.env())
        .envs(dokku_core::env::parse_assignments(&defaults))
        .env(
            "PLUGIN_CORE_AVAILABLE_PATH",
            host.roots.core_available().display().to_string(),
        )
        .env(
            "PLUGIN_AVAILABLE_PATH",
            host.roots.plugin_available().display().to_string(),
        )
        .env("PLUGIN_PATH", host.roots.plugin_path.display().to_string())
        .env("DOKKU_LIB_ROOT", host.roots.lib_root.display().to_string())
        .current_dir(host.path())
        .output()
        .unwrap()
}

#[test]
fn helper_files_sourced_at_dokkus_paths_answer_as_dokkus() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let out = bash(
        &host,
        r#"source "$PLUGIN_CORE_AVAILABLE_PATH/common/functions"
fn-docker-args-split '--label x=$(id) --label '"'"'a b'"'"'' | tr '\0' '\n'
verify_app_name demo && echo verified
is_val_in_list b a,b,c
add_val_to_list d a,b
( verify_app_name ghost ) || echo "exit $?"
"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "--label\nx=$(id)\n--label\na b\nverified\ntrue\na,b,d\nexit 20\n"
    );
    assert_eq!(stderr(&out), " !     App ghost does not exist\n");

    let dockerfile = host.path().join("Dockerfile");
    std::fs::write(
        &dockerfile,
        "FROM scratch\nEXPOSE 3001/udp\nEXPOSE  3000/tcp 3003\n",
    )
    .unwrap();
    let out = bash(
        &host,
        &format!(
            "source \"$PLUGIN_CORE_AVAILABLE_PATH/builder-dockerfile/internal-functions\"
fn-builder-dockerfile-get-ports-from-dockerfile {}",
            dockerfile.display()
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "3001/udp 3000/tcp 3003\n"
    );

    let tls = host.path().join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=demo.example.test"])
        .args([
            "-addext",
            "subjectAltName=DNS:demo.example.test,DNS:www.demo.example.test",
        ])
        .arg("-keyout")
        .arg(tls.join("server.key"))
        .arg("-out")
        .arg(tls.join("server.crt"))
        .output()
        .unwrap();
    assert!(made.status.success());
    host.ok([
        "certs:add",
        "demo",
        tls.join("server.crt").to_str().unwrap(),
        tls.join("server.key").to_str().unwrap(),
    ]);
    let out = bash(
        &host,
        "source \"$PLUGIN_CORE_AVAILABLE_PATH/certs/functions\"; get_ssl_hostnames demo; is_ssl_enabled demo && echo enabled",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "demo.example.test\nwww.demo.example.test\nenabled\n",
        "{}",
        stderr(&out)
    );

    // sigil on PATH, as plugins run it: -p, the variables, the host's functions.
    let out = bash(
        &host,
        r#"echo 'from {{ file "part.txt" }}' > outer.sigil; printf part > part.txt
X=env sigil -p -i 'x=$X ${Y} {{ $.Y }} {{ sh "echo sh" }} {{ include "outer.sigil" }}' Y=var"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "x=env var var sh from part\n",
        "{}",
        host.render(&out)
    );

    // nginx-vhosts/functions: the certificate against the app's domains, the app's own
    // template, nginx version questions.
    let nginx = |script: &str| {
        bash(
            &host,
            &format!("source \"$PLUGIN_AVAILABLE_PATH/nginx-vhosts/functions\"\n{script}"),
        )
    };
    host.ok(["domains:set", "demo", "other.test"]);
    let out = nginx("validate_ssl_domains demo");
    assert!(out.status.success(), "{}", host.render(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("-----> No matching configured domains for demo found in SSL certificate")
            && said.contains("=====> other.test")
            && said.contains("=====> www.demo.example.test"),
        "{said}"
    );
    host.ok(["domains:add", "demo", "www.demo.example.test"]);
    let out = nginx("validate_ssl_domains demo");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "{}",
        host.render(&out)
    );

    let template = host
        .roots
        .lib_root
        .join("data/nginx-vhosts/demo/nginx.conf.sigil");
    let out = nginx(
        "get_custom_nginx_template demo copied.sigil; ls copied.sigil 2>/dev/null || echo none",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "none\n",
        "{}",
        host.render(&out)
    );
    std::fs::create_dir_all(template.parent().unwrap()).unwrap();
    std::fs::write(&template, "server { }\n").unwrap();
    let out = nginx("get_custom_nginx_template demo copied.sigil; cat copied.sigil");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "server { }\n",
        "{}",
        host.render(&out)
    );

    let out = nginx(
        "for v in 1.13.8 1.13.9 1.22.1 1.25.0 2.0.0; do is_http2_push_enabled $v; done
for v in 1.24.0 1.25.1 1.26.0; do is_http2_directive_supported $v; done
APP=demo restart_nginx >/dev/null && echo reloaded",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "false\ntrue\ntrue\nfalse\ntrue\nfalse\ntrue\ntrue\nreloaded\n",
        "{}",
        host.render(&out)
    );
}
