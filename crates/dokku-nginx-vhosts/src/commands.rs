//! The `nginx:*` commands: the app's config and logs, validation, and starting and
//! stopping nginx.

use anyhow::{Context, Result, bail};
use dokku_core::cmd::Cmd;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::control;
use crate::installed::{self};
use crate::site::{conf_path, log_file};
use crate::swap::{
    Action, has_root_copy, nginx, reload, reload_lock, root_apply, test_without, vetted,
};

pub(crate) fn show_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("nginx:show-config", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let proxy = ProxyOf::app(ctx, app.as_str())?;
    if let Some(scheduler) = &proxy.elsewhere {
        return ctx
            .trigger("scheduler-proxy-config")
            .args([scheduler, app.as_str(), &proxy.kind])
            .stream();
    }
    local_config(ctx, app.as_str(), &proxy.kind)
}

/// Where an app's proxy runs: a scheduler other than docker-local (and `null`, which runs
/// nothing) answers for its apps' proxies, as in Dokku, even when that proxy is this
/// host's nginx.
struct ProxyOf {
    kind: String,
    elsewhere: Option<String>,
}

impl ProxyOf {
    fn app(ctx: &Ctx, app: &str) -> Result<ProxyOf> {
        let scheduler = dokku_core::ask::scheduler(ctx, app)?;
        let kind = ctx.trigger("proxy-type").arg(app).output_string()?;
        Ok(ProxyOf {
            kind: kind.trim().to_string(),
            elsewhere: (!matches!(scheduler.as_str(), LOCAL | "null")).then_some(scheduler),
        })
    }
}

fn require_nginx(app: &str, proxy_kind: &str) -> Result<()> {
    if !matches!(proxy_kind, "" | "nginx") {
        bail!("{app} is served by the {proxy_kind} proxy: this command is for apps nginx serves");
    }
    Ok(())
}

/// The app's config as this host's nginx has it.
fn local_config(ctx: &Ctx, app: &str, proxy_kind: &str) -> Result<()> {
    require_nginx(app, proxy_kind)?;
    match dokku_core::fs::read_optional(&conf_path(ctx, app))? {
        Some(text) => log::raw(text.as_bytes()),
        None => bail!("{app} has no nginx config"),
    }
    Ok(())
}

#[derive(clap::Parser)]
pub(crate) struct ValidateConfig {
    /// Only this app's config is suspected.
    app: Option<String>,
    /// Remove the config of an app that keeps nginx from accepting the configuration.
    #[arg(long)]
    clean: bool,
}

/// `nginx:validate-config [APP] [--clean]`: `nginx -t` on the whole configuration; when
/// nginx refuses it, which app's config (of APP, or of every app) is to blame, and with
/// `--clean` that config is removed and nginx reloads.
pub(crate) fn validate_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: ValidateConfig = dokku_core::entry::parse("nginx:validate-config", args)?;
    let apps = match &cmd.app {
        Some(app) => vec![dokku_core::app::verify(&ctx.roots, app)?],
        None => dokku_core::app::list(&ctx.roots)?,
    };
    let _lock = reload_lock(ctx)?;
    // An app's own config that its rules refuse (edited by hand, say) never reached nginx:
    // it is said, or with --clean removed.
    let mut refused = Vec::new();
    for app in &apps {
        let Some(text) = dokku_core::fs::read_optional(&conf_path(ctx, app.as_str()))? else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let site = crate::site::site(ctx, app.as_str())?;
        if let Err(err) = vetted(ctx, &site, &text) {
            refused.push((app, err));
        }
    }
    if let Some((app, err)) = refused.first().filter(|_| !cmd.clean) {
        bail!("The nginx config of {app} is invalid (--clean removes it): {err:#}");
    }
    for (app, _) in &refused {
        dokku_core::fs::remove_file_if_exists(&conf_path(ctx, app.as_str()))?;
        root_apply(ctx, app.as_str(), installed::Keep::Yes)?;
        log::info1(&format!("Removed the invalid nginx config of {app}"));
    }
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

/// `nginx:reload`: nginx checks its whole configuration and, when it accepts it, reloads.
pub(crate) fn reload_command(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: NoArgs = dokku_core::entry::parse("nginx:reload", args)?;
    let _lock = reload_lock(ctx)?;
    let (code, words) = nginx(Action::Test)?;
    if code != 0 {
        bail!("nginx refuses its configuration, nothing reloaded: {words}");
    }
    reload()
}

