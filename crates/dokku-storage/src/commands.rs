//! `storage:*` commands about apps (mount, unmount, list, report), the triggers through
//! which mounts reach containers, and the storage directories root prepares.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::entry::{Ctx, parse};
use dokku_core::env::Roots;
use dokku_core::fs::FileLock;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::{Error, log, privilege};

use crate::attachment::{
    self, Attachment, ColonMount, DEFAULT_PROCESS, DEPLOY, NAMESPACE, RUN, check_options,
    colon_form, mount_options,
};
use crate::entry::{self, DOCKER_LOCAL, Entry};
use crate::ownership;

/// Guards the app's list of mounts. It lives beside the list, never in
/// `data/storage/<name>`: that directory is the app's data, handed to its container user.
pub(crate) fn lock(roots: &Roots, app: &str) -> Result<FileLock> {
    FileLock::wait(
        &roots
            .config_dir()
            .join(NAMESPACE)
            .join(app)
            .join(".mounts.lock"),
    )
}

/// Guards the set of entries against a destroy racing a mount.
pub(crate) fn registry_lock(roots: &Roots) -> Result<FileLock> {
    FileLock::wait(&entry::registry_dir(roots).join(".entries.lock"))
}

/// What `storage:mount` and `storage:unmount` name: the app, an entry's name (or
/// `HOST_DIR:CONTAINER_DIR[:OPTIONS]`), and the container directory.
#[derive(Parser)]
struct Target {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "NAME|HOST_DIR:CONTAINER_DIR")]
    target: String,
    #[arg(long = "container-dir")]
    container_dir: Option<String>,
}

#[derive(Parser)]
struct Mount {
    #[command(flatten)]
    at: Target,
    /// deploy or run (repeatable; both by default).
    #[arg(long = "phase", value_delimiter = ',')]
    phases: Vec<String>,
    #[arg(long = "process-type")]
    process_type: Option<String>,
    #[arg(long = "volume-subpath")]
    subpath: Option<String>,
    #[arg(long = "volume-readonly")]
    readonly: bool,
    #[arg(long = "volume-chown")]
    volume_chown: Option<String>,
    #[arg(long = "volume-options")]
    volume_options: Option<String>,
}

/// `storage:mount APP NAME --container-dir DIR [...]`, or the older
/// `storage:mount APP HOST_DIR:CONTAINER_DIR[:OPTIONS]`.
pub fn mount(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Mount = parse("storage:mount", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.at.app)?;
    if cmd.at.target.contains(':') {
        let (legacy, attachment) = ColonMount::parse(&cmd.at.target, roots)?.attachment();
        let _app = app::lock_existing(roots, app.as_str())?;
        let _registry = registry_lock(roots)?;
        let _lock = lock(roots, app.as_str())?;
        if !entry::exists(roots, &legacy.name) {
            entry::save(roots, &legacy)?;
        }
        attachment::add(roots, app.as_str(), attachment)?;
        log::info1_quiet(&format!("Mounted {} for {app}", cmd.at.target));
        log::verbose_quiet("The mount takes effect at the next deploy");
        return Ok(());
    }
    let attachment = named_attachment(roots, cmd)?;
    let _app = app::lock_existing(roots, app.as_str())?;
    let _registry = registry_lock(roots)?;
    let _lock = lock(roots, app.as_str())?;
    if !entry::exists(roots, &attachment.entry_name) {
        bail!("storage entry {:?} does not exist", attachment.entry_name);
    }
    let (name, container) = (
        attachment.entry_name.clone(),
        attachment.container_path.clone(),
    );
    if attachment::upsert(roots, app.as_str(), attachment)? {
        log::info1(&format!(
            "Storage entry {name} mounted at {container} on {app}"
        ));
    } else {
        log::info1(&format!(
            "Storage entry {name} mount at {container} on {app} updated"
        ));
    }
    Ok(())
}

