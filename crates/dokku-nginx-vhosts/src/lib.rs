//! The `nginx-vhosts` plugin (`nginx:*`): each app's nginx config,
//! `$DOKKU_ROOT/<app>/nginx.conf`, built from its domains, port mappings and live web
//! containers whenever one of them changes (`core-post-deploy`, `post-domains-update`,
//! `post-proxy-ports-update`, `post-certs-update|remove`, `proxy-build-config`). Other
//! plugins add lines to every server block of an app through `nginx-config APP` (a line
//! each) and hear `nginx-pre-reload APP` before each reload.
//!
//! A config that fails `nginx -t` never replaces a working one: under one host-wide lock
//! the candidate takes the file's place, `nginx -t` checks the whole configuration, and
//! only then does nginx reload; otherwise the old file comes back and nginx's own message
//! is the error. nginx runs as root: the dokku user asks through the root helper (sudo),
//! which tests and reloads the system's nginx with its own configuration and takes no path
//! from the caller.

mod config;

use anyhow::{Result, bail};
use dokku_core::cmd::Cmd;
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry, exactly};
use dokku_core::log;
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "nginx",
    table: &[
        Setting {
            key: "access-log-path",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: log_path,
        },
        Setting {
            key: "bind-address-ipv4",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: ipv4,
        },
        Setting {
            key: "client-max-body-size",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: size,
        },
        Setting {
            key: "error-log-path",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: log_path,
        },
        Setting {
            key: "hsts",
            scope: Scope::AppOrGlobal,
            default: "true",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "hsts-include-subdomains",
            scope: Scope::AppOrGlobal,
            default: "true",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "proxy-read-timeout",
            scope: Scope::AppOrGlobal,
            default: "60s",
            validate: duration,
        },
    ],
};

pub const PLUGIN: Plugin = Plugin {
    name: "nginx-vhosts",
    description: "Manage the nginx proxy of an app",
    default_command: None,
    keeps_root: false,
    commands: &[
        Command {
            name: "report",
            args: "[<app>|--global] [--format stdout|json] [<flag>]",
            help: "Displays an nginx report for one or more apps",
            run: report,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear an nginx property for an app",
            run: set,
        },
        Command {
            name: "show-config",
            args: "<app>",
            help: "Display the app's nginx config",
            run: show_config,
        },
        Command {
            name: "validate-config",
            args: "",
            help: "Check the whole nginx configuration (nginx -t)",
            run: validate_config,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-deploy",
            run: rebuild,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: copy_settings,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: copy_settings,
        },
        TriggerEntry {
            name: "post-certs-remove",
            run: rebuild_for_certs,
        },
        TriggerEntry {
            name: "post-certs-update",
            run: rebuild_for_certs,
        },
        TriggerEntry {
            name: "post-delete",
            run: post_delete,
        },
        TriggerEntry {
            name: "post-domains-update",
            run: rebuild,
        },
        TriggerEntry {
            name: "post-proxy-ports-update",
            run: rebuild,
        },
        TriggerEntry {
            name: "proxy-build-config",
            run: rebuild,
        },
        TriggerEntry {
            name: "proxy-clear-config",
            run: clear,
        },
        TriggerEntry {
            name: "proxy-disable",
            run: clear,
        },
    ],
};

/// Words nginx takes as they are: no spaces, quotes, braces or semicolons.
fn plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
}

fn log_path(value: &str) -> Result<()> {
    if !(value == "off" || (value.starts_with('/') && plain(value))) {
        bail!("Invalid log path {value:?}: an absolute path, or off");
    }
    Ok(())
}

fn ipv4(value: &str) -> Result<()> {
    if value.parse::<std::net::Ipv4Addr>().is_err() {
        bail!("Invalid IPv4 address {value:?}");
    }
    Ok(())
}

/// `10m`, `512k`, `0`.
fn size(value: &str) -> Result<()> {
    let digits = value.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.len() + 1 < value.len()
    {
        bail!("Invalid size {value:?}: a number with an optional k, m or g");
    }
    Ok(())
}

/// `60s`, `2m`, `90`.
fn duration(value: &str) -> Result<()> {
    let digits = value.trim_end_matches(['s', 'm', 'h']);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.len() + 1 < value.len()
    {
        bail!("Invalid duration {value:?}: a number of seconds, or with s, m or h");
    }
    Ok(())
}

