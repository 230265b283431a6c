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
pub mod control;
pub mod installed;
pub mod policy;
mod template;

use anyhow::{Context, Result, bail};
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
            key: "bind-address-ipv6",
            scope: Scope::AppOrGlobal,
            default: "::",
            validate: ipv6,
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
            key: "hsts-max-age",
            scope: Scope::AppOrGlobal,
            default: "15724800",
            validate: dokku_core::settings::seconds::<9_999_999_999>,
        },
        Setting {
            key: "hsts-preload",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "proxy-read-timeout",
            scope: Scope::AppOrGlobal,
            default: "60s",
            validate: duration,
        },
        Setting {
            key: "nginx-conf-sigil-path",
            scope: Scope::AppOrGlobal,
            default: "nginx.conf.sigil",
            validate: dokku_core::settings::relative_path,
        },
        Setting {
            key: "disable-custom-config",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: dokku_core::settings::boolean,
        },
        directive_setting("access-log-format", ""),
        directive_setting("client-body-timeout", "60s"),
        directive_setting("client-header-timeout", "60s"),
        directive_setting("keepalive-timeout", "75s"),
        directive_setting("lingering-timeout", "5s"),
        directive_setting("proxy-buffer-size", "4k"),
        directive_setting("proxy-buffering", "on"),
        directive_setting("proxy-buffers", "8 4k"),
        directive_setting("proxy-busy-buffers-size", "8k"),
        directive_setting("proxy-connect-timeout", "60s"),
        directive_setting("proxy-keepalive", ""),
        directive_setting("proxy-send-timeout", "60s"),
        directive_setting("send-timeout", "60s"),
        directive_setting("underscore-in-headers", "off"),
        directive_setting("x-forwarded-for-value", "$remote_addr"),
        directive_setting("x-forwarded-port-value", "$server_port"),
        directive_setting("x-forwarded-proto-value", "$scheme"),
        directive_setting("x-forwarded-ssl", ""),
    ],
};

/// Settings that are nginx directives' values, with the variable an app's template reads
/// each as. Their defaults are Dokku's; the built-in config writes a directive only when
/// its setting differs from the default (nginx's own default is the same or close), except
/// the `X-Forwarded-*` headers, which it always sends.
const DIRECTIVES: &[(&str, &str, Place)] = &[
    ("access-log-format", "NGINX_ACCESS_LOG_FORMAT", Place::Own),
    ("client-body-timeout", "CLIENT_BODY_TIMEOUT", Place::Server),
    (
        "client-header-timeout",
        "CLIENT_HEADER_TIMEOUT",
        Place::Server,
    ),
    ("keepalive-timeout", "KEEPALIVE_TIMEOUT", Place::Server),
    ("lingering-timeout", "LINGERING_TIMEOUT", Place::Server),
    ("proxy-buffer-size", "PROXY_BUFFER_SIZE", Place::Proxy),
    ("proxy-buffering", "PROXY_BUFFERING", Place::Proxy),
    ("proxy-buffers", "PROXY_BUFFERS", Place::Proxy),
    (
        "proxy-busy-buffers-size",
        "PROXY_BUSY_BUFFERS_SIZE",
        Place::Proxy,
    ),
    (
        "proxy-connect-timeout",
        "PROXY_CONNECT_TIMEOUT",
        Place::Proxy,
    ),
    ("proxy-keepalive", "PROXY_KEEPALIVE", Place::Own),
    ("proxy-send-timeout", "PROXY_SEND_TIMEOUT", Place::Proxy),
    ("send-timeout", "SEND_TIMEOUT", Place::Server),
    (
        "underscore-in-headers",
        "NGINX_UNDERSCORE_IN_HEADERS",
        Place::Server,
    ),
    ("x-forwarded-for-value", "PROXY_X_FORWARDED_FOR", Place::Own),
    (
        "x-forwarded-port-value",
        "PROXY_X_FORWARDED_PORT",
        Place::Own,
    ),
    (
        "x-forwarded-proto-value",
        "PROXY_X_FORWARDED_PROTO",
        Place::Own,
    ),
    ("x-forwarded-ssl", "PROXY_X_FORWARDED_SSL", Place::Own),
];

