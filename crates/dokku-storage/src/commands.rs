//! `storage:*` commands and the docker-args triggers through which mounts reach containers.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::parse;
use dokku_core::env::Roots;
use dokku_core::fs::FileLock;
use dokku_core::mount::Mount;
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::{Error, log};

const NAMESPACE: &str = "storage";
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

fn lock(roots: &Roots, app: &str) -> Result<FileLock> {
    FileLock::wait(&roots.data_dir(NAMESPACE, app).join(".mounts.lock"))
}

#[derive(Parser)]
struct AppMount {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "HOST_DIR:CONTAINER_DIR[:OPTIONS]")]
    spec: String,
}

fn app_mount(name: &str, args: &[String]) -> Result<(Roots, AppName, Mount)> {
    let cmd: AppMount = parse(name, args)?;
    let roots = Roots::from_env();
    let app = app::verify(&roots, &cmd.app)?;
    let mount = Mount::parse(&cmd.spec, &roots)?;
    Ok((roots, app, mount))
}

/// `storage:mount APP /host:/container[:ro]`.
pub fn mount(args: &[String]) -> Result<()> {
    let (roots, app, mount) = app_mount("storage:mount", args)?;
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
pub fn unmount(args: &[String]) -> Result<()> {
    let (roots, app, mount) = app_mount("storage:unmount", args)?;
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

pub fn list(args: &[String]) -> Result<()> {
    let cmd: List = parse("storage:list", args)?;
    let roots = Roots::from_env();
    let app = app::verify(&roots, &cmd.app)?;
    let mounts = mounts(&roots, app.as_str())?;
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

pub fn report(args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let roots = Roots::from_env();
    dokku_core::report::print_for_apps(&request, &roots, "storage", |app| app_report(&roots, app))
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

fn valid_directory_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.len() <= 128
}

/// `storage:ensure-directory NAME [--chown ...]`: `$DOKKU_LIB_ROOT/data/storage/NAME`,
/// owned by the user the app's processes run as.
pub fn ensure_directory(args: &[String]) -> Result<()> {
    let cmd: EnsureDirectory = parse("storage:ensure-directory", args)?;
    if !valid_directory_name(&cmd.name) {
        bail!(
            "Invalid directory name {:?}: letters, digits, '-', '_' and '.', starting with a letter or digit",
            cmd.name
        );
    }
    let uid = chown_uid(&cmd.chown)?;
    let me = nix::unistd::geteuid();
    if let Some(uid) = uid
        && !me.is_root()
        && uid != me.as_raw()
    {
        bail!(
            "Changing ownership to {uid} needs root: run this command as root on the host, or pass --chown false"
        );
    }
    let roots = Roots::from_env();
    let dir: PathBuf = roots.lib_root.join("data/storage").join(&cmd.name);
    log::info1_quiet(&format!("Ensuring {} exists", dir.display()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(uid) = uid {
        log::verbose_quiet(&format!("Setting directory ownership to {uid}:{uid}"));
        let id = Some(nix::unistd::Uid::from_raw(uid));
        nix::unistd::chown(&dir, id, Some(nix::unistd::Gid::from_raw(uid)))
            .with_context(|| format!("changing the owner of {}", dir.display()))?;
    }
    log::info1_quiet("Directory ready for mounting");
    Ok(())
}

/// `docker-args-deploy APP IMAGE_TAG [PROC_TYPE CONTAINER_INDEX]` and `docker-args-run APP
/// IMAGE_TAG`: Dokku's filter convention, stdin passed on, then ` -v ...` for each mount
/// (leading space), so implementers' outputs concatenate into one argument string.
pub fn docker_args_trigger(args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = Roots::from_env();
    let mounts = mounts(&roots, app)?;
    dokku_core::mount::filter_docker_args(&mounts)
}

/// `post-delete APP`: the list of mounts goes; the host directories and data stay.
pub fn post_delete(args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = Roots::from_env();
    properties(&roots).destroy_app(app)?;
    dokku_core::fs::remove_dir_all_if_exists(&roots.data_dir(NAMESPACE, app))
}

/// `post-app-clone-setup OLD NEW` and `post-app-rename-setup OLD NEW`: the new app mounts
/// the same directories (the old app's own list goes with its destroy, on rename).
pub fn copy_mounts(args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    properties(&Roots::from_env()).clone_app(old, new)
}

pub fn report_trigger(args: &[String]) -> Result<()> {
    let roots = Roots::from_env();
    let app = app::verify(&roots, args.first().ok_or(Error::MissingApp)?)?;
    app_report(&roots, &app)?.print(&ReportRequest::default())
}
