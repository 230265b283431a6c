//! The triggers: the renewal cron entry, the challenge location in nginx, and lego's state
//! following a renamed app.

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::lego::{app_dir, autorenew_marker};

/// `cron-entries SCHEDULER`: the daily renewal, when the cron job is on.
pub(crate) fn cron_entries(ctx: &Ctx, _args: &[String]) -> Result<()> {
    if autorenew_marker(ctx).exists() {
        let dokku = dokku_core::env::dokku_bin();
        log::data(&format!(
            "24 6 * * *;{} letsencrypt:auto-renew;{}",
            shell_words::quote(&dokku),
            ctx.roots.logs_dir.join("letsencrypt.log").display()
        ));
    }
    Ok(())
}

/// `nginx-config APP`: while the app has letsencrypt state, nginx answers the HTTP-01
/// challenge from its webroot, ahead of the app and of the https redirect.
pub(crate) fn nginx_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("nginx-config", args)?;
    let root = app_dir(ctx, app).join("webroot");
    if root.is_dir() {
        log::data(&format!(
            "location ^~ /.well-known/acme-challenge/ {{ allow all; auth_basic off; default_type text/plain; root {}; }}",
            root.display()
        ));
    }
    Ok(())
}

/// `post-app-rename-setup OLD NEW`: lego's state goes with the app.
pub(crate) fn rename(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-rename-setup", args)?;
    let from = app_dir(ctx, old);
    if from.is_dir() {
        std::fs::rename(&from, app_dir(ctx, new))?;
    }
    Ok(())
}