/// Where the built-in config writes a directive setting.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    /// In each server block, when set away from its default.
    Server,
    /// In each proxied location, when set away from its default.
    Proxy,
    /// A line of its own making (a header, the upstream's keepalive, the log format).
    Own,
}

const fn directive_setting(key: &'static str, default: &'static str) -> Setting {
    Setting {
        key,
        scope: Scope::AppOrGlobal,
        default,
        validate: nginx_value,
    }
}

/// A value nginx takes as one or a few words: no quotes, braces, semicolons or newlines.
fn nginx_value(value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "$_.:/- ".contains(c));
    if !ok {
        bail!("Invalid value {value:?}: nginx words only (no quotes, braces or semicolons)");
    }
    Ok(())
}

pub const PLUGIN: Plugin = Plugin {
    name: "nginx-vhosts",
    description: "Manage the nginx proxy of an app",
    commands: &[
        Command {
            name: "access-logs",
            args: "<app> [-t|--tail] [-n|--num <lines>]",
            help: "Show the nginx access log of an app",
            run: access_logs,
        },
        Command {
            name: "error-logs",
            args: "<app> [-t|--tail] [-n|--num <lines>]",
            help: "Show the nginx error log of an app",
            run: error_logs,
        },
        Command {
            name: "show-config",
            args: "<app>",
            help: "Display the app's nginx config",
            run: show_config,
        },
        Command {
            name: "start",
            args: "",
            help: "Start nginx (a running one reloads its configuration)",
            run: start,
        },
        Command {
            name: "stop",
            args: "",
            help: "Stop nginx",
            run: stop,
        },
        Command {
            name: "validate-config",
            args: "[<app>] [--clean]",
            help: "Check the nginx configuration; --clean removes an app config nginx refuses",
            run: validate_config,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "core-post-deploy",
            run: rebuild,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: keep_template,
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
            name: "post-release-builder",
            run: adopt_template,
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
    settings: Some(&SETTINGS),
    aliases: &["nginx"],
    ..Plugin::DEFAULTS
};

/// Words nginx takes as they are: no spaces, quotes, braces or semicolons.
fn plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
}

/// `off`, `/dev/stdout`, `/dev/stderr`, or a file directly in nginx's log directory:
/// root's nginx creates it.
fn log_path(value: &str) -> Result<()> {
    let dir = log_dir();
    if !(policy::is_output(value) || policy::log_file_allowed(&dir, value)) {
        bail!(
            "Invalid log path {value:?}: a file directly in {} (nginx's log directory), /dev/stdout, /dev/stderr or off",
            dir.display()
        );
    }
    Ok(())
}

fn ipv4(value: &str) -> Result<()> {
    if value.parse::<std::net::Ipv4Addr>().is_err() {
        bail!("Invalid IPv4 address {value:?}");
    }
    Ok(())
}

fn ipv6(value: &str) -> Result<()> {
    if value.parse::<std::net::Ipv6Addr>().is_err() {
        bail!("Invalid IPv6 address {value:?}");
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
    let scheduler = dokku_core::ask::scheduler(ctx, app)?;
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
    Ok(config::Site {
        app: app.to_string(),
        mappings,
        domains,
        web_ips,
        bind_address: setting("bind-address-ipv4")?,
        client_max_body_size: setting("client-max-body-size")?,
        proxy_read_timeout: setting("proxy-read-timeout")?,
        access_log: log_file(ctx, app, "access")?,
        error_log: log_file(ctx, app, "error")?,
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
        hsts_preload: setting("hsts-preload")? == "true",
        hsts_max_age: setting("hsts-max-age")?,
        extra_lines: ctx.trigger("nginx-config").arg(app).output_lines()?,
        server_directives: changed_directives(ctx, app, Place::Server)?,
        proxy_directives: changed_directives(ctx, app, Place::Proxy)?,
        forwarded: [
            setting("x-forwarded-for-value")?,
            setting("x-forwarded-port-value")?,
            setting("x-forwarded-proto-value")?,
        ],
        forwarded_ssl: setting("x-forwarded-ssl")?,
        access_log_format: setting("access-log-format")?,
        keepalive: setting("proxy-keepalive")?,
    })
}

/// `name value;` for each directive setting of `place` whose value differs from its
/// default (the directive is the key with underscores; `underscore-in-headers` is nginx's
/// `underscores_in_headers`).
fn changed_directives(ctx: &Ctx, app: &str, place: Place) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let keys = DIRECTIVES.iter().filter(|(_, _, p)| *p == place);
    for (key, _, _) in keys {
        let value = SETTINGS.computed(ctx, app, key)?;
        let default = SETTINGS
            .table
            .iter()
            .find(|s| s.key == *key)
            .map_or("", |s| s.default);
        if value != default {
            let name = match *key {
                "underscore-in-headers" => "underscores_in_headers".to_string(),
                key => key.replace('-', "_"),
            };
            lines.push(format!("{name} {value};"));
        }
    }
    Ok(lines)
}

/// What nginx is asked to do.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    Test,
    Reload,
    Start,
    Stop,
}

