//! The triggers the certs plugin answers.

use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::commands::{crt_path, has_cert, install, key_path, read_small, uninstall};

/// `certs-set APP CRT KEY`: another plugin (letsencrypt) installs a pair it obtained.
pub(crate) fn set_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, crt, key] = exactly::<3>("certs-set", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    for (what, path) in [("CRT", crt), ("KEY", key)] {
        if !Path::new(path).is_file() {
            bail!("{what} file specified not found, please check file paths");
        }
    }
    let (crt, key) = (read_small(Path::new(crt))?, read_small(Path::new(key))?);
    install(ctx, app.as_str(), &crt, &key)
}

/// `certs-remove APP`: another plugin takes back the pair it installed.
pub(crate) fn remove_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("certs-remove", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    if !has_cert(ctx, app.as_str()) {
        bail!("An app-specific SSL endpoint is not defined");
    }
    uninstall(ctx, app.as_str())
}

/// `certs-exists APP`: `true` or `false`.
pub(crate) fn exists_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("certs-exists", args)?;
    log::data(&has_cert(ctx, app).to_string());
    Ok(())
}

/// `certs-paths APP`: `CRT KEY` when the app has a certificate, nothing otherwise.
pub(crate) fn paths_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("certs-paths", args)?;
    if has_cert(ctx, app) {
        log::data(&format!(
            "{} {}",
            crt_path(ctx, app).display(),
            key_path(ctx, app).display()
        ));
    }
    Ok(())
}