fn conf_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.app_dir(app).join("nginx.conf")
}

/// Whether this plugin routes to the app: its proxy is enabled and is nginx.
fn routes(ctx: &Ctx, app: &str) -> Result<bool> {
    let enabled = ctx.trigger("proxy-is-enabled").arg(app).output_string()?;
    let kind = ctx.trigger("proxy-type").arg(app).output_string()?;
    Ok(enabled.trim() != "false" && matches!(kind.trim(), "" | "nginx"))
}

/// The app's site, from the other plugins' answers.
fn site(ctx: &Ctx, app: &str) -> Result<config::Site> {
    let mappings = dokku_core::port_map::of_app(ctx, app)?
        .into_iter()
        .map(|m| (m.scheme, m.host_port, m.container_port))
        .collect();
    let scheduler = dokku_core::pipeline::scheduler(ctx, app)?;
    let web_ips = ctx
        .trigger("scheduler-app-containers")
        .args([scheduler.as_str(), app])
        .output_lines()?
        .iter()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let dyno = words.next()?;
            let (_id, ip) = (words.next()?, words.next()?);
            dyno.starts_with("web.").then(|| ip.to_string())
        })
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .collect();
    let domains = ctx
        .trigger("domains-list")
        .arg(app)
        .output_lines()?
        .into_iter()
        .filter(|d| plain(d))
        .collect();
    let setting = |key: &str| SETTINGS.computed(ctx, app, key);
    let log_dir =
        dokku_core::env::var("DOKKU_NGINX_LOG_DIR").unwrap_or_else(|| "/var/log/nginx".into());
    let or = |value: String, default: String| if value.is_empty() { default } else { value };
    Ok(config::Site {
        app: app.to_string(),
        mappings,
        domains,
        web_ips,
        bind_address: setting("bind-address-ipv4")?,
        client_max_body_size: setting("client-max-body-size")?,
        proxy_read_timeout: setting("proxy-read-timeout")?,
        access_log: or(
            setting("access-log-path")?,
            format!("{log_dir}/{app}-access.log"),
        ),
        error_log: or(
            setting("error-log-path")?,
            format!("{log_dir}/{app}-error.log"),
        ),
        includes: ctx
            .roots
            .app_dir(app)
            .join("nginx.conf.d")
            .display()
            .to_string(),
        tls: ctx
            .trigger("certs-paths")
            .arg(app)
            .output_string()?
            .split_once(' ')
            .map(|(crt, key)| (crt.trim().to_string(), key.trim().to_string()))
            .filter(|(crt, key)| plain(crt) && plain(key)),
        hsts: setting("hsts")? == "true",
        hsts_include_subdomains: setting("hsts-include-subdomains")? == "true",
        extra_lines: ctx.trigger("nginx-config").arg(app).output_lines()?,
    })
}

/// `nginx -t` or `nginx -s reload`: directly as root (a host without a dokku user; the
/// configuration is `DOKKU_NGINX_CONF` from root's own environment, else the system's),
/// else through the root helper. The answer is nginx's exit code and its words.
fn nginx(test: bool) -> Result<(i32, String)> {
    let cmd = if dokku_core::privilege::is_root() {
        let conf = dokku_core::env::var("DOKKU_NGINX_CONF")
            .unwrap_or_else(|| "/etc/nginx/nginx.conf".into());
        let bin =
            dokku_core::cmd::find_program("nginx").unwrap_or_else(|| "/usr/sbin/nginx".into());
        let action: &[&str] = if test {
            &["-t", "-q"]
        } else {
            &["-s", "reload"]
        };
        Cmd::new(bin).args(action).args(["-c", &conf])
    } else {
        dokku_core::privilege::root_helper(if test { "nginx-test" } else { "nginx-reload" })
    };
    let out = cmd.output_unchecked()?;
    let words =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    Ok((out.code, words.trim().to_string()))
}