/// nginx doing `action`: directly as root (a host without a dokku user; the
/// configuration is `DOKKU_NGINX_CONF` from root's own environment, else the system's),
/// else through the root helper. The answer is the exit code (a reload's and a stop's as
/// [`control`] reads them) and nginx's words.
fn nginx(action: Action) -> Result<(i32, String)> {
    let out = if dokku_core::privilege::is_root() {
        let conf = dokku_core::env::var("DOKKU_NGINX_CONF")
            .unwrap_or_else(|| "/etc/nginx/nginx.conf".into());
        let pid_file = control::pid_file(std::path::Path::new(&conf));
        let bin =
            dokku_core::cmd::find_program("nginx").unwrap_or_else(|| "/usr/sbin/nginx".into());
        let args: &[&str] = match action {
            Action::Test => &["-t", "-q"],
            Action::Reload => &["-s", "reload"],
            Action::Start => &[],
            Action::Stop => &["-s", "quit"],
        };
        let cmd = Cmd::new(bin).args(args).args(["-c", &conf]);
        match action {
            Action::Reload => control::reload_and_wait(&cmd, &pid_file)?,
            Action::Stop => control::stop(&cmd, &pid_file)?,
            Action::Test | Action::Start => cmd.output_unchecked()?,
        }
    } else {
        dokku_core::privilege::root_helper(match action {
            Action::Test => "nginx-test",
            Action::Reload => "nginx-reload",
            Action::Start => "nginx-start",
            Action::Stop => "nginx-stop",
        })
        .output_unchecked()?
    };
    Ok((out.code, out.words().trim().to_string()))
}

/// Reloads nginx and returns once the new config serves; one that is not running is left
/// to take the config when it starts.
fn reload() -> Result<()> {
    log::verbose("Reloading nginx");
    match nginx(Action::Reload)? {
        (0, _) => {}
        (control::NOT_RUNNING, _) => {
            log::verbose("nginx is not running: it takes the new config when it starts");
        }
        (control::NOT_TAKEN, _) => log::warn(&format!(
            "nginx was told to reload but its old workers still served after {} s",
            control::RELOAD_LIMIT.as_secs()
        )),
        (_, words) => log::warn(&format!("nginx did not reload: {words}")),
    }
    Ok(())
}

/// Where root's copies of this host's app configs are, and its nginx log directory.
fn root_copies() -> installed::Installed {
    // The root helper always serves the system's nginx; root itself, the configured one.
    let conf = match dokku_core::privilege::is_root() {
        true => dokku_core::env::var("DOKKU_NGINX_CONF"),
        false => None,
    }
    .unwrap_or_else(|| SYSTEM_NGINX_CONF.into());
    installed::Installed {
        dir: installed::dir_for(std::path::Path::new(&conf)),
        log_dir: log_dir(),
    }
}

