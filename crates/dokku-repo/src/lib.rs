//! The `repo` plugin: housekeeping of an app's git repository (`repo:gc`) and of what its
//! builds keep between pushes (`repo:purge-cache`: the build cache volumes and the
//! leftover build containers). A new builder stack empties the cache too.

use anyhow::Result;
use dokku_core::app;
use dokku_core::docker::{self, APP_LABEL};
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry, parse};
use dokku_core::log;

pub const PLUGIN: Plugin = Plugin {
    name: "repo",
    description: "Manage the app's repository and build cache",
    commands: &[
        Command {
            name: "gc",
            args: "<app>",
            help: "Runs 'git gc --aggressive' against the application's repo",
            run: gc,
        },
        Command {
            name: "purge-cache",
            args: "<app>",
            help: "Deletes the contents of the build cache stored in the repository",
            run: purge_cache,
        },
    ],
    triggers: &[TriggerEntry {
        name: "post-stack-set",
        run: stack_changed,
    }],
    ..Plugin::DEFAULTS
};

#[derive(clap::Parser)]
struct AppOnly {
    app: String,
}

/// `repo:gc APP`.
fn gc(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppOnly = parse("repo:gc", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let repo = ctx.roots.app_dir(app.as_str());
    let code = dokku_core::cmd::Cmd::new("git")
        .args(["gc", "--aggressive"])
        .env("GIT_DIR", repo.as_os_str())
        .stream_lines("       ")?;
    if code != 0 {
        anyhow::bail!("git gc failed (exit {code})");
    }
    Ok(())
}

/// `repo:purge-cache APP`.
fn purge_cache(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppOnly = parse("repo:purge-cache", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    purge(app.as_str())
}

/// `post-stack-set APP STACK`: a cache built on another stack is of no use.
fn stack_changed(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    if app::AppName::parse(app).is_err() {
        return Ok(());
    }
    purge(app)
}

/// Removes the app's stopped build containers and every volume labelled for the app (the
/// build caches).
fn purge(app: &str) -> Result<()> {
    let label = format!("{APP_LABEL}={app}");
    let build = [label.clone(), "com.dokku.image-stage=build".to_string()];
    for id in docker::stopped_containers_labelled(&build)? {
        let _ = docker::remove_container(&id);
    }
    let volumes = docker::docker()
        .args(["volume", "ls", "--quiet", "--filter"])
        .arg(format!("label={label}"))
        .output()?
        .stdout_trimmed();
    for volume in volumes.lines().map(str::trim).filter(|v| !v.is_empty()) {
        docker::docker()
            .args(["volume", "rm", "--force", volume])
            .output()?;
    }
    log::info1_quiet(&format!("Purged the build cache of {app}"));
    Ok(())
}
