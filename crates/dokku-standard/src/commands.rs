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

/// `cleanup [APP]`: the stopped containers and untagged images of the app, or of every
/// app (those labelled `dokku`) without one.
pub(crate) fn cleanup(ctx: &Ctx, args: &[String]) -> Result<()> {
    let label = match args {
        [] => "dokku".to_string(),
        [app] => {
            let app = dokku_core::app::verify(&ctx.roots, app)?;
            format!("{}={app}", dokku_core::docker::APP_LABEL)
        }
        _ => anyhow::bail!("cleanup takes at most one app"),
    };
    dokku_core::docker::clean_up(&[label])
}

pub(crate) fn print_urls(ctx: &Ctx, app: &str, which: &str) -> Result<()> {
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    ctx.trigger("domains-urls")
        .args([app.as_str(), which])
        .stream()
}

/// `report [APP]`: the host's kernel and the versions of what dokku drives (docker, git,
/// the builder image's herokuish, and which image that is), then, for an app, every
/// plugin's report of it.
pub(crate) fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    use dokku_core::cmd::Cmd;
    use dokku_core::log;
    let app = match args {
        [] => None,
        [app] => Some(dokku_core::app::verify(&ctx.roots, app)?),
        _ => anyhow::bail!("Usage: dokku report [<app>]"),
    };
    let indented = |text: &str| {
        for line in text.lines() {
            log::data(&format!("       {line}"));
        }
    };
    let output = |cmd: Cmd| {
        cmd.output_unchecked()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim_end().to_string())
            .unwrap_or_default()
    };
    log::info1(&format!("uname: {}", output(Cmd::new("uname").arg("-a"))));
    log::info1("docker version: ");
    indented(&output(dokku_core::docker::docker().arg("version")));
    log::info1("herokuish version: ");
    let image = dokku_core::docker::herokuish_image();
    indented(&output(dokku_core::docker::docker().args([
        "container",
        "run",
        "--rm",
        &image,
        "herokuish",
        "version",
    ])));
    indented(&format!("image: {image}"));
    log::info1(&format!(
        "dokku version: dokku-rs {}",
        env!("CARGO_PKG_VERSION")
    ));
    log::info1(&format!(
        "git version: {}",
        output(Cmd::new("git").arg("--version"))
    ));
    let Some(app) = app else {
        return Ok(());
    };
    let mut plugins = dokku_core::trigger::enabled_plugins(&ctx.roots);
    // Every plugin's report but this one's: `report` itself is this command.
    plugins.retain(|p| {
        p != crate::PLUGIN.name
            && ctx
                .roots
                .plugin_enabled()
                .join(p)
                .join("subcommands/report")
                .is_file()
    });
    for plugin in plugins {
        let _ = Cmd::new(dokku_core::env::dokku_bin())
            .arg(format!("{plugin}:report"))
            .arg(app.as_str())
            .status();
    }
    Ok(())
}
