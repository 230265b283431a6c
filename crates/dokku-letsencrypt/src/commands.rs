//! The `letsencrypt:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::{AppsOrAll, Ctx, exactly, parse};
use dokku_core::log;

use crate::lego::{
    Timing, app_dir, autorenew_marker, certificate_of, directory_url, domains, expiry_of,
    format_span, global_dir, is_active, lego, obtain, run_lego, serves_ours, timing,
};
use crate::settings::SETTINGS;

#[derive(Parser)]
pub(crate) struct Enable {
    #[command(flatten)]
    target: AppsOrAll,
    /// Ask for a new certificate even when the current one is still valid.
    #[arg(long, short)]
    force: bool,
}

pub(crate) fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Enable = parse("letsencrypt:enable", args)?;
    let apps = cmd.target.apps(ctx, "letsencrypt:enable")?;
    let mut failed = Vec::new();
    for app in &apps {
        if let Err(err) = obtain(ctx, app, cmd.force) {
            if apps.len() == 1 {
                return Err(err);
            }
            log::warn(&format!("{app}: {err:#}"));
            failed.push(app.clone());
        }
    }
    if !failed.is_empty() {
        bail!("No certificate for {}", failed.join(", "));
    }
    Ok(())
}

pub(crate) fn active(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:active", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    log::data(&is_active(ctx, app.as_str())?.to_string());
    Ok(())
}

pub(crate) fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:disable", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let app = app.as_str();
    log::info1(&format!("Disabling letsencrypt for {app}"));
    if is_active(ctx, app)? {
        log::verbose("Removing the certificate");
        ctx.trigger("certs-remove").arg(app).stream()?;
    }
    log::verbose("Removing the letsencrypt files");
    dokku_core::fs::remove_dir_all_if_exists(&app_dir(ctx, app))?;
    ctx.trigger("proxy-build-config").arg(app).stream()?;
    log::info1("Done");
    Ok(())
}

pub(crate) fn revoke(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:revoke", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let app = app.as_str();
    if !is_active(ctx, app)? {
        bail!("{app} has no letsencrypt certificate");
    }
    let first = domains(ctx, app)?.remove(0);
    let email = SETTINGS.computed(ctx, app, "email")?;
    let url = directory_url(ctx, app)?;
    log::info2(&format!("Revoking the letsencrypt certificate of {app}"));
    let _lock = dokku_core::fs::FileLock::wait(&app_dir(ctx, app).join(".lock"))?;
    run_lego(
        lego(ctx, app, &email, &url)?
            .args(["--domains", &first])
            .arg("revoke"),
        "revoking the certificate",
    )?;
    log::info1("Certificate revoked");
    ctx.trigger("certs-remove").arg(app).stream()
}

pub(crate) fn auto_renew(ctx: &Ctx, args: &[String]) -> Result<()> {
    let apps = match args {
        [] => {
            log::info2("Auto-renewing all apps...");
            dokku_core::app::list(&ctx.roots)?
                .into_iter()
                .map(|a| a.to_string())
                .collect()
        }
        [app] => vec![dokku_core::app::verify(&ctx.roots, app)?.to_string()],
        [_, extra, ..] => bail!("Unexpected argument {extra:?}"),
    };
    let mut failed = Vec::new();
    for app in &apps {
        let Some(Timing { to_renewal, .. }) = timing(ctx, app)? else {
            if args.len() == 1 {
                log::info1(&format!("Letsencrypt is not enabled for {app}"));
            }
            continue;
        };
        if to_renewal > 0 {
            log::verbose(&format!(
                "{app} still has {} before renewal",
                format_span(to_renewal)
            ));
            continue;
        }
        log::info1(&format!("{app} needs renewal"));
        if let Err(err) = obtain(ctx, app, true) {
            log::warn(&format!("{app}: {err:#}"));
            failed.push(app.clone());
        }
    }
    if args.is_empty() {
        log::info2("Finished auto-renewal");
    }
    if !failed.is_empty() {
        bail!(
            "The certificates of {} could not be renewed",
            failed.join(", ")
        );
    }
    Ok(())
}

pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("letsencrypt:list", args)?;
    let mut rows = Vec::new();
    for app in dokku_core::app::list(&ctx.roots)? {
        let Some(t) = timing(ctx, app.as_str())? else {
            continue;
        };
        rows.push((t.expires, app.to_string(), t.to_expiry, t.to_renewal));
    }
    rows.sort();
    log::info2_quiet(&format!(
        "{:<30} {:<25} {:<25} {}",
        "App name", "Certificate Expiry", "Time before expiry", "Time before renewal"
    ));
    for (expires, app, to_expiry, to_renewal) in rows {
        log::data(&format!(
            "{app:<30} {:<25} {:<25} {}",
            dokku_core::time::utc(expires),
            format_span(to_expiry),
            format_span(to_renewal)
        ));
    }
    Ok(())
}

pub(crate) fn cron_job(ctx: &Ctx, args: &[String]) -> Result<()> {
    let marker = autorenew_marker(ctx);
    match args {
        [flag] if flag == "--add" => {
            std::fs::create_dir_all(global_dir(ctx))?;
            dokku_core::fs::write_atomic(&marker, b"", 0o644)?;
            ctx.trigger("cron-write").stream()?;
            log::info1("Added the auto-renew cron job to the dokku user's crontab");
        }
        [flag] if flag == "--remove" => {
            dokku_core::fs::remove_file_if_exists(&marker)?;
            ctx.trigger("cron-write").stream()?;
            log::info1("Removed the auto-renew cron job from the dokku user's crontab");
        }
        [] if marker.exists() => {
            log::info2_quiet("Auto-renew cron job is enabled");
            log::verbose("Run 'dokku letsencrypt:cron-job --remove' to disable it.");
        }
        [] => {
            log::info2_quiet("Auto-renew cron job is not enabled");
            log::verbose("Run 'dokku letsencrypt:cron-job --add' to enable it.");
        }
        [flag, ..] => {
            bail!("Invalid flag {flag:?}: give --add, --remove, or nothing to see the status")
        }
    }
    Ok(())
}

/// `letsencrypt:report`'s rows beyond the settings: each certificate's state (the served
/// certificates asked of the certs plugin in one round).
pub(crate) fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    let calls: Vec<Vec<String>> = apps.iter().map(|a| vec![a.to_string()]).collect();
    let served = ctx.trigger("certs-paths").output_each(&calls)?;
    let autorenew = autorenew_marker(ctx).exists().to_string();
    apps.iter()
        .zip(served)
        .map(|(app, paths)| {
            let crt = certificate_of(&paths);
            let active = serves_ours(ctx, app.as_str(), crt.as_deref())?;
            let expiration = match (active, &crt) {
                (true, Some(crt)) => expiry_of(crt)?.map(|secs| secs.to_string()),
                _ => None,
            };
            Ok(vec![
                ("letsencrypt-active".into(), active.to_string()),
                ("letsencrypt-autorenew".into(), autorenew.clone()),
                (
                    "letsencrypt-expiration".into(),
                    expiration.unwrap_or_default(),
                ),
            ])
        })
        .collect()
}
