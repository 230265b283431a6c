//! `buildpacks:*` commands.

use anyhow::{Result, bail};
use dokku_core::app::{self, AppName};
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;

use crate::settings::{LIST, SETTINGS};
use crate::url::normalize;

#[derive(clap::Parser)]
struct Add {
    /// Position in the list, from 1 (the end when not given).
    #[arg(long, default_value_t = 0)]
    index: usize,
    app: String,
    buildpack: String,
}

#[derive(clap::Parser)]
struct Set {
    /// Position to replace, from 1 (the first when not given).
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Replace the whole list with the buildpacks given.
    #[arg(long)]
    replace: bool,
    app: String,
    buildpacks: Vec<String>,
}

#[derive(clap::Parser)]
struct Remove {
    #[arg(long, default_value_t = 0)]
    index: usize,
    app: String,
    buildpack: Option<String>,
}

#[derive(clap::Parser)]
struct AppOnly {
    app: String,
}

fn list_of(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
    SETTINGS.properties(ctx).list(app, LIST)
}

fn store(ctx: &Ctx, app: &str, list: &[String]) -> Result<()> {
    let props = SETTINGS.properties(ctx);
    if list.is_empty() {
        return props.delete(app, LIST);
    }
    props.set_list(app, LIST, list)
}

/// `buildpacks:add [--index N] APP BUILDPACK`.
pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Add = parse("buildpacks:add", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let buildpack = normalize(&cmd.buildpack)?;
    let _lock = app::lock_existing(&ctx.roots, app.as_str())?;
    let mut list = list_of(ctx, app.as_str())?;
    if list.contains(&buildpack) {
        bail!("The buildpack {buildpack} is already set on {app}");
    }
    let at = match cmd.index {
        0 => list.len(),
        n => (n - 1).min(list.len()),
    };
    list.insert(at, buildpack);
    store(ctx, app.as_str(), &list)
}

/// `buildpacks:set [--index N] APP BUILDPACK`, or `--replace APP BUILDPACK...`.
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Set = parse("buildpacks:set", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let buildpacks = cmd
        .buildpacks
        .iter()
        .map(|b| normalize(b))
        .collect::<Result<Vec<_>>>()?;
    let _lock = app::lock_existing(&ctx.roots, app.as_str())?;
    if cmd.replace {
        if cmd.index != 0 {
            bail!("The --index flag cannot be used with --replace");
        }
        if buildpacks.is_empty() {
            bail!("Must specify at least one buildpack: buildpacks:clear removes them all");
        }
        return store(ctx, app.as_str(), &buildpacks);
    }
    let [buildpack] = buildpacks.as_slice() else {
        if buildpacks.is_empty() {
            bail!("Must specify a buildpack");
        }
        bail!("Setting multiple buildpacks requires the --replace flag");
    };
    let mut list = list_of(ctx, app.as_str())?;
    let at = cmd.index.saturating_sub(1);
    if at < list.len() {
        list[at] = buildpack.clone();
    } else {
        list.push(buildpack.clone());
    }
    store(ctx, app.as_str(), &list)
}

/// `buildpacks:remove APP BUILDPACK` or `buildpacks:remove APP --index N`.
pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Remove = parse("buildpacks:remove", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let _lock = app::lock_existing(&ctx.roots, app.as_str())?;
    let mut list = list_of(ctx, app.as_str())?;
    let at = match (cmd.index, &cmd.buildpack) {
        (0, None) => bail!("Must specify a buildpack to remove, either by index or URL"),
        (1.., Some(_)) => bail!("Please choose either index or Buildpack, but not both"),
        _ if list.is_empty() => {
            bail!("No buildpacks were found, next release on {app} will detect buildpack normally")
        }
        (0, Some(buildpack)) => {
            let buildpack = normalize(buildpack)?;
            list.iter()
                .position(|b| *b == buildpack)
                .ok_or_else(|| anyhow::anyhow!("Buildpack {buildpack} is not set on {app}"))?
        }
        (n, None) if n <= list.len() => n - 1,
        (n, None) => bail!(
            "Index {n} is out of range: {app} has {} buildpacks",
            list.len()
        ),
    };
    log::info1_quiet(&format!("Removing {}", list[at]));
    list.remove(at);
    store(ctx, app.as_str(), &list)
}

