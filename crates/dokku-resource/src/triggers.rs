//! The triggers the resource plugin answers.

use anyhow::Result;
use dokku_core::entry::Ctx;

use crate::commands::{DEFAULT_TYPE, Kind, check_value, properties};

/// The process type whose limits apply to builds.
pub(crate) const BUILD_TYPE: &str = "build";

/// The docker flags of an app's process type: its own values over the defaults (`build`
/// takes no defaults: a build often needs more than the app runs with), only those
/// `allowed`.
pub(crate) fn flags(ctx: &Ctx, app: &str, process: &str, allowed: &[&str]) -> Result<String> {
    let props = properties(ctx);
    let mut out = String::new();
    // Reservations are for running containers; a build gets its limits only.
    let kinds: &[Kind] = if process == BUILD_TYPE {
        &[Kind::Limit]
    } else {
        &[Kind::Limit, Kind::Reserve]
    };
    for &kind in kinds {
        for resource in allowed {
            let own = props.get(app, &format!("{process}.{}.{resource}", kind.key()))?;
            let value = match own {
                Some(v) => Some(v),
                None if process == BUILD_TYPE => None,
                None => props.get(app, &format!("{DEFAULT_TYPE}.{}.{resource}", kind.key()))?,
            };
            let Some(value) = value.filter(|v| !v.is_empty() && check_value(resource, v).is_ok())
            else {
                continue;
            };
            let flag = match (kind, *resource) {
                (Kind::Limit, "cpu") => "cpus",
                (Kind::Limit, "nvidia-gpu") => "gpus",
                (Kind::Limit, "memory") => "memory",
                (Kind::Limit, "memory-swap") => "memory-swap",
                (Kind::Reserve, "memory") => "memory-reservation",
                _ => continue,
            };
            let value = if *resource == "memory" && value.chars().all(|c| c.is_ascii_digit()) {
                format!("{value}m")
            } else {
                value
            };
            out.push_str(&format!(" --{flag}={value}"));
        }
    }
    Ok(out)
}

/// `DOKKU_OMIT_RESOURCE_ARGS=1`: the resource triggers add nothing (Dokku's switch for
/// callers that set their own limits).
fn omitted() -> bool {
    dokku_core::env::var("DOKKU_OMIT_RESOURCE_ARGS").as_deref() == Some("1")
}

/// `docker-args-process-deploy APP IMAGE_SOURCE_TYPE TAG PROC [INDEX]`.
pub(crate) fn deploy_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let extra = match (args.first(), args.get(3).filter(|p| !p.is_empty())) {
        _ if omitted() => String::new(),
        (Some(app), Some(process)) if process != BUILD_TYPE => flags(
            ctx,
            app,
            process,
            &["cpu", "memory", "memory-swap", "nvidia-gpu"],
        )?,
        _ => String::new(),
    };
    dokku_core::docker::filter_args(&extra)
}

/// `docker-args-process-build APP BUILDER`: the `build` type's limits, as Dokku gives
/// them: all of them for a buildpack build (it runs in a container), memory only for a
/// Dockerfile build (`docker build` takes no cpu or gpu limit), none for other builders.
pub(crate) fn build_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let extra = match (args.first(), args.get(1).map(String::as_str)) {
        _ if omitted() => String::new(),
        (Some(app), Some("dockerfile")) => flags(ctx, app, BUILD_TYPE, &["memory", "memory-swap"])?,
        (Some(app), Some("herokuish")) => flags(
            ctx,
            app,
            BUILD_TYPE,
            &["cpu", "memory", "memory-swap", "nvidia-gpu"],
        )?,
        _ => String::new(),
    };
    dokku_core::docker::filter_args(&extra)
}

pub(crate) fn copy(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).copy_trigger(args)
}

pub(crate) fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).delete_trigger(args)
}
