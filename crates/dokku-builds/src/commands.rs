//! `builds:list`, `info`, `output`, `cancel`, `prune`, and the report's rows.

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::record::{self, Build, Store};
use crate::settings::retention_of;

#[derive(Parser)]
struct List {
    #[arg(value_name = "APP")]
    app: Option<String>,
    #[arg(long, default_value = "stdout")]
    format: String,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    status: Option<String>,
}

fn check_format(format: &str) -> Result<()> {
    if format != "stdout" && format != "json" {
        bail!("Invalid format specified, supported formats: json, stdout");
    }
    Ok(())
}

/// A record as `list` and `info` show it in JSON: its fields, and what is computed.
fn view(ctx: &Ctx, build: &Build) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(build)?;
    if let Some(fields) = value.as_object_mut() {
        fields.insert("display_status".into(), build.display_status().into());
        fields.insert(
            "duration".into(),
            record::duration_text(build.duration_secs()).into(),
        );
        let log = Store::new(ctx, &build.app).log_path(&build.id);
        fields.insert("log_path".into(), log.display().to_string().into());
    }
    Ok(value)
}

fn started(build: &Build) -> String {
    dokku_core::time::rfc3339(build.started_secs())
}

/// `builds:list [APP] [--format stdout|json] [--kind build|deploy] [--status STATUS]`:
/// the app's live builds, then its records newest first (as many as it keeps); without an
/// app, the builds running on the host.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = dokku_core::entry::parse("builds:list", args)?;
    check_format(&cmd.format)?;
    if let Some(kind) = cmd.kind.as_deref().filter(|k| !record::KINDS.contains(k)) {
        bail!("Invalid --kind value {kind:?} (allowed: build, deploy)");
    }
    if let Some(status) = cmd
        .status
        .as_deref()
        .filter(|s| !record::STATUSES.contains(s))
    {
        bail!(
            "Invalid --status value {status:?} (allowed: running, succeeded, failed, canceled, abandoned)"
        );
    }
    let wanted = |build: &Build| {
        cmd.kind.as_deref().is_none_or(|k| build.kind == k)
            && cmd
                .status
                .as_deref()
                .is_none_or(|s| build.display_status() == s)
    };
    let Some(app) = cmd.app.as_deref() else {
        return list_running(ctx, &cmd.format, &wanted);
    };
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let mut builds: Vec<Build> = Store::new(ctx, app.as_str())
        .all()?
        .into_iter()
        .filter(|b| wanted(b))
        .collect();
    builds.sort_by_key(|b| !b.is_live());
    let unfiltered = cmd.kind.is_none() && cmd.status.is_none();
    let live = builds.iter().filter(|b| b.is_live()).count();
    if unfiltered {
        builds.truncate(live + retention_of(ctx, app.as_str()));
    }
    show(
        ctx,
        &builds,
        &cmd.format,
        "No builds recorded for this app",
        &[
            "Build ID", "Kind", "Status", "PID", "Source", "Started", "Duration",
        ],
        |b| {
            vec![
                b.id.clone(),
                b.kind.clone(),
                b.display_status().to_string(),
                b.pid.to_string(),
                b.source.clone(),
                started(b),
                record::duration_text(b.duration_secs()),
            ]
        },
    )
}

/// The records as JSON views, or a table of `columns` with `row`'s cells, or `none` when
/// there are none.
fn show(
    ctx: &Ctx,
    builds: &[Build],
    format: &str,
    none: &str,
    columns: &[&str],
    row: impl Fn(&Build) -> Vec<String>,
) -> Result<()> {
    if format == "json" {
        let views = builds
            .iter()
            .map(|b| view(ctx, b))
            .collect::<Result<Vec<_>>>()?;
        log::data(&serde_json::to_string(&views)?);
        return Ok(());
    }
    if builds.is_empty() {
        log::data(none);
        return Ok(());
    }
    let mut rows = vec![columns.iter().map(|c| c.to_string()).collect()];
    rows.extend(builds.iter().map(row));
    for line in log::table(&rows) {
        log::data(&line);
    }
    Ok(())
}

fn list_running(ctx: &Ctx, format: &str, wanted: &dyn Fn(&Build) -> bool) -> Result<()> {
    let mut builds = Vec::new();
    for app in dokku_core::app::list(&ctx.roots)? {
        let running = Store::new(ctx, app.as_str()).all()?;
        builds.extend(
            running
                .into_iter()
                .filter(|b| b.status == record::RUNNING && wanted(b)),
        );
    }
    builds.sort_by_key(|b| std::cmp::Reverse(b.started_secs()));
    show(
        ctx,
        &builds,
        format,
        "No builds currently running",
        &["App", "Build ID", "Kind", "PID", "Source", "Started"],
        |b| {
            vec![
                b.app.clone(),
                b.id.clone(),
                b.kind.clone(),
                b.pid.to_string(),
                b.source.clone(),
                started(b),
            ]
        },
    )
}

