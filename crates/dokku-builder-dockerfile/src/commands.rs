//! `builder-dockerfile:*` commands, detection and the `dockerfile-path` setting.

use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "builder-dockerfile",
    table: &[Setting {
        key: "dockerfile-path",
        scope: Scope::AppOrGlobal,
        default: "Dockerfile",
        validate: settings::relative_path,
    }],
};

/// `builder-detect APP DIR`: a `Dockerfile` at the top of the tree (after
/// `core-post-extract` put the configured one there), unless the app asks for buildpacks.
pub fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir] = exactly::<2>("builder-detect", args)?;
    let tree = Path::new(dir);
    if dokku_core::build_files::asks_for_buildpacks(ctx, app, tree)? {
        return Ok(());
    }
    if dokku_core::fs::inside_tree(tree, "Dockerfile").is_some_and(|p| p.is_file()) {
        log::data("dockerfile");
    }
    Ok(())
}

/// `core-post-extract APP DIR REV`: a configured `dockerfile-path` becomes the tree's
/// `Dockerfile`.
pub fn place_dockerfile(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir, _rev] = exactly::<3>("core-post-extract", args)?;
    let path = SETTINGS.computed(ctx, app, "dockerfile-path")?;
    if path == "Dockerfile" {
        return Ok(());
    }
    let dir = Path::new(dir);
    let Some(source) = dokku_core::fs::inside_tree(dir, &path).filter(|p| p.is_file()) else {
        bail!("Invalid dockerfile-path specified: {path}");
    };
    std::fs::rename(source, dir.join("Dockerfile"))?;
    Ok(())
}
