//! `storage:*` commands about entries: create, set, info, list-entries, destroy, exec,
//! wait, migrate and the global report.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Ctx, parse};
use dokku_core::env::Roots;
use dokku_core::log;
use dokku_core::trigger::Trigger;

use crate::attachment;
use crate::commands::{chmod_as_root, chown_as_root, destroy_as_root, lock, registry_lock};
use crate::entry::{self, DELETE, DOCKER_LOCAL, Entry, K3S};

/// The owner a `--chown` value names (`None`: leave ownership alone), as Dokku reads it:
/// herokuish, heroku, paketo, root, false, or a uid below 65536.
pub fn chown_uid(value: &str) -> Result<Option<u32>> {
    Ok(Some(match value {
        "herokuish" => 32767,
        "heroku" => 1000,
        "packeto" => {
            log::verbose("Detected deprecated chown flag 'packeto'. Using 'paketo' instead.");
            2000
        }
        "paketo" => 2000,
        "root" => 0,
        "false" => return Ok(None),
        other => other
            .parse::<u16>()
            .ok()
            .filter(|_| other.bytes().all(|b| b.is_ascii_digit()))
            .map(u32::from)
            .ok_or_else(|| anyhow::anyhow!("Unsupported chown permissions"))?,
    }))
}

/// `key=value` pairs of `--annotation` and `--label`.
fn pairs(values: &[String]) -> Result<std::collections::BTreeMap<String, String>> {
    values
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => bail!("expected key=value, got {pair:?}"),
        })
        .collect()
}

/// The entry's directory made where missing, then its mode and owner applied: run again,
/// it converges the directory to the entry. Root acts only at the default place.
fn prepare_directory(roots: &Roots, entry: &Entry) -> Result<()> {
    let uid = match entry.chown.as_str() {
        "" => None,
        chown => chown_uid(chown)?,
    };
    if uid.is_some() {
        entry.require_default_path(roots, "--chown")?;
    }
    if !entry.mode.is_empty() {
        entry.require_default_path(roots, "--mode")?;
    }
    if !entry.host_path.starts_with('/') {
        return Ok(());
    }
    let path = std::path::Path::new(&entry.host_path);
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_dir() => bail!(
            "storage entry path {} exists but is not a directory",
            entry.host_path
        ),
        Ok(_) => {}
        Err(_) => {
            std::fs::create_dir_all(path)
                .map_err(|err| anyhow::anyhow!("unable to create {}: {err}", entry.host_path))?;
            log::verbose(&format!("Created {}", entry.host_path));
        }
    }
    if !entry.mode.is_empty() {
        log::verbose(&format!("Setting directory mode to {}", entry.mode));
        chmod_as_root(roots, &entry.name, &entry.mode)?;
    }
    if let Some(uid) = uid {
        log::verbose(&format!("Setting directory ownership to {uid}:{uid}"));
        chown_as_root(roots, &entry.name, uid)?;
    }
    Ok(())
}

/// A k3s entry's volume is the cluster's: the scheduler plugin that implements
/// `storage-create` / `storage-destroy` provisions or releases it.
fn scheduler_trigger(roots: &Roots, trigger: &str, entry: &Entry) -> Result<()> {
    let call = Trigger::with_roots(trigger, roots.clone())
        .arg(&entry.name)
        .stdin(serde_json::to_vec(entry)?);
    if !call.exists() {
        bail!(
            "no installed plugin manages {} storage (no plugin implements {trigger})",
            entry.scheduler
        );
    }
    call.stream()
}

#[derive(Parser)]
struct Create {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(value_name = "PATH")]
    path: Option<String>,
    #[arg(long, default_value = DOCKER_LOCAL)]
    scheduler: String,
    #[arg(long, default_value = "")]
    size: String,
    #[arg(long = "access-mode", default_value = "")]
    access_mode: String,
    #[arg(long = "storage-class-name", default_value = "")]
    storage_class: String,
    #[arg(long, default_value = "")]
    namespace: String,
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    chown: String,
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    mode: String,
    #[arg(long = "reclaim-policy", default_value = "")]
    reclaim_policy: String,
    #[arg(long = "annotation")]
    annotations: Vec<String>,
    #[arg(long = "label")]
    labels: Vec<String>,
}

