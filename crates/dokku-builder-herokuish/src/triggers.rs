//! The triggers the builder-herokuish plugin answers besides the build and release.

use std::path::Path;

use anyhow::Result;
use dokku_core::docker;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::BUILDER;
use crate::build::cache_volume;

/// `builder-detect APP DIR`.
pub fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir] = exactly::<2>("builder-detect", args)?;
    if crate::detect::claims(ctx, app, Path::new(dir))? {
        log::data(BUILDER);
    }
    Ok(())
}

/// `builder-image-is-herokuish APP IMAGE`: `true` when the image was built by herokuish
/// (its environment names the app's user, as a herokuish build's does), else `false`.
pub fn image_is_herokuish(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_app, image] = exactly::<2>("builder-image-is-herokuish", args)?;
    let herokuish = docker::inspect(image)?.is_some_and(|info| {
        info["Config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .any(|e| e.starts_with("USER="))
    });
    log::data(if herokuish { "true" } else { "false" });
    Ok(())
}

/// `post-delete APP`: the app's build cache goes with it.
pub fn remove_cache(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let _ = docker::docker()
        .args(["volume", "rm", "--force", &cache_volume(app)])
        .output_unchecked();
    Ok(())
}
