//! `dokku-root-helper`: what the dokku user may ask root to do, and nothing else. install.sh
//! lets the dokku user run it through sudo (`/etc/sudoers.d/dokku-rs`); sudo clears the
//! environment, so it reads no variable but the `SUDO_UID` sudo itself sets, and it takes
//! every path from its arguments only after checking them.
//!
//! `dokku-root-helper storage-chown LIB_ROOT NAME UID`: gives `LIB_ROOT/data/storage/NAME`
//! to `UID:UID` (`storage:ensure-directory --chown`), see
//! [`dokku_storage::ownership::chown_storage_directory`]. `storage-chmod LIB_ROOT NAME
//! MODE` and `storage-destroy LIB_ROOT NAME`: the mode of that directory, its removal with
//! everything in it (the storage plugin's `bin/chmod-storage-dir`, `bin/destroy-storage-dir`).
//!
//! `dokku-root-helper nginx-test`, `nginx-reload`, `nginx-start` and `nginx-stop`: `nginx
//! -t`, `-s reload`, a start and `-s quit` of the system's nginx with its own
//! configuration (`/usr/sbin/nginx`, no path taken from the caller), for the nginx-vhosts
//! plugin's check-then-swap of an app's config and `nginx:start|stop`.
//!
//! `dokku-root-helper nginx-install DOKKU_ROOT APP` and `nginx-check DOKKU_ROOT APP`: the
//! app's config in the caller's `DOKKU_ROOT` (which must be the caller's, reached without
//! links) judged by root's rules and put in place of root's copy, which nginx includes,
//! then `nginx -t`; `nginx-check` puts the previous copy back either way. `nginx-test-
//! without APP`: `nginx -t` without the app's copy. See
//! [`dokku_nginx_vhosts::installed`].

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use dokku_nginx_vhosts::control::SYSTEM_NGINX_CONF;
use dokku_nginx_vhosts::installed;

fn main() {
    dokku_core::entry::exit(run().map(|()| 0))
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("arguments must be valid UTF-8"))?;
    if !dokku_core::privilege::is_root() {
        bail!("dokku-root-helper must run as root (through sudo)");
    }
    // Through sudo, the dokku user is the caller and may only give away what it owns.
    let caller = match dokku_core::env::var("SUDO_UID") {
        Some(uid) => Some(
            uid.parse::<u32>()
                .map_err(|_| anyhow::anyhow!("SUDO_UID is not a number"))?,
        ),
        None => None,
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["storage-chown", lib_root, name, uid] => {
            let uid: u32 = uid
                .parse()
                .map_err(|_| anyhow::anyhow!("Invalid uid {uid:?}"))?;
            dokku_storage::ownership::chown_storage_directory(
                Path::new(lib_root),
                name,
                uid,
                caller,
            )
        }
        ["storage-chmod", lib_root, name, mode] => {
            let bits = u32::from_str_radix(mode, 8)
                .ok()
                .filter(|_| (3..=4).contains(&mode.len()))
                .ok_or_else(|| anyhow::anyhow!("Invalid mode {mode:?}"))?;
            dokku_storage::ownership::chmod_storage_directory(
                Path::new(lib_root),
                name,
                bits,
                caller,
            )
        }
        ["storage-destroy", lib_root, name] => {
            dokku_storage::ownership::destroy_storage_directory(Path::new(lib_root), name, caller)
        }
        ["nginx-test"] => nginx(&["-t", "-q"], caller),
        [action @ ("nginx-install" | "nginx-check"), dokku_root, app] => {
            let keep = match *action {
                "nginx-install" => installed::Keep::Yes,
                _ => installed::Keep::No,
            };
            answer(
                root_copies().apply(Path::new(dokku_root), app, caller, keep, &|| {
                    nginx_test(caller)
                })?,
            )
        }
        ["nginx-test-without", app] => {
            answer(root_copies().test_without(app, &|| nginx_test(caller))?)
        }
        ["nginx-reload"] => signal(&["-s", "reload"], caller),
        ["nginx-start"] => nginx(&[], caller),
        ["nginx-stop"] => signal(&["-s", "quit"], caller),
        _ => bail!(
            "usage: dokku-root-helper storage-chown LIB_ROOT NAME UID | storage-chmod LIB_ROOT NAME MODE | storage-destroy LIB_ROOT NAME | nginx-test | nginx-reload | nginx-start | nginx-stop | nginx-install DOKKU_ROOT APP | nginx-check DOKKU_ROOT APP | nginx-test-without APP"
        ),
    }
}

/// The system's nginx with these arguments. Its messages pass on to the caller, except
/// what they quote from a file outside the caller's home: a config the dokku user wrote
/// could `include /etc/shadow` and have nginx, as root, quote it back.
fn nginx(args: &[&str], caller: Option<u32>) -> Result<()> {
    let out = dokku_core::cmd::Cmd::new("/usr/sbin/nginx")
        .args(args)
        .output_unchecked()?;
    pass_on(&out, caller);
    if out.code != 0 {
        return Err(dokku_core::Error::Exit(out.code).into());
    }
    Ok(())
}