#[derive(clap::Parser)]
pub(crate) struct NoArgs {}

#[derive(clap::Parser)]
pub(crate) struct Logs {
    app: String,
    /// Follow the log as it grows.
    #[arg(short, long)]
    tail: bool,
    /// How many lines to show.
    #[arg(short = 'n', long, default_value_t = 100)]
    num: u32,
}

pub(crate) fn access_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    show_log(ctx, args, "nginx:access-logs", "access")
}

pub(crate) fn error_logs(ctx: &Ctx, args: &[String]) -> Result<()> {
    show_log(ctx, args, "nginx:error-logs", "error")
}

/// The end of the app's access or error log, followed with `--tail`, by `tail` itself; for
/// an app whose scheduler answers for its proxy, that scheduler's answer.
pub(crate) fn show_log(ctx: &Ctx, args: &[String], name: &str, kind: &str) -> Result<()> {
    let cmd: Logs = dokku_core::entry::parse(name, args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let proxy = ProxyOf::app(ctx, app.as_str())?;
    if let Some(scheduler) = &proxy.elsewhere {
        return ctx
            .trigger("scheduler-proxy-logs")
            .args([scheduler, app.as_str(), &proxy.kind, kind])
            .arg(cmd.tail.to_string())
            .arg(cmd.num.to_string())
            .stream();
    }
    local_log(ctx, app.as_str(), &proxy.kind, kind, cmd.tail, cmd.num)
}

/// The end of the app's `kind` log as this host's nginx writes it.
fn local_log(
    ctx: &Ctx,
    app: &str,
    proxy_kind: &str,
    kind: &str,
    follow: bool,
    num: u32,
) -> Result<()> {
    require_nginx(app, proxy_kind)?;
    let path = log_file(ctx, app, kind)?;
    if path == "off" {
        bail!("The {kind} log of {app} is off");
    }
    std::fs::File::open(&path).with_context(|| format!("reading {path}"))?;
    let tail = dokku_core::cmd::find_program("tail").context("tail is not installed")?;
    let mut cmd_line = Cmd::new(tail).args(["-n", &num.to_string()]);
    if follow {
        cmd_line = cmd_line.arg("-F");
    }
    cmd_line.arg(&path).exec_replace()?;
    Ok(())
}

/// `scheduler-proxy-config docker-local APP PROXY_TYPE`: the app's config in this host's
/// nginx, for a scheduler whose apps this host's nginx serves to hand the question to.
pub(crate) fn proxy_config_here(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app, proxy_kind] = exactly::<3>("scheduler-proxy-config", args)?;
    if scheduler != LOCAL {
        return Ok(());
    }
    local_config(ctx, app, proxy_kind)
}

/// `scheduler-proxy-logs docker-local APP PROXY_TYPE LOG_TYPE TAIL NUM`: the end of the
/// app's log in this host's nginx, as [`proxy_config_here`].
pub(crate) fn proxy_logs_here(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [scheduler, app, proxy_kind, kind, follow, num] =
        exactly::<6>("scheduler-proxy-logs", args)?;
    if scheduler != LOCAL {
        return Ok(());
    }
    if !matches!(kind.as_str(), "access" | "error") {
        bail!("scheduler-proxy-logs: the log type {kind:?} is neither access nor error");
    }
    let num = num
        .parse()
        .with_context(|| format!("scheduler-proxy-logs: the number of lines {num:?}"))?;
    local_log(ctx, app, proxy_kind, kind, follow == "true", num)
}

/// The scheduler whose apps' proxy is this host's, named in the scheduler proxy triggers.
const LOCAL: &str = "docker-local";

/// `nginx:start`: nginx runs with the current configuration (a running one reloads).
pub(crate) fn start(_ctx: &Ctx, args: &[String]) -> Result<()> {
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
pub(crate) fn stop(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("nginx:stop", args)?;
    log::info1("Stopping nginx");
    match nginx(Action::Stop)? {
        (0 | control::NOT_RUNNING, _) => Ok(()),
        (_, words) => bail!("nginx: {words}"),
    }
}
