//! `apps:*` commands.

use anyhow::Result;
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::Ctx;
use dokku_core::entry::parse;
use dokku_core::env::Roots;
use dokku_core::fs::{AppLock, LockMode, remove_file_if_exists, write_atomic};
use dokku_core::property::GLOBAL;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::settings::{self, Scope, Setting, Settings};
use dokku_core::trigger::Trigger;
use dokku_core::{Error, log};

use crate::lifecycle::{self, properties};

#[derive(Parser)]
struct AppArg {
    #[arg(value_name = "APP")]
    app: String,
}

#[derive(Parser)]
struct Create {
    #[arg(value_name = "APP", value_parser = AppName::parse)]
    app: AppName,
}

pub fn create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Create = parse("apps:create", args)?;
    lifecycle::create(&ctx.roots, &cmd.app)
}

/// `--force` (anywhere in argv) reaches this as `DOKKU_APPS_FORCE_DELETE`.
pub fn destroy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app) = app_arg(ctx, "apps:destroy", args)?;
    lifecycle::confirm_destroy(&app)?;
    lifecycle::destroy(&roots, &app)
}

pub fn exists(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppArg = parse("apps:exists", args)?;
    app::verify(&ctx.roots, &cmd.app)?;
    Ok(())
}

#[derive(Parser)]
struct List {
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    format: String,
}

pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("apps:list", args)?;
    let apps = app::list(&ctx.roots)?;
    if cmd.format == "json" {
        let names: Vec<&str> = apps.iter().map(AppName::as_str).collect();
        log::data(&serde_json::to_string(&names)?);
        return Ok(());
    }
    log::info2_quiet("My Apps");
    if apps.is_empty() {
        log::warn("You haven't deployed any applications yet");
    }
    for app in apps {
        log::data(app.as_str());
    }
    Ok(())
}

#[derive(Parser)]
struct Rename {
    #[arg(long)]
    skip_deploy: bool,
    #[arg(value_name = "OLD_APP")]
    old: String,
    #[arg(value_name = "NEW_APP", value_parser = AppName::parse)]
    new: AppName,
}

/// Dokku's sequence: create the new app, let plugins move state across
/// (`post-app-rename-setup`), destroy the old one, then `post-app-rename` (rebuild).
pub fn rename(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Rename = parse("apps:rename", args)?;
    let roots = &ctx.roots;
    let old = app::verify(roots, &cmd.old)?;
    if app::exists(roots, &cmd.new) {
        return Err(Error::AppExists(cmd.new.to_string()).into());
    }
    let lock = AppLock::acquire(&roots.lib_root, old.as_str(), LockMode::Exclusive)?;
    log::info1_quiet(&format!("Renaming {old} to {}", cmd.new));
    create_from(roots, &old, &cmd.new, "rename")?;
    drop(lock);
    lifecycle::destroy(roots, &old)?;
    finish(roots, &old, &cmd.new, "rename", cmd.skip_deploy)
}

#[derive(Parser)]
struct Clone {
    #[arg(long)]
    skip_deploy: bool,
    #[arg(long)]
    ignore_existing: bool,
    #[arg(value_name = "OLD_APP")]
    old: String,
    #[arg(value_name = "NEW_APP", value_parser = AppName::parse)]
    new: AppName,
}

pub fn clone(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Clone = parse("apps:clone", args)?;
    let roots = &ctx.roots;
    let old = app::verify(roots, &cmd.old)?;
    if app::exists(roots, &cmd.new) {
        if cmd.ignore_existing {
            log::warn(&format!("Name is already taken: {}", cmd.new));
            return Ok(());
        }
        return Err(Error::AppExists(cmd.new.to_string()).into());
    }
    log::info1_quiet(&format!("Cloning {old} to {}", cmd.new));
    create_from(roots, &old, &cmd.new, "clone")?;
    finish(roots, &old, &cmd.new, "clone", cmd.skip_deploy)
}

/// Creates `new`, then `post-app-<verb>-setup OLD NEW`: every plugin copies or moves its
/// state across before anything is rebuilt.
fn create_from(roots: &Roots, old: &AppName, new: &AppName, verb: &str) -> Result<()> {
    lifecycle::create(roots, new)?;
    Trigger::with_roots(&format!("post-app-{verb}-setup"), roots.clone())
        .args([old.as_str(), new.as_str()])
        .stream()
}

