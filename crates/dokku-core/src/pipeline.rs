//! The one owner of build -> release -> deploy, fired in Dokku's order with Dokku's
//! arguments. `receive-app` (a push, `ps:rebuild`, `git:sync --build`, `git:from-*`) calls
//! [`build`] on an extracted tree, which ends, as Dokku's does, by firing
//! `release-and-deploy` (with the build's tag); its handler calls [`release_and_deploy`],
//! as it does for an image that already exists (config changes).
//!
//! Each build gets its own tag, `dokku/<app>:build-<N>` (N counts up per app), exported to
//! every trigger as `DOKKU_BUILD_TAG` so builders build into it and plugins can keep files
//! with it. `latest` moves to a build only once it built and released: a failed build, or a
//! pusher who went away, leaves `latest` and every earlier build as they were. The newest
//! [`KEEP_BUILDS`] builds, and those a kept release needs, are kept (disks filling with old
//! images is a classic complaint); older tags are removed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::docker;
use crate::entry::Ctx;
use crate::env::Roots;
use crate::error::Error;
use crate::log;

/// How many builds of an app keep their image.
pub const KEEP_BUILDS: usize = 10;
const BUILD_TAG_PREFIX: &str = "build-";
/// The environment variable naming the tag a build goes into.
pub const BUILD_TAG_ENV: &str = "DOKKU_BUILD_TAG";
/// The label every image built for an app carries, and the builder that made it.
pub const APP_LABEL: &str = "com.dokku.app-name";
pub const BUILDER_LABEL: &str = "com.dokku.builder-type";
/// Dokku's `builder:set APP selected null`: the build makes no image and nothing is
/// released or deployed.
pub const NULL_BUILDER: &str = "null";

/// A build's number from its tag (`build-7` -> 7).
pub fn build_number(tag: &str) -> Option<u64> {
    tag.strip_prefix(BUILD_TAG_PREFIX)?.parse().ok()
}

/// The app's build tags, oldest first.
pub fn build_tags(app: &str) -> Result<Vec<String>> {
    let mut numbers: Vec<u64> = docker::repo_tags(&docker::app_repo(app))?
        .iter()
        .filter_map(|(tag, _)| build_number(tag))
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    Ok(numbers
        .into_iter()
        .map(|n| format!("{BUILD_TAG_PREFIX}{n}"))
        .collect())
}

fn next_build_tag(app: &str) -> Result<String> {
    let last = build_tags(app)?
        .last()
        .and_then(|t| build_number(t))
        .unwrap_or(0);
    Ok(format!("{BUILD_TAG_PREFIX}{}", last + 1))
}

/// Set once this process was asked to stop (SIGTERM or SIGHUP: the pusher went away and
/// the push's process group is being stopped). The pipeline's owner survives the signal to
/// undo what it began; the trigger it was running stops, and nothing further starts.
fn stop_requested() -> &'static std::sync::atomic::AtomicBool {
    use std::sync::Arc;
    use std::sync::OnceLock;
    use std::sync::atomic::AtomicBool;
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            let _ = signal_hook::flag::register(signal, flag.clone());
        }
        flag
    })
}

fn check_stop() -> Result<()> {
    if stop_requested().load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::OutputClosed.into());
    }
    Ok(())
}

/// Names the gate of the push this process serves ([`DeployGate`]).
pub const DEPLOY_GATE_ENV: &str = "DOKKU_DEPLOY_GATE";

/// The point past which a push's deploy is no longer stopped when its pusher goes. Until
/// the new containers take the app's traffic, a pusher who disconnects stops the push
/// (SIGTERM to its process group) and the old release serves on. Once the scheduler has
/// passed the gate ([`commit_deploy`]) the deploy completes, the release is recorded and
/// git moves the branch: what serves, what the releases say and what the branch holds
/// never part. The gate is a file the push's owner creates; both sides hold its lock
/// while they decide, so a stop and a commit never cross.
pub struct DeployGate {
    path: PathBuf,
}

