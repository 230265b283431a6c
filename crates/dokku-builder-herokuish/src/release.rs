//! `builder-release herokuish APP TAG`: the app's config is baked into the slug's
//! `.profile.d` (global values first, then the app's: what `/start` and `/exec` source),
//! before `pre-release-builder` when a plugin answers it (the predeploy task sees it) and
//! again after it, when
//! `/app` becomes the app user's and the image runs as that user, with herokuish's own
//! user switch turned off.

use std::collections::BTreeMap;

use anyhow::Result;
use dokku_core::docker;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::BUILDER;
use crate::build::{app_user, build_layer};

/// The config scripts in place for the predeploy task.
const PRE_RELEASE: &str = "ARG APP_IMAGE
FROM $APP_IMAGE
ARG DOKKU_APP_USER=herokuishuser
COPY --chown=$DOKKU_APP_USER 00-global-env.sh 01-app-env.sh /app/.profile.d/
";

/// The config scripts again (the predeploy task may have changed `/app`), `/app` the app
/// user's, and the image run as that user.
const RELEASE: &str = "ARG APP_IMAGE
FROM $APP_IMAGE
ARG DOKKU_APP_USER=herokuishuser
COPY --chown=$DOKKU_APP_USER 00-global-env.sh 01-app-env.sh /app/.profile.d/
RUN find /app \\( ! -user \"$DOKKU_APP_USER\" -o ! -group \"$DOKKU_APP_USER\" \\) -print0 | xargs -0 -r chown \"$DOKKU_APP_USER:$DOKKU_APP_USER\"
USER $DOKKU_APP_USER
ENV HEROKUISH_SETUIDGUID=false
";

/// `export KEY='VALUE'` lines, as a shell reads them back.
fn exports(config: &BTreeMap<String, String>) -> String {
    config
        .iter()
        .filter(|(key, _)| {
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|(key, value)| format!("export {key}='{}'\n", value.replace('\'', "'\\''")))
        .collect()
}

/// The config scripts of the app's config as it is now, in `dir`: the merged config.
fn write_config_scripts(
    ctx: &Ctx,
    app: &str,
    dir: &std::path::Path,
) -> Result<BTreeMap<String, String>> {
    let merged = dokku_core::ask::app_config(ctx, app)?;
    let own = dokku_core::ask::own_config(ctx, app)?;
    let global: BTreeMap<String, String> = merged
        .iter()
        .filter(|(key, _)| !own.contains_key(*key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    dokku_core::fs::write_atomic(
        &dir.join("00-global-env.sh"),
        exports(&global).as_bytes(),
        0o644,
    )?;
    dokku_core::fs::write_atomic(&dir.join("01-app-env.sh"), exports(&own).as_bytes(), 0o644)?;
    Ok(merged)
}

pub fn release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [builder, app, tag] = exactly::<3>("builder-release", args)?;
    if builder != BUILDER {
        return Ok(());
    }
    let image = docker::app_image(app, tag);
    let context = tempfile::tempdir()?;
    let merged = write_config_scripts(ctx, app, context.path())?;
    let user = app_user(&merged);
    let build_args = [
        ("APP_IMAGE", image.as_str()),
        ("DOKKU_APP_USER", user.as_str()),
    ];
    // The predeploy task (and any other pre-release work) sees the config scripts; with
    // no plugin to start there, the release layer alone puts them in.
    let pre_buildpack = ctx.trigger("pre-release-buildpack").args([app, tag]);
    let pre_builder = ctx
        .trigger("pre-release-builder")
        .args([BUILDER, app, &image]);
    if pre_buildpack.exists() || pre_builder.exists() {
        build_layer(
            app,
            "release",
            PRE_RELEASE,
            context.path(),
            &build_args,
            &image,
        )
        .inspect_err(|_| log::warn("Failure injecting environment variables"))?;
        pre_buildpack.stream_deprecated("pre-release-builder")?;
        pre_builder.stream()?;
        // The pre-release work may have set config (an app.json's env).
        write_config_scripts(ctx, app, context.path())?;
    }
    build_layer(app, "release", RELEASE, context.path(), &build_args, &image)
        .inspect_err(|_| log::warn("Failure injecting environment variables"))?;
    ctx.trigger("post-release-builder")
        .args([BUILDER, app, &image])
        .stream()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_quote_values_for_the_shell() {
        let config: BTreeMap<String, String> = [
            ("A".to_string(), "it's $HOME".to_string()),
            ("bad name".to_string(), "x".to_string()),
        ]
        .into();
        assert_eq!(exports(&config), "export A='it'\\''s $HOME'\n");
    }
}