/// The system's nginx configuration, which the root helper always uses.
pub const SYSTEM_NGINX_CONF: &str = "/etc/nginx/nginx.conf";

/// nginx's log directory (`DOKKU_NGINX_LOG_DIR`, else Debian's).
fn log_dir() -> std::path::PathBuf {
    dokku_core::env::var("DOKKU_NGINX_LOG_DIR")
        .unwrap_or_else(|| "/var/log/nginx".into())
        .into()
}

/// Root takes the app's config from the dokku user's tree into its own copy, if root's
/// rules and then nginx accept it (keeping it when `keep` says so). The answer is nginx's
/// verdict, or a refusal's words with a non-zero code.
fn root_apply(ctx: &Ctx, app: &str, keep: installed::Keep) -> Result<(i32, String)> {
    if dokku_core::privilege::is_root() {
        return Ok(root_copies()
            .apply(&ctx.roots.dokku_root, app, None, keep, &|| {
                nginx(Action::Test)
            })
            .unwrap_or_else(|err| (1, format!("{err:#}"))));
    }
    let action = match keep {
        installed::Keep::Yes => "nginx-install",
        installed::Keep::No => "nginx-check",
    };
    let out = dokku_core::privilege::root_helper(action)
        .arg(&ctx.roots.dokku_root)
        .arg(app)
        .output_unchecked()?;
    Ok((out.code, out.words().trim().to_string()))
}

/// nginx's verdict on the whole configuration without the app's copy.
fn test_without(app: &str) -> Result<(i32, String)> {
    if dokku_core::privilege::is_root() {
        return root_copies().test_without(app, &|| nginx(Action::Test));
    }
    let out = dokku_core::privilege::root_helper("nginx-test-without")
        .arg(app)
        .output_unchecked()?;
    Ok((out.code, out.words().trim().to_string()))
}

/// Whether root holds a copy of the app's config.
fn has_root_copy(app: &str) -> bool {
    root_copies().conf_path(app).exists()
}

/// Puts `text` in place of the app's config (removes it when empty) only if nginx accepts
/// the whole configuration with it, then reloads nginx; otherwise the old file is back
/// and the refusal is the error. Unchanged text is left alone unless a file it names
/// changed (`files_changed`) or root has no copy of it yet.
fn swap(ctx: &Ctx, app: &str, text: &str, files_changed: bool) -> Result<()> {
    let lock = reload_lock(ctx)?;
    swap_locked(ctx, app, text, files_changed, &lock)
}

/// [`swap`] under the reload lock the caller holds.
fn swap_locked(
    ctx: &Ctx,
    app: &str,
    text: &str,
    files_changed: bool,
    _lock: &dokku_core::fs::FileLock,
) -> Result<()> {
    let old = dokku_core::fs::read_optional(&conf_path(ctx, app))?;
    let unchanged = old.as_deref().unwrap_or("") == text;
    if unchanged && !files_changed && has_root_copy(app) != text.is_empty() {
        return Ok(());
    }
    try_candidate(ctx, app, text, old.as_deref(), installed::Keep::Yes)?;
    ctx.trigger("nginx-pre-reload").arg(app).stream()?;
    reload()
}

/// The host-wide lock under which an app's config file may be a candidate.
fn reload_lock(ctx: &Ctx) -> Result<dokku_core::fs::FileLock> {
    let lock_dir = ctx.roots.lib_root.join("data/nginx-vhosts");
    std::fs::create_dir_all(&lock_dir)?;
    dokku_core::fs::FileLock::wait(&lock_dir.join(".reload.lock"))
}

