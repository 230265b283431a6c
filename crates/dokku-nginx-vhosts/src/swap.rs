//! Putting an app's config in place: under one host-wide lock the candidate is judged,
//! installed through the root helper, checked with `nginx -t` and only then reloaded;
//! otherwise the config that served stays.

use anyhow::{Context, Result, bail};
use dokku_core::cmd::Cmd;
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::config;
use crate::control;
use crate::installed;
use crate::policy;
use crate::site::{FILES, conf_path};

/// What nginx is asked to do.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Action {
    Test,
    Reload,
    Start,
    Stop,
}

/// nginx doing `action`: directly as root (a host without a dokku user; the
/// configuration is `DOKKU_NGINX_CONF` from root's own environment, else the system's),
/// else through the root helper. The answer is the exit code (a reload's and a stop's as
/// [`control`] reads them) and nginx's words.
pub(crate) fn nginx(action: Action) -> Result<(i32, String)> {
    let out = if dokku_core::privilege::is_root() {
        let conf = served_conf();
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
pub(crate) fn reload() -> Result<()> {
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

/// The configuration of the nginx this process's configs serve in: the root helper always
/// serves the system's nginx; root itself, `DOKKU_NGINX_CONF` from its own environment.
pub(crate) fn served_conf() -> String {
    match dokku_core::privilege::is_root() {
        true => dokku_core::env::var("DOKKU_NGINX_CONF"),
        false => None,
    }
    .unwrap_or_else(|| control::SYSTEM_NGINX_CONF.into())
}

/// Where root's copies of this host's app configs are, and its nginx log directory.
pub(crate) fn root_copies() -> installed::Installed {
    let conf = served_conf();
    installed::Installed {
        dir: installed::dir_for(std::path::Path::new(&conf)),
        log_dir: log_dir(),
    }
}

/// nginx's log directory (`DOKKU_NGINX_LOG_DIR`, else Debian's).
pub(crate) fn log_dir() -> std::path::PathBuf {
    dokku_core::env::var("DOKKU_NGINX_LOG_DIR")
        .unwrap_or_else(|| "/var/log/nginx".into())
        .into()
}

/// Root takes the app's config from the dokku user's tree into its own copy, if root's
/// rules and then nginx accept it (keeping it when `keep` says so). The answer is nginx's
/// verdict, or a refusal's words with a non-zero code.
pub(crate) fn root_apply(ctx: &Ctx, app: &str, keep: installed::Keep) -> Result<(i32, String)> {
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
pub(crate) fn test_without(app: &str) -> Result<(i32, String)> {
    if dokku_core::privilege::is_root() {
        return root_copies().test_without(app, &|| nginx(Action::Test));
    }
    let out = dokku_core::privilege::root_helper("nginx-test-without")
        .arg(app)
        .output_unchecked()?;
    Ok((out.code, out.words().trim().to_string()))
}

/// Whether root holds a copy of the app's config.
pub(crate) fn has_root_copy(app: &str) -> bool {
    root_copies().conf_path(app).exists()
}

/// Puts `text` in place of the app's config (removes it when empty) only if nginx accepts
/// the whole configuration with it, then reloads nginx; otherwise the old file is back
/// and the refusal is the error. Unchanged text is left alone unless a file it names
/// changed (`files_changed`) or root has no copy of it yet.
pub(crate) fn swap(ctx: &Ctx, app: &str, text: &str, files_changed: bool) -> Result<()> {
    let lock = reload_lock(ctx)?;
    swap_locked(ctx, app, text, files_changed, &lock)
}

/// [`swap`] under the reload lock the caller holds.
pub(crate) fn swap_locked(
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
pub(crate) fn reload_lock(ctx: &Ctx) -> Result<dokku_core::fs::FileLock> {
    let lock_dir = ctx.roots.lib_root.join("data/nginx-vhosts");
    std::fs::create_dir_all(&lock_dir)?;
    dokku_core::fs::FileLock::wait(&lock_dir.join(".reload.lock"))
}

/// Puts `text` in place of the app's config (`old`, or none) and has root take it and
/// nginx check the whole configuration; when either refuses, `old` is back and the
/// refusal is the error. With [`installed::Keep::No`] the old config is back either way.
pub(crate) fn try_candidate(
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
pub(crate) fn broken_app(words: &str) -> Option<String> {
    let (_, rest) = words.rsplit_once(" in /")?;
    let path = std::path::PathBuf::from(format!("/{}", rest.split(':').next()?));
    if path.parent()?.file_name()? != "apps" {
        return None;
    }
    Some(path.file_stem()?.to_str()?.to_string())
}

/// Checks a config nginx would get without keeping it.
pub(crate) fn check_only(ctx: &Ctx, app: &str, text: &str) -> Result<()> {
    let _lock = reload_lock(ctx)?;
    let old = dokku_core::fs::read_optional(&conf_path(ctx, app))?;
    try_candidate(ctx, app, text, old.as_deref(), installed::Keep::No)
}

/// The app's config as the app may have it: `text` judged by the app's rules, its
/// snippets (`nginx.conf.d/*.conf`) in place of their include, written out as judged.
pub(crate) fn vetted(ctx: &Ctx, site: &config::Site, text: &str) -> Result<String> {
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
pub(crate) fn other_apps_domains(ctx: &Ctx, app: &str) -> std::collections::BTreeSet<String> {
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
