//! When herokuish builds an app.

use std::path::Path;

use anyhow::Result;
use dokku_core::entry::Ctx;

use crate::settings::SETTINGS;

/// Whether herokuish claims the app: its source asks for buildpacks (see
/// [`dokku_core::build_files::asks_for_buildpacks`]). Off amd64, only where allowed.
pub fn claims(ctx: &Ctx, app: &str, tree: &Path) -> Result<bool> {
    if std::env::consts::ARCH != "x86_64" && SETTINGS.computed(ctx, app, "allowed")? != "true" {
        return Ok(false);
    }
    dokku_core::build_files::asks_for_buildpacks(ctx, app, tree)
}
