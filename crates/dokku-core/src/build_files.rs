//! Builds and what plugins keep with them. Each build gets its own image tag,
//! `dokku/<app>:build-<N>` (N counts up per app), exported to every trigger of the build as
//! [`BUILD_TAG_ENV`]; a plugin keeps the files a rollback to that build needs (a Procfile,
//! an app.json) in `data/<plugin>/<app>/builds/<tag>/` ([`BuildFiles`]), and they go with
//! the build's image.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::entry::Ctx;
use crate::env::Roots;

/// The prefix of a build's tag: `build-<N>`.
pub const BUILD_TAG_PREFIX: &str = "build-";
/// The environment variable naming the tag a build goes into.
pub const BUILD_TAG_ENV: &str = "DOKKU_BUILD_TAG";

/// A build's number from its tag (`build-7` -> 7).
pub fn build_number(tag: &str) -> Option<u64> {
    tag.strip_prefix(BUILD_TAG_PREFIX)?.parse().ok()
}

/// The files a plugin keeps with each build (a Procfile, an app.json), in
/// `data/<plugin>/<app>/builds/<build tag>/`: what a rollback to that build needs. They go
/// with the build's image.
pub struct BuildFiles {
    dir: PathBuf,
}

impl BuildFiles {
    fn builds_dir(roots: &Roots, plugin: &str, app: &str) -> PathBuf {
        roots.data_dir(plugin, app).join("builds")
    }

    /// The files of the build under way (`DOKKU_BUILD_TAG`); None outside a build.
    pub fn current(roots: &Roots, plugin: &str, app: &str) -> Option<BuildFiles> {
        let tag = crate::env::var(BUILD_TAG_ENV).filter(|t| build_number(t).is_some())?;
        Some(BuildFiles::of(roots, plugin, app, &tag))
    }

    pub fn of(roots: &Roots, plugin: &str, app: &str, tag: &str) -> BuildFiles {
        BuildFiles {
            dir: BuildFiles::builds_dir(roots, plugin, app).join(tag),
        }
    }

    /// Stores `name`, or removes it when the build has none (a failed build's leftovers
    /// under the same tag never survive).
    pub fn put(&self, name: &str, contents: Option<&[u8]>) -> Result<()> {
        let path = self.dir.join(name);
        match contents {
            Some(bytes) => {
                std::fs::create_dir_all(&self.dir)?;
                crate::fs::write_atomic(&path, bytes, 0o600)
            }
            None => crate::fs::remove_file_if_exists(&path),
        }
    }

    pub fn get(&self, name: &str) -> Result<Option<String>> {
        crate::fs::read_optional(&self.dir.join(name))
    }

    /// Removes, in every plugin's data, what a build of this tag left before (a build that
    /// failed before it made its image leaves its tag to the next one): a new build starts
    /// with none, whichever plugins it reaches.
    pub fn clear_tag(roots: &Roots, app: &str, tag: &str) -> Result<()> {
        if build_number(tag).is_none() {
            return Ok(());
        }
        let Ok(plugins) = std::fs::read_dir(roots.lib_root.join("data")) else {
            return Ok(());
        };
        for plugin in plugins.filter_map(|e| e.ok()) {
            let name = plugin.file_name().to_string_lossy().into_owned();
            let leftover = BuildFiles::builds_dir(roots, &name, app).join(tag);
            if leftover.symlink_metadata().is_ok() {
                crate::fs::remove_dir_all_if_exists(&leftover)?;
            }
        }
        Ok(())
    }