/// Puts `text` in place of the app's config (`old`, or none) and has root take it and
/// nginx check the whole configuration; when either refuses, `old` is back and the
/// refusal is the error. With [`installed::Keep::No`] the old config is back either way.
fn try_candidate(
    ctx: &Ctx,
    app: &str,
    text: &str,
    old: Option<&str>,
    keep: installed::Keep,
) -> Result<()> {
    let path = conf_path(ctx, app);
    let put = |content: Option<&str>| match content {
        Some(content) if !content.is_empty() => {
            dokku_core::fs::write_atomic(&path, content.as_bytes(), 0o644)
        }
        _ => dokku_core::fs::remove_file_if_exists(&path),
    };
    put(Some(text))?;
    let (code, words) = root_apply(ctx, app, keep)?;
    if code != 0 || keep == installed::Keep::No {
        put(old)?;
    }
    if code != 0 {
        let culprit = match broken_app(&words) {
            Some(other) if other != app => format!(
                " (the config of {other} is what nginx refuses: fix it, or nginx:validate-config --clean removes it)"
            ),
            _ => String::new(),
        };
        bail!("nginx refused the new config of {app}, the old one stays{culprit}: {words}");
    }
    Ok(())
}

/// The app whose file nginx names in its error (`... in <root's copies>/apps/<app>.conf:N`).
fn broken_app(words: &str) -> Option<String> {
    let (_, rest) = words.rsplit_once(" in /")?;
    let path = std::path::PathBuf::from(format!("/{}", rest.split(':').next()?));
    if path.parent()?.file_name()? != "apps" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_string())
}

/// Checks a config nginx would get without keeping it.
fn check_only(ctx: &Ctx, app: &str, text: &str) -> Result<()> {
    let _lock = reload_lock(ctx)?;
    let old = dokku_core::fs::read_optional(&conf_path(ctx, app))?;
    try_candidate(ctx, app, text, old.as_deref(), installed::Keep::No)
}

/// The app's config as the app may have it: `text` judged by the app's rules, its
/// snippets (`nginx.conf.d/*.conf`) in place of their include, written out as judged.
fn vetted(ctx: &Ctx, site: &config::Site, text: &str) -> Result<String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let app = site.app.as_str();
    let app_dir = ctx.roots.app_dir(app);
    let mut snippets = Vec::new();
    let snippet_dir = app_dir.join("nginx.conf.d");
    if let Ok(entries) = std::fs::read_dir(&snippet_dir) {
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".conf") && !name.starts_with('.'))
            .collect();
        names.sort();
        for name in names {
            let path = snippet_dir.join(&name);
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                snippets.push((name, text));
            }
        }
    }
    let data = ctx.roots.lib_root.join("data");
    let mut static_dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&data)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.path().join(app)))
                .collect()
        })
        .unwrap_or_default();
    static_dirs.push(data.join(FILES).join("dokku-errors"));
    let others: std::cell::OnceCell<std::collections::BTreeSet<String>> =
        std::cell::OnceCell::new();
    let ctx_copy = ctx.clone();
    let me = app.to_string();
    let owned_elsewhere = move |name: &str| {
        others
            .get_or_init(|| other_apps_domains(&ctx_copy, &me))
            .contains(name)
    };
    let scope = policy::AppScope {
        ports: config::served(site)
            .iter()
            .map(|(_, host, _)| *host)
            .collect(),
        domains: site.domains.clone(),
        owned_elsewhere: Box::new(owned_elsewhere),
        static_dirs,
        log_files: vec![site.access_log.clone(), site.error_log.clone()],
    };
    let mut same = |path: &std::path::Path| Ok(path.to_path_buf());
    let mut rules = policy::Rules::for_app(app, app_dir, log_dir(), scope, snippets, &mut same);
    policy::vet(text, &mut rules)
        .map_err(|err| anyhow::anyhow!("the nginx config of {app} is refused: {err}"))
}

