//! Deploys from something other than a push: an archive (`git:from-archive`), an image on
//! this host (`git:from-image`) or one loaded from stdin (`git:load-image`). Each becomes a
//! directory committed onto the deploy branch, which moves only once its build succeeded.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use dokku_core::app::{self, AppName};
use dokku_core::archive;
use dokku_core::cmd::Cmd;
use dokku_core::docker;
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;

use crate::commands::advance_deploy_branch;
use crate::repo::{self, properties};

/// Who the commit is by (Dokku's defaults when not given).
struct Author {
    name: String,
    email: String,
}

impl Author {
    fn from_args(name: Option<String>, email: Option<String>) -> Author {
        Author {
            name: name.unwrap_or_else(|| "Dokku".into()),
            email: email.unwrap_or_else(|| "automated@dokku.sh".into()),
        }
    }
}

/// Commits `tree` as the next revision of the app's deploy branch and builds it; the branch
/// moves only when the build succeeded. Returns the new revision.
fn deploy_directory(
    ctx: &Ctx,
    app: &AppName,
    tree: &Path,
    message: &str,
    author: &Author,
    source: &str,
) -> Result<String> {
    let roots = &ctx.roots;
    repo::initialize(roots, app.as_str())?;
    let dir = roots.app_dir(app.as_str());
    let (branch, _) = repo::deploy_branch(roots, app.as_str())?;
    let scratch = tempfile::tempdir()?;
    let index = scratch.path().join("index");
    let work = |c: Cmd| {
        c.env("GIT_INDEX_FILE", &index)
            .env("GIT_WORK_TREE", tree)
            .env("GIT_DIR", &dir)
    };
    work(Cmd::new("git").args(["add", "-A", "."]).dir(tree)).output()?;
    let tree_id = work(Cmd::new("git").arg("write-tree"))
        .output()?
        .stdout_trimmed();
    let mut commit = Cmd::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["commit-tree", &tree_id, "-m", message])
        .env("GIT_AUTHOR_NAME", &author.name)
        .env("GIT_AUTHOR_EMAIL", &author.email)
        .env("GIT_COMMITTER_NAME", &author.name)
        .env("GIT_COMMITTER_EMAIL", &author.email);
    if let Some(parent) = repo::rev_parse(&dir, &format!("refs/heads/{branch}"))? {
        commit = commit.args(["-p", &parent]);
    }
    let rev = commit.output()?.stdout_trimmed();
    advance_deploy_branch(ctx, app, &rev, Some(source))?;
    Ok(rev)
}

#[derive(Clone, Copy, ValueEnum)]
enum ArchiveType {
    Tar,
    #[value(name = "tar.gz")]
    TarGz,
    Zip,
}

impl From<ArchiveType> for archive::Kind {
    fn from(kind: ArchiveType) -> archive::Kind {
        match kind {
            ArchiveType::Tar => archive::Kind::Tar,
            ArchiveType::TarGz => archive::Kind::TarGz,
            ArchiveType::Zip => archive::Kind::Zip,
        }
    }
}

#[derive(Parser)]
struct FromArchive {
    #[arg(long, value_enum, default_value = "tar")]
    archive_type: ArchiveType,
    #[arg(value_name = "APP")]
    app: String,
    /// An http(s) or file URL, or `-` (or `--`) for the archive on stdin.
    #[arg(value_name = "URL", allow_hyphen_values = true)]
    source: String,
    #[arg(value_name = "USER")]
    user: Option<String>,
    #[arg(value_name = "EMAIL")]
    email: Option<String>,
}

/// `git:from-archive [--archive-type tar|tar.gz|zip] APP URL|- [USER EMAIL]`. An archive
/// holding one top directory deploys that directory's contents.
pub fn from_archive(ctx: &Ctx, args: &[String]) -> Result<()> {
    // Dokku reads the archive from stdin for `--` as well as `-`.
    let args: Vec<String> = args
        .iter()
        .map(|a| if a == "--" { "-".into() } else { a.clone() })
        .collect();
    let cmd: FromArchive = parse("git:from-archive", &args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let limits = archive::Limits::configured(&ctx.roots)?;
    let scratch = tempfile::tempdir()?;
    let archive = scratch.path().join("archive");
    if cmd.source == "-" {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!("Pipe the archive to git:from-archive APP -");
        }
        // One byte past the limit is enough to refuse it: a larger upload is not kept.
        let mut file = std::fs::File::create(&archive)?;
        std::io::copy(&mut stdin.take(limits.max_size + 1), &mut file)
            .context("reading the archive")?;
    } else if ["http://", "https://", "file://"]
        .iter()
        .any(|p| cmd.source.starts_with(p))
    {
        log::info1(&format!("Downloading {}", cmd.source));
        Cmd::new("curl")
            .args(["-fsSL", "--proto", "=http,https,file", "--max-filesize"])
            .arg((limits.max_size + 1).to_string())
            .arg("-o")
            .arg(&archive)
            .arg(&cmd.source)
            .output()
            .with_context(|| format!("downloading {}", cmd.source))?;
    } else {
        bail!(
            "Invalid archive source {:?}: an http(s) or file URL, or -",
            cmd.source
        );
    }
    let extracted = scratch.path().join("extracted");
    std::fs::create_dir(&extracted)?;
    archive::extract(&archive, &extracted, cmd.archive_type.into(), 0, &limits)?;
    let tree = single_top_directory(&extracted)?.unwrap_or(extracted);
    let author = Author::from_args(cmd.user, cmd.email);
    deploy_directory(
        ctx,
        &app,
        &tree,
        "Deploy from archive",
        &author,
        "git:from-archive",
    )?;
    ctx.trigger("deploy-source-set")
        .args([app.as_str(), "git-from-archive", cmd.source.as_str()])
        .stream()
}

