//! `volume:*` commands. A volume is a set of container paths, each backed by a host
//! directory `$DOKKU_LIB_ROOT/data/volume/<name>/data/<n>`; linking it to an app mounts
//! them all, and several apps may link one volume to share its data.

use dokku_core::entry::Ctx;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::parse;
use dokku_core::env::Roots;
use dokku_core::fs::{FileLock, read_optional, remove_dir_all_if_exists, write_atomic};
use dokku_core::mount::{self, Mount};
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::{Error, log};

const LINKS: &str = "links";

/// The plugin's name, which names its data (`data/volume/<name>/`) and its links
/// (`config/volume/<app>/links`).
pub(crate) const NAMESPACE: &str = "volume";

struct Volumes {
    roots: Roots,
}

impl Volumes {
    fn new(ctx: &Ctx) -> Volumes {
        Volumes {
            roots: ctx.roots.clone(),
        }
    }

    fn base(&self) -> PathBuf {
        self.roots.lib_root.join("data").join(NAMESPACE)
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.base().join(name)
    }

    /// Every volume change holds this lock: a destroy never races a link.
    fn lock(&self) -> Result<FileLock> {
        FileLock::wait(&self.base().join(".lock"))
    }

    fn links(&self) -> Properties {
        Properties::new(&self.roots, NAMESPACE)
    }

    fn exists(&self, name: &str) -> bool {
        self.dir(name).join("paths").is_file()
    }

    fn verify(&self, name: &str) -> Result<String> {
        if !valid_name(name) {
            bail!(
                "Invalid volume name {name:?}: letters, digits, '-', '_' and '.', starting with a letter or digit"
            );
        }
        if !self.exists(name) {
            bail!("Volume {name} does not exist");
        }
        Ok(name.to_string())
    }

    fn container_paths(&self, name: &str) -> Result<Vec<PathBuf>> {
        Ok(read_optional(&self.dir(name).join("paths"))?
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect())
    }

    /// The volume's mounts: host directory `data/<n>` for the n-th container path.
    fn mounts(&self, name: &str) -> Result<Vec<Mount>> {
        self.container_paths(name)?
            .into_iter()
            .enumerate()
            .map(|(i, container)| {
                let host = self.dir(name).join("data").join(i.to_string());
                Mount::parse(
                    &format!("{}:{}", host.display(), container.display()),
                    &self.roots,
                )
            })
            .collect()
    }

    fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.base())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| valid_name(n) && self.exists(n))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The apps linking `name`.
    fn linked_apps(&self, name: &str) -> Result<Vec<String>> {
        let mut apps = Vec::new();
        for slot in self.links().slots()? {
            if self.links().list(&slot, LINKS)?.iter().any(|v| v == name) {
                apps.push(slot);
            }
        }
        Ok(apps)
    }
}

/// A volume's name: one word of letters, digits and `-_.`, at most 64 bytes.
fn valid_name(name: &str) -> bool {
    dokku_core::name::is_plain(name, &['-', '_', '.'], 64)
}

#[derive(Parser)]
struct Create {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(value_name = "CONTAINER_PATH", required = true)]
    paths: Vec<String>,
}

/// `volume:create NAME /container/path...`
pub fn create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Create = parse("volume:create", args)?;
    let volumes = Volumes::new(ctx);
    if !valid_name(&cmd.name) {
        bail!(
            "Invalid volume name {:?}: letters, digits, '-', '_' and '.', starting with a letter or digit",
            cmd.name
        );
    }
    let mut paths: Vec<PathBuf> = Vec::new();
    for path in &cmd.paths {
        let path = mount::container_path(path)?;
        if paths.contains(&path) {
            bail!("{} is given twice", path.display());
        }
        paths.push(path);
    }
    let _lock = volumes.lock()?;
    if volumes.exists(&cmd.name) {
        bail!("Volume {} already exists", cmd.name);
    }
    let dir = volumes.dir(&cmd.name);
    for i in 0..paths.len() {
        let data = dir.join("data").join(i.to_string());
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    }
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    write_atomic(&dir.join("paths"), text.as_bytes(), 0o644)?;
    log::info1_quiet(&format!("Volume {} created", cmd.name));
    Ok(())
}

#[derive(Parser)]
struct Name {
    #[arg(value_name = "NAME")]
    name: String,
}

/// `volume:destroy NAME`: refused while any app links it; deletes its data.
pub fn destroy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Name = parse("volume:destroy", args)?;
    let volumes = Volumes::new(ctx);
    let name = volumes.verify(&cmd.name)?;
    let apps = volumes.linked_apps(&name)?;
    if !apps.is_empty() {
        bail!(
            "Volume {name} is linked to {}: unlink it first (volume:unlink APP {name})",
            apps.join(", ")
        );
    }
    log::confirm_destructive(&format!("volume {name} and all of its data"), &name)?;
    let _lock = volumes.lock()?;
    if !volumes.linked_apps(&name)?.is_empty() {
        bail!("Volume {name} was linked meanwhile; nothing was destroyed");
    }
    remove_dir_all_if_exists(&volumes.dir(&name))?;
    log::info1_quiet(&format!("Volume {name} destroyed"));
    Ok(())
}

pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = parse("volume:list", args)?;
    log::info2_quiet("Volumes");
    for name in Volumes::new(ctx).list() {
        log::data(&name);
    }
    Ok(())
}

#[derive(Parser)]
struct Empty {}