/// Every other app's domains, lowercased.
fn other_apps_domains(ctx: &Ctx, app: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for other in dokku_core::app::list(&ctx.roots).unwrap_or_default() {
        if other.as_str() == app {
            continue;
        }
        let domains = ctx
            .trigger("domains-list")
            .arg(other.as_str())
            .output_lines()
            .unwrap_or_default();
        names.extend(domains.into_iter().map(|d| d.to_ascii_lowercase()));
    }
    names
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
    // What the config is made from is read under the lock too: a rebuild that read the
    // app's containers before another one swapped in a newer config never replaces it.
    let lock = reload_lock(ctx)?;
    if !routes(ctx, app)? {
        return swap_locked(ctx, app, "", files_changed, &lock);
    }
    let site = site(ctx, app)?;
    let template = template_source(ctx, app)?;
    let text = render_site(ctx, &site, template.as_ref())?;
    if !text.is_empty() {
        let source = template.as_ref().map_or("built-in", |(_, source)| source);
        log::info1(&format!(
            "Configuring {}...(using {source} template)",
            site.domains.first().unwrap_or(&site.app)
        ));
    }
    swap_locked(ctx, app, &text, files_changed, &lock)
}

/// The app's config text: from a template when it has one, else built in, judged by the
/// app's rules ([`vetted`]); nothing while no web container runs.
fn render_site(
    ctx: &Ctx,
    site: &config::Site,
    template: Option<&(String, &str)>,
) -> Result<String> {
    let text = match template {
        _ if site.web_ips.is_empty() => String::new(),
        Some((text, _)) => template::render(
            text,
            &template_vars(ctx, site)?,
            &dokku_core::ask::app_config(ctx, &site.app)?,
        )?,
        None => config::render(site),
    };
    vetted(ctx, site, &text)
}

/// Where the app's template files live (`data/nginx-vhosts/<app>/`).
fn files_dir(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(FILES, app)
}

const FILES: &str = "nginx-vhosts";
const TEMPLATE: &str = "nginx.conf.sigil";

/// The app's template and whose it is: a plugin's (`nginx-app-template-source APP
/// app-config`), else the one its repository shipped (unless `disable-custom-config`);
/// `None` for the built-in config.
fn template_source(ctx: &Ctx, app: &str) -> Result<Option<(String, &'static str)>> {
    let from_plugin = ctx
        .trigger("nginx-app-template-source")
        .args([app, "app-config"])
        .output_string()?;
    let from_plugin = from_plugin.trim();
    if !from_plugin.is_empty() {
        let text = std::fs::read_to_string(from_plugin)
            .with_context(|| format!("reading the template {from_plugin}"))?;
        return Ok(Some((text, "plugin-supplied")));
    }
    if SETTINGS.computed(ctx, app, "disable-custom-config")? == "true" {
        return Ok(None);
    }
    Ok(
        dokku_core::fs::read_optional(&files_dir(ctx, app).join(TEMPLATE))?
            .map(|text| (text, "app-supplied")),
    )
}