/// Root's copies of app configs for the system's nginx.
fn root_copies() -> installed::Installed {
    installed::Installed {
        dir: installed::dir_for(Path::new(SYSTEM_NGINX_CONF)),
        log_dir: "/var/log/nginx".into(),
    }
}

/// `nginx -t` of the system's configuration: its exit code and its words, redacted.
fn nginx_test(caller: Option<u32>) -> Result<installed::Verdict> {
    let out = dokku_core::cmd::Cmd::new("/usr/sbin/nginx")
        .args(["-t", "-q"])
        .output_unchecked()?;
    let home = readable(caller);
    let words = out.words();
    let words: Vec<String> = words.lines().map(|line| redacted(line, &home)).collect();
    Ok((out.code, words.join("\n")))
}

/// nginx's verdict, passed on as this helper's words and exit code.
fn answer((code, words): installed::Verdict) -> Result<()> {
    if !words.is_empty() {
        dokku_core::log::raw(format!("{words}\n").as_bytes());
    }
    match code {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// What nginx may quote back to the caller: its home, and root's copies of the app
/// configs it handed over (judged, and its own text). Nothing without a caller.
fn readable(caller: Option<u32>) -> Vec<PathBuf> {
    let Some(home) = caller
        .and_then(|uid| nix::unistd::User::from_uid(uid.into()).ok().flatten())
        .map(|user| user.dir)
    else {
        return Vec::new();
    };
    vec![home, root_copies().apps_dir()]
}

/// nginx's words, to the caller, redacted.
fn pass_on(out: &dokku_core::cmd::Output, caller: Option<u32>) {
    let home = readable(caller);
    let words = out.words();
    for line in words.lines() {
        dokku_core::log::raw(format!("{}\n", redacted(line, &home)).as_bytes());
    }
}

/// `nginx -s reload`, answered once the new configuration serves, and `nginx -s quit`; a
/// reload not taken in time or an nginx not running answer with [`dokku_nginx_vhosts::control`]'s
/// exit codes.
fn signal(args: &[&str], caller: Option<u32>) -> Result<()> {
    let cmd = dokku_core::cmd::Cmd::new("/usr/sbin/nginx").args(args);
    let pid_file = dokku_nginx_vhosts::control::pid_file(Path::new("/etc/nginx/nginx.conf"));
    let out = match args {
        ["-s", "reload"] => dokku_nginx_vhosts::control::reload_and_wait(&cmd, &pid_file)?,
        _ => dokku_nginx_vhosts::control::stop(&cmd, &pid_file)?,
    };
    pass_on(&out, caller);
    match out.code {
        0 => Ok(()),
        code => Err(dokku_core::Error::Exit(code).into()),
    }
}

/// `line` with its quoted parts replaced when it names a file (`in /path:N`) that is not,
/// where its links lead, inside one of the `readable` directories (the caller's home, and
/// root's copies of the caller's own app configs).
fn redacted(line: &str, readable: &[PathBuf]) -> String {
    let file = line
        .rsplit_once(" in /")
        .map(|(_, rest)| format!("/{}", rest.split(':').next().unwrap_or_default()));
    let inside = match &file {
        Some(file) => std::fs::canonicalize(file).is_ok_and(|real| {
            readable
                .iter()
                .any(|dir| std::fs::canonicalize(dir).is_ok_and(|dir| real.starts_with(dir)))
        }),
        None => true,
    };
    if inside {
        return line.to_string();
    }
    let mut out = String::new();
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
            out.push_str(if quoted { "\"…" } else { "\"" });
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn quotes_from_files_outside_the_callers_home_are_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("app")).unwrap();
        let secret = dir.path().join("shadow");
        std::fs::write(&secret, "root:$y$secret\n").unwrap();
        std::fs::write(home.join("app/nginx.conf"), "this;\n").unwrap();
        std::os::unix::fs::symlink(&secret, home.join("app/link.conf")).unwrap();
        let home = &[home];
        let h = dir.path().join("home").display().to_string();
        let s = secret.display().to_string();
        let own = format!(r#"nginx: [emerg] unknown directive "this" in {h}/app/nginx.conf:1"#);
        assert_eq!(redacted(&own, home), own);
        let leak = format!(r#"nginx: [emerg] unknown directive "root:$y$secret" in {s}:1"#);
        assert_eq!(
            redacted(&leak, home),
            format!(r#"nginx: [emerg] unknown directive "…" in {s}:1"#)
        );
        let sneaky = format!(r#"x "secret" in {h}/app/../../shadow:1"#);
        assert!(!redacted(&sneaky, home).contains("secret\""));
        let linked = format!(r#"x "root:$y$secret" in {h}/app/link.conf:1"#);
        assert!(
            !redacted(&linked, home).contains("$y$"),
            "a link in the caller's tree is judged where it leads"
        );
        assert_eq!(
            redacted("nginx: configuration file test failed", home),
            "nginx: configuration file test failed"
        );
    }
}
