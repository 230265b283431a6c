//! Dokku's official service plugins, unmodified: dokku-postgres and dokku-redis cloned from
//! their released bundles, installed with `plugin:install`, run against the stand-in images
//! `tests/service-images` makes from Debian's packages.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

use dokku_test_support::{SYSTEM_USER, TestHost, docker_bin, workspace_root};

use crate::build::{UniqueApp, base_image, docker, docker_ok, push};
use crate::run::container_ip;
use crate::{Sshd, client_key, commit, run, start_sshd_for, text};

/// The stand-in images, made once per machine by the script install.sh runs.
fn service_images() {
    static MADE: Once = Once::new();
    MADE.call_once(|| {
        base_image();
        let out = Command::new(workspace_root().join("tests/service-images"))
            .env("DOCKER_BIN", docker_bin())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tests/service-images could not make the service images:\n{}",
            text(&out)
        );
    });
}

/// A host as install.sh lays one out, with the settings that select the stand-in images,
/// the dokku user in the `dokku` group (the plugins' sudoers rules name it), an SSH
/// server and an admin key.
fn service_host() -> (TestHost, Sshd, PathBuf) {
    service_images();
    let host = TestHost::with_system_user();
    dokku_test_support::join_group("dokku");
    let settings =
        run(Command::new(workspace_root().join("tests/service-images")).arg("--settings"));
    let defaults = host.path().join("etc-default-dokku");
    let mut text = std::fs::read_to_string(&defaults).unwrap_or_default();
    text.push_str(&String::from_utf8_lossy(&settings.stdout));
    std::fs::write(&defaults, text).unwrap();
    let sshd = start_sshd_for(&host, SYSTEM_USER);
    let key = client_key(host.path(), "admin");
    host.ok([
        "ssh-keys:add",
        "admin",
        key.with_extension("pub").to_str().unwrap(),
    ]);
    (host, sshd, key)
}

/// `plugin:install` of a released plugin, cloned from its bundle at its release tag.
fn install_service_plugin(host: &TestHost, bundle: &str, tag: &str, name: &str) {
    let clone = host.path().join(format!("{name}-release"));
    dokku_test_support::clone_third_party(bundle, tag, &clone);
    let out = host.run([
        "plugin:install",
        &format!("file://{}", clone.display()),
        "--name",
        name,
    ]);
    assert!(out.status.success(), "{}", host.render(&out));
}

/// A Dockerfile app that writes and reads through DATABASE_URL (psql) and REDIS_URL (the
/// Redis protocol over a socket).
fn service_app(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("git")
        .args(["init", "-q", "-b", "main"])
        .current_dir(dir));
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM dokku-rs/postgres:15\nENTRYPOINT []\nWORKDIR /app\nCOPY . /app\nEXPOSE 5000\n\
         CMD [\"python3\", \"/app/server.py\"]\n",
    )
    .unwrap();
    commit(dir, "server.py", SERVER);
}

const SERVER: &str = r#"import os, socket, subprocess, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

def psql(sql):
    out = subprocess.run(["psql", os.environ["DATABASE_URL"], "-tAc", sql], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else "error: " + out.stderr

def redis(*words):
    url = urllib.parse.urlparse(os.environ["REDIS_URL"])
    with socket.create_connection((url.hostname, url.port or 6379), timeout=5) as conn:
        def call(*args):
            frame = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a.encode()), a) for a in args)
            conn.sendall(frame.encode())
            return conn.recv(65536).decode()
        if url.password:
            call("AUTH", url.password)
        return call(*words)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path, _, value = self.path.partition("?")
        try:
            if path == "/pg/write":
                body = psql("CREATE TABLE IF NOT EXISTS notes (v text); INSERT INTO notes VALUES ('%s')" % value)
            elif path == "/pg/read":
                body = psql("SELECT string_agg(v, ',') FROM notes")
            elif path == "/redis/set":
                body = redis("SET", "note", value)
            elif path == "/redis/get":
                body = redis("GET", "note")
            else:
                body = "ok"
        except Exception as e:
            body = "error: %s" % e
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

HTTPServer(("", int(os.environ.get("PORT", "5000"))), Handler).serve_forever()
"#;

/// `GET path` from the app's web container; the response body, or what went wrong
/// (`error: ...`) when there was none.
fn get(app: &str, path: &str) -> String {
    let ip = container_ip(&format!("{app}.web.1"));
    let exchange = || -> std::io::Result<String> {
        let mut stream = TcpStream::connect((ip.as_str(), 5000))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    };
    match exchange() {
        Ok(response) => response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default(),
        Err(err) => format!("error: GET {path} from {ip}: {err}"),
    }
}