/// Puts `text` in place of the app's config (removes it when empty) only if nginx accepts
/// the whole configuration with it, then reloads nginx; otherwise the old file is back
/// and nginx's message is the error. Unchanged text is left alone unless a file it names
/// changed (`files_changed`).
fn swap(ctx: &Ctx, app: &str, text: &str, files_changed: bool) -> Result<()> {
    let path = conf_path(ctx, app);
    let lock_dir = ctx.roots.lib_root.join("data/nginx-vhosts");
    std::fs::create_dir_all(&lock_dir)?;
    let _lock = dokku_core::fs::FileLock::wait(&lock_dir.join(".reload.lock"))?;
    let old = dokku_core::fs::read_optional(&path)?;
    // The same text may still need a reload: a certificate it names was replaced.
    if old.as_deref().unwrap_or("") == text && !files_changed {
        return Ok(());
    }
    let put = |content: Option<&str>| match content {
        Some(content) if !content.is_empty() => {
            dokku_core::fs::write_atomic(&path, content.as_bytes(), 0o644)
        }
        _ => dokku_core::fs::remove_file_if_exists(&path),
    };
    put(Some(text))?;
    let (code, words) = nginx(true)?;
    if code != 0 {
        put(old.as_deref())?;
        bail!("nginx refused the new config of {app}, the old one stays: {words}");
    }
    ctx.trigger("nginx-pre-reload").arg(app).stream()?;
    log::verbose("Reloading nginx");
    let (code, words) = nginx(false)?;
    if code != 0 {
        if not_running(&words) {
            log::verbose("nginx is not running: it takes the new config when it starts");
        } else {
            log::warn(&format!("nginx did not reload: {words}"));
        }
    }
    Ok(())
}

/// Whether `nginx -s reload` failed only because no nginx runs: its pid file is missing,
/// empty (`nginx -t` leaves one) or names a process that is gone.
fn not_running(words: &str) -> bool {
    words.contains("No such process")
        || words.contains("invalid PID number \"\"")
        || (words.contains("open() \"") && words.contains(".pid"))
}

/// The app's config built again and swapped in (or dropped when the proxy does not route
/// to it).
fn rebuild(ctx: &Ctx, args: &[String]) -> Result<()> {
    rebuild_app(ctx, args, false)
}

/// `post-certs-update|remove APP`: as [`rebuild`], and nginx reloads even when the text is
/// the same, to load the new certificate.
fn rebuild_for_certs(ctx: &Ctx, args: &[String]) -> Result<()> {
    rebuild_app(ctx, args, true)
}

fn rebuild_app(ctx: &Ctx, args: &[String], files_changed: bool) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    // An app being destroyed (or a name that is none) has no config to build.
    if dokku_core::app::verify(&ctx.roots, app).is_err() {
        return Ok(());
    }
    if !routes(ctx, app)? {
        return swap(ctx, app, "", files_changed);
    }
    let site = site(ctx, app)?;
    let text = config::render(&site);
    if !text.is_empty() {
        log::info1(&format!(
            "Configuring {}...",
            site.domains.first().unwrap_or(&site.app)
        ));
    }
    swap(ctx, app, &text, files_changed)
}

/// `proxy-clear-config APP` / `proxy-disable APP`: the app's config goes.
fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    swap(ctx, app, "", false)
}

fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    delete_settings(ctx, args)?;
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    // The app's directory is still there: an app that had a site loses it (and nginx
    // reloads); one that never had one leaves nginx alone.
    swap(ctx, app, "", false)
}

fn show_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("nginx:show-config", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    match dokku_core::fs::read_optional(&conf_path(ctx, app.as_str()))? {
        Some(text) => log::raw(text.as_bytes()),
        None => bail!("{app} has no nginx config"),
    }
    Ok(())
}

fn validate_config(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("nginx:validate-config", args)?;
    let (code, words) = nginx(true)?;
    if code != 0 {
        bail!("nginx: {words}");
    }
    log::info1("nginx accepts the configuration");
    Ok(())
}

dokku_core::settings_handlers!(SETTINGS);

#[cfg(test)]
mod tests {
    use super::not_running;

    #[test]
    fn a_reload_without_a_running_nginx_is_told_apart_from_a_failure() {
        assert!(not_running(
            "[alert] 17730#17730: kill(8025, 1) failed (3: No such process)"
        ));
        assert!(not_running(
            "[error] open() \"/run/nginx.pid\" failed (2: No such file or directory)"
        ));
        assert!(not_running(
            "[error] invalid PID number \"\" in \"/tmp/h/nginx.pid\""
        ));
        assert!(!not_running(
            "[emerg] unknown directive \"bogus\" in /home/dokku/a/nginx.conf:3"
        ));
    }
}