impl DeployGate {
    /// A new, closed gate (an empty file only this user may read).
    pub fn create() -> Result<DeployGate> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = std::env::temp_dir().join(format!(
            "dokku-deploy-gate-{}-{}",
            std::process::id(),
            crate::time::now().as_nanos()
        ));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(DeployGate { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `stop` unless the deploy has passed the gate; true when it ran.
    pub fn stop_unless_committed(&self, stop: impl FnOnce()) -> bool {
        let Ok(file) = std::fs::OpenOptions::new().read(true).open(&self.path) else {
            stop();
            return true;
        };
        let _ = file.lock();
        if std::fs::read(&self.path).is_ok_and(|content| content == b"committed") {
            return false;
        }
        stop();
        true
    }
}

impl Drop for DeployGate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The scheduler, about to give the app's traffic to the new containers: fails with
/// [`Error::OutputClosed`] when the deploy was asked to stop, else passes the push's gate
/// (when there is one) so that nothing stops the deploy from here on.
pub fn commit_deploy() -> Result<()> {
    let stopped = stop_requested();
    let Some(path) = crate::env::var(DEPLOY_GATE_ENV) else {
        return check_stop();
    };
    let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
    file.lock()?;
    // A stop decided while we waited for the lock has been delivered by now.
    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(Error::OutputClosed.into());
    }
    file.write_all(b"committed")?;
    Ok(())
}

/// Makes this process survive a stop request (SIGTERM, SIGHUP) until it asks
/// ([`commit_deploy`]): a scheduler that started containers removes them itself.
pub fn hold_stop_requests() {
    stop_requested();
}

/// The app's merged config (global, then the app's own), through `config-export`: what a
/// build's `--build-arg KEY` and a container's environment take their values from.
pub fn app_config(ctx: &Ctx, app: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let json = ctx
        .trigger("config-export")
        .args([app, "false", "true", "json"])
        .output_string()?;
    if json.trim().is_empty() {
        return Ok(Default::default());
    }
    serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("reading the config of {app}: {e}"))
}