/// `storage:create NAME [PATH] [flags]`: registers the entry (again: converges it).
pub fn create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Create = parse("storage:create", args)?;
    let roots = &ctx.roots;
    entry::validate_name(&cmd.name, false)?;
    let mut entry = match cmd.scheduler.as_str() {
        DOCKER_LOCAL => Entry::docker_local(roots, &cmd.name),
        _ => Entry {
            name: cmd.name.clone(),
            scheduler: cmd.scheduler.clone(),
            schema_version: entry::SCHEMA_VERSION,
            ..Entry::default()
        },
    };
    if let Some(path) = cmd.path {
        entry.host_path = path;
    }
    entry.size = cmd.size;
    entry.access_mode = cmd.access_mode;
    entry.storage_class = cmd.storage_class;
    entry.namespace = cmd.namespace;
    entry.chown = cmd.chown;
    entry.mode = entry::normalize_mode(&cmd.mode)?;
    entry.reclaim_policy = cmd.reclaim_policy;
    entry.annotations = pairs(&cmd.annotations)?;
    entry.labels = pairs(&cmd.labels)?;
    entry.validate(roots)?;
    if !entry.chown.is_empty() {
        chown_uid(&entry.chown)?;
    }
    let _registry = registry_lock(roots)?;
    if entry::exists(roots, &entry.name) {
        let existing = entry::load(roots, &entry.name)?;
        if existing.scheduler != entry.scheduler {
            bail!(
                "storage entry {:?} already exists with scheduler {:?}; refusing to redefine",
                entry.name,
                existing.scheduler
            );
        }
        log::info1_quiet(&format!(
            "Storage entry {} already exists, leaving in place",
            entry.name
        ));
    }
    if entry.scheduler == DOCKER_LOCAL {
        prepare_directory(roots, &entry)?;
    }
    entry::save(roots, &entry)?;
    if entry.scheduler == K3S
        && let Err(err) = scheduler_trigger(roots, "storage-create", &entry)
    {
        entry::delete(roots, &entry.name)?;
        bail!("scheduler refused storage entry {:?}: {err:#}", entry.name);
    }
    log::info1(&format!("Storage entry {} created", entry.name));
    Ok(())
}

#[derive(Parser)]
struct Destroy {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(long = "destroy-host-dir")]
    destroy_host_dir: bool,
}

/// `storage:destroy NAME [--force] [--destroy-host-dir]`: only once no app mounts it. The
/// directory stays unless asked for or the entry's reclaim policy is Delete.
pub fn destroy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Destroy = parse("storage:destroy", args)?;
    let roots = &ctx.roots;
    let name = &cmd.name;
    let _registry = registry_lock(roots)?;
    if !entry::exists(roots, name) {
        bail!("storage entry {name:?} does not exist");
    }
    let using = attachment::apps_using(roots, name)?;
    if !using.is_empty() {
        bail!(
            "storage entry {name:?} is still mounted by app(s): {}",
            using.join(", ")
        );
    }
    let entry = entry::load(roots, name)?;
    if cmd.destroy_host_dir && entry.scheduler != DOCKER_LOCAL {
        bail!(
            "--destroy-host-dir only applies to docker-local storage entries; {name:?} is scheduler {:?} and follows --reclaim-policy",
            entry.scheduler
        );
    }
    let mut remove_dir = false;
    if entry.scheduler == DOCKER_LOCAL && (cmd.destroy_host_dir || entry.reclaim_policy == DELETE) {
        match entry.require_default_path(roots, "--destroy-host-dir") {
            Ok(()) => remove_dir = true,
            Err(err) if cmd.destroy_host_dir => return Err(err),
            Err(_) => log::warn(&format!(
                "Leaving {} in place; reclaim policy Delete only removes the default host path",
                entry.host_path
            )),
        }
    }
    if !dokku_core::env::force() && remove_dir {
        log::warn(&format!(
            "Storage entry {name} is backed by {}, which will be removed along with its contents.",
            entry.host_path
        ));
    }
    log::confirm_destructive(&format!("storage entry {name}"), name)?;
    if entry.scheduler == K3S {
        scheduler_trigger(roots, "storage-destroy", &entry)?;
    }
    if remove_dir {
        destroy_as_root(roots, name)?;
        log::verbose(&format!("Removed {}", entry.host_path));
    }
    entry::delete(roots, name)?;
    log::info1(&format!("Storage entry {name} destroyed"));
    Ok(())
}

