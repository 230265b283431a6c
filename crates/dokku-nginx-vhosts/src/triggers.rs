//! The triggers that rebuild, clear or remove an app's config when what it is built from
//! changes.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::site::{files_dir, render_site, routes, site, template_source};
use crate::swap::{reload_lock, swap, swap_locked};

/// The app's config built again and swapped in (or dropped when the proxy does not route
/// to it).
pub(crate) fn rebuild(ctx: &Ctx, args: &[String]) -> Result<()> {
    rebuild_app(ctx, args, false)
}

/// `scheduler-post-deploy-process APP TYPE`: once the app's web processes are deployed, its
/// config is built again, as Dokku's nginx plugin does, so that a scheduler putting a
/// release in place one process type at a time has nginx send the new web processes
/// traffic before the other types are up. The schedulers here put a release's processes
/// in place together once every one passed its checks: the config built then still names
/// the processes serving, and nginx is left as it is.
pub(crate) fn early_rebuild(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(app), Some(kind)) = (args.first(), args.get(1)) else {
        bail!("scheduler-post-deploy-process: expected APP PROC_TYPE");
    };
    if kind != "web" || !routes(ctx, app)? {
        return Ok(());
    }
    log::info2("Triggering early nginx proxy rebuild");
    rebuild_app(ctx, std::slice::from_ref(app), false)
}

/// `post-certs-update|remove APP`: as [`rebuild`], and nginx reloads even when the text is
/// the same, to load the new certificate.
pub(crate) fn rebuild_for_certs(ctx: &Ctx, args: &[String]) -> Result<()> {
    rebuild_app(ctx, args, true)
}

pub(crate) fn rebuild_app(ctx: &Ctx, args: &[String], files_changed: bool) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    // An app being destroyed (or a name that is none) has no config to build: its
    // existence lock, held while the config is written, waits out a destroy under way
    // (whose containers stopping ask for a rebuild), and then the app is gone.
    let Ok(_present) = dokku_core::app::lock_existing(&ctx.roots, app) else {
        return Ok(());
    };
    // What the config is made from is read under the lock too: a rebuild that read the
    // app's containers before another one swapped in a newer config never replaces it.
    let lock = reload_lock(ctx)?;
    if !routes(ctx, app)? {
        return swap_locked(ctx, app, "", files_changed, &lock);
    }
    let site = site(ctx, app)?;
    let hsts_changed = keep_hsts(&site)?;
    let template = template_source(ctx, app)?;
    if let Some((text, source)) = &template {
        if *source == "app-supplied" && !site.web.is_empty() {
            log::info1("Overriding default nginx.conf with detected nginx.conf.sigil");
        }
        for warning in crate::template::deprecations(text) {
            log::warn(&warning);
        }
    }
    let text = render_site(ctx, &site, template.as_ref())?;
    if !text.is_empty() && !site.web.is_empty() {
        let source = template.as_ref().map_or("built-in", |(_, source)| source);
        log::info1(&format!(
            "Configuring {}...(using {source} template)",
            site.domains.first().unwrap_or(&site.app)
        ));
    }
    swap_locked(ctx, app, &text, files_changed || hsts_changed, &lock)
}

/// The app's `nginx.conf.d/hsts.conf`, as Dokku keeps it: the header when the app serves
/// https with HSTS on, no file otherwise. True when that changed it (nginx must reload
/// even if the config's own text did not change).
fn keep_hsts(site: &crate::config::Site) -> Result<bool> {
    let path = std::path::Path::new(&site.includes).join("hsts.conf");
    let before = dokku_core::fs::read_optional(&path)?;
    match crate::config::hsts_line(site) {
        Some(line) => {
            log::verbose_quiet("Enabling HSTS (using built-in template)");
            if before.as_deref() == Some(line.as_str()) {
                return Ok(false);
            }
            std::fs::create_dir_all(&site.includes)
                .with_context(|| format!("creating {}", site.includes))?;
            dokku_core::fs::write_atomic(&path, line.as_bytes(), 0o644)?;
        }
        None if before.is_some() => {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?
        }
        None => return Ok(false),
    }
    Ok(true)
}

/// `proxy-clear-config APP` / `proxy-disable APP`: the app's config goes.
pub(crate) fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    swap(ctx, app, "", false)
}

pub(crate) fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    dokku_core::fs::remove_dir_all_if_exists(&files_dir(ctx, app))?;
    // The app's directory is still there: an app that had a site loses it (and nginx
    // reloads); one that never had one leaves nginx alone.
    swap(ctx, app, "", false)
}

/// `proxy-wait-drained APP SINCE_MS SECONDS`: returns once the requests nginx took for the
/// app under a configuration older than SINCE_MS (milliseconds since the epoch) have
/// finished, that is once every nginx worker started before then has exited, or after
/// SECONDS; at once for an app nginx does not route.
pub(crate) fn wait_drained(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some([app, since, seconds]) = args.get(..3) else {
        bail!("proxy-wait-drained: expected APP SINCE_MS SECONDS");
    };
    let since: u64 = since
        .parse()
        .with_context(|| format!("the time {since:?}"))?;
    let seconds: u64 = seconds
        .parse()
        .with_context(|| format!("the seconds {seconds:?}"))?;
    if !routes(ctx, app)? {
        return Ok(());
    }
    let conf = crate::swap::served_conf();
    crate::control::wait_old_workers_gone(
        &crate::control::pid_file(std::path::Path::new(&conf)),
        since,
        Duration::from_secs(seconds),
    );
    Ok(())
}