/// The variables Dokku gives an app's template.
fn template_vars(
    ctx: &Ctx,
    site: &config::Site,
) -> Result<std::collections::BTreeMap<String, String>> {
    let app = site.app.as_str();
    let mappings = config::served(site);
    let join = |items: Vec<String>| items.join(" ");
    let first_port = |scheme: &str| {
        mappings
            .iter()
            .find(|(s, _, _)| s == scheme)
            .map_or(String::new(), |(_, host, _)| host.to_string())
    };
    let mut upstream_ports: Vec<u16> = mappings.iter().map(|(_, _, c)| *c).collect();
    upstream_ports.sort_unstable();
    upstream_ports.dedup();
    let listen_port = upstream_ports.first().copied().unwrap_or(5000);
    let listeners = join(
        site.web_ips
            .iter()
            .map(|ip| format!("{ip}:{listen_port}"))
            .collect(),
    );
    let tls = site.tls.is_some();
    let names = join(site.domains.clone());
    let mut vars: std::collections::BTreeMap<String, String> = [
        ("APP", app.to_string()),
        ("DOKKU_ROOT", ctx.roots.dokku_root.display().to_string()),
        ("DOKKU_LIB_ROOT", ctx.roots.lib_root.display().to_string()),
        ("NOSSL_SERVER_NAME", names.clone()),
        ("SSL_SERVER_NAME", if tls { names } else { String::new() }),
        ("SSL_INUSE", if tls { "true".into() } else { String::new() }),
        (
            "APP_SSL_PATH",
            ctx.roots.app_dir(app).join("tls").display().to_string(),
        ),
        (
            "PROXY_PORT_MAP",
            join(
                mappings
                    .iter()
                    .map(|(s, h, c)| format!("{s}:{h}:{c}"))
                    .collect(),
            ),
        ),
        (
            "PROXY_UPSTREAM_PORTS",
            join(upstream_ports.iter().map(u16::to_string).collect()),
        ),
        ("PROXY_PORT", first_port("http")),
        ("PROXY_SSL_PORT", first_port("https")),
        ("NGINX_PORT", first_port("http")),
        ("NGINX_SSL_PORT", first_port("https")),
        ("DOKKU_APP_WEB_LISTENERS", listeners.clone()),
        ("DOKKU_APP_LISTENERS", listeners),
        ("HTTP2_SUPPORTED", "true".into()),
        // `http2 on;` needs nginx 1.25.1; Debian 12 ships 1.22.
        ("HTTP2_DIRECTIVE_SUPPORTED", "false".into()),
        ("HTTP2_PUSH_SUPPORTED", "false".into()),
        ("GRPC_SUPPORTED", "true".into()),
        ("TLS13_SUPPORTED", "true".into()),
        ("SPDY_SUPPORTED", String::new()),
        ("NGINX_ACCESS_LOG_PATH", site.access_log.clone()),
        ("NGINX_ERROR_LOG_PATH", site.error_log.clone()),
        ("NGINX_BIND_ADDRESS_IP4", site.bind_address.clone()),
        (
            "NGINX_BIND_ADDRESS_IP6",
            SETTINGS.computed(ctx, app, "bind-address-ipv6")?,
        ),
        (
            "CLIENT_MAX_BODY_SIZE",
            if site.client_max_body_size.is_empty() {
                "1m".into()
            } else {
                site.client_max_body_size.clone()
            },
        ),
        ("PROXY_READ_TIMEOUT", site.proxy_read_timeout.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (key, var, _) in DIRECTIVES {
        vars.insert(var.to_string(), SETTINGS.computed(ctx, app, key)?);
    }
    Ok(vars)
}

/// `proxy-clear-config APP` / `proxy-disable APP`: the app's config goes.
fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    swap(ctx, app, "", false)
}

/// `core-post-extract APP DIR REV`: the repository's template (`nginx-conf-sigil-path`)
/// is kept with the build; one that does not parse fails the build.
fn keep_template(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        FILES,
        |app| SETTINGS.computed(ctx, app, "nginx-conf-sigil-path"),
        TEMPLATE,
        template::check,
    )
}

/// `post-release-builder BUILDER APP IMAGE`: before the release replaces anything, the
/// build's template is rendered for the app as it runs now and nginx checks the result;
/// a config nginx refuses fails the deploy while the old release keeps serving. Then the
/// build's template (or none) becomes the app's.
fn adopt_template(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    let Some(build) = dokku_core::build_files::BuildFiles::current(&ctx.roots, FILES, app) else {
        return Ok(());
    };
    if let Some(text) = build.get(TEMPLATE)?
        && routes(ctx, app)?
        && SETTINGS.computed(ctx, app, "disable-custom-config")? != "true"
    {
        let site = site(ctx, app)?;
        let rendered = render_site(ctx, &site, Some(&(text, "app-supplied")))?;
        if !rendered.is_empty() {
            check_only(ctx, app, &rendered)?;
        }
    }
    dokku_core::build_files::adopt_build_file(&ctx.roots, FILES, app, TEMPLATE)?;
    Ok(())
}

fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    dokku_core::fs::remove_dir_all_if_exists(&files_dir(ctx, app))?;
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

#[derive(clap::Parser)]
struct ValidateConfig {
    /// Only this app's config is suspected.
    app: Option<String>,
    /// Remove the config of an app that keeps nginx from accepting the configuration.
    #[arg(long)]
    clean: bool,
}

