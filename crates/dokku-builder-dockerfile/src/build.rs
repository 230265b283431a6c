//! `builder-build dockerfile` and `builder-release dockerfile`.
//!
//! The layer cache survives pushes because nothing that changes from one push to the next
//! enters the build before the app's own steps: the tree is extracted fresh (file times do
//! not enter docker's cache keys), and the labels, which name the app and the build, are
//! given to docker as `--label`, which sets them on the final image only.

use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::build_files::BUILD_TAG_ENV;
use dokku_core::docker;
use dokku_core::docker::{APP_LABEL, BUILDER_LABEL};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

pub(crate) const BUILDER: &str = "dockerfile";

/// `docker build` options an app's `docker-options` may pass through (others are for
/// containers, and are dropped here). The first group takes a value.
const OPTIONS_WITH_VALUE: &[&str] = &[
    "--add-host",
    "--allow",
    "--annotation",
    "--attest",
    "--build-arg",
    "--builder",
    "--cache-from",
    "--cache-to",
    "--call",
    "--cgroup-parent",
    "--label",
    "--memory",
    "--memory-swap",
    "--network",
    "--platform",
    "--progress",
    "--provenance",
    "--sbom",
    "--secret",
    "--shm-size",
    "--ssh",
    "--tag",
    "--target",
    "--ulimit",
];
const FLAGS: &[&str] = &["--check", "-D", "--debug", "--no-cache", "--pull"];

/// Keeps the options `docker build` understands, each with its value, in order.
fn build_options(words: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let word = if word == "-m" { "--memory" } else { word };
        if let Some((name, _)) = word.split_once('=') {
            let name = if name == "-m" { "--memory" } else { name };
            if OPTIONS_WITH_VALUE.contains(&name) {
                kept.push(format!(
                    "{name}={}",
                    &word[word.find('=').unwrap_or(0) + 1..]
                ));
            }
        } else if OPTIONS_WITH_VALUE.contains(&word) {
            if let Some(value) = words.next() {
                kept.push(format!("{word}={value}"));
            }
        } else if FLAGS.contains(&word) {
            kept.push(word.to_string());
        }
    }
    kept
}

/// The tag this build goes into: the pipeline's, else `latest` (a caller from Dokku).
fn build_image(app: &str) -> String {
    let tag = dokku_core::env::var(BUILD_TAG_ENV).unwrap_or_else(|| "latest".into());
    docker::app_image(app, &tag)
}

fn labels(app: &str, stage: &str) -> Vec<String> {
    [
        "org.label-schema.schema-version=1.0".to_string(),
        "org.label-schema.vendor=dokku".into(),
        format!("com.dokku.image-stage={stage}"),
        format!("{APP_LABEL}={app}"),
        "dokku".into(),
    ]
    .into_iter()
    .map(|l| format!("--label={l}"))
    .collect()
}

/// `builder-build BUILDER APP DIR`.
pub fn build(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [builder, app, dir] = exactly::<3>("builder-build", args)?;
    if builder != BUILDER {
        return Ok(());
    }
    log::info1(&format!("Building {app} from Dockerfile"));
    let work = Path::new(dir);
    if dokku_core::fs::inside_tree(work, "Dockerfile").is_none_or(|p| !p.is_file()) {
        bail!("No Dockerfile found in source code directory");
    }
    // docker's client reads these two files itself, and would follow a link out of the tree.
    if work
        .join(".dockerignore")
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        bail!(".dockerignore must be a file, not a link");
    }
    ctx.trigger("pre-build-dockerfile")
        .args([app])
        .stream_deprecated("pre-build")?;
    ctx.trigger("pre-build")
        .args([BUILDER, app, dir])
        .stream()?;
    let filter = |name: &str| ctx.trigger(name).args([app, BUILDER]).stdin(Vec::new());
    let build = docker::options::Phase::Build;
    let mut words = filter("docker-args-build").output_docker_args(app, build)?;
    words.extend(filter("docker-args-process-build").output_docker_args(app, build)?);
    let image = build_image(app);
    let options = build_options(&words);
    let mut cmd = docker::image_build()?
        .args(labels(app, "build"))
        .arg(format!("--label={BUILDER_LABEL}={BUILDER}"))
        .args(&options)
        .args(["--file", "Dockerfile", "--tag", &image, "."])
        .dir(work);
    // A `--build-arg KEY` without a value takes the app's config value, which docker reads
    // from its environment: never on a command line. Only those keys are passed, so an
    // app's config cannot redirect the docker client itself (DOCKER_HOST, PATH).
    let env = dokku_core::ask::app_config(ctx, app)?;
    for key in options
        .iter()
        .filter_map(|o| o.strip_prefix("--build-arg="))
        .filter(|k| !k.contains('='))
    {
        if let Some(value) = env.get(key) {
            cmd = cmd.env(key, value);
        }
    }
    let code = cmd.stream_lines("       ")?;
    if code != 0 {
        bail!("docker build failed (exit {code})");
    }
    ctx.trigger("ports-set-detected")
        .args([app, &detected_ports(&image)?])
        .stream()?;
    ctx.trigger("post-build-dockerfile")
        .args([app])
        .stream_deprecated("post-build")?;
    ctx.trigger("post-build").args([BUILDER, app, dir]).stream()
}

