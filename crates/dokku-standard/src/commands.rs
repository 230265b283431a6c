//! The `standard:*` commands.

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};

pub(crate) fn url(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("url", args)?;
    print_urls(ctx, app, "url")
}

pub(crate) fn urls(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("urls", args)?;
    print_urls(ctx, app, "urls")
}

pub(crate) fn print_urls(ctx: &Ctx, app: &str, which: &str) -> Result<()> {
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    ctx.trigger("domains-urls")
        .args([app.as_str(), which])
        .stream()
}