pub fn info(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Name = parse("volume:info", args)?;
    let volumes = Volumes::new(ctx);
    let name = volumes.verify(&cmd.name)?;
    log::info2_quiet(&format!("Volume {name}"));
    let mounts = volumes.mounts(&name)?;
    let rows: Vec<(String, String)> = mounts
        .iter()
        .map(|m| {
            (
                m.container.display().to_string(),
                m.host.display().to_string(),
            )
        })
        .collect();
    log::verbose("Paths (container: host):");
    for line in log::columns(&rows) {
        log::verbose(&format!("  {line}"));
    }
    log::verbose(&format!(
        "Linked apps: {}",
        volumes.linked_apps(&name)?.join(" ")
    ));
    Ok(())
}

#[derive(Parser)]
struct AppVolume {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "NAME")]
    name: String,
}

fn app_volume(ctx: &Ctx, name: &str, args: &[String]) -> Result<(Volumes, AppName, String)> {
    let cmd: AppVolume = parse(name, args)?;
    let volumes = Volumes::new(ctx);
    let app = app::verify(&volumes.roots, &cmd.app)?;
    let volume = volumes.verify(&cmd.name)?;
    Ok((volumes, app, volume))
}

/// `volume:link APP NAME`: mounted at the app's next deploy.
pub fn link(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (volumes, app, name) = app_volume(ctx, "volume:link", args)?;
    let _app = app::lock_existing(&volumes.roots, app.as_str())?;
    let _lock = volumes.lock()?;
    let mut links = volumes.links().list(app.as_str(), LINKS)?;
    if links.contains(&name) {
        bail!("Volume {name} is already linked to {app}");
    }
    let taken: Vec<PathBuf> = links
        .iter()
        .map(|other| volumes.container_paths(other))
        .collect::<Result<Vec<_>>>()?
        .concat();
    if let Some(clash) = volumes
        .container_paths(&name)?
        .into_iter()
        .find(|p| taken.contains(p))
    {
        bail!(
            "{} is already mounted in {app} by another volume",
            clash.display()
        );
    }
    links.push(name.clone());
    volumes.links().set_list(app.as_str(), LINKS, &links)?;
    log::info1_quiet(&format!("Volume {name} linked to {app}"));
    log::verbose_quiet("The volume is mounted at the next deploy");
    Ok(())
}

/// `volume:unlink APP NAME`: the data stays in the volume.
pub fn unlink(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (volumes, app, name) = app_volume(ctx, "volume:unlink", args)?;
    let _app = app::lock_existing(&volumes.roots, app.as_str())?;
    let _lock = volumes.lock()?;
    let mut links = volumes.links().list(app.as_str(), LINKS)?;
    let Some(at) = links.iter().position(|l| *l == name) else {
        bail!("Volume {name} is not linked to {app}");
    };
    links.remove(at);
    volumes.links().set_list(app.as_str(), LINKS, &links)?;
    log::info1_quiet(&format!(
        "Volume {name} unlinked from {app}; its data is kept"
    ));
    Ok(())
}

fn app_report(volumes: &Volumes, app: &AppName) -> Result<Report> {
    Ok(Report::new(app.as_str(), "volume").row(
        "volume-links",
        volumes.links().list(app.as_str(), LINKS)?.join(" "),
    ))
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let volumes = Volumes::new(ctx);
    dokku_core::report::print_for_apps(&request, &volumes.roots, "volume", |app| {
        app_report(&volumes, app)
    })
}

/// `docker-args-deploy` / `docker-args-run`: stdin passed on, then ` -v ...` for every
/// path of every linked volume.
pub fn docker_args_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let volumes = Volumes::new(ctx);
    let mut mounts = Vec::new();
    for name in volumes.links().list(app, LINKS)? {
        mounts.extend(volumes.mounts(&name)?);
    }
    mount::filter_docker_args(&mounts)
}

/// `post-delete APP`: the app's links go; every volume and its data stay.
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let volumes = Volumes::new(ctx);
    let _lock = volumes.lock()?;
    volumes.links().destroy_app(app)
}

/// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`: the new app links the same
/// volumes (the data is shared, never copied).
pub fn copy_links(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    let volumes = Volumes::new(ctx);
    let _lock = volumes.lock()?;
    volumes.links().clone_app(old, new)
}

pub fn report_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let volumes = Volumes::new(ctx);
    let app = app::verify(&volumes.roots, args.first().ok_or(Error::MissingApp)?)?;
    app_report(&volumes, &app)?.print(&ReportRequest::default())
}

/// `install`: volumes made before the plugin's data took its name (`data/volumes`) move to
/// `data/volume`; a host that has both keeps both as they are and is told so.
pub fn install(ctx: &Ctx, _args: &[String]) -> Result<()> {
    let data = ctx.roots.lib_root.join("data");
    let (old, new) = (data.join("volumes"), data.join(NAMESPACE));
    match (old.is_dir(), new.exists()) {
        (true, false) => std::fs::rename(&old, &new)
            .with_context(|| format!("moving {} to {}", old.display(), new.display())),
        (true, true) => {
            dokku_core::log::warn(&format!(
                "{} and {} both exist: volumes are read from the second only",
                old.display(),
                new.display()
            ));
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_moves_volumes_made_under_the_old_name() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            roots: dokku_core::env::Roots::under(dir.path()),
        };
        let data = ctx.roots.lib_root.join("data");
        dokku_core::fs::write_atomic(&data.join("volumes/shared/data/0/kept"), b"x", 0o644)
            .unwrap();
        install(&ctx, &[]).unwrap();
        assert!(!data.join("volumes").exists());
        assert_eq!(
            std::fs::read_to_string(data.join("volume/shared/data/0/kept")).unwrap(),
            "x"
        );
        install(&ctx, &[]).unwrap();
        assert!(data.join("volume/shared").is_dir());
    }
}
