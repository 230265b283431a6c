//! The triggers the scheduler plugin answers.

use anyhow::Result;
use dokku_core::entry::Ctx;

use crate::settings::SETTINGS;

/// `scheduler-detect APP`: the selected scheduler, else Dokku's default.
pub(crate) fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    dokku_core::log::data(&SETTINGS.computed(ctx, app, "selected")?);
    Ok(())
}

/// `scheduler-get-property APP KEY`: a setting's computed value.
pub(crate) fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("scheduler-get-property", args)?;
    dokku_core::log::data(&SETTINGS.computed(ctx, app, key)?);
    Ok(())
}