#[derive(Parser)]
struct Info {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "BUILD_ID")]
    id: Option<String>,
    #[arg(long, default_value = "stdout")]
    format: String,
}

/// `builds:info APP BUILD_ID [--format stdout|json]`.
pub fn info(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Info = dokku_core::entry::parse("builds:info", args)?;
    check_format(&cmd.format)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let Some(id) = cmd.id.filter(|id| !id.is_empty()) else {
        bail!("Please specify a build id");
    };
    let store = Store::new(ctx, app.as_str());
    let Some(build) = store.read(&id)? else {
        bail!("No build record found for {app}/{id}");
    };
    if cmd.format == "json" {
        log::data(&serde_json::to_string(&view(ctx, &build)?)?);
        return Ok(());
    }
    let mut rows = vec![
        ("Build ID", build.id.clone()),
        ("App", build.app.clone()),
        ("Kind", build.kind.clone()),
        ("Status", build.display_status().to_string()),
        ("PID", build.pid.to_string()),
        ("Source", build.source.clone()),
        ("Started", started(&build)),
    ];
    if let Some(finished) = &build.finished_at {
        let secs = dokku_core::time::parse_utc(finished).unwrap_or(0);
        rows.push(("Finished", dokku_core::time::rfc3339(secs)));
    }
    rows.push(("Duration", record::duration_text(build.duration_secs())));
    if let Some(code) = build.exit_code {
        rows.push(("Exit Code", code.to_string()));
    }
    rows.push(("Log", store.log_path(&build.id).display().to_string()));
    let rows: Vec<(String, String)> = rows.into_iter().map(|(k, v)| (k.into(), v)).collect();
    for line in log::columns(&rows) {
        log::data(&line);
    }
    Ok(())
}

/// The build an app is deploying now: the id a deploy lock file names (Dokku's
/// `.deploy.lock`), else the app's live build; when there is none, what to say.
enum Current {
    Named(String),
    Live(Build),
    None(&'static str),
}

fn current(ctx: &Ctx, app: &str) -> Result<Current> {
    let marker = dokku_core::fs::AppLock::marker_path(&ctx.roots.lib_root, app);
    if let Some(text) = dokku_core::fs::read_optional(&marker)? {
        let id = text.trim();
        if !id.is_empty() {
            return Ok(Current::Named(id.to_string()));
        }
    }
    if let Some(build) = Store::new(ctx, app).all()?.into_iter().find(Build::is_live) {
        return Ok(Current::Live(build));
    }
    Ok(Current::None(if marker.exists() {
        "No matching app deploy found"
    } else {
        "App not currently deploying"
    }))
}

#[derive(Parser)]
struct OneApp {
    #[arg(value_name = "APP")]
    app: String,
}

/// `builds:cancel APP`: the app's deploy in progress is stopped (its process group gets
/// SIGTERM, as a pusher going away does) and its record says `canceled`.
pub fn cancel(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: OneApp = dokku_core::entry::parse("builds:cancel", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let store = Store::new(ctx, app.as_str());
    let marker = dokku_core::fs::AppLock::marker_path(&ctx.roots.lib_root, app.as_str());
    let (build, named) = match current(ctx, app.as_str())? {
        Current::None(message) => {
            log::info1(message);
            return Ok(());
        }
        Current::Live(build) => (build, false),
        Current::Named(id) => match store.read(&id)? {
            Some(build) => (build, true),
            None => {
                log::info1(&format!(
                    "No build record for {id}, removing stale lock file"
                ));
                return dokku_core::fs::remove_file_if_exists(&marker);
            }
        },
    };
    let id = build.id.clone();
    if build.status != record::RUNNING {
        log::info1(&format!(
            "Build {id} is no longer running (status={}); leaving record untouched",
            build.status
        ));
        return Ok(());
    }
    if !record::pid_alive(build.pid) {
        log::info1("Build was already terminated, marking failed");
        let mut build = build;
        build.finish(record::FAILED, -1);
        store.write(&build)?;
        if named {
            dokku_core::fs::remove_file_if_exists(&marker)?;
        }
        return Ok(());
    }
    log::info1("Killing app deploy");
    if let Err(err) = stop_process_group(build.pid) {
        log::warn(&format!(
            "Failed to signal process group {}: {err}",
            build.pid
        ));
    }
    if let Some(mut now) = store.read(&id)?.filter(|b| b.status == record::RUNNING) {
        now.finish(record::CANCELED, -1);
        store.write(&now)?;
    }
    if named {
        dokku_core::fs::remove_file_if_exists(&marker)?;
    }
    Ok(())
}

/// SIGTERM to the build's process group (the deploy's owner undoes what it began), or to
/// the process alone when it shares this command's group.
fn stop_process_group(pid: i64) -> Result<()> {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::{Pid, getpgid, getpgrp};
    let pid = Pid::from_raw(i32::try_from(pid)?);
    let group = getpgid(Some(pid))?;
    if group == getpgrp() {
        kill(pid, Signal::SIGTERM)?;
    } else {
        killpg(group, Signal::SIGTERM)?;
    }
    Ok(())
}

#[derive(Parser)]
struct Output {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "BUILD_ID")]
    id: Option<String>,
}