#[derive(Parser)]
struct Info {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(long, default_value = "text")]
    format: String,
}

/// `storage:info NAME [--format text|json]`.
pub fn info(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Info = parse("storage:info", args)?;
    let entry = entry::load(&ctx.roots, &cmd.name)?;
    if cmd.format == "json" {
        log::data(&serde_json::to_string_pretty(&entry)?);
        return Ok(());
    }
    log::info1_quiet(&format!("Storage entry {}", entry.name));
    log::verbose(&format!("Scheduler:        {}", entry.scheduler));
    for (label, value) in [
        ("Host path:        ", &entry.host_path),
        ("Size:             ", &entry.size),
        ("Access mode:      ", &entry.access_mode),
        ("Storage class:    ", &entry.storage_class),
        ("Namespace:        ", &entry.namespace),
        ("Chown:            ", &entry.chown),
        ("Mode:             ", &entry.mode),
        ("Reclaim policy:   ", &entry.reclaim_policy),
    ] {
        if !value.is_empty() {
            log::verbose(&format!("{label}{value}"));
        }
    }
    Ok(())
}

/// What `storage:set` may change, in the order its error lists them.
const SETTABLE: &[&str] = &[
    "access-mode",
    "chown",
    "mode",
    "namespace",
    "reclaim-policy",
    "size",
    "storage-class-name",
];

#[derive(Parser)]
struct Set {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(value_name = "PROPERTY")]
    property: Option<String>,
    #[arg(value_name = "VALUE", allow_hyphen_values = true)]
    value: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    size: Option<String>,
    #[arg(long = "access-mode", allow_hyphen_values = true)]
    access_mode: Option<String>,
    #[arg(long = "storage-class-name", allow_hyphen_values = true)]
    storage_class: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    namespace: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    chown: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    mode: Option<String>,
    #[arg(long = "reclaim-policy", allow_hyphen_values = true)]
    reclaim_policy: Option<String>,
    #[arg(long = "annotation")]
    annotations: Vec<String>,
    #[arg(long = "label")]
    labels: Vec<String>,
}

/// One property written onto an entry; an empty value unsets it.
fn apply(entry: &mut Entry, property: &str, value: String) -> Result<()> {
    match property {
        "access-mode" if value != entry.access_mode => {
            bail!("storage:set cannot change access-mode in place; recreate the entry")
        }
        "storage-class-name" if value != entry.storage_class => {
            bail!("storage:set cannot change storage-class-name in place; recreate the entry")
        }
        "access-mode" | "storage-class-name" => {}
        "size" => entry.size = value,
        "namespace" => entry.namespace = value,
        "chown" => entry.chown = value,
        "mode" => entry.mode = entry::normalize_mode(&value)?,
        "reclaim-policy" => entry.reclaim_policy = value,
        "" => bail!("No property specified"),
        _ => bail!(
            "Invalid property specified, valid properties include: {}",
            SETTABLE.join(", ")
        ),
    }
    Ok(())
}

