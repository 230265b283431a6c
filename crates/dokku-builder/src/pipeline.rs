//! build -> release -> deploy, fired in Dokku's order with Dokku's arguments. A push,
//! `ps:rebuild`, `git:sync --build` and `git:from-*` reach [`build`] through
//! `builder-receive` with an extracted tree; it ends, as Dokku's does, by releasing and
//! deploying the build ([`release_and_deploy`], which `release-and-deploy` also runs for an
//! image that already exists, after a config change). Restarts, scaling and restores
//! deploy an image already released ([`deploy`], the `deploy` trigger).
//!
//! `latest` moves to a build only once it built and released: a failed build, or a pusher
//! who went away, leaves `latest` and every earlier build as they were. The newest
//! [`KEEP_BUILDS`] builds, and those a kept release needs, are kept (disks filling with old
//! images is a classic complaint); older tags are removed.

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::build_files::{BUILD_TAG_ENV, BUILD_TAG_PREFIX, BuildFiles, build_number};
use dokku_core::deploy_gate::{check_stop, stop_requested};
use dokku_core::docker::{self, BUILDER_LABEL};
use dokku_core::entry::Ctx;
use dokku_core::error::Error;
use dokku_core::log;

/// How many builds of an app keep their image.
pub const KEEP_BUILDS: usize = 10;
/// Dokku's `builder:set APP selected null`: the build makes no image and nothing is
/// released or deployed.
const NULL_BUILDER: &str = "null";

/// The app's build tags, oldest first.
fn build_tags(app: &str) -> Result<Vec<String>> {
    let mut numbers: Vec<u64> = docker::repo_tags(&docker::app_repo(app))?
        .iter()
        .filter_map(|(tag, _)| build_number(tag))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers
        .into_iter()
        .map(|n| format!("{BUILD_TAG_PREFIX}{n}"))
        .collect())
}

fn next_build_tag(app: &str) -> Result<String> {
    let last = build_tags(app)?
        .last()
        .and_then(|t| build_number(t))
        .unwrap_or(0);
    Ok(format!("{BUILD_TAG_PREFIX}{}", last + 1))
}

/// A step line the pusher must still be there to read: when the output is closed the
/// pipeline stops before it changes anything.
fn step(text: &str) -> Result<()> {
    check_stop()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "-----> {text}")
        .and_then(|()| stdout.flush())
        .map_err(|_| Error::OutputClosed.into())
}

/// Builds the tree in `dir` (revision `rev`) into a new image, then releases and deploys it.
pub fn build(ctx: &Ctx, app: &str, dir: &Path, rev: &str) -> Result<()> {
    stop_requested();
    let tag = next_build_tag(app)?;
    BuildFiles::clear_tag(&ctx.roots, app, &tag)?;
    let trigger = |name: &str| ctx.trigger(name).env(BUILD_TAG_ENV, &tag);
    let dir_arg = dir.display().to_string();
    trigger("core-post-extract")
        .args([app, &dir_arg, rev])
        .stdin(Vec::new())
        .stream()?;
    trigger("post-extract")
        .args([app, &dir_arg, rev])
        .stdin(Vec::new())
        .stream()?;
    let builder = detect_builder(ctx, app, &dir_arg)?;
    trigger("pre-receive-app")
        .args([app, &builder, &dir_arg, rev])
        .stream()?;
    crate::commands::set_detected(ctx, app, &builder)?;
    trigger("builder-set-property")
        .except(crate::PLUGIN.name)
        .args([app, "detected", &builder])
        .stream()?;
    let image = docker::app_image(app, &tag);
    let latest = docker::app_image(app, "latest");
    let latest_before = docker::image_id(&latest)?;
    let built = trigger("builder-build")
        .args([&builder, app, &dir_arg])
        .stream();
    if builder == NULL_BUILDER && built.is_ok() && !docker::image_exists(&image)? {
        log::info1(&format!("The null builder built nothing for {app}"));
        return Ok(());
    }
    let built = built
        .and_then(|()| check_stop())
        .and_then(|()| adopt_latest(&image, &latest, latest_before.as_deref()));
    if let Err(err) = built {
        if docker::image_exists(&image)? {
            docker::untag(&image)?;
        }
        if matches!(err.downcast_ref(), Some(Error::OutputClosed)) {
            return Err(err);
        }
        if !matches!(
            err.downcast_ref(),
            Some(Error::TriggerFailed { .. } | Error::Exit(_))
        ) {
            log::warn(&format!("{err:#}"));
        }
        log::warn("App build failed");
        return Err(Error::Exit(1).into());
    }
    check_stop()?;
    // Dokku fires `release-and-deploy` here: the plugins that listen for it still see it,
    // and this plugin answers it in this process.
    ctx.trigger("release-and-deploy")
        .except(crate::PLUGIN.name)
        .args([app, &tag])
        .stream()?;
    release_and_deploy(ctx, app, &tag)
}