/// Asks until the answer contains `expected` (a restarted service takes a moment), for
/// a minute at most.
fn eventually(app: &str, path: &str, expected: &str) -> String {
    let started = Instant::now();
    loop {
        let body = get(app, path);
        if body.contains(expected) || started.elapsed() > Duration::from_secs(60) {
            return body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn container_id(app: &str) -> String {
    docker(&[
        "container",
        "inspect",
        "--format",
        "{{.Id}}",
        &format!("{app}.web.1"),
    ])
}

/// For a failure: the service container's id, address and last output, and where the
/// app's container resolves names.
fn where_the_app_looks(app: &str, service: &str) -> String {
    let inspect = |format: &str| {
        Command::new(docker_bin())
            .args(["container", "inspect", "--format", format, service])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let output = |args: &[&str]| {
        Command::new(docker_bin())
            .args(args)
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout).to_string()
                    + &String::from_utf8_lossy(&out.stderr)
            })
            .unwrap_or_default()
    };
    format!(
        "{service}: {} at {} ({})\nthe app's hosts:\n{}\n{}",
        inspect("{{.Id}}"),
        inspect("{{.NetworkSettings.IPAddress}}"),
        inspect("{{.State.Status}} since {{.State.StartedAt}}"),
        output(&["exec", &format!("{app}.web.1"), "cat", "/etc/hosts"]),
        output(&["logs", "--tail", "20", service])
    )
}

/// Removes a service's container and data even when the test failed midway.
struct ServiceGuard(&'static str, String);

impl Drop for ServiceGuard {
    fn drop(&mut self) {
        let _ = Command::new(docker_bin())
            .args([
                "container",
                "rm",
                "-f",
                &format!("dokku.{}.{}", self.0, self.1),
            ])
            .output();
    }
}

#[test]
fn postgres_and_redis_plugins_run_unmodified_against_a_pushed_app() {
    let (host, sshd, key) = service_host();
    install_service_plugin(&host, "dokku-postgres-1.48.0.bundle", "1.48.0", "postgres");
    install_service_plugin(&host, "dokku-redis-1.43.0.bundle", "1.43.0", "redis");
    let app = UniqueApp::new("svc");
    let a = app.0.as_str();
    let db = format!("db{}", std::process::id());
    let copy = format!("{db}copy");
    let cache = format!("cache{}", std::process::id());
    let cache_copy = format!("{cache}copy");
    let _guards = [
        ServiceGuard("postgres", db.clone()),
        ServiceGuard("postgres", copy.clone()),
        ServiceGuard("redis", cache.clone()),
        ServiceGuard("redis", cache_copy.clone()),
    ];

    let out = host.ok(["postgres:create", &db]);
    assert!(
        out.contains(&format!("Postgres container created: {db}")),
        "{out}"
    );
    assert!(host.ok(["postgres:list"]).contains(&db));
    host.ok(["postgres:exists", &db]);

    // This test host's nginx logs are not where root's nginx rules put them: no proxy.
    host.ok(["apps:create", a]);
    host.ok(["proxy:disable", a]);
    let work = host.path().join("work");
    service_app(&work);
    let (ok, out) = push(&sshd, &key, &work, a);
    assert!(ok, "{out}");
    let before_link = container_id(a);

    let out = host.ok(["postgres:link", &db, a]);
    assert!(out.contains("Restarting app"), "{out}");
    let url = host.ok(["config:get", a, "DATABASE_URL"]);
    assert!(
        url.starts_with("postgres://postgres:")
            && url
                .trim_end()
                .ends_with(&format!("@dokku-postgres-{db}:5432/{db}")),
        "{url}"
    );
    assert_ne!(container_id(a), before_link, "the app was not restarted");
    let again = host.run(["postgres:link", &db, a]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("Already linked as DATABASE_URL"),
        "{}",
        text(&again)
    );
    assert!(
        host.ok(["docker-options:report", a])
            .contains(&format!("--link dokku.postgres.{db}:dokku-postgres-{db}"))
    );

    let write = eventually(a, "/pg/write?hello", "INSERT 0 1");
    assert!(write.contains("INSERT 0 1"), "{write}");
    // (A write retried after a lost answer may have stored the row twice.)
    let read = eventually(a, "/pg/read", "hello");
    assert!(read.trim().starts_with("hello"), "{read}");
    let out = host.ok(["postgres:restart", &db]);
    assert!(
        out.contains("Please call dokku ps:restart on all linked apps"),
        "{out}"
    );
    // The engine forgets which containers link to a service once they were renamed (as
    // every deploy renames its new containers into place), so a service that comes back
    // on a new address is found again only by a restart of its linked apps, which the
    // plugin asks for.
    host.ok(["ps:restart", a]);
    let read = eventually(a, "/pg/read", "hello");
    assert!(
        read.trim().starts_with("hello"),
        "{read}\n{}",
        where_the_app_looks(a, &format!("dokku.postgres.{db}"))
    );
    let info = host.ok(["postgres:info", &db]);
    assert!(
        info.contains("Status:") && info.contains("running"),
        "{info}"
    );
    assert!(info.contains(a), "{info}");
    let logs = host.run(["postgres:logs", &db]);
    assert!(logs.status.success(), "{}", host.render(&logs));

    // Export, then import into a new service: the row is there.
    let dump = host
        .dokku(["postgres:export", &db])
        .write_stdin("")
        .output()
        .unwrap();
    assert!(dump.status.success(), "{}", host.render(&dump));
    assert!(dump.stdout.starts_with(b"PGDMP"), "not a pg_dump archive");
    host.ok(["postgres:create", &copy]);
    let import = host
        .dokku(["postgres:import", &copy])
        .write_stdin(dump.stdout)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", host.render(&import));
    let connect = host
        .dokku(["postgres:connect", &copy])
        .write_stdin("SELECT 'found ' || string_agg(v, ',') FROM notes;\n")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&connect.stdout).contains("found hello"),
        "{}",
        host.render(&connect)
    );
    host.ok(["postgres:destroy", &copy, "--force"]);
    assert!(!docker_ok(&[
        "container",
        "inspect",
        &format!("dokku.postgres.{copy}")
    ]));

    // Redis, the same way, with a key.
    let out = host.ok(["redis:create", &cache]);
    assert!(
        out.contains(&format!("Redis container created: {cache}")),
        "{out}"
    );
    host.ok(["redis:link", &cache, a]);
    assert!(
        host.ok(["config:get", a, "REDIS_URL"])
            .starts_with("redis://:")
    );
    let set = eventually(a, "/redis/set?kept", "+OK");
    assert!(set.contains("+OK"), "{set}");
    host.ok(["redis:restart", &cache]);
    host.ok(["ps:restart", a]);
    let kept = eventually(a, "/redis/get", "kept");
    assert!(
        kept.contains("kept"),
        "{kept}\n{}",
        where_the_app_looks(a, &format!("dokku.redis.{cache}"))
    );
    // The plugin's export waits for LASTSAVE (whole seconds) to move after its BGSAVE: one
    // within the second of the restart's own save would never be seen.
    std::thread::sleep(Duration::from_millis(1100));
    let rdb = host
        .dokku(["redis:export", &cache])
        .timeout(Duration::from_secs(60))
        .write_stdin("")
        .output()
        .unwrap();
    assert!(rdb.status.success(), "{}", host.render(&rdb));
    assert!(rdb.stdout.starts_with(b"REDIS"), "not an RDB file");
    host.ok(["redis:create", &cache_copy]);
    let import = host
        .dokku(["redis:import", &cache_copy])
        .write_stdin(rdb.stdout)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", host.render(&import));
    let connect = host
        .dokku(["redis:connect", &cache_copy])
        .write_stdin("GET note\n")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&connect.stdout).contains("kept"),
        "{}",
        host.render(&connect)
    );
    host.ok(["redis:destroy", &cache_copy, "--force"]);

    // Unlink takes the variable and the link away; destroying the app unlinks it from every
    // service.
    host.ok(["redis:unlink", &cache, a]);
    assert!(!host.run(["config:get", a, "REDIS_URL"]).status.success());
    host.ok(["postgres:unlink", &db, a]);
    assert!(!host.run(["config:get", a, "DATABASE_URL"]).status.success());
    assert!(
        !host
            .ok(["docker-options:report", a])
            .contains("dokku.postgres")
    );
    host.ok(["postgres:link", &db, a]);
    let refused = host.run(["postgres:destroy", &db, "--force"]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("Cannot delete linked service"));
    host.ok(["--force", "apps:destroy", a]);
    assert_eq!(host.ok(["postgres:links", &db]).trim(), "");
    host.ok(["postgres:destroy", &db, "--force"]);
    host.ok(["redis:destroy", &cache, "--force"]);
    assert!(!docker_ok(&[
        "container",
        "inspect",
        &format!("dokku.postgres.{db}")
    ]));
    assert!(
        !host
            .roots
            .lib_root
            .join("services/postgres")
            .join(&db)
            .exists()
    );
}
