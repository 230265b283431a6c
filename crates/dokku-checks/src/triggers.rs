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
        |_| Ok((check::CHECKS_FILE.into(), check::CHECKS_FILE.into())),
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

/// `install`: the config variables older releases kept the checks in become the checks'
/// properties, as Dokku's checks plugin migrates them.
pub(crate) fn install(ctx: &Ctx, _args: &[String]) -> Result<()> {
    use dokku_core::ask::ConfigToProperty;
    type Transform = Option<fn(&str) -> String>;
    let all_when_true: Transform = Some(|v| {
        if v == "true" {
            "_all_".into()
        } else {
            String::new()
        }
    });
    let all_when_zero: Transform = Some(|v| {
        if v == "0" {
            "_all_".into()
        } else {
            String::new()
        }
    });
    let table: [(&str, &str, bool, Transform); 9] = [
        ("disabled", "DOKKU_SKIP_ALL_CHECKS", false, all_when_true),
        ("skipped", "DOKKU_SKIP_DEFAULT_CHECKS", false, all_when_true),
        ("skipped", "DOKKU_CHECKS_ENABLED", false, all_when_zero),
        ("wait-to-retire", "DOKKU_WAIT_TO_RETIRE", true, None),
        ("disabled", "DOKKU_CHECKS_DISABLED", false, None),
        ("skipped", "DOKKU_CHECKS_SKIPPED", false, None),
        ("wait", "DOKKU_CHECKS_WAIT", true, None),
        ("timeout", "DOKKU_CHECKS_TIMEOUT", true, None),
        ("attempts", "DOKKU_CHECKS_ATTEMPTS", true, None),
    ];
    let entries: Vec<ConfigToProperty> = table
        .iter()
        .map(|&(property, var, global, transform)| ConfigToProperty {
            property,
            var: Some(var),
            global_var: global.then_some(var),
            transform,
            list: false,
        })
        .collect();
    dokku_core::ask::migrate_config_to_property(ctx, "checks", &entries)
}
