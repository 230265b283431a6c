//! The triggers the buildpacks plugin answers.

use std::path::Path;

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::settings::{LIST, SETTINGS};

/// `buildpack-stack-name APP`: the app's stack, else the global one, else an image named
/// by the app's `DOKKU_IMAGE` config (deprecated); nothing when none is set.
pub fn stack_name(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("buildpack-stack-name", args)?;
    let stack = SETTINGS.computed(ctx, app, "stack")?;
    if !stack.is_empty() {
        log::data(&stack);
        return Ok(());
    }
    let image = dokku_core::ask::own_config(ctx, app)?
        .get("DOKKU_IMAGE")
        .cloned()
        .unwrap_or_default();
    if !image.is_empty() {
        log::warn(
            "Deprecated: use buildpacks:set-property instead of specifying DOKKU_IMAGE environment variable",
        );
        log::data(&image);
    }
    Ok(())
}

/// `post-extract APP DIR`: the app's buildpack list becomes the tree's `.buildpacks`;
/// without one, the app.json's `buildpacks` do.
pub fn write_buildpacks_file(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(app), Some(dir)) = (args.first(), args.get(1)) else {
        anyhow::bail!("post-extract: expected APP DIR");
    };
    let mut list = SETTINGS.properties(ctx).list(app, LIST)?;
    if list.is_empty() {
        list = app_json_buildpacks(Path::new(dir))?;
    }
    if list.is_empty() {
        return Ok(());
    }
    let path = Path::new(dir).join(".buildpacks");
    if path.symlink_metadata().is_ok_and(|m| !m.is_file()) {
        anyhow::bail!(".buildpacks must be a file, not a link or a directory");
    }
    let text: String = list.iter().map(|b| format!("{b}\n")).collect();
    dokku_core::fs::write_atomic(&path, text.as_bytes(), 0o600)
}

/// The `buildpacks[].url` of the tree's app.json.
fn app_json_buildpacks(tree: &Path) -> Result<Vec<String>> {
    let Some(path) = dokku_core::fs::inside_tree(tree, "app.json").filter(|p| p.is_file()) else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let json = dokku_core::jsonc::to_json(&text).unwrap_or_default();
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&json) else {
        return Ok(Vec::new());
    };
    Ok(json["buildpacks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["url"].as_str())
        .filter_map(|url| crate::url::normalize(url).ok())
        .collect())
}
