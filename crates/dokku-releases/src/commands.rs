//! The `releases:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{AppListing, Ctx, parse};
use dokku_core::{docker, log};

use crate::store;
use crate::store::{Release, Releases};

/// Set on the deploy of a rollback, for `post-deploy` to describe the release it records.
pub(crate) const ROLLBACK_ENV: &str = "DOKKU_ROLLBACK_TO";

pub(crate) fn releases(ctx: &Ctx, app: &str) -> Releases {
    Releases::new(ctx.roots.data_dir("releases", app))
}

pub(crate) fn verified(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(dokku_core::app::verify(&ctx.roots, app)?.to_string())
}

/// A release as `--format json` shows it: no config values.
pub(crate) fn json_of(release: &Release, current: bool) -> serde_json::Value {
    serde_json::json!({
        "version": format!("v{}", release.version),
        "created_at": dokku_core::time::rfc3339(release.created_at),
        "description": release.description,
        "build": release.build,
        "image": release.image,
        "revision": release.revision,
        "config_keys": release.config.keys().collect::<Vec<_>>(),
        "current": current,
    })
}

/// `releases APP [--format stdout|json]`: newest first, the current one marked.
pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppListing = parse("releases", args)?;
    let app = verified(ctx, &cmd.app)?;
    let all = releases(ctx, &app).list()?;
    let current = all.last().map(|r| r.version);
    if cmd.json() {
        let json: Vec<serde_json::Value> = all
            .iter()
            .rev()
            .map(|r| json_of(r, Some(r.version) == current))
            .collect();
        log::data(&serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    log::info2(&format!("{app} releases"));
    if all.is_empty() {
        log::verbose("No releases yet: deploy the app first");
        return Ok(());
    }
    let rows: Vec<[String; 3]> = all
        .iter()
        .rev()
        .map(|r| {
            let mark = if Some(r.version) == current {
                " (current)"
            } else {
                ""
            };
            [
                format!("v{}", r.version),
                dokku_core::time::utc(r.created_at),
                format!("{}{mark}", r.description),
            ]
        })
        .collect();
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let lines: Vec<String> = rows
        .iter()
        .map(|[v, when, what]| format!("{v:<width$}  {when}  {what}"))
        .collect();
    log::verbose(&lines.join("\n"));
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Info {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "VERSION")]
    version: Option<String>,
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    format: String,
}

/// The release named (`vN`), or the current one; a clear error when there is none.
pub(crate) fn find(all: &[Release], app: &str, version: Option<&str>) -> Result<Release> {
    let found = match version {
        Some(text) => {
            let wanted = store::parse_version(text)?;
            all.iter().find(|r| r.version == wanted)
        }
        None => all.last(),
    };
    match (found, version) {
        (Some(release), _) => Ok(release.clone()),
        (None, Some(text)) => bail!("{app} has no release {text} (see: dokku releases {app})"),
        (None, None) => bail!("{app} has no releases yet: deploy it first"),
    }
}

/// `releases:info APP [vN]`: one release; config keys are listed, never their values.
pub(crate) fn info(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Info = parse("releases:info", args)?;
    let app = verified(ctx, &cmd.app)?;
    let all = releases(ctx, &app).list()?;
    let release = find(&all, &app, cmd.version.as_deref())?;
    let current = all.last().map(|r| r.version) == Some(release.version);
    if cmd.format == "json" {
        log::data(&serde_json::to_string_pretty(&json_of(&release, current))?);
        return Ok(());
    }
    let keys: Vec<&str> = release.config.keys().map(String::as_str).collect();
    let rows: Vec<(String, String)> = [
        ("Version", format!("v{}", release.version)),
        ("Created", dokku_core::time::utc(release.created_at)),
        ("Description", release.description.clone()),
        ("Build", release.build.clone().unwrap_or_default()),
        ("Image", store::short_image(&release.image)),
        ("Revision", release.revision.clone().unwrap_or_default()),
        ("Config keys", keys.join(" ")),
        ("Current", current.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{k}:"), v))
    .collect();
    log::info2(&format!("{app} release v{}", release.version));
    log::verbose(&log::columns(&rows).join("\n"));
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Rollback {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "VERSION")]
    version: Option<String>,
}

/// `releases:rollback APP [vN]`: under the app's deploy lock, the release's config comes
/// back and its build is released and deployed through the same zero-downtime path as a
/// push; the result is a new release. A failed deploy puts the config back as it was
/// (the pipeline leaves `latest` and the running containers as they were). The host's own
/// keys in the config are left as they are now.
pub(crate) fn rollback(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Rollback = parse("releases:rollback", args)?;
    let app = verified(ctx, &cmd.app)?;
    let mut lock = dokku_core::fs::AppLock::for_deploy(&ctx.roots.lib_root, &app)?;
    lock.share_with_children(&app);
    let all = releases(ctx, &app).list()?;
    let current = find(&all, &app, None)?;
    let target = match cmd.version.as_deref() {
        Some(version) => find(&all, &app, Some(version))?,
        None => match all.len().checked_sub(2).and_then(|i| all.get(i)) {
            Some(before) => before.clone(),
            None => bail!("{app} has no release before v{}", current.version),
        },
    };
    if target.version == current.version {
        bail!("v{} is already {app}'s current release", target.version);
    }
    let Some(build) = target
        .build
        .as_deref()
        .filter(|b| docker::image_exists(&docker::app_image(&app, b)).unwrap_or(false))
    else {
        bail!(
            "The image of v{} is gone: it cannot be rolled back to",
            target.version
        );
    };
    log::info1(&format!(
        "Rolling back {app} to v{} ({})",
        target.version, target.description
    ));
    let restore = |config: &std::collections::BTreeMap<String, String>| {
        ctx.trigger("config-replace")
            .arg(&app)
            .stdin(serde_json::to_vec(config)?)
            .stream()
    };
    let config_now = dokku_core::ask::own_config(ctx, &app)?;
    restore(&with_host_keys(&target.config, &config_now))?;
    let deployed = ctx
        .trigger("release-and-deploy")
        .args([app.as_str(), build, "rollback"])
        .env(ROLLBACK_ENV, &format!("v{}", target.version))
        .stream();
    if let Err(err) = deployed {
        restore(&config_now)?;
        return Err(err);
    }
    Ok(())
}

/// Keys the host itself keeps in an app's config (`NO_VHOST`, `DOKKU_*`) record settings
/// made since (domains switched off, say), not the app's code: a rollback leaves them.
pub(crate) fn is_host_key(key: &str) -> bool {
    key == "NO_VHOST" || key.starts_with("DOKKU_")
}

/// A release's config with the host's keys as they are now.
pub(crate) fn with_host_keys(
    release: &std::collections::BTreeMap<String, String>,
    now: &std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<String, String> {
    release
        .iter()
        .filter(|(k, _)| !is_host_key(k))
        .chain(now.iter().filter(|(k, _)| is_host_key(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