/// `EXPOSE`d ports as Dokku's port mappings (`http:5000:5000`, `https:443:443`,
/// `udp:53:53`); none exposed means the default web mapping, `http:80:5000`.
fn detected_ports(image: &str) -> Result<String> {
    let ports = docker::exposed_ports(image)?;
    if ports.is_empty() {
        return Ok("http:80:5000".into());
    }
    Ok(ports
        .iter()
        .map(|spec| {
            let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
            let scheme = match (proto, port) {
                ("udp", _) => "udp",
                (_, "443") => "https",
                _ => "http",
            };
            format!("{scheme}:{port}:{port}")
        })
        .collect::<Vec<_>>()
        .join(" "))
}

/// `builder-release BUILDER APP TAG`: the built image gets its release labels (an image
/// `FROM` it with labels only: no layer, no config baked in; a Dockerfile app reads its
/// config at run time), between `pre-release-builder` and `post-release-builder`.
pub fn release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [builder, app, tag] = exactly::<3>("builder-release", args)?;
    if builder != BUILDER {
        return Ok(());
    }
    let image = docker::app_image(app, tag);
    ctx.trigger("pre-release-dockerfile")
        .args([app, tag])
        .stream_deprecated("pre-release-builder")?;
    ctx.trigger("pre-release-builder")
        .args([BUILDER, app, &image])
        .stream()?;
    if !already_released(app, &image)? {
        label_release(app, &image)?;
    }
    ctx.trigger("post-release-builder")
        .args([BUILDER, app, &image])
        .stream()
}

/// An image released before (a restart, a rollback) already carries the release labels:
/// building them in again would cost a docker build and change nothing.
fn already_released(app: &str, image: &str) -> Result<bool> {
    Ok(
        docker::image_label(image, "com.dokku.image-stage")?.as_deref() == Some("release")
            && docker::image_label(image, APP_LABEL)?.as_deref() == Some(app),
    )
}

fn label_release(app: &str, image: &str) -> Result<()> {
    let context = tempfile::tempdir()?;
    dokku_core::fs::write_atomic(
        &context.path().join("Dockerfile"),
        format!("FROM {image}\n").as_bytes(),
        0o644,
    )?;
    let out = docker::image_build()?
        .args(labels(app, "release"))
        .args(["--tag", image, "."])
        .dir(context.path())
        .output_unchecked()?;
    if out.code != 0 {
        log::warn("Failure injecting docker labels on image");
        for line in String::from_utf8_lossy(&out.stderr).lines().rev().take(5) {
            log::warn(line);
        }
        bail!("releasing {image} failed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        shell_words::split(text).unwrap()
    }

    #[test]
    fn only_build_options_reach_docker_build() {
        assert_eq!(
            build_options(&words(
                "--build-arg A=1 --restart=always -v /x:/y --no-cache -m 256m --label=x=y --init --build-arg B"
            )),
            [
                "--build-arg=A=1",
                "--no-cache",
                "--memory=256m",
                "--label=x=y",
                "--build-arg=B"
            ]
        );
        assert_eq!(
            build_options(&words("--build-arg 'MSG=a b' --target=prod")),
            ["--build-arg=MSG=a b", "--target=prod"]
        );
    }
}