/// The one directory an archive holds at its top, if that is all it holds.
fn single_top_directory(dir: &Path) -> Result<Option<std::path::PathBuf>> {
    let entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    Ok(match entries.as_slice() {
        [only] if only.file_type()?.is_dir() => Some(only.path()),
        _ => None,
    })
}

#[derive(Parser)]
struct FromImage {
    /// A directory on this host whose files join the build context.
    #[arg(long, value_name = "DIR")]
    build_dir: Option<String>,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "IMAGE")]
    image: String,
    #[arg(value_name = "USER")]
    user: Option<String>,
    #[arg(value_name = "EMAIL")]
    email: Option<String>,
}

/// An image reference docker could name: no spaces, options or control characters.
pub(crate) fn image_reference(image: &str) -> Result<()> {
    let valid = !image.is_empty()
        && !image.starts_with('-')
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if !valid {
        bail!("Invalid docker image {image:?}");
    }
    Ok(())
}

/// Deploys `image` as the app: a Dockerfile `FROM image` (with the files of `build_dir`),
/// committed and built. The image is pulled when this host lacks it.
fn deploy_image(
    ctx: &Ctx,
    app: &AppName,
    image: &str,
    build_dir: Option<&str>,
    author: &Author,
    source: &str,
) -> Result<()> {
    image_reference(image)?;
    let context = tempfile::tempdir()?;
    log::info1("Generating build context");
    if let Some(dir) = build_dir {
        let dir = Path::new(dir);
        if !dir.is_dir() {
            bail!("Invalid BUILD_DIR specified for docker build context");
        }
        log::verbose("Syncing build directory context");
        dokku_core::fs::copy_tree(dir, context.path())?;
    }
    dokku_core::fs::write_atomic(
        &context.path().join("Dockerfile"),
        format!("FROM {image}\n").as_bytes(),
        0o644,
    )?;
    if docker::image_exists(image)? {
        log::info1("Image exists on host, skipping pull");
    } else {
        log::info1("Pulling image");
        let code = docker::docker()
            .args(["image", "pull", image])
            .stream_lines("       ")?;
        if code != 0 {
            bail!("Failed to pull image: {image}");
        }
    }
    properties(&ctx.roots).set(app.as_str(), "source-image", image)?;
    deploy_directory(
        ctx,
        app,
        context.path(),
        &format!("Deploy image {image}"),
        author,
        source,
    )?;
    Ok(())
}

/// `git:from-image [--build-dir DIR] APP IMAGE [USER EMAIL]`.
pub fn from_image(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: FromImage = parse("git:from-image", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    let author = Author::from_args(cmd.user, cmd.email);
    let dir = cmd.build_dir.as_deref();
    deploy_image(ctx, &app, &cmd.image, dir, &author, "git:from-image")?;
    ctx.trigger("deploy-source-set")
        .args([app.as_str(), "docker-image", cmd.image.as_str()])
        .stream()
}

/// `git:load-image [--build-dir DIR] APP IMAGE [USER EMAIL]`: `docker load` of the image
/// tarball on stdin, then as `git:from-image`.
pub fn load_image(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: FromImage = parse("git:load-image", args)?;
    let app = app::verify(&ctx.roots, &cmd.app)?;
    image_reference(&cmd.image)?;
    if std::io::stdin().is_terminal() {
        bail!("Expecting tar archive containing docker image on STDIN");
    }
    let loaded = docker::docker()
        .args(["image", "load"])
        .stream_lines("       ")?;
    if loaded != 0 {
        bail!("docker could not load the image tarball");
    }
    if !docker::image_exists(&cmd.image)? {
        bail!(
            "Loaded image tarball but the specified docker image was not found: {}",
            cmd.image
        );
    }
    let author = Author::from_args(cmd.user, cmd.email);
    let dir = cmd.build_dir.as_deref();
    deploy_image(ctx, &app, &cmd.image, dir, &author, "git:load-image")?;
    ctx.trigger("deploy-source-set")
        .args([app.as_str(), "docker-image", cmd.image.as_str()])
        .stream()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_are_plain() {
        for good in [
            "busybox",
            "dokku-rs/base:bookworm",
            "reg.example:5000/a/b@sha256:ab12",
        ] {
            assert!(image_reference(good).is_ok(), "{good}");
        }
        for bad in ["", "--help", "a b", "a;id", "a\nb", "$(id)"] {
            assert!(image_reference(bad).is_err(), "{bad:?}");
        }
    }
}
