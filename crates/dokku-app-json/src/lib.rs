//! The `app-json` plugin: on each build the app's `app.json` (at `appjson-path`, default
//! `app.json`) must be a JSON object, and is kept with the build; once the build is
//! released it becomes the app's, which `app-json-get-content` answers: its scripts,
//! formation, healthchecks and cron are what the deploy reads. The config its `env`
//! declares ([`env`]) and the deployment tasks (`predeploy`, the Procfile's `release`,
//! `postdeploy`) run here ([`tasks`]).

mod env;
mod tasks;

use anyhow::{Result, bail};
use dokku_core::entry::{BuildFile, Ctx, Plugin, TriggerEntry, exactly};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "app-json",
    table: &[Setting {
        key: "appjson-path",
        scope: Scope::AppOrGlobal,
        default: "app.json",
        validate: settings::relative_path,
    }],
};

pub const PLUGIN: Plugin = Plugin {
    name: "app-json",
    description: "Manage processing of app.json files",
    default_command: None,
    triggers: &[
        TriggerEntry {
            name: "app-json-get-content",
            run: content,
        },
        TriggerEntry {
            name: "app-json-process-deploy-parallelism",
            run: parallelism,
        },
        TriggerEntry {
            name: "core-post-extract",
            run: keep_app_json,
        },
        TriggerEntry {
            name: "post-deploy",
            run: tasks::post_deploy,
        },
        TriggerEntry {
            name: "post-release-builder",
            run: adopt_release,
        },
        TriggerEntry {
            name: "pre-release-builder",
            run: tasks::pre_release,
        },
    ],
    // The release and postdeploy tasks come from the app.json and the Procfile.
    build_files: &[
        BuildFile {
            data: "app-json",
            name: "app.json",
            path_setting: Some(("app-json", "appjson-path")),
        },
        BuildFile {
            data: "ps",
            name: "Procfile",
            path_setting: Some(("ps", "procfile-path")),
        },
    ],
    settings: Some(&SETTINGS),
    ..Plugin::DEFAULTS
};

/// The app.json as plain JSON (comments and trailing commas dropped); it must be an
/// object.
fn plain_app_json(text: &str) -> Result<String> {
    let json = dokku_core::jsonc::to_json(text)?;
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::Object(_)) => Ok(json),
        Ok(_) => bail!("Invalid app.json: the top level is not an object"),
        Err(err) => bail!("Invalid app.json: {err}"),
    }
}

/// `core-post-extract APP DIR REV`. This runs before the builder plugin narrows the tree
/// to the app's `build-dir`, so the app.json is looked for inside that directory here.
fn keep_app_json(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        SETTINGS.namespace,
        |app| {
            let path = SETTINGS.computed(ctx, app, "appjson-path")?;
            let build_dir = ctx
                .trigger("builder-get-property")
                .args([app, "build-dir"])
                .output_string()?;
            Ok(match build_dir.trim().trim_matches('/') {
                "" => (path, "app.json".into()),
                dir => (format!("{dir}/{path}"), format!("{dir}/app.json")),
            })
        },
        "app.json",
        plain_app_json,
    )
}

/// `post-release-builder BUILDER APP IMAGE`: the released build's app.json becomes the
/// app's, and a fresh build's release task runs.
fn adopt_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    dokku_core::build_files::adopt_build_file(&ctx.roots, SETTINGS.namespace, app, "app.json")?;
    tasks::post_release(ctx, args)
}

/// `app-json-get-content APP`: the app's app.json, `{}` when it has none.
fn content(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("app-json-get-content", args)?;
    let path = ctx.roots.data_dir(SETTINGS.namespace, app).join("app.json");
    let text = dokku_core::fs::read_optional(&path)?.unwrap_or_else(|| "{}".into());
    dokku_core::log::data(text.trim_end());
    Ok(())
}

/// `app-json-process-deploy-parallelism APP TYPE`: `formation.<type>.max_parallel`, when
/// the app's app.json sets it (the scheduler's own setting applies otherwise).
fn parallelism(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, kind] = exactly::<2>("app-json-process-deploy-parallelism", args)?;
    let path = ctx.roots.data_dir(SETTINGS.namespace, app).join("app.json");
    let Some(text) = dokku_core::fs::read_optional(&path)? else {
        return Ok(());
    };
    let json: serde_json::Value = serde_json::from_str(&text)?;
    if let Some(n) = json["formation"][kind.as_str()]["max_parallel"].as_u64() {
        dokku_core::log::data(&n.to_string());
    }
    Ok(())
}
