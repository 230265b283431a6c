//! Triggers the apps plugin answers.

use anyhow::{Result, bail};
use dokku_core::app::{self, AppName};
use dokku_core::entry::Ctx;
use dokku_core::{Error, log};

use crate::lifecycle::{self, properties};
use crate::subcommands;

fn first(args: &[String]) -> Result<&str> {
    args.first()
        .map(String::as_str)
        .ok_or_else(|| Error::MissingApp.into())
}

/// `app-create APP`: the API other plugins call to create an app.
pub fn app_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    lifecycle::create(&ctx.roots, &AppName::parse(first(args)?)?)
}

/// `app-destroy APP`: asks for confirmation unless `DOKKU_APPS_FORCE_DELETE` is set.
pub fn app_destroy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = app::verify(roots, first(args)?)?;
    lifecycle::confirm_destroy(&app)?;
    lifecycle::destroy(roots, &app)
}

/// `app-exists APP`: exit status only.
pub fn app_exists(ctx: &Ctx, args: &[String]) -> Result<()> {
    match app::verify(&ctx.roots, first(args)?) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::Exit(1).into()),
    }
}

/// `app-list [FILTER]`: one app per line; `false` turns user filtering off.
pub fn app_list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let apps = if args.first().map(String::as_str) == Some("false") {
        let mut all: Vec<AppName> = std::fs::read_dir(&roots.dokku_root)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| AppName::parse(&e.file_name().to_string_lossy()).ok())
                    .collect()
            })
            .unwrap_or_default();
        all.sort();
        all
    } else {
        app::list(roots)?
    };
    for app in apps {
        log::data(app.as_str());
    }
    Ok(())
}

/// `app-maybe-create APP`: creates a missing app unless autocreation is disabled.
pub fn app_maybe_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = AppName::parse(first(args)?)?;
    if app::exists(roots, &app) {
        return Ok(());
    }
    if subcommands::autocreation_disabled(ctx)? {
        bail!(
            "App {app} does not exist and automatic creation is disabled (apps:set --global disable-autocreation)"
        );
    }
    lifecycle::create(roots, &app)
}

/// `post-app-clone-setup OLD NEW`: the clone records where its code came from.
pub fn post_app_clone_setup(ctx: &Ctx, args: &[String]) -> Result<()> {
    copy_deploy_source(ctx, args)
}

/// `post-app-rename-setup OLD NEW`: the deploy source follows the app.
pub fn post_app_rename_setup(ctx: &Ctx, args: &[String]) -> Result<()> {
    copy_deploy_source(ctx, args)
}

fn copy_deploy_source(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    let props = properties(&ctx.roots);
    for key in ["deploy-source", "deploy-source-metadata"] {
        if let Some(value) = props.get(old, key)? {
            props.set(new, key, &value)?;
        }
    }
    Ok(())
}

/// `deploy-source-set APP TYPE [METADATA]`: where the running code came from
/// (`git-push` and the revision, `git-from-archive` and the URL, ...).
pub fn deploy_source_set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, kind, rest @ ..] = args else {
        bail!("expected APP TYPE [METADATA]")
    };
    let roots = &ctx.roots;
    let app = app::verify(roots, app)?;
    let props = properties(roots);
    props.set(app.as_str(), "deploy-source", kind)?;
    props.set(app.as_str(), "deploy-source-metadata", &rest.join(" "))
}

/// `report APP`: this plugin's section of `dokku report`.
pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = app::verify(roots, first(args)?)?;
    subcommands::app_report(roots, &app)?.print(&Default::default())
}