/// `storage:set NAME PROPERTY [VALUE]` (and the older flag form, which warns).
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Set = parse("storage:set", args)?;
    let roots = &ctx.roots;
    let flags: Vec<(&str, String)> = [
        ("access-mode", cmd.access_mode),
        ("chown", cmd.chown),
        ("mode", cmd.mode),
        ("namespace", cmd.namespace),
        ("reclaim-policy", cmd.reclaim_policy),
        ("size", cmd.size),
        ("storage-class-name", cmd.storage_class),
    ]
    .into_iter()
    .filter_map(|(property, value)| value.map(|v| (property, v)))
    .collect();
    let map_flags = !cmd.annotations.is_empty() || !cmd.labels.is_empty();
    let used_flags = !flags.is_empty() || map_flags;
    if cmd.property.is_some() && used_flags {
        bail!("storage:set accepts either a property and a value or flags, not both");
    }
    let changes = match cmd.property {
        Some(property) => vec![(property, cmd.value.unwrap_or_default())],
        None if used_flags => flags.into_iter().map(|(p, v)| (p.to_string(), v)).collect(),
        None => bail!("No property specified"),
    };
    if used_flags && !changes.is_empty() {
        log::warn(
            "Deprecated: please use 'storage:set <name> <property> [<value>]' instead of flags",
        );
    }
    if map_flags {
        log::warn(
            "Deprecated: please use 'storage:annotations:set' and 'storage:labels:set' instead of --annotation and --label",
        );
    }
    let _registry = registry_lock(roots)?;
    let mut entry = entry::load(roots, &cmd.name)?;
    let mut touches_directory = false;
    for (property, value) in changes {
        touches_directory |= property == "chown" || property == "mode";
        apply(&mut entry, &property, value)?;
    }
    if map_flags {
        entry.annotations = pairs(&cmd.annotations)?;
        entry.labels = pairs(&cmd.labels)?;
    }
    entry.validate(roots)?;
    if !entry.chown.is_empty() {
        chown_uid(&entry.chown)?;
    }
    entry::save(roots, &entry)?;
    if entry.scheduler == DOCKER_LOCAL && touches_directory {
        prepare_directory(roots, &entry)?;
    }
    if entry.scheduler == K3S {
        scheduler_trigger(roots, "storage-create", &entry)?;
    }
    log::info1(&format!("Storage entry {} updated", entry.name));
    Ok(())
}

#[derive(Parser)]
struct ListEntries {
    #[arg(long)]
    scheduler: Option<String>,
    #[arg(long, default_value = "text")]
    format: String,
}