    /// Removes, in every plugin's data, the app's files of builds other than `kept` (the
    /// builds whose images stay; a failed build has none).
    pub fn prune(roots: &Roots, app: &str, kept: &[String]) -> Result<()> {
        let Ok(plugins) = std::fs::read_dir(roots.lib_root.join("data")) else {
            return Ok(());
        };
        for plugin in plugins.filter_map(|e| e.ok()) {
            let name = plugin.file_name().to_string_lossy().into_owned();
            let dir = BuildFiles::builds_dir(roots, &name, app);
            let Ok(builds) = std::fs::read_dir(&dir) else {
                continue;
            };
            for build in builds.filter_map(|e| e.ok()) {
                let tag = build.file_name().to_string_lossy().into_owned();
                if build_number(&tag).is_some() && !kept.contains(&tag) {
                    crate::fs::remove_dir_all_if_exists(&build.path())?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the build `tag` kept the file `name` in `data/<data>`, or the app has one.
pub fn kept_or_adopted(
    roots: &Roots,
    data: &str,
    app: &str,
    name: &str,
    tag: Option<&str>,
) -> bool {
    let app_dir = roots.data_dir(data, app);
    let kept = tag
        .filter(|t| build_number(t).is_some())
        .is_some_and(|tag| app_dir.join("builds").join(tag).join(name).exists());
    kept || app_dir.join(name).exists()
}

/// A plugin's `core-post-extract APP DIR REV`: the file at the path `paths` gives for the
/// app (never reached through a link) is checked by `prepare`, and what `prepare` makes of
/// it is kept with the build as `name`, in the plugin's data dir; a tree without it keeps
/// nothing. A file that fails its check fails the build. `paths` gives the configured
/// path and the file's default place in the tree: when they differ, the tree's default
/// file becomes the configured one (or goes, when the configured one does not exist), so
/// a builder reading the default place reads what was chosen, as in Dokku.
pub fn keep_build_file(
    ctx: &Ctx,
    args: &[String],
    plugin: &str,
    paths: impl Fn(&str) -> Result<(String, String)>,
    name: &str,
    prepare: fn(&str) -> Result<String>,
) -> Result<()> {
    let [app, tree, _rev] = crate::entry::exactly::<3>("core-post-extract", args)?;
    let (rel_path, default_path) = paths(app)?;
    let tree = Path::new(tree);
    if rel_path.trim_matches('/') != default_path.trim_matches('/') {
        put_in_default_place(tree, &rel_path, &default_path)?;
    }
    const MAX_BYTES: u64 = 1024 * 1024;
    let found = crate::fs::inside_tree(tree, &rel_path).filter(|p| p.is_file());
    if found.is_none() && tree.join(&rel_path).symlink_metadata().is_ok() {
        bail!("{rel_path} must be a file in the repository, not a link or a directory");
    }
    let bytes = match found {
        Some(path) => {
            if std::fs::metadata(&path)?.len() > MAX_BYTES {
                bail!("{rel_path} is larger than 1 MiB");
            }
            Some(std::fs::read(&path)?)
        }
        // An app deployed from an image (`git:from-image`) has its files in the image.
        None => match source_image(ctx, app)? {
            Some(image) => crate::docker::read_image_file(&image, &rel_path)?,
            None => None,
        },
    };
    let text = match bytes {
        Some(bytes) if bytes.len() as u64 > MAX_BYTES => bail!("{rel_path} is larger than 1 MiB"),
        Some(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{rel_path} is not UTF-8 text"))?;
            Some(prepare(&text)?)
        }
        None => None,
    };
    let Some(files) = BuildFiles::current(&ctx.roots, plugin, app) else {
        return Ok(());
    };
    files.put(name, text.as_deref().map(str::as_bytes))
}

/// The configured file copied over the default one in the tree, or the default one
/// removed when the configured one is not there; neither is reached through a link.
fn put_in_default_place(tree: &Path, configured: &str, default: &str) -> Result<()> {
    let Some(target) = crate::fs::inside_tree(tree, default) else {
        return Ok(());
    };
    if target.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    match crate::fs::inside_tree(tree, configured).filter(|p| p.is_file()) {
        Some(source) => {
            let bytes = std::fs::read(&source)?;
            crate::fs::remove_file_if_exists(&target)?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)?;
        }
        None => crate::fs::remove_file_if_exists(&target)?,
    }
    Ok(())
}

/// Whether the git plugin recorded that the app's source is an image (`git:from-image`,
/// its `source-image` property): the build's files are then read from the image, so a
/// tree without them (the generated `FROM image` one) says nothing of them.
pub fn from_image(roots: &Roots, app: &str) -> bool {
    roots
        .config_dir()
        .join("git")
        .join(app)
        .join("source-image")
        .exists()
}

/// The image the app's source came from (`git:from-image`), if it did.
fn source_image(ctx: &Ctx, app: &str) -> Result<Option<String>> {
    let image = ctx
        .trigger("git-get-property")
        .args([app, "source-image"])
        .output_string()?;
    Ok(Some(image.trim().to_string()).filter(|i| !i.is_empty()))
}

/// A plugin's `post-release-builder`: the released build's file `name` becomes the app's
/// (`data/<plugin>/<app>/<name>`), or the app has none when the build kept none. Outside
/// the release of a build (a restart releases `latest`) nothing changes, and the answer
/// is false.
pub fn adopt_build_file(roots: &Roots, plugin: &str, app: &str, name: &str) -> Result<bool> {
    let Some(build) = BuildFiles::current(roots, plugin, app) else {
        return Ok(false);
    };
    let path = roots.data_dir(plugin, app).join(name);
    match build.get(name)? {
        Some(text) => {
            std::fs::create_dir_all(roots.data_dir(plugin, app))?;
            crate::fs::write_atomic(&path, text.as_bytes(), 0o600)?
        }
        None => crate::fs::remove_file_if_exists(&path)?,
    }
    Ok(true)
}

/// Whether the app's source asks to be built by buildpacks: a `.buildpacks` file, a `.env`
/// that sets `BUILDPACK_URL`, or `BUILDPACK_URL` in the app's config. Such an app is a
/// buildpack build even when it also has a Dockerfile, as in Dokku.
pub fn asks_for_buildpacks(ctx: &Ctx, app: &str, tree: &Path) -> Result<bool> {
    if crate::fs::inside_tree(tree, ".buildpacks").is_some_and(|p| p.is_file()) {
        return Ok(true);
    }
    let dotenv = crate::fs::inside_tree(tree, ".env")
        .filter(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let in_dotenv = dotenv.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        line.starts_with("BUILDPACK_URL=")
    });
    if in_dotenv {
        return Ok(true);
    }
    Ok(!crate::ask::config_value(ctx, app, "BUILDPACK_URL")?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_file_takes_the_default_place_or_the_default_goes() {
        let tree = tempfile::tempdir().unwrap();
        let dir = tree.path();
        std::fs::write(dir.join("Procfile"), "web: one\n").unwrap();
        std::fs::write(dir.join("second.Procfile"), "web: two\n").unwrap();
        put_in_default_place(dir, "second.Procfile", "Procfile").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("Procfile")).unwrap(),
            "web: two\n"
        );
        put_in_default_place(dir, "missing.Procfile", "Procfile").unwrap();
        assert!(!dir.join("Procfile").exists());
        // Nothing outside the tree is read or written.
        assert!(put_in_default_place(dir, "../../etc/passwd", "Procfile").is_ok());
        assert!(!dir.join("Procfile").exists());
    }
}
