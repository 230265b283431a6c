//! `storage:*` commands and the docker-args triggers through which mounts reach containers.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::{Ctx, parse};
use dokku_core::env::Roots;
use dokku_core::fs::FileLock;
use dokku_core::mount::Mount;
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::{Error, log, privilege};

use crate::ownership;

pub(crate) const NAMESPACE: &str = "storage";
const MOUNTS: &str = "mounts";

fn properties(roots: &Roots) -> Properties {
    Properties::new(roots, NAMESPACE)
}

/// The app's mounts, as stored (`/host:/container[:options]`, one per line).
fn mounts(roots: &Roots, app: &str) -> Result<Vec<Mount>> {
    properties(roots)
        .list(app, MOUNTS)?
        .iter()
        .map(|spec| Mount::parse(spec, roots))
        .collect()
}

/// Guards the app's list of mounts. It lives beside the list, never in
/// `data/storage/<name>`: that directory is the app's data, handed to its container user.
fn lock(roots: &Roots, app: &str) -> Result<FileLock> {
    FileLock::wait(
        &roots
            .config_dir()
            .join(NAMESPACE)
            .join(app)
            .join(".mounts.lock"),
    )
}

#[derive(Parser)]
struct AppMount {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "HOST_DIR:CONTAINER_DIR[:OPTIONS]")]
    spec: String,
}

fn app_mount(ctx: &Ctx, name: &str, args: &[String]) -> Result<(Roots, AppName, Mount)> {
    let cmd: AppMount = parse(name, args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    let mount = Mount::parse(&cmd.spec, roots)?;
    Ok((roots.clone(), app, mount))
}

/// `storage:mount APP /host:/container[:ro]`.
pub fn mount(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app, mount) = app_mount(ctx, "storage:mount", args)?;
    let _app = app::lock_existing(&roots, app.as_str())?;
    let _lock = lock(&roots, app.as_str())?;
    let mut current = mounts(&roots, app.as_str())?;
    if current.contains(&mount) {
        bail!("Mount path already exists: {}", mount.spec());
    }
    if let Some(other) = current.iter().find(|m| m.container == mount.container) {
        bail!(
            "{} is already mounted at {} in {app}",
            other.host.display(),
            mount.container.display()
        );
    }
    current.push(mount.clone());
    save(&roots, app.as_str(), &current)?;
    log::info1_quiet(&format!("Mounted {} for {app}", mount.spec()));
    log::verbose_quiet("The mount takes effect at the next deploy");
    Ok(())
}

/// `storage:unmount APP /host:/container[:ro]`: the host directory and its data stay.
pub fn unmount(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, app, mount) = app_mount(ctx, "storage:unmount", args)?;
    let _app = app::lock_existing(&roots, app.as_str())?;
    let _lock = lock(&roots, app.as_str())?;
    let mut current = mounts(&roots, app.as_str())?;
    let Some(at) = current.iter().position(|m| *m == mount) else {
        bail!("Mount path does not exist: {}", mount.spec());
    };
    current.remove(at);
    save(&roots, app.as_str(), &current)?;
    log::info1_quiet(&format!(
        "Unmounted {} from {app}; {} and its data are kept",
        mount.spec(),
        mount.host.display()
    ));
    Ok(())
}

fn save(roots: &Roots, app: &str, mounts: &[Mount]) -> Result<()> {
    let specs: Vec<String> = mounts.iter().map(Mount::spec).collect();
    properties(roots).set_list(app, MOUNTS, &specs)
}

#[derive(Parser)]
struct List {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(long, value_parser = ["text", "stdout", "json"], default_value = "text")]
    format: String,
}

pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("storage:list", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    let mounts = mounts(roots, app.as_str())?;
    if cmd.format == "json" {
        let rows: Vec<serde_json::Value> = mounts
            .iter()
            .map(|m| {
                serde_json::json!({
                    "host_path": m.host.display().to_string(),
                    "container_path": m.container.display().to_string(),
                    "volume_options": m.options.clone().unwrap_or_default(),
                })
            })
            .collect();
        log::data(&serde_json::to_string(&rows)?);
        return Ok(());
    }
    log::info1_quiet(&format!("{app} volume bind-mounts:"));
    for m in mounts {
        log::verbose(&m.spec());
    }
    Ok(())
}

fn docker_args(mounts: &[Mount]) -> String {
    dokku_core::mount::docker_args(mounts)
        .trim_start()
        .to_string()
}

fn app_report(roots: &Roots, app: &AppName) -> Result<Report> {
    let args = docker_args(&mounts(roots, app.as_str())?);
    Ok(Report::new(app.as_str(), "storage")
        .row("storage-build-mounts", "")
        .row("storage-deploy-mounts", args.clone())
        .row("storage-run-mounts", args))
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let roots = &ctx.roots;
    dokku_core::report::print_for_apps(&request, roots, "storage", |app| app_report(roots, app))
}

#[derive(Parser)]
struct EnsureDirectory {
    #[arg(value_name = "NAME")]
    name: String,
    /// herokuish (32767), heroku (1000), paketo (2000), root (0), false, or a uid.
    #[arg(long, default_value = "herokuish")]
    chown: String,
}

