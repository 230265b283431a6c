//! `builder:*` commands and the builder triggers.

use std::path::Path;

use crate::pipeline;
use anyhow::{Result, bail};
use dokku_core::app;
use dokku_core::builds::Recording;
use dokku_core::docker;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::fs::AppLock;
use dokku_core::log;
use dokku_core::settings::{self, Scope, Setting, Settings};

/// What `builder:set` may set, for an app or globally.
pub const SETTINGS: Settings = Settings {
    namespace: "builder",
    table: &[
        Setting {
            key: "build-dir",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: settings::relative_path,
        },
        Setting {
            key: "selected",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: builder_name,
        },
        Setting {
            key: "skip-cleanup",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
    ],
};

/// Set by the build itself (`builder-set-property APP detected NAME`), never by `:set`.
const DETECTED: &str = "detected";

/// A builder's name: `dockerfile`, `herokuish`, `null`, a third-party builder's.
fn builder_name(value: &str) -> Result<()> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && value.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        bail!("Invalid builder {value:?}");
    }
    Ok(())
}

pub fn report_rows(ctx: &Ctx, apps: &[app::AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter().map(|app| app_report_rows(ctx, app)).collect()
}

/// `builder:report`'s row beyond the settings: the builder detection chose last.
fn app_report_rows(ctx: &Ctx, app: &app::AppName) -> Result<Vec<(String, String)>> {
    let detected = SETTINGS
        .properties(ctx)
        .get(app.as_str(), DETECTED)?
        .unwrap_or_default();
    Ok(vec![("builder-detected".into(), detected)])
}

/// The selected builder (app, else global), which wins over detection.
pub fn selected(ctx: &Ctx, app: &str) -> Result<Option<String>> {
    let selected = SETTINGS.computed(ctx, app, "selected")?;
    Ok(Some(selected).filter(|s| !s.is_empty()))
}

/// `builder-detect APP DIR`: the selected builder.
pub fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    if let Some(selected) = selected(ctx, app)? {
        log::data(&selected);
    }
    Ok(())
}

fn known_property(key: &str) -> Result<()> {
    if key != DETECTED && !SETTINGS.table.iter().any(|s| s.key == key) {
        bail!("Invalid builder property specified");
    }
    Ok(())
}

/// `builder-get-property APP KEY`: the app's own value.
pub fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = exactly::<2>("builder-get-property", args)?;
    known_property(key)?;
    let value = SETTINGS.properties(ctx).get(app, key)?.unwrap_or_default();
    log::data(&value);
    Ok(())
}

/// Records the builder a build of the app detected.
pub fn set_detected(ctx: &Ctx, app: &str, builder: &str) -> Result<()> {
    SETTINGS.properties(ctx).set(app, DETECTED, builder)
}

/// `builder-set-property APP KEY VALUE`.
pub fn set_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key, value] = exactly::<3>("builder-set-property", args)?;
    known_property(key)?;
    let app = app::verify(&ctx.roots, app)?;
    SETTINGS.properties(ctx).set(app.as_str(), key, value)
}

/// `core-post-extract APP DIR REV`: with a `build-dir`, that subdirectory becomes the whole
/// tree to build. It must be a real directory inside the tree, never a link out of it.
pub fn apply_build_dir(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir, _rev] = exactly::<3>("core-post-extract", args)?;
    let sub = SETTINGS.computed(ctx, app, "build-dir")?;
    let sub = sub.trim_matches('/');
    if sub.is_empty() {
        return Ok(());
    }
    let dir = Path::new(dir);
    let Some(source) = dokku_core::fs::inside_tree(dir, sub).filter(|p| p.is_dir()) else {
        bail!("Specified build-dir not found in sourcecode working directory: {sub}");
    };
    let kept = dir.join(format!(".dokku-build-dir.{}", std::process::id()));
    std::fs::rename(&source, &kept)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path == kept {
            continue;
        }
        if path.symlink_metadata()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(&kept)? {
        let entry = entry?;
        std::fs::rename(entry.path(), dir.join(entry.file_name()))?;
    }
    std::fs::remove_dir(&kept)?;
    Ok(())
}

/// `post-delete APP`: every image built for the app.
pub fn post_delete(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let repo = docker::app_repo(app);
    for (tag, _) in docker::repo_tags(&repo)? {
        let _ = docker::untag(&format!("{repo}:{tag}"));
    }
    let label = format!("{}={app}", docker::APP_LABEL);
    for id in docker::images_labelled(&[label])? {
        let _ = docker::untag(&id);
    }
    Ok(())
}

