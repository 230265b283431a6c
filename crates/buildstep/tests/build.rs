//! The builder image's entry points run on this machine against buildpacks written here:
//! every path herokuish uses is given through the environment, as in the image.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let b = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        for sub in ["app", "env", "cache", "buildpacks"] {
            std::fs::create_dir_all(b.path(sub)).unwrap();
        }
        b
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        if rel.contains("/bin/") || rel.ends_with(".sh") {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// A buildpack at `rel` whose detect claims apps with `marker`, printing `name`.
    fn buildpack(&self, rel: &str, name: &str, marker: &str, compile: &str) {
        self.write(
            &format!("{rel}/bin/detect"),
            &format!("#!/usr/bin/env bash\n[[ -f $1/{marker} ]] || exit 1\necho {name}\n"),
        );
        self.write(
            &format!("{rel}/bin/compile"),
            &format!("#!/usr/bin/env bash\nset -e\nBUILD=$1 CACHE=$2 ENVDIR=$3\n{compile}\n"),
        );
    }

    fn run(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_herokuish"));
        let link = self.dir.path().join("entrypoints").join(program);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        if program != "herokuish" && !link.exists() {
            std::os::unix::fs::symlink(&bin, &link).unwrap();
        }
        let exe = if program == "herokuish" { bin } else { link };
        let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        Command::new(exe)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("USER", user)
            .env("APP_PATH", self.path("app"))
            .env("ENV_PATH", self.path("env"))
            .env("BUILD_PATH", self.path("build"))
            .env("CACHE_PATH", self.path("cache"))
            .env("IMPORT_PATH", self.path("import"))
            .env("BUILDPACK_PATH", self.path("buildpacks"))
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn build(&self, env: &[(&str, &str)]) -> (bool, String) {
        let out = self.run("build", &[], env);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(rel)).unwrap_or_default()
    }
}

fn null_buildpack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("buildpacks/null")
}

fn install_null(b: &Sandbox) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(null_buildpack())
        .arg(b.path("buildpacks/11_buildpack-null"))
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_null_buildpack_builds_the_python_sample_layout() {
    let b = Sandbox::new();
    install_null(&b);
    b.write("app/null", "");
    b.write(
        "app/Procfile",
        "web: python3 -u web.py\nworker: python3 -u worker.py\n",
    );
    b.write("app/web.py", "print('hi')\n");
    let (ok, out) = b.build(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("-----> null app detected"), "{out}");
    assert!(
        out.contains("       Performing no commands for null buildpack")
            || out.contains("-----> Performing no commands for null buildpack"),
        "{out}"
    );
    assert!(
        out.contains("       Procfile declares types -> web, worker"),
        "{out}"
    );
    assert_eq!(b.read("app/web.py"), "print('hi')\n");
    let version = b.run("herokuish", &["version"], &[]);
    let version = String::from_utf8_lossy(&version.stdout).into_owned();
    assert!(version.starts_with("herokuish: "), "{version}");
    assert!(
        version.contains("  buildpack-null             v1"),
        "{version}"
    );
}

#[test]
fn no_buildpack_detects_and_the_build_fails_naming_what_was_tried() {
    let b = Sandbox::new();
    install_null(&b);
    b.write("app/README", "nothing to build\n");
    let (ok, out) = b.build(&[]);
    assert!(!ok);
    assert!(out.contains("-----> Unable to select a buildpack"), "{out}");
    assert!(out.contains("Tried: buildpack-null"), "{out}");
}

#[test]
fn several_buildpacks_run_in_order_and_the_first_exports_to_the_second() {
    let b = Sandbox::new();
    let first = b.path("packs/first").display().to_string();
    let second = b.path("packs/second").display().to_string();
    b.buildpack(
        "packs/first",
        "First",
        "Procfile",
        "echo one >$BUILD/from-first\necho '  compiling first'",
    );
    b.write(
        "packs/first/export",
        "export FROM_FIRST=hello\nexport PATH=/opt/first:$PATH\n",
    );
    b.buildpack(
        "packs/second",
        "Second",
        "Procfile",
        "echo \"$FROM_FIRST\" >$BUILD/from-second\necho \"$PATH\" >$BUILD/path-second",
    );
    b.write(
        "app/.buildpacks",
        &format!("{first}\n# a comment\n\n{second}\n"),
    );
    b.write("app/Procfile", "web: ./serve\n");
    let (ok, out) = b.build(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("-----> Multipack app detected"), "{out}");
    assert!(
        out.contains(&format!("=====> Downloading Buildpack: {first}")),
        "{out}"
    );
    assert!(out.contains("=====> Detected Framework: First"), "{out}");
    assert!(out.contains("=====> Detected Framework: Second"), "{out}");
    assert!(out.contains("       compiling first"), "{out}");
    assert_eq!(b.read("app/from-first"), "one\n");
    assert_eq!(b.read("app/from-second"), "hello\n");
    assert!(b.read("app/path-second").starts_with("/opt/first:"));
}