/// The attachment `storage:mount APP NAME --container-dir DIR [...]` asks for, checked.
fn named_attachment(roots: &Roots, cmd: Mount) -> Result<Attachment> {
    if !entry::exists(roots, &cmd.at.target) {
        bail!(
            "storage entry {:?} does not exist; create it first with `dokku storage:create`",
            cmd.at.target
        );
    }
    let Some(container_dir) = cmd.at.container_dir else {
        bail!("--container-dir is required when mounting a named storage entry");
    };
    let container = dokku_core::mount::container_path(&container_dir)?
        .display()
        .to_string();
    let phases = if cmd.phases.is_empty() {
        vec![DEPLOY.to_string(), RUN.to_string()]
    } else {
        cmd.phases
    };
    for phase in &phases {
        if phase != DEPLOY && phase != RUN {
            bail!("attachment phase {phase:?} is not supported (must be \"deploy\" or \"run\")");
        }
    }
    let process_type = cmd
        .process_type
        .unwrap_or_else(|| DEFAULT_PROCESS.to_string());
    if process_type != DEFAULT_PROCESS
        && !dokku_core::name::is_plain(&process_type, &['-', '_'], 64)
    {
        bail!("Invalid process type {process_type:?}");
    }
    let volume_options = cmd.volume_options.unwrap_or_default();
    check_options(&volume_options)?;
    let volume_chown = cmd.volume_chown.unwrap_or_default();
    if !volume_chown.is_empty() {
        crate::entries::chown_uid(&volume_chown)?;
    }
    let subpath = cmd.subpath.unwrap_or_default();
    if !subpath.is_empty() && !valid_subpath(&subpath) {
        bail!("Invalid --volume-subpath {subpath:?}: a relative path inside the entry");
    }
    Ok(Attachment {
        entry_name: cmd.at.target,
        container_path: container,
        phases,
        process_type,
        subpath,
        readonly: cmd.readonly,
        volume_options,
        volume_chown,
    })
}

/// A path inside an entry: relative, plain components, no colon.
fn valid_subpath(path: &str) -> bool {
    path.split('/').all(|part| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && !part.chars().any(|c| c.is_control() || c == ':')
    })
}

/// `storage:unmount APP NAME [--container-dir DIR]` or `storage:unmount APP
/// HOST_DIR:CONTAINER_DIR`: the entry, its directory and its data stay.
pub fn unmount(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Target = parse("storage:unmount", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    let colon = cmd.target.contains(':');
    let (name, container) = if colon {
        let (legacy, attachment) = ColonMount::parse(&cmd.target, roots)?.attachment();
        (legacy.name, Some(attachment.container_path))
    } else {
        let container = cmd
            .container_dir
            .map(|dir| dokku_core::mount::container_path(&dir))
            .transpose()?
            .map(|dir| dir.display().to_string());
        (cmd.target, container)
    };
    // Dokku's words for the older form.
    let worded = |err: anyhow::Error| {
        if colon && err.to_string().contains("is not mounted") {
            anyhow::anyhow!("Mount path does not exist.")
        } else {
            err
        }
    };
    // What would be refused is refused before anything is locked (or written).
    attachment::removal(
        &attachment::load(roots, app.as_str())?,
        app.as_str(),
        &name,
        container.as_deref(),
    )
    .map_err(worded)?;
    let _app = app::lock_existing(roots, app.as_str())?;
    let _lock = lock(roots, app.as_str())?;
    attachment::remove(roots, app.as_str(), &name, container.as_deref()).map_err(worded)
}

/// One mount as `storage:list` shows it.
struct Row {
    entry: String,
    host: String,
    attachment: Attachment,
}

/// The app's mounts in a phase, each with its entry's host side (an entry without one,
/// k3s's, shows its name).
fn rows(roots: &Roots, app: &str, phase: &str) -> Result<Vec<Row>> {
    attachment::for_phase(roots, app, phase)?
        .into_iter()
        .map(|attachment| {
            let entry = entry::load(roots, &attachment.entry_name).with_context(|| {
                format!(
                    "attachment on {app:?} references missing entry {:?}",
                    attachment.entry_name
                )
            })?;
            Ok(Row {
                host: if entry.host_path.is_empty() {
                    entry.name.clone()
                } else {
                    entry.host_path
                },
                entry: entry.name,
                attachment,
            })
        })
        .collect()
}

#[derive(Parser)]
struct List {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(long, default_value = "text")]
    format: String,
}

/// `storage:list APP [--format text|json]`: the deploy phase's mounts, `host:container`.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("storage:list", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    if cmd.format != "text" && cmd.format != "json" {
        bail!("Invalid --format value specified");
    }
    let rows = rows(roots, app.as_str(), DEPLOY)?;
    if cmd.format == "json" {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                let mut object = serde_json::json!({
                    "entry_name": row.entry,
                    "host_path": row.host,
                    "container_path": row.attachment.container_path,
                });
                if row.attachment.readonly {
                    object["readonly"] = true.into();
                }
                if !row.attachment.volume_options.is_empty() {
                    object["volume_options"] = row.attachment.volume_options.clone().into();
                }
                object
            })
            .collect();
        log::data(&serde_json::to_string(&json)?);
        return Ok(());
    }
    log::info1_quiet(&format!("{app} volume bind-mounts:"));
    for row in rows {
        let line = colon_form(&row.host, &row.attachment);
        if dokku_core::env::quiet() {
            log::data(&line);
        } else {
            log::verbose(&line);
        }
    }
    Ok(())
}