/// `pre-receive-app APP BUILDER DIR REV`: before the build, the app's stopped containers and
/// untagged images go, as Dokku cleans up before each build, unless `skip-cleanup` is true
/// (or `DOKKU_SKIP_CLEANUP`, from an older dokkurc).
pub fn clean_up(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, _builder, _dir, _rev] = exactly::<4>("pre-receive-app", args)?;
    let skip = SETTINGS.computed(ctx, app, "skip-cleanup")? == "true"
        || dokku_core::env::var("DOKKU_SKIP_CLEANUP").as_deref() == Some("true");
    if skip {
        log::info1("DOKKU_SKIP_CLEANUP set. Skipping dokku cleanup");
        return Ok(());
    }
    log::info1("Cleaning up...");
    docker::clean_up(&[format!("{}={app}", docker::APP_LABEL)])
}

/// Once a build is released, the build-stage images of the app go (the release image
/// keeps their layers). A build-stage image is left without a tag once its release exists,
/// and would otherwise stay on disk for every push.
pub fn remove_build_stage_images(app: &str) -> Result<()> {
    let labels = [
        "com.dokku.image-stage=build".to_string(),
        format!("{}={app}", docker::APP_LABEL),
    ];
    for id in docker::images_labelled(&labels)? {
        // An image still tagged or used by a container stays.
        let _ = docker::untag(&id);
    }
    Ok(())
}

/// A deploy trigger's `APP [TAG] ...`: the app, verified and under its deploy lock
/// (inherited inside a deploy; shared with the triggers it fires), the tag (`latest`
/// when none is given), and the build's recording unless a parent records it.
fn locked_app_and_tag(
    ctx: &Ctx,
    args: &[String],
    source: &str,
) -> Result<(AppLock, Option<Recording>, String, String)> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let app = app::verify(&ctx.roots, app)?.to_string();
    let tag = args
        .get(1)
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("latest")
        .to_string();
    let mut lock = AppLock::for_deploy(&ctx.roots.lib_root, &app)?;
    lock.share_with_children(&app);
    let recording = Recording::begin(ctx, &app, source).map(|mut recording| {
        recording.share_with_children(source);
        recording.tee_output();
        recording
    });
    Ok((lock, recording, app, tag))
}

/// `builder-receive APP DIR REV`: builds the extracted tree in DIR (revision REV), then
/// releases and deploys the build. The caller holds the app's deploy lock.
pub fn receive(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, dir, rev] = exactly::<3>("builder-receive", args)?;
    let app = app::verify(&ctx.roots, app)?;
    let _config = dokku_core::ask::share_deploy_facts(ctx, app.as_str())?;
    pipeline::build(ctx, app.as_str(), Path::new(dir), rev)
}

/// `release-and-deploy APP [TAG] [SOURCE]`: releases an existing image and deploys it
/// (SOURCE names what asked for it in the build's record: `deploy` when none is given).
pub fn release_and_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let source = args.get(2).map(String::as_str).filter(|s| !s.is_empty());
    let (_lock, recording, app, tag) = locked_app_and_tag(ctx, args, source.unwrap_or("deploy"))?;
    let deployed = dokku_core::ask::share_deploy_facts(ctx, &app)
        .and_then(|_config| pipeline::release_and_deploy(ctx, &app, &tag));
    if let Some(recording) = recording {
        recording.finish(&deployed);
    }
    deployed
}

/// `deploy APP [TAG] [PROC]`: an image already released is deployed again (of every
/// process type, or one), as Dokku's common plugin does.
pub fn deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (_lock, recording, app, tag) = locked_app_and_tag(ctx, args, "deploy")?;
    let process = args.get(2).map(String::as_str).filter(|p| !p.is_empty());
    let deployed = dokku_core::ask::share_deploy_facts(ctx, &app)
        .and_then(|_config| pipeline::deploy(ctx, &app, &tag, process));
    if let Some(recording) = recording {
        recording.finish(&deployed);
    }
    deployed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_names_are_plain_words() {
        assert!(builder_name("dockerfile").is_ok());
        assert!(builder_name("my-builder2").is_ok());
        for bad in ["", "-x", "Docker", "a b", "../x"] {
            assert!(builder_name(bad).is_err(), "{bad:?}");
        }
    }
}
