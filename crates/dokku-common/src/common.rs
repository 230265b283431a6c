//! `common/common [--quiet] OP ARGS...`: the questions Dokku's bash `functions` hand to an
//! executable. Yes/no questions answer by exit code, or by printing `true`/`false` where
//! the bash side compares text; `--quiet` keeps the error lines for the caller to print.

use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::Error;
use dokku_core::app::{self, AppName};
use dokku_core::archive;
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::log;

pub(crate) fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    let quiet = args.first().is_some_and(|a| a == "--quiet");
    let args = if quiet { &args[1..] } else { args };
    let Some((op, rest)) = args.split_first() else {
        bail!("common: missing operation");
    };
    let arg = |at: usize| rest.get(at).map(String::as_str).unwrap_or("");
    let answer = |yes: bool| -> Result<()> {
        if yes {
            Ok(())
        } else {
            Err(Error::Exit(1).into())
        }
    };
    let say = |yes: bool| log::data(if yes { "true" } else { "false" });
    match op.as_str() {
        "is-valid-app-name" | "is-valid-app-name-old" => match AppName::parse(arg(0)) {
            Ok(_) => Ok(()),
            Err(_) if quiet => Err(Error::Exit(1).into()),
            Err(e) => Err(e.into()),
        },
        "verify-app-name" => match app::verify(&ctx.roots, arg(0)) {
            Ok(_) => Ok(()),
            Err(_) if quiet => Err(Error::Exit(1).into()),
            Err(e) => Err(e.into()),
        },
        "is-deployed" => {
            let app = app::verify(&ctx.roots, arg(0))?;
            answer(dokku_core::ask::is_deployed(ctx, app.as_str())?)
        }
        "scheduler-detect" => {
            let app = app::verify(&ctx.roots, arg(0))?;
            log::data(&dokku_core::ask::scheduler(ctx, app.as_str())?);
            Ok(())
        }
        "plugn-trigger-exists" => {
            dokku_core::plugins::validate_entry_name(arg(0))?;
            say(ctx.trigger(arg(0)).exists());
            Ok(())
        }
        "docker-cleanup" => {
            let label = match arg(0) {
                "" | "--global" => "dokku".to_string(),
                app => {
                    let app = app::verify(&ctx.roots, app)?;
                    format!("{}={app}", docker::APP_LABEL)
                }
            };
            docker::clean_up(&[label])
        }
        "image-is-herokuish-based" => {
            let image = arg(0);
            let answer = ctx
                .trigger("builder-image-is-herokuish")
                .args([arg(1), image])
                .output_string()?;
            say(answer.lines().any(|l| l.trim() == "true"));
            Ok(())
        }
        "image-is-cnb-based" => {
            let cnb = docker::inspect(arg(0))?
                .is_some_and(|info| info["Config"]["Labels"]["io.buildpacks.stack.id"].is_string());
            say(cnb);
            Ok(())
        }
        "docker-args-split" => {
            let words = shell_words::split(arg(0))
                .map_err(|_| anyhow::anyhow!("unbalanced quotes in docker options"))?;
            let mut out = Vec::new();
            for word in words {
                out.extend_from_slice(word.as_bytes());
                out.push(0);
            }
            log::raw(&out);
            Ok(())
        }
        "copy-from-image" | "copy-dir-from-image" => {
            copy_from_image(arg(1), arg(2), arg(3), op == "copy-dir-from-image")
        }
        "archive-check-limits" => {
            let limits = archive::Limits::configured(&ctx.roots)?;
            archive::check_limits(Path::new(arg(0)), archive::Kind::parse(arg(1))?, &limits)
        }
        "archive-validate-entries" => {
            archive::validate_entries(Path::new(arg(0)), archive::Kind::parse(arg(1))?)
        }
        "archive-validate-symlinks" => archive::validate_extracted_symlinks(Path::new(arg(0))),
        "archive-extract" => {
            let limits = archive::Limits::configured(&ctx.roots)?;
            let strip = match arg(3) {
                "" => 0,
                n => n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("Invalid number of leading components {n:?}"))?,
            };
            let kind = archive::Kind::parse(arg(2))?;
            archive::extract(Path::new(arg(0)), Path::new(arg(1)), kind, strip, &limits)
        }
        other => bail!("common: unknown operation '{other}'"),
    }
}

/// Copies a file or directory out of an image: a relative source is read from the image's
/// working directory (`/app` for buildpack images), as Dokku resolves it.
fn copy_from_image(image: &str, source: &str, dest: &str, dir: bool) -> Result<()> {
    if image.is_empty() || source.is_empty() || dest.is_empty() {
        bail!("copy-from-image: IMAGE, SOURCE and DESTINATION are required");
    }
    let Some(info) = docker::inspect(image)? else {
        bail!("Image {image} not found");
    };
    let source = if source.starts_with('/') {
        source.to_string()
    } else {
        let workdir = info["Config"]["WorkingDir"].as_str().unwrap_or("");
        let base = if workdir.is_empty() { "/app" } else { workdir };
        format!("{}/{source}", base.trim_end_matches('/'))
    };
    let created = docker::docker()
        .args(["container", "create", image, "true"])
        .output()?;
    let id = created.stdout_str().trim().to_string();
    let copied = docker::docker()
        .args(["container", "cp", &format!("{id}:{source}"), dest])
        .output_unchecked();
    docker::force_remove_container(&id)?;
    let copied = copied?;
    if copied.code != 0 {
        return Err(Error::Exit(1).into());
    }
    if !dir && std::path::Path::new(dest).is_dir() {
        bail!("{source} is a directory in {image}");
    }
    Ok(())
}