/// `buildpacks:clear APP`.
pub fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppOnly = parse("buildpacks:clear", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let _lock = app::lock_existing(&ctx.roots, app.as_str())?;
    store(ctx, app.as_str(), &[])
}

#[derive(clap::Parser)]
struct Detect {
    app: String,
    /// The branch whose code is looked at (the deploy branch by default).
    #[arg(long)]
    branch: Option<String>,
}

/// `buildpacks:detect APP [--branch BRANCH]`: the buildpack the builder image picks for
/// the app's code on that branch (its stack, else `DOKKU_IMAGE`), as herokuish says.
pub fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Detect = parse("buildpacks:detect", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let app = app.as_str();
    let branch = match cmd.branch {
        Some(branch) => branch,
        None => ctx
            .trigger("git-deploy-branch")
            .arg(app)
            .output_string()?
            .trim()
            .to_string(),
    };
    if branch.is_empty() || branch.starts_with('-') {
        anyhow::bail!("Invalid branch {branch:?}");
    }
    let checkout = tempfile::Builder::new()
        .prefix("dokku-buildpacks-detect-")
        .tempdir()?;
    let cloned = dokku_core::cmd::git()
        .args(["clone", "--quiet", "--depth", "1", "--branch", &branch])
        .arg(ctx.roots.app_dir(app))
        .arg(checkout.path().join("app"))
        .output_unchecked()?;
    if cloned.code != 0 {
        anyhow::bail!("{app} has no code on branch {branch}");
    }
    let stack = ctx
        .trigger("buildpack-stack-name")
        .arg(app)
        .output_string()?;
    let image = stack
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map_or_else(dokku_core::docker::herokuish_image, String::from);
    let detected = dokku_core::docker::docker()
        .args(["container", "run", "--rm", "--volume"])
        .arg(format!(
            "{}:/tmp/app:ro",
            checkout.path().join("app").display()
        ))
        .args([&image, "/bin/herokuish", "buildpack", "detect", "/tmp/app"])
        .output_unchecked()?;
    if detected.code != 0 {
        anyhow::bail!(
            "Buildpack detection failed: {}",
            String::from_utf8_lossy(&detected.stdout).trim()
        );
    }
    for line in String::from_utf8_lossy(&detected.stdout).lines() {
        log::verbose(line);
    }
    Ok(())
}

/// `buildpacks:list APP`.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppOnly = parse("buildpacks:list", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    log::info1_quiet(&format!("{app} buildpack urls"));
    for buildpack in list_of(ctx, app.as_str())? {
        log::verbose(&buildpack);
    }
    Ok(())
}

/// `buildpacks:set-property [APP|--global] stack IMAGE`: the settings' own `set`.
pub fn set_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    SETTINGS.set_command(ctx, args).map(drop)
}

/// A new stack for an app: plugins that keep what the old one built hear of it
/// (`post-stack-set APP STACK`).
pub fn after_set(ctx: &Ctx, change: &dokku_core::settings::Change) -> Result<()> {
    if let (app::Target::App(app), "stack") = (&change.target, change.key) {
        ctx.trigger("post-stack-set")
            .args([app.as_str(), change.value.as_deref().unwrap_or_default()])
            .stream()?;
    }
    Ok(())
}

/// `buildpacks-list`: the app's buildpacks, comma-separated.
pub fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter()
        .map(|app| {
            Ok(vec![(
                "buildpacks-list".to_string(),
                list_of(ctx, app.as_str())?.join(","),
            )])
        })
        .collect()
}