/// Where build trees are checked out: `DOKKU_BUILD_TMPDIR` when set, else `/dev/shm` when
/// it is a memory file system with at least 1 GiB free, else the system's temp dir.
/// Writing a tree of many small files to memory takes a sixth of the time it takes on
/// disk here (40 ms against 250 ms for 1,000 files), and a tree lives only for its build.
pub fn build_tmp_root() -> PathBuf {
    if let Some(dir) = crate::env::var("DOKKU_BUILD_TMPDIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    const MIN_FREE: u64 = 1 << 30;
    let shm = Path::new("/dev/shm");
    let roomy = nix::sys::statvfs::statvfs(shm)
        .is_ok_and(|fs| fs.blocks_available().saturating_mul(fs.fragment_size()) >= MIN_FREE);
    let writable = nix::unistd::access(shm, nix::unistd::AccessFlags::W_OK).is_ok();
    if roomy && writable {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// A step line the pusher must still be there to read: when the output is closed the
/// pipeline stops before it changes anything.
fn step(text: &str) -> Result<()> {
    check_stop()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "-----> {text}")
        .and_then(|()| stdout.flush())
        .map_err(|_| Error::OutputClosed.into())
}

/// Builds the tree in `dir` (revision `rev`) into a new image, then releases and deploys it.
pub fn build(ctx: &Ctx, app: &str, dir: &Path, rev: &str) -> Result<()> {
    stop_requested();
    let tag = next_build_tag(app)?;
    let trigger = |name: &str| ctx.trigger(name).env(BUILD_TAG_ENV, &tag);
    let dir_arg = dir.display().to_string();
    trigger("core-post-extract")
        .args([app, &dir_arg, rev])
        .stream()?;
    trigger("post-extract")
        .args([app, &dir_arg, rev])
        .stream()?;
    let builder = detect_builder(ctx, app, &dir_arg)?;
    trigger("pre-receive-app")
        .args([app, &builder, &dir_arg, rev])
        .stream()?;
    trigger("builder-set-property")
        .args([app, "detected", &builder])
        .stream()?;
    let image = docker::app_image(app, &tag);
    let latest = docker::app_image(app, "latest");
    let latest_before = docker::image_id(&latest)?;
    let built = trigger("builder-build")
        .args([&builder, app, &dir_arg])
        .stream();
    if builder == NULL_BUILDER && built.is_ok() && !docker::image_exists(&image)? {
        log::info1(&format!("The null builder built nothing for {app}"));
        return Ok(());
    }
    let built = built
        .and_then(|()| check_stop())
        .and_then(|()| adopt_latest(&image, &latest, latest_before.as_deref()));
    if let Err(err) = built {
        if docker::image_exists(&image)? {
            docker::untag(&image)?;
        }
        if matches!(err.downcast_ref(), Some(Error::OutputClosed)) {
            return Err(err);
        }
        if !matches!(
            err.downcast_ref(),
            Some(Error::TriggerFailed { .. } | Error::Exit(_))
        ) {
            log::warn(&format!("{err:#}"));
        }
        log::warn("App build failed");
        return Err(Error::Exit(1).into());
    }
    check_stop()?;
    ctx.trigger("release-and-deploy").args([app, &tag]).stream()
}

/// The first line `builder-detect` prints; nothing detected means Dokku's default,
/// herokuish, when that builder is installed.
fn detect_builder(ctx: &Ctx, app: &str, dir: &str) -> Result<String> {
    let detected = ctx
        .trigger("builder-detect")
        .args([app, dir])
        .output_string()?;
    if let Some(first) = detected.lines().map(str::trim).find(|l| !l.is_empty()) {
        return Ok(first.to_string());
    }
    if ctx
        .trigger("builder-build")
        .only("builder-herokuish")
        .exists()
    {
        return Ok("herokuish".into());
    }
    bail!(
        "No builder detected for {app}: add a Dockerfile, or choose one with builder:set {app} selected BUILDER"
    )
}

/// A builder written for Dokku builds `dokku/<app>:latest` rather than the build's own tag:
/// when only `latest` changed, that image is the build.
fn adopt_latest(image: &str, latest: &str, latest_before: Option<&str>) -> Result<()> {
    if docker::image_exists(image)? {
        return Ok(());
    }
    match docker::image_id(latest)? {
        Some(now) if Some(now.as_str()) != latest_before => docker::tag(&now, image),
        _ => bail!("the builder produced no image"),
    }
}

/// Releases the image `dokku/<app>:<tag>` (`builder-release`), makes it `latest`, and hands
/// it to the app's scheduler; a failed deploy puts `latest` back on the image that still
/// runs. Nothing happens when the image does not exist.
pub fn release_and_deploy(ctx: &Ctx, app: &str, tag: &str) -> Result<()> {
    stop_requested();
    let image = docker::app_image(app, tag);
    if !docker::image_exists(&image)? {
        return Ok(());
    }
    let builder =
        docker::image_label(&image, BUILDER_LABEL)?.unwrap_or_else(|| "dockerfile".into());
    step(&format!("Releasing {app}..."))?;
    ctx.trigger("builder-release")
        .env(BUILD_TAG_ENV, tag)
        .args([builder.as_str(), app, tag])
        .stream()?;
    let latest = docker::app_image(app, "latest");
    if tag == "latest" {
        return deploy_release(ctx, app, "latest");
    }
    let latest_before = docker::image_id(&latest)?;
    docker::tag(&image, &latest)?;
    prune_builds(ctx, app)?;
    let deployed = deploy_release(ctx, app, "latest");
    if deployed.is_err()
        && let Some(before) = latest_before
    {
        docker::tag(&before, &latest)?;
    }
    deployed
}

/// Removes the tags of all but the newest builds, except those a kept release still needs
/// (`builds-in-use APP`), and the files kept with the builds that went; an image a
/// container still uses stays.
fn prune_builds(ctx: &Ctx, app: &str) -> Result<()> {
    let tags = build_tags(app)?;
    let in_use = ctx.trigger("builds-in-use").arg(app).output_lines()?;
    let newest = tags.len().saturating_sub(KEEP_BUILDS);
    let mut kept = Vec::new();
    for (i, tag) in tags.into_iter().enumerate() {
        if i >= newest || in_use.contains(&tag) {
            kept.push(tag);
        } else {
            let _ = docker::untag(&docker::app_image(app, &tag));
        }
    }
    BuildFiles::prune(&ctx.roots, app, &kept)
}

/// The app's scheduler: the first line of `scheduler-detect`, else Dokku's default.
pub fn scheduler(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(ctx
        .trigger("scheduler-detect")
        .arg(app)
        .output_string()?
        .lines()
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("docker-local")
        .to_string())
}

/// Whether the app's scheduler runs it (`scheduler-is-deployed`); with no scheduler plugin
/// nothing is deployed.
pub fn is_deployed(ctx: &Ctx, app: &str) -> Result<bool> {
    let scheduler = scheduler(ctx, app)?;
    ctx.trigger("scheduler-is-deployed")
        .args([scheduler.as_str(), app])
        .succeeds()
}

/// A release's deploy, unless the app's deploys are skipped.
fn deploy_release(ctx: &Ctx, app: &str, tag: &str) -> Result<()> {
    let skip = ctx
        .trigger("ps-get-property")
        .args([app, "skip-deploy"])
        .output_string()
        .unwrap_or_default();
    if skip == "true" {
        log::info1("Skipping deployment");
        return Ok(());
    }
    deploy(ctx, app, tag, None)
}

/// `scheduler-deploy` of the image `dokku/<app>:<tag>` (of every process type, or one) by
/// the app's scheduler, then the app's URLs. Releases, restarts, scaling and restores all
/// deploy through here; without a scheduler plugin nothing runs and the line says so.
pub fn deploy(ctx: &Ctx, app: &str, tag: &str, process: Option<&str>) -> Result<()> {
    let scheduler = scheduler(ctx, app)?;
    if !ctx.trigger("scheduler-deploy").exists() {
        log::info1(&format!(
            "{app} is built and released as {}; no scheduler is installed to run it",
            docker::app_image(app, tag)
        ));
        return Ok(());
    }
    log::info1(&format!("Deploying {app} via the {scheduler} scheduler..."));
    ctx.trigger("scheduler-deploy")
        .args([scheduler.as_str(), app, tag, process.unwrap_or("")])
        .stream()?;
    log::info2("Application deployed:");
    let urls = ctx
        .trigger("domains-urls")
        .args([app, "urls"])
        .output_string()?;
    for url in urls.lines().filter(|l| !l.trim().is_empty()) {
        log::verbose(url.trim());
    }
    Ok(())
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

/// A plugin's `core-post-extract APP DIR REV`: the file at the path `rel_path` gives for
/// the app (never reached through a link) is checked by `validate` and kept with the build
/// as `name`, in the plugin's data dir; a tree without it keeps nothing. A file that fails
/// its check fails the build.
pub fn keep_build_file(
    ctx: &Ctx,
    args: &[String],
    plugin: &str,
    rel_path: impl Fn(&str) -> Result<String>,
    name: &str,
    validate: fn(&str) -> Result<()>,
) -> Result<()> {
    let [app, tree, _rev] = crate::entry::exactly::<3>("core-post-extract", args)?;
    let rel_path = rel_path(app)?;
    let tree = Path::new(tree);
    const MAX_BYTES: u64 = 1024 * 1024;
    let found = crate::fs::inside_tree(tree, &rel_path).filter(|p| p.is_file());
    if found.is_none() && tree.join(&rel_path).symlink_metadata().is_ok() {
        bail!("{rel_path} must be a file in the repository, not a link or a directory");
    }
    let text = match found {
        Some(path) => {
            if std::fs::metadata(&path)?.len() > MAX_BYTES {
                bail!("{rel_path} is larger than 1 MiB");
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|_| anyhow::anyhow!("{rel_path} is not UTF-8 text"))?;
            validate(&text)?;
            Some(text)
        }
        None => None,
    };
    let Some(files) = BuildFiles::current(&ctx.roots, plugin, app) else {
        return Ok(());
    };
    files.put(name, text.as_deref().map(str::as_bytes))
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
