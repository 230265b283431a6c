//! The triggers the releases plugin answers.

use anyhow::Result;
use dokku_core::entry::Ctx;
use dokku_core::{docker, log};

use crate::commands::{ROLLBACK_ENV, releases};
use crate::settings::SETTINGS;
use crate::store;
use crate::store::Release;

/// `post-deploy APP PORT IP TAG`: the release that now runs is recorded, unless it is the
/// current one again (a restart, a scale, a restore).
pub(crate) fn record(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some(app) = args.first() else {
        return Err(dokku_core::Error::MissingApp.into());
    };
    let tag = args
        .get(3)
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let Some(image) = docker::image_id(&docker::app_image(app, tag))? else {
        return Ok(());
    };
    // The newest build tag on this image (one listing of the app's tags).
    let build = docker::repo_tags(&docker::app_repo(app))?
        .into_iter()
        .filter(|(_, id)| *id == image)
        .filter_map(|(tag, _)| Some((dokku_core::build_files::build_number(&tag)?, tag)))
        .max()
        .map(|(_, tag)| tag);
    let revision = ctx
        .trigger("git-revision")
        .arg(app)
        .output_string()
        .ok()
        .filter(|r| !r.is_empty());
    let mut release = Release {
        version: 0,
        created_at: dokku_core::time::now().as_secs(),
        description: String::new(),
        image,
        build,
        revision,
        config: dokku_core::ask::own_config(ctx, app)?,
    };
    let store = releases(ctx, app);
    let previous = store.list()?.pop();
    if previous
        .as_ref()
        .is_some_and(|p| p.image == release.image && p.config == release.config)
    {
        return Ok(());
    }
    release.description = match dokku_core::env::var(ROLLBACK_ENV) {
        Some(version) => format!("Rollback to {version}"),
        None => store::describe(previous.as_ref(), &release),
    };
    let release = store.add(release)?;
    log::verbose(&format!(
        "Release v{}: {}",
        release.version, release.description
    ));
    let keep = SETTINGS.computed(ctx, app, "keep")?.parse().unwrap_or(10);
    store.prune(keep)
}

/// `builds-in-use APP`: the build tags the kept releases need.
pub(crate) fn builds_in_use(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let mut builds: Vec<String> = releases(ctx, app)
        .list()?
        .into_iter()
        .filter_map(|r| r.build)
        .collect();
    builds.dedup();
    for build in builds {
        log::data(&build);
    }
    Ok(())
}