/// `storage:list-entries [--scheduler S] [--format text|json]`.
pub fn list_entries(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: ListEntries = parse("storage:list-entries", args)?;
    let entries: Vec<Entry> = entry::list(&ctx.roots)?
        .into_iter()
        .filter(|e| cmd.scheduler.as_ref().is_none_or(|s| *s == e.scheduler))
        .collect();
    if cmd.format == "json" {
        log::data(&serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    if entries.is_empty() {
        log::info1_quiet("No storage entries registered");
        return Ok(());
    }
    log::info1_quiet("Storage entries:");
    for entry in entries {
        log::verbose(&format!(
            "{}\t{}\t{}",
            entry.name, entry.scheduler, entry.host_path
        ));
    }
    Ok(())
}

/// `storage:report --global`: every entry and the apps that mount it.
pub fn report_global(roots: &Roots, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    for entry in entry::list(roots)? {
        let using = attachment::apps_using(roots, &entry.name)?;
        rows.push((entry, using));
    }
    if json {
        let value: Vec<serde_json::Value> = rows
            .iter()
            .map(|(entry, using)| serde_json::json!({ "entry": entry, "mounted_by": using }))
            .collect();
        log::data(&serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    if rows.is_empty() {
        log::info1_quiet("No storage entries registered");
        return Ok(());
    }
    log::info1_quiet("Storage report (global):");
    for (entry, using) in rows {
        let mounted_by = if using.is_empty() {
            "—".to_string()
        } else {
            using.join(", ")
        };
        log::verbose(&format!(
            "{}\t{}\tmounted by: {mounted_by}",
            entry.name, entry.scheduler
        ));
    }
    Ok(())
}

#[derive(Parser)]
struct Wait {
    #[arg(value_name = "NAME")]
    name: String,
}

/// `storage:wait NAME`: a docker-local entry is ready once its directory exists; a k3s
/// entry once its scheduler reports the claim Bound.
pub fn wait(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Wait = parse("storage:wait", args)?;
    let roots = &ctx.roots;
    let entry = entry::load(roots, &cmd.name)?;
    if entry.scheduler != K3S {
        if entry.host_path.starts_with('/') && !std::path::Path::new(&entry.host_path).is_dir() {
            bail!(
                "storage entry {:?} host path {} is not present",
                entry.name,
                entry.host_path
            );
        }
        return Ok(());
    }
    let status = Trigger::with_roots("storage-status", roots.clone())
        .arg(&entry.name)
        .stdin(serde_json::to_vec(&entry)?)
        .output_string()?;
    if status.trim() != "Bound" {
        bail!(
            "storage entry {:?} is {}, not Bound",
            entry.name,
            status.trim()
        );
    }
    log::info1(&format!("Storage entry {} is bound", entry.name));
    Ok(())
}

#[derive(Parser)]
struct Exec {
    #[arg(long)]
    image: Option<String>,
    #[arg(long = "as-user")]
    as_user: Option<u32>,
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
}

/// `storage:exec NAME [--image I] [--as-user UID] [-- COMMAND...]`: a throwaway container
/// with the entry at `/data`, running as the entry's owner; its exit code is this one's.
pub fn exec(ctx: &Ctx, args: &[String]) -> Result<()> {
    use std::io::IsTerminal;
    let cmd: Exec = parse("storage:exec", args)?;
    let roots = &ctx.roots;
    let entry = entry::load(roots, &cmd.name)?;
    let image = cmd.image.unwrap_or_else(|| "alpine:3".to_string());
    let tty = std::io::stdin().is_terminal();
    if entry.scheduler != DOCKER_LOCAL {
        let mut call = Trigger::with_roots("scheduler-storage-exec", roots.clone())
            .args([&entry.scheduler, &entry.name, &image])
            .arg(format!("--interactive={tty}"))
            .arg(format!("--tty={tty}"));
        if let Some(uid) = cmd.as_user {
            call = call.args(["--as-user".to_string(), uid.to_string()]);
        }
        if !cmd.command.is_empty() {
            call = call.arg("--").args(&cmd.command);
        }
        return call.stream();
    }
    if entry.host_path.starts_with('/') {
        dokku_core::mount::host_path(&entry.host_path, roots)?;
        if !std::path::Path::new(&entry.host_path).is_dir() {
            bail!("host path {} does not exist", entry.host_path);
        }
    }
    let user = match cmd.as_user {
        Some(uid) => Some(uid),
        None if entry.chown.is_empty() => None,
        None => chown_uid(&entry.chown)?,
    };
    let mut docker = dokku_core::docker::docker().args(["run", "--rm"]);
    docker = docker.arg(if tty { "-it" } else { "-i" });
    if let Some(uid) = user {
        docker = docker.args(["--user".to_string(), format!("{uid}:{uid}")]);
    }
    docker = docker
        .args(["-v".to_string(), format!("{}:/data", entry.host_path)])
        .arg(&image);
    docker = if cmd.command.is_empty() {
        docker.args([
            "sh",
            "-c",
            "command -v bash >/dev/null 2>&1 && exec bash || exec sh",
        ])
    } else {
        docker.args(&cmd.command)
    };
    match docker.exec_replace()? {}
}

#[derive(Parser)]
struct Migrate {
    #[arg(value_name = "APP")]
    app: Option<String>,
    #[arg(long)]
    all: bool,
}

/// `storage:migrate APP | --all`: `-v` docker options become entries and attachments.
pub fn migrate(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Migrate = parse("storage:migrate", args)?;
    let roots = &ctx.roots;
    let apps = match (cmd.app, cmd.all) {
        (Some(_), true) => {
            bail!("storage:migrate accepts either an app name or --all, not both")
        }
        (None, false) => bail!("storage:migrate requires an app name (or --all)"),
        (Some(app), false) => vec![dokku_core::app::verify(roots, &app)?],
        (None, true) => dokku_core::app::list(roots)?,
    };
    for app in &apps {
        let _app = dokku_core::app::lock_existing(roots, app.as_str())?;
        let _registry = registry_lock(roots)?;
        let _mounts = lock(roots, app.as_str())?;
        crate::migrate::migrate_app(roots, app.as_str())
            .map_err(|err| anyhow::anyhow!("storage migration failed for app {app:?}: {err:#}"))?;
    }
    match (args.iter().any(|a| a == "--all"), apps.first()) {
        (true, _) => log::info1(&format!("Re-migrated {} app(s)", apps.len())),
        (false, Some(app)) => log::info1(&format!("Re-migrated {app}")),
        (false, None) => {}
    }
    Ok(())
}