/// How often a build's growing log is read again while it runs.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// `builds:output APP [BUILD_ID|current]`: the build's log; a build still running is
/// followed until it ends.
pub fn output(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Output = dokku_core::entry::parse("builds:output", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let store = Store::new(ctx, app.as_str());
    let id = match cmd.id.filter(|id| !id.is_empty() && id != "current") {
        Some(id) => id,
        None => match current(ctx, app.as_str())? {
            Current::Named(id) => id,
            Current::Live(build) => build.id,
            Current::None(message) => {
                log::info1(message);
                return Ok(());
            }
        },
    };
    let path = store.log_path(&id);
    let Ok(mut file) = std::fs::File::open(&path) else {
        if store.read(&id)?.is_none() {
            bail!("No build record found for {app}/{id}");
        }
        bail!("The log of build {id} is missing: {}", path.display());
    };
    let mut stdout = std::io::stdout().lock();
    loop {
        let mut chunk = Vec::new();
        file.read_to_end(&mut chunk)?;
        stdout.write_all(&chunk)?;
        stdout.flush()?;
        let running = store.read(&id)?.is_some_and(|b| b.is_live());
        if !running {
            let mut rest = Vec::new();
            file.read_to_end(&mut rest)?;
            stdout.write_all(&rest)?;
            return Ok(());
        }
        std::thread::sleep(FOLLOW_EVERY);
    }
}

#[derive(Parser)]
struct Prune {
    #[arg(value_name = "APP")]
    app: Option<String>,
    #[arg(long = "all-apps")]
    all_apps: bool,
}

/// `builds:prune [APP] [--all-apps]`: abandoned records are marked failed, and each app
/// keeps its newest finished records up to its retention.
pub fn prune(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Prune = dokku_core::entry::parse("builds:prune", args)?;
    if cmd.all_apps {
        for app in dokku_core::app::list(&ctx.roots)? {
            if let Err(err) = prune_app(ctx, &app) {
                log::warn(&format!("Prune failed for {app}: {err:#}"));
            }
        }
        return Ok(());
    }
    let Some(app) = cmd.app else {
        return Err(dokku_core::Error::MissingApp.into());
    };
    prune_app(ctx, &dokku_core::app::verify(&ctx.roots, &app)?)
}

pub fn prune_app(ctx: &Ctx, app: &AppName) -> Result<()> {
    Store::new(ctx, app.as_str()).prune(retention_of(ctx, app.as_str()))
}

/// The report's rows of the app's newest build.
pub fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter()
        .map(|app| {
            let newest = Store::new(ctx, app.as_str()).all()?.into_iter().next();
            let field = |f: &dyn Fn(&Build) -> String| newest.as_ref().map(f).unwrap_or_default();
            Ok(vec![
                ("build-id".into(), field(&|b| b.id.clone())),
                ("build-kind".into(), field(&|b| b.kind.clone())),
                (
                    "build-status".into(),
                    field(&|b| b.display_status().to_string()),
                ),
                ("build-pid".into(), field(&|b| b.pid.to_string())),
                ("build-source".into(), field(&|b| b.source.clone())),
                ("build-started-at".into(), field(&started)),
                (
                    "build-finished-at".into(),
                    field(&|b| {
                        b.finished_at
                            .as_deref()
                            .and_then(dokku_core::time::parse_utc)
                            .map(dokku_core::time::rfc3339)
                            .unwrap_or_default()
                    }),
                ),
                (
                    "build-exit-code".into(),
                    field(&|b| b.exit_code.map(|c| c.to_string()).unwrap_or_default()),
                ),
            ])
        })
        .collect()
}