/// `-v host:container[:options]` for each mount of a phase, as the report shows them.
fn mounts_for_display(roots: &Roots, app: &str, phase: &str) -> String {
    rows(roots, app, phase)
        .map(|rows| {
            rows.iter()
                .map(|row| format!("-v {}", colon_form(&row.host, &row.attachment)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn app_report(roots: &Roots, app: &AppName) -> Result<Report> {
    let mut rows: Vec<(String, String)> = vec![
        ("storage-build-mounts".into(), String::new()),
        (
            "storage-deploy-mounts".into(),
            mounts_for_display(roots, app.as_str(), DEPLOY),
        ),
        (
            "storage-run-mounts".into(),
            mounts_for_display(roots, app.as_str(), RUN),
        ),
    ];
    let attachments = attachment::load(roots, app.as_str()).unwrap_or_else(|err| {
        log::warn(&format!(
            "Unable to load storage attachments for {app:?}: {err}"
        ));
        Vec::new()
    });
    let mut index = 0;
    for attachment in attachments {
        let entry = match entry::load(roots, &attachment.entry_name) {
            Ok(entry) => entry,
            Err(err) => {
                log::warn(&format!(
                    "Skipping attachment on {:?}: missing entry {:?} ({err})",
                    app.as_str(),
                    attachment.entry_name
                ));
                continue;
            }
        };
        index += 1;
        let host = if entry.host_path.is_empty() {
            entry.name
        } else {
            entry.host_path
        };
        for (field, value) in [
            ("entry-name", attachment.entry_name.clone()),
            ("host-path", host),
            ("container-path", attachment.container_path.clone()),
            ("phases", attachment.phases.join(",")),
            ("process-type", attachment.process_type.clone()),
            ("subpath", attachment.subpath.clone()),
            ("readonly", attachment.readonly.to_string()),
            ("volume-options", attachment.volume_options.clone()),
            ("volume-chown", attachment.volume_chown.clone()),
        ] {
            rows.push((format!("storage-attachment.{index}.{field}"), value));
        }
    }
    rows.sort();
    Ok(rows
        .into_iter()
        .fold(Report::new(app.as_str(), "storage"), |report, (k, v)| {
            report.row(&k, v)
        }))
}

/// `storage:report [APP|--global] [--format stdout|json] [--<key>]`.
pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let roots = &ctx.roots;
    if request.app.as_deref() == Some(dokku_core::property::GLOBAL) {
        return crate::entries::report_global(roots, request.json);
    }
    dokku_core::report::print_for_apps(&request, roots, "storage", |app| app_report(roots, app))
}

pub fn report_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = app::verify(roots, args.first().ok_or(Error::MissingApp)?)?;
    app_report(roots, &app)?.print(&ReportRequest::default())
}

#[derive(Parser)]
struct EnsureDirectory {
    #[arg(value_name = "NAME")]
    name: String,
    /// herokuish (32767), heroku (1000), paketo (2000), root (0), false, or a uid.
    #[arg(long, default_value = "herokuish", allow_hyphen_values = true)]
    chown: String,
}

/// `storage:ensure-directory NAME [--chown ...]`, kept for scripts written before
/// `storage:create`: `$DOKKU_LIB_ROOT/data/storage/NAME`, owned by the user the app's
/// processes run as.
pub fn ensure_directory(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: EnsureDirectory = parse("storage:ensure-directory", args)?;
    if !ownership::valid_storage_name(&cmd.name) {
        bail!("Directory can only contain the following set of characters: [A-Za-z0-9_-]");
    }
    let uid = crate::entries::chown_uid(&cmd.chown)?;
    log::warn("Deprecated: please use 'storage:create' instead of 'storage:ensure-directory'");
    let roots = &ctx.roots;
    let dir: PathBuf = entry::storage_dir(roots).join(&cmd.name);
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
    log::verbose_quiet("Directory ready for mounting");
    Ok(())
}

pub(crate) fn chown_as_root(roots: &Roots, name: &str, uid: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let dir = entry::storage_dir(roots).join(name);
    if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == uid) {
        return Ok(());
    }
    as_root(roots, "storage-chown", name, Some(&uid.to_string()), || {
        ownership::chown_storage_directory(&roots.lib_root, name, uid, None)
    })
}

pub(crate) fn chmod_as_root(roots: &Roots, name: &str, mode: &str) -> Result<()> {
    let bits = u32::from_str_radix(mode, 8)
        .ok()
        .filter(|_| (3..=4).contains(&mode.len()))
        .ok_or_else(|| anyhow::anyhow!("Invalid mode {mode:?}: 3 or 4 octal digits"))?;
    as_root(roots, "storage-chmod", name, Some(mode), || {
        ownership::chmod_storage_directory(&roots.lib_root, name, bits, None)
    })
}

pub(crate) fn destroy_as_root(roots: &Roots, name: &str) -> Result<()> {
    as_root(roots, "storage-destroy", name, None, || {
        ownership::destroy_storage_directory(&roots.lib_root, name, None)
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
        ["chmod", name, mode] => chmod_as_root(roots, name, mode),
        ["destroy", name] => destroy_as_root(roots, name),
        _ => bail!("usage: storage-dir chown NAME UID | chmod NAME MODE | destroy NAME"),
    }
}

/// ` -v host:container[:options]` for each docker-local mount of the phase that applies to
/// `process` (only mounts for every process type when none is named), each host path judged by
/// the mount rules again on its way to docker.
fn docker_args(roots: &Roots, app: &str, phase: &str, process: Option<&str>) -> Result<String> {
    let mut args = String::new();
    for row in rows(roots, app, phase)? {
        let attachment = &row.attachment;
        let applies = attachment.process_type == DEFAULT_PROCESS
            || attachment.process_type.is_empty()
            || process.is_some_and(|p| attachment.process_type == p);
        let entry = entry::load(roots, &row.entry)?;
        if !applies || entry.scheduler != DOCKER_LOCAL {
            continue;
        }
        if row.host.starts_with('/') {
            dokku_core::mount::host_path(&row.host, roots)?;
        }
        let mut spec = format!("{}:{}", row.host, attachment.container_path);
        let options = mount_options(attachment);
        if !options.is_empty() {
            spec.push(':');
            spec.push_str(&options);
        }
        args.push_str(&format!(" -v {}", shell_words::quote(&spec)));
    }
    Ok(args)
}

/// `docker-args-deploy APP IMAGE_TAG [PROC_TYPE CONTAINER_INDEX]`: Dokku's filter
/// convention, stdin passed on, then ` -v ...` for each mount (leading space), so
/// implementers' outputs concatenate into one argument string.
pub fn docker_args_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let process = args.get(2).map(String::as_str).filter(|p| !p.is_empty());
    dokku_core::docker::filter_args(&docker_args(&ctx.roots, app, DEPLOY, process)?)
}

/// `docker-args-run APP IMAGE_TAG`.
pub fn docker_args_run(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    dokku_core::docker::filter_args(&docker_args(&ctx.roots, app, RUN, None)?)
}

/// `storage-app-mounts APP [PHASE]`: the app's mounts of a phase (deploy by default) as a
/// JSON array of `{entry, attachment}` pairs, for schedulers.
pub fn app_mounts_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let app = args.first().ok_or(Error::MissingApp)?;
    let phase = args.get(1).map_or(DEPLOY, String::as_str);
    let pairs = attachment::for_phase(roots, app, phase)?
        .into_iter()
        .map(|attachment| {
            let entry: Entry = entry::load(roots, &attachment.entry_name)?;
            Ok(serde_json::json!({ "entry": entry, "attachment": attachment }))
        })
        .collect::<Result<Vec<_>>>()?;
    log::data(&serde_json::to_string(&pairs)?);
    Ok(())
}

/// `storage-list APP [PHASE] [FORMAT]`, which Dokku keeps for older plugins.
pub fn list_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    log::warn(
        "Deprecated: please use the 'storage-app-mounts' plugn trigger instead of 'storage-list'",
    );
    let roots = &ctx.roots;
    let app = args.first().ok_or(Error::MissingApp)?;
    let phase = args.get(1).map_or(DEPLOY, String::as_str);
    let rows = rows(roots, app, phase)?;
    if args.get(2).is_some_and(|f| f == "json") {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|row| {
                serde_json::json!({
                    "entry_name": row.entry,
                    "host_path": row.host,
                    "container_path": row.attachment.container_path,
                })
            })
            .collect();
        log::data(&serde_json::to_string(&json)?);
    } else {
        for row in rows {
            log::data(&colon_form(&row.host, &row.attachment));
        }
    }
    Ok(())
}

/// `post-delete APP`: the app's mounts go; entries, their directories and data stay.
pub fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    attachment::destroy_app(&ctx.roots, app)
}

/// `post-app-clone-setup OLD NEW` and `post-app-rename-setup OLD NEW`: the new app mounts
/// the same entries (the old app's own list goes with its destroy, on rename).
pub fn copy_mounts(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    attachment::clone_app(&ctx.roots, old, new)
}

/// `install`: `data/storage` and the entry registry, the dokku user's when root installs.
pub fn install(ctx: &Ctx, _args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let owner = if privilege::is_root() {
        privilege::system_user(roots).map(|u| (u.uid.as_raw(), u.gid.as_raw()))
    } else {
        None
    };
    std::fs::create_dir_all(&roots.lib_root)?;
    let lib = privilege::open_dir_nofollow(&roots.lib_root)?;
    let data = privilege::make_dirs_at(&lib, &["data"], 0o755, None)?;
    for rel in [
        &["storage"][..],
        &["storage-registry", "entries"],
        &["storage-registry", "migrations"],
    ] {
        privilege::make_dirs_at(&data, rel, 0o755, owner)?;
    }
    Ok(())
}
