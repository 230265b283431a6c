//! The triggers the checks plugin answers.

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::check;
use crate::lists;
use crate::lists::List;
use crate::settings::SETTINGS;

/// `checks-get-property APP KEY`: a setting's computed value, or the `disabled` /
/// `skipped` list (`_all_`, `web,worker`, or nothing).
pub(crate) fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = exactly::<2>("checks-get-property", args)?;
    let value = match key.as_str() {
        "disabled" => lists::get(ctx, app, List::Disabled)?.stored(),
        "skipped" => lists::get(ctx, app, List::Skipped)?.stored(),
        _ => SETTINGS.computed(ctx, app, key)?,
    };
    log::data(&value);
    Ok(())
}

/// `core-post-extract APP DIR REV`: a `CHECKS` file at the top of the tree is kept with
/// the build.
pub(crate) fn keep_checks_file(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        SETTINGS.namespace,
        |_| Ok(check::CHECKS_FILE.into()),
        check::CHECKS_FILE,
        |text| Ok(text.to_string()),
    )
}

/// `post-release-builder BUILDER APP IMAGE`: the released build's CHECKS file becomes the
/// app's.
pub(crate) fn adopt_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    dokku_core::build_files::adopt_build_file(
        &ctx.roots,
        SETTINGS.namespace,
        app,
        check::CHECKS_FILE,
    )?;
    Ok(())
}