/// `post-app-<verb> OLD NEW`, with `SKIP_REBUILD` telling the rebuilding plugin to wait.
fn finish(
    roots: &Roots,
    old: &AppName,
    new: &AppName,
    verb: &str,
    skip_deploy: bool,
) -> Result<()> {
    Trigger::with_roots(&format!("post-app-{verb}"), roots.clone())
        .args([old.as_str(), new.as_str()])
        .env("SKIP_REBUILD", if skip_deploy { "true" } else { "false" })
        .stream()?;
    log::info1_quiet("Done");
    Ok(())
}

fn app_arg(ctx: &Ctx, name: &str, args: &[String]) -> Result<(Roots, AppName)> {
    let cmd: AppArg = parse(name, args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    Ok((roots.clone(), app))
}

pub fn lock(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app) = app_arg(ctx, "apps:lock", args)?;
    write_atomic(
        &AppLock::marker_path(&roots.lib_root, app.as_str()),
        b"apps:lock\n",
        0o644,
    )?;
    log::info1_quiet("Deploy lock created");
    Ok(())
}

pub fn unlock(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app) = app_arg(ctx, "apps:unlock", args)?;
    let marker = AppLock::marker_path(&roots.lib_root, app.as_str());
    if !marker.exists() {
        log::warn(&format!("{app} is not locked"));
        return Ok(());
    }
    if AppLock::is_held(&roots.lib_root, app.as_str()) {
        log::warn("A deploy is running; unlocking does not stop it");
    }
    remove_file_if_exists(&marker)?;
    log::info1_quiet("Deploy lock removed");
    Ok(())
}

pub fn locked(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app) = app_arg(ctx, "apps:locked", args)?;
    if lifecycle::is_locked(&roots, &app) {
        log::data("Deploy lock exists");
        Ok(())
    } else {
        log::data("Deploy lock does not exist");
        Err(Error::Exit(1).into())
    }
}

pub fn app_report(roots: &Roots, app: &AppName) -> Result<Report> {
    let props = properties(roots);
    let get =
        |key: &str| -> Result<String> { Ok(props.get(app.as_str(), key)?.unwrap_or_default()) };
    Ok(Report::new(app.as_str(), "app")
        .row("app-created-at", get("created-at")?)
        .row("app-deploy-source", get("deploy-source")?)
        .row("app-deploy-source-metadata", get("deploy-source-metadata")?)
        .row("app-dir", roots.app_dir(app.as_str()).display().to_string())
        .row(
            "app-global-disable-autocreation",
            global_autocreation(roots)?,
        )
        .row("app-locked", lifecycle::is_locked(roots, app).to_string()))
}

/// The global `disable-autocreation` as set (empty when unset).
fn global_autocreation(roots: &Roots) -> Result<String> {
    Ok(properties(roots)
        .get(GLOBAL, "disable-autocreation")?
        .unwrap_or_default())
}

/// `apps:report [<app>|--global] [--format json] [--<flag>]`.
pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let roots = &ctx.roots;
    if request.app.as_deref() == Some(GLOBAL) {
        return Report::new(GLOBAL, "app")
            .row(
                "app-global-disable-autocreation",
                global_autocreation(roots)?,
            )
            .print(&request);
    }
    dokku_core::report::print_for_apps(&request, roots, "apps", |app| app_report(roots, app))
}

/// What an operator may set: `disable-autocreation` is global only; where an app's code
/// came from (deploys record it) is the app's own.
pub const SETTINGS: Settings = Settings {
    namespace: crate::lifecycle::NAMESPACE,
    table: &[
        Setting {
            key: "deploy-source",
            scope: Scope::AppOnly,
            default: "",
            validate: one_line,
        },
        Setting {
            key: "deploy-source-metadata",
            scope: Scope::AppOnly,
            default: "",
            validate: one_line,
        },
        Setting {
            key: "disable-autocreation",
            scope: Scope::GlobalOnly,
            default: "false",
            validate: settings::boolean,
        },
    ],
};

/// `apps:set [<app>|--global] KEY [VALUE]`: the settings, with Dokku's words for the
/// host-wide `disable-autocreation` given an app.
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: settings::SetArgs = parse("apps:set", args)?;
    let app_given = !cmd.global && cmd.rest.first().is_some_and(|w| w != GLOBAL);
    if app_given && cmd.rest.get(1).map(String::as_str) == Some("disable-autocreation") {
        anyhow::bail!("Property can only be specified globally");
    }
    SETTINGS.set(ctx, cmd.global, &cmd.rest).map(drop)
}

fn one_line(value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        anyhow::bail!("Invalid value: one line of text");
    }
    Ok(())
}

/// Shared with the triggers: autocreation is on unless disabled globally.
pub fn autocreation_disabled(ctx: &Ctx) -> Result<bool> {
    Ok(SETTINGS.computed(ctx, GLOBAL, "disable-autocreation")? == "true")
}