/// `nginx:validate-config [APP] [--clean]`: `nginx -t` on the whole configuration; when
/// nginx refuses it, which app's config (of APP, or of every app) is to blame, and with
/// `--clean` that config is removed and nginx reloads.
fn validate_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: ValidateConfig = dokku_core::entry::parse("nginx:validate-config", args)?;
    let apps = match &cmd.app {
        Some(app) => vec![dokku_core::app::verify(&ctx.roots, app)?],
        None => dokku_core::app::list(&ctx.roots)?,
    };
    let _lock = reload_lock(ctx)?;
    let (code, words) = nginx(Action::Test)?;
    if code == 0 {
        log::info1("nginx accepts the configuration");
        return Ok(());
    }
    for app in &apps {
        if !has_root_copy(app.as_str()) {
            continue;
        }
        let (without, _) = test_without(app.as_str())?;
        if without != 0 {
            continue;
        }
        if !cmd.clean {
            bail!("nginx refuses the config of {app} (--clean removes it): {words}");
        }
        dokku_core::fs::remove_file_if_exists(&conf_path(ctx, app.as_str()))?;
        root_apply(ctx, app.as_str(), installed::Keep::Yes)?;
        log::info1(&format!("Removed the config of {app}, which nginx refused"));
        return reload();
    }
    bail!("nginx: {words}");
}

#[derive(clap::Parser)]
struct Logs {
    app: String,
    /// Follow the log as it grows.
    #[arg(short, long)]
    tail: bool,
    /// How many lines to show.
    #[arg(short = 'n', long, default_value_t = 100)]
    num: u32,
}

fn access_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    show_log(ctx, args, "nginx:access-logs", "access")
}

fn error_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    show_log(ctx, args, "nginx:error-logs", "error")
}

/// The end of the app's access or error log, followed with `--tail`, by `tail` itself.
fn show_log(ctx: &Ctx, args: &[String], name: &str, kind: &str) -> Result<()> {
    let cmd: Logs = dokku_core::entry::parse(name, args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let path = log_file(ctx, app.as_str(), kind)?;
    if path == "off" {
        bail!("The {kind} log of {app} is off");
    }
    std::fs::File::open(&path).with_context(|| format!("reading {path}"))?;
    let tail = dokku_core::cmd::find_program("tail").context("tail is not installed")?;
    let mut cmd_line = Cmd::new(tail).args(["-n", &cmd.num.to_string()]);
    if cmd.tail {
        cmd_line = cmd_line.arg("-F");
    }
    cmd_line.arg(&path).exec_replace()?;
    Ok(())
}

/// The path of the app's `kind` (`access` or `error`) log.
fn log_file(ctx: &Ctx, app: &str, kind: &str) -> Result<String> {
    let set = SETTINGS.computed(ctx, app, &format!("{kind}-log-path"))?;
    if !set.is_empty() {
        return Ok(set);
    }
    let dir =
        dokku_core::env::var("DOKKU_NGINX_LOG_DIR").unwrap_or_else(|| "/var/log/nginx".into());
    Ok(format!("{dir}/{app}-{kind}.log"))
}

/// `nginx:start`: nginx runs with the current configuration (a running one reloads).
fn start(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("nginx:start", args)?;
    match nginx(Action::Reload)? {
        (0, _) => {
            log::info1("nginx is running; it reloaded its configuration");
            return Ok(());
        }
        (control::NOT_RUNNING, _) => {}
        (_, words) => bail!("nginx: {words}"),
    }
    log::info1("Starting nginx");
    let (code, words) = nginx(Action::Start)?;
    if code != 0 {
        bail!("nginx did not start: {words}");
    }
    Ok(())
}

/// `nginx:stop`: nginx finishes the requests it has and exits.
fn stop(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("nginx:stop", args)?;
    log::info1("Stopping nginx");
    match nginx(Action::Stop)? {
        (0 | control::NOT_RUNNING, _) => Ok(()),
        (_, words) => bail!("nginx: {words}"),
    }
}