/// The owner a `--chown` value names (`None`: leave ownership alone).
fn chown_uid(value: &str) -> Result<Option<u32>> {
    Ok(Some(match value {
        "herokuish" => 32767,
        "heroku" => 1000,
        "paketo" | "packeto" => 2000,
        "root" => 0,
        "false" => return Ok(None),
        other => other.parse().map_err(|_| {
            anyhow::anyhow!(
                "Invalid --chown value {other:?}: herokuish, heroku, paketo, root, false or a numeric uid"
            )
        })?,
    }))
}

/// `storage:ensure-directory NAME [--chown ...]`: `$DOKKU_LIB_ROOT/data/storage/NAME`,
/// owned by the user the app's processes run as. The directory is made as the dokku user;
/// the chown is root's, asked for through the root helper (sudo) when this runs as the
/// dokku user.
pub fn ensure_directory(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: EnsureDirectory = parse("storage:ensure-directory", args)?;
    if !ownership::valid_storage_name(&cmd.name) {
        bail!(
            "Invalid directory name {:?}: letters, digits, '-', '_' and '.', starting with a letter or digit",
            cmd.name
        );
    }
    let uid = chown_uid(&cmd.chown)?;
    let roots = &ctx.roots;
    let dir: PathBuf = roots.lib_root.join("data/storage").join(&cmd.name);
    log::info1_quiet(&format!("Ensuring {} exists", dir.display()));
    let created = !dir.exists();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(uid) = uid {
        log::verbose_quiet(&format!("Setting directory ownership to {uid}:{uid}"));
        if let Err(err) = chown_as_root(roots, &cmd.name, uid) {
            if created {
                let _ = std::fs::remove_dir(&dir);
            }
            return Err(err);
        }
    }
    log::info1_quiet("Directory ready for mounting");
    Ok(())
}

fn chown_as_root(roots: &Roots, name: &str, uid: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dir = roots.lib_root.join("data/storage").join(name);
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == uid) {
        return Ok(());
    }
    as_root(roots, "storage-chown", name, Some(&uid.to_string()), || {
        ownership::chown_storage_directory(&roots.lib_root, name, uid, None)
    })
}

/// `action` on a storage directory: done here when this process may (root, or the owner
/// of what it changes), else asked of the root helper through sudo.
fn as_root(
    roots: &Roots,
    action: &str,
    name: &str,
    arg: Option<&str>,
    direct: impl Fn() -> Result<()>,
) -> Result<()> {
    let tried = direct();
    if tried.is_ok() || privilege::is_root() {
        return tried;
    }
    privilege::root_helper(action)
        .arg(&roots.lib_root)
        .arg(name)
        .args(arg)
        .output()
        .map(drop)
        .with_context(|| {
            format!(
                "{action} of {name} needs root: install.sh allows it through {}",
                privilege::root_helper_path().display()
            )
        })
}

/// `storage/storage-dir chown NAME UID | chmod NAME MODE | destroy NAME`: what the
/// `bin/*-storage-dir` scripts of Dokku's storage plugin do, on
/// `$DOKKU_LIB_ROOT/data/storage/NAME`, for plugins that run them.
pub fn storage_dir_helper(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["chown", name, uid] => {
            let uid: u32 = uid
                .parse()
                .map_err(|_| anyhow::anyhow!("Invalid uid {uid:?}"))?;
            chown_as_root(roots, name, uid)
        }
        ["chmod", name, mode] => {
            let bits = u32::from_str_radix(mode, 8)
                .ok()
                .filter(|_| (3..=4).contains(&mode.len()))
                .ok_or_else(|| anyhow::anyhow!("Invalid mode {mode:?}: 3 or 4 octal digits"))?;
            as_root(roots, "storage-chmod", name, Some(mode), || {
                ownership::chmod_storage_directory(&roots.lib_root, name, bits, None)
            })
        }
        ["destroy", name] => as_root(roots, "storage-destroy", name, None, || {
            ownership::destroy_storage_directory(&roots.lib_root, name, None)
        }),
        _ => bail!("usage: storage-dir chown NAME UID | chmod NAME MODE | destroy NAME"),
    }
}

/// `docker-args-deploy APP IMAGE_TAG [PROC_TYPE CONTAINER_INDEX]` and `docker-args-run APP
/// IMAGE_TAG`: Dokku's filter convention, stdin passed on, then ` -v ...` for each mount
/// (leading space), so implementers' outputs concatenate into one argument string.
pub fn docker_args_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = &ctx.roots;
    let mounts = mounts(roots, app)?;
    dokku_core::mount::filter_docker_args(&mounts)
}

/// `post-delete APP`: the list of mounts goes; the host directories and their data stay,
/// `data/storage/<app>` included (Dokku keeps it too).
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    properties(&ctx.roots).destroy_app(app)
}

/// `post-app-clone-setup OLD NEW` and `post-app-rename-setup OLD NEW`: the new app mounts
/// the same directories (the old app's own list goes with its destroy, on rename).
pub fn copy_mounts(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    properties(&ctx.roots).clone_app(old, new)
}

pub fn report_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = app::verify(roots, args.first().ok_or(Error::MissingApp)?)?;
    app_report(roots, &app)?.print(&ReportRequest::default())
}