#[test]
fn default_process_types_and_config_vars_come_from_the_release() {
    let b = Sandbox::new();
    b.buildpack(
        "buildpacks/05_buildpack-static",
        "Static",
        "index.html",
        "true",
    );
    b.write(
        "buildpacks/05_buildpack-static/bin/release",
        "#!/usr/bin/env bash\ncat <<'YAML'\n---\nconfig_vars:\n  GREETING: \"hello $USER\"\ndefault_process_types:\n  web: ./serve --port $PORT\nYAML\n",
    );
    b.write("app/index.html", "<p>hi</p>\n");
    let (ok, out) = b.build(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("-----> Static app detected"), "{out}");
    assert!(
        out.contains("       Default types for Static -> web"),
        "{out}"
    );
    assert_eq!(b.read("app/Procfile"), "web: ./serve --port $PORT\n");
    assert_eq!(
        b.read("app/.profile.d/00_config_vars.sh"),
        "export GREETING=\"hello $USER\"\n"
    );
    assert!(b.read("app/.release").contains("default_process_types"));
}

#[test]
fn the_cache_written_by_one_build_is_read_by_the_next() {
    let b = Sandbox::new();
    b.buildpack(
        "buildpacks/01_buildpack-counter",
        "Counter",
        "Procfile",
        "n=$(cat $CACHE/count 2>/dev/null || echo 0)\necho $((n + 1)) >$CACHE/count\necho \"build number $((n + 1))\"",
    );
    b.write("app/Procfile", "web: true\n");
    let (ok, out) = b.build(&[]);
    assert!(ok && out.contains("       build number 1"), "{out}");
    let (ok, out) = b.build(&[]);
    assert!(ok && out.contains("       build number 2"), "{out}");
}

#[test]
fn buildpack_url_in_dotenv_beats_buildpacks_and_a_git_ref_is_checked_out() {
    let b = Sandbox::new();
    let repo = b.path("repo");
    b.buildpack("repo", "Main", "Procfile", "echo main >$BUILD/which");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
            .arg(&repo)
            .args(args)
            .status()
            .unwrap();
        assert!(status.success());
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "main"]);
    git(&["checkout", "-q", "-b", "v2"]);
    b.buildpack("repo", "Tagged", "Procfile", "echo v2 >$BUILD/which");
    git(&["commit", "-q", "-am", "v2"]);
    git(&["checkout", "-q", "main"]);
    b.buildpack(
        "elsewhere",
        "Elsewhere",
        "Procfile",
        "echo elsewhere >$BUILD/which",
    );

    b.write("app/Procfile", "web: true\n");
    b.write(
        "app/.buildpacks",
        &format!("{}\n", b.path("elsewhere").display()),
    );
    b.write(
        "app/.env",
        &format!("BUILDPACK_URL=\"file://{}#v2\"\n", repo.display()),
    );
    let (ok, out) = b.build(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("-----> Tagged app detected"), "{out}");
    assert_eq!(b.read("app/which"), "v2\n");

    b.write("app/.env", "BUILDPACK_URL=heroku/python\n");
    let (ok, out) = b.build(&[]);
    assert!(!ok);
    assert!(
        out.contains(" !     Invalid buildpack URL: 'heroku/python'"),
        "{out}"
    );
}

#[test]
fn a_failing_compile_fails_the_build() {
    let b = Sandbox::new();
    b.buildpack(
        "buildpacks/01_buildpack-broken",
        "Broken",
        "Procfile",
        "echo 'about to fail'\nexit 3",
    );
    b.write("app/Procfile", "web: true\n");
    let (ok, out) = b.build(&[]);
    assert!(!ok, "{out}");
    assert!(out.contains("       about to fail"), "{out}");
    assert!(out.contains("Failed to compile app"), "{out}");
}

#[test]
fn start_and_exec_run_in_the_apps_environment() {
    let b = Sandbox::new();
    b.write(
        "app/Procfile",
        "# web: wrong\nweb: echo \"$GREETING from $HOME with $SECRET\"\n",
    );
    b.write("app/.profile.d/01_greeting.sh", "export GREETING=hello\n");
    b.write("env/SECRET", "s3cret");
    let out = b.run("start", &["web"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.trim(),
        format!("hello from {} with s3cret", b.path("app").display())
    );

    let out = b.run("start", &["worker"], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Proc entrypoint worker does not exist. Please check your Procfile")
    );

    let out = b.run("exec", &["echo", "$GREETING", "in", "$PWD"], &[]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("hello in {}", b.path("app").display())
    );
    let out = b.run("exec", &["false"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = b.run("herokuish", &["procfile", "parse", "web"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("$GREETING"));
    let out = b.run("herokuish", &["nonsense"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
