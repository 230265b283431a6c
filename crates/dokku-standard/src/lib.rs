//! The standard plugin (`00_dokku-standard`, as Dokku names it): top-level commands that
//! belong to no other plugin. `dokku url APP` and `dokku urls APP` print where the app
//! answers, as the domains plugin (`domains-urls`) and the proxy's ports shape it.

use anyhow::Result;
use dokku_core::entry::{Command, Ctx, Plugin, exactly};

pub const PLUGIN: Plugin = Plugin {
    name: "00_dokku-standard",
    description: "Top-level commands of dokku",
    commands: &[
        Command {
            name: "url",
            args: "<app>",
            help: "Show the first URL for an application (compatibility)",
            run: url,
        },
        Command {
            name: "urls",
            args: "<app>",
            help: "Show all URLs for an application",
            run: urls,
        },
    ],
    words: &["url", "urls"],
    ..Plugin::DEFAULTS
};

fn url(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("url", args)?;
    print_urls(ctx, app, "url")
}

fn urls(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("urls", args)?;
    print_urls(ctx, app, "urls")
}

fn print_urls(ctx: &Ctx, app: &str, which: &str) -> Result<()> {
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    ctx.trigger("domains-urls")
        .args([app.as_str(), which])
        .stream()
}