/// The selected builder, else the first line `builder-detect` prints; nothing detected
/// means Dokku's default, herokuish, when that builder is installed.
fn detect_builder(ctx: &Ctx, app: &str, dir: &str) -> Result<String> {
    if let Some(selected) = crate::commands::selected(ctx, app)? {
        return Ok(selected);
    }
    let detected = ctx
        .trigger("builder-detect")
        .except(crate::PLUGIN.name)
        .args([app, dir])
        .output_string()?;
    if let Some(first) = detected.lines().map(str::trim).find(|l| !l.is_empty()) {
        return Ok(first.to_string());
    }
    if ctx
        .trigger("builder-build")
        .only("builder-herokuish")
        .exists()
    {
        return Ok("herokuish".into());
    }
    bail!(
        "No builder detected for {app}: add a Dockerfile, or choose one with builder:set {app} selected BUILDER"
    )
}

/// A builder written for Dokku builds `dokku/<app>:latest` rather than the build's own tag:
/// when only `latest` changed, that image is the build.
fn adopt_latest(image: &str, latest: &str, latest_before: Option<&str>) -> Result<()> {
    if docker::image_exists(image)? {
        return Ok(());
    }
    match docker::image_id(latest)? {
        Some(now) if Some(now.as_str()) != latest_before => docker::tag(&now, image),
        _ => bail!("the builder produced no image"),
    }
}

/// Releases the image `dokku/<app>:<tag>` (`builder-release`), makes it `latest`, and hands
/// it to the app's scheduler; a failed deploy puts `latest` back on the image that still
/// runs. Nothing happens when the image does not exist.
pub fn release_and_deploy(ctx: &Ctx, app: &str, tag: &str) -> Result<()> {
    stop_requested();
    let image = docker::app_image(app, tag);
    if !docker::image_exists(&image)? {
        return Ok(());
    }
    let builder =
        docker::image_label(&image, BUILDER_LABEL)?.unwrap_or_else(|| "dockerfile".into());
    step(&format!("Releasing {app}..."))?;
    ctx.trigger("builder-release")
        .env(BUILD_TAG_ENV, tag)
        .args([builder.as_str(), app, tag])
        .stream()?;
    crate::commands::remove_build_stage_images(app)?;
    dokku_core::ask::refresh_after_release(ctx, app)?;
    let latest = docker::app_image(app, "latest");
    if tag == "latest" {
        return deploy_release(ctx, app, "latest");
    }
    let latest_before = docker::image_id(&latest)?;
    docker::tag(&image, &latest)?;
    prune_builds(ctx, app)?;
    let deployed = deploy_release(ctx, app, "latest");
    if deployed.is_err()
        && let Some(before) = latest_before
    {
        docker::tag(&before, &latest)?;
    }
    deployed
}

/// Removes the tags of all but the newest builds, except those a kept release still needs
/// (`builds-in-use APP`), and the files kept with the builds that went; an image a
/// container still uses stays.
fn prune_builds(ctx: &Ctx, app: &str) -> Result<()> {
    let tags = build_tags(app)?;
    let in_use = ctx.trigger("builds-in-use").arg(app).output_lines()?;
    let newest = tags.len().saturating_sub(KEEP_BUILDS);
    let mut kept = Vec::new();
    for (i, tag) in tags.into_iter().enumerate() {
        if i >= newest || in_use.contains(&tag) {
            kept.push(tag);
        } else {
            let _ = docker::untag(&docker::app_image(app, &tag));
        }
    }
    BuildFiles::prune(&ctx.roots, app, &kept)
}

/// A release's deploy, unless the app's deploys are skipped.
fn deploy_release(ctx: &Ctx, app: &str, tag: &str) -> Result<()> {
    let skip = ctx
        .trigger("ps-get-property")
        .args([app, "skip-deploy"])
        .output_string()
        .unwrap_or_default();
    if skip == "true" {
        log::info1("Skipping deployment");
        return Ok(());
    }
    deploy(ctx, app, tag, None)
}

/// `scheduler-deploy` of the image `dokku/<app>:<tag>` (of every process type, or one) by
/// the app's scheduler, then the app's URLs. Releases, restarts, scaling and restores all
/// deploy through here; without a scheduler plugin nothing runs and the line says so.
pub fn deploy(ctx: &Ctx, app: &str, tag: &str, process: Option<&str>) -> Result<()> {
    let scheduler = dokku_core::ask::scheduler(ctx, app)?;
    if !ctx.trigger("scheduler-deploy").exists() {
        log::info1(&format!(
            "{app} is built and released as {}; no scheduler is installed to run it",
            docker::app_image(app, tag)
        ));
        return Ok(());
    }
    log::info1(&format!("Deploying {app} via the {scheduler} scheduler..."));
    ctx.trigger("scheduler-deploy")
        .args([scheduler.as_str(), app, tag, process.unwrap_or("")])
        .stream()?;
    log::info2("Application deployed:");
    let urls = ctx
        .trigger("domains-urls")
        .args([app, "urls"])
        .output_string()?;
    for url in urls.lines().filter(|l| !l.trim().is_empty()) {
        log::verbose(url.trim());
    }
    Ok(())
}
