//! The `ps:*` commands.

use anyhow::Result;
use dokku_core::app::AppName;
use dokku_core::builds::Recording;
use dokku_core::entry::Ctx;

use crate::settings::SETTINGS;

/// The most instances of one process type.
pub(crate) const MAX_SCALE: u32 = 1000;

/// The app's current Procfile: the released build's.
pub(crate) fn procfile_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir("ps", app).join("Procfile")
}

pub(crate) fn processes(
    ctx: &Ctx,
    app: &str,
) -> Result<Option<Vec<dokku_core::procfile::Process>>> {
    match dokku_core::fs::read_optional(&procfile_path(ctx, app))? {
        Some(text) => Ok(Some(dokku_core::procfile::parse(&text)?)),
        None => Ok(None),
    }
}

/// The scale: `type=count` lines, in the order stored (names trimmed, the first line of a
/// type counts, as Dokku reads them).
pub(crate) fn scale(ctx: &Ctx, app: &str) -> Result<Vec<(String, u32)>> {
    let mut scale: Vec<(String, u32)> = Vec::new();
    for line in SETTINGS.properties(ctx).list(app, "scale")? {
        let Some((name, count)) = line.split_once('=') else {
            continue;
        };
        let (name, Ok(count)) = (name.trim(), count.trim().parse()) else {
            continue;
        };
        if !scale.iter().any(|(known, _)| known == name) {
            scale.push((name.to_string(), count));
        }
    }
    Ok(scale)
}

/// The scale by process type name, as `ps:scale` shows it.
fn sorted_scale(ctx: &Ctx, app: &str) -> Result<Vec<(String, u32)>> {
    let mut scale = scale(ctx, app)?;
    scale.sort();
    Ok(scale)
}

/// The scale app.json's `formation` sets, when any of its process types has a
/// `quantity`: then it manages the scale (types it leaves out run none) and `ps:scale`
/// is refused, as in Dokku.
pub(crate) fn formation(
    ctx: &Ctx,
    app: &str,
) -> Result<Option<std::collections::BTreeMap<String, u32>>> {
    let text = dokku_core::ask::app_json(ctx, app)?;
    let json: serde_json::Value = match text.trim() {
        "" => return Ok(None),
        text => serde_json::from_str(text)?,
    };
    let Some(types) = json.get("formation").and_then(|f| f.as_object()) else {
        return Ok(None);
    };
    let mut scale = std::collections::BTreeMap::new();
    for (name, entry) in types {
        let Some(quantity) = entry.get("quantity") else {
            continue;
        };
        let Some(count) = quantity.as_u64().filter(|n| *n <= MAX_SCALE.into()) else {
            anyhow::bail!("Invalid formation.{name}.quantity in app.json: 0 to {MAX_SCALE}");
        };
        scale.insert(name.clone(), count as u32);
    }
    Ok((!scale.is_empty()).then_some(scale))
}

#[derive(clap::Parser)]
pub(crate) struct AppOrAll {
    /// With --all, how many apps at a time (-1: one per CPU).
    #[arg(long, default_value_t = 1, allow_negative_numbers = true)]
    parallel: i32,
    #[command(flatten)]
    which: dokku_core::entry::AppsOrAll,
    #[arg(value_name = "PROC")]
    process: Option<String>,
}

/// What a `ps:*` command acts on: the app named, or every app with `--all` (so many at a
/// time with `--parallel`).
pub(crate) struct Selection {
    command: &'static str,
    apps: Vec<String>,
    process: Option<String>,
    parallel: usize,
}

pub(crate) fn apps_of(ctx: &Ctx, name: &'static str, args: &[String]) -> Result<Selection> {
    let cmd: AppOrAll = dokku_core::entry::parse(name, args)?;
    let apps = cmd.which.apps(ctx, name)?;
    let parallel = match cmd.parallel {
        -1 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n if n >= 1 => n as usize,
        n => anyhow::bail!("Invalid --parallel {n}: a number of apps, or -1 for one per CPU"),
    };
    Ok(Selection {
        command: name,
        apps,
        process: cmd.process,
        parallel,
    })
}

impl Selection {
    /// Runs `work` for each app under its deploy lock; with `--parallel N`, N apps at a
    /// time, each on a thread of its own holding that app's lock and handing it to the
    /// processes it starts through [`Locked::trigger`].
    fn run(&self, ctx: &Ctx, work: impl Fn(&Locked) -> Result<()> + Sync) -> Result<()> {
        let source = BUILD_SOURCES.iter().copied().find(|s| *s == self.command);
        if self.parallel <= 1 || self.apps.len() <= 1 {
            return each_locked(ctx, &self.apps, source, work);
        }
        let mut failed = Vec::new();
        for batch in self.apps.chunks(self.parallel) {
            std::thread::scope(|scope| {
                let running: Vec<_> = batch
                    .iter()
                    .map(|app| {
                        let work = &work;
                        let one = move || -> Result<()> {
                            let _lock =
                                dokku_core::fs::AppLock::for_deploy(&ctx.roots.lib_root, app)?;
                            let recording = source.and_then(|s| Recording::begin(ctx, app, s));
                            let done = work(&Locked {
                                ctx,
                                app,
                                shared: false,
                                build: recording.as_ref().zip(source),
                            });
                            if let Some(recording) = recording {
                                recording.finish(&done);
                            }
                            done
                        };
                        (app, scope.spawn(one))
                    })
                    .collect();
                for (app, thread) in running {
                    match thread.join() {
                        Ok(Ok(())) => {}
                        Ok(Err(err)) => {
                            dokku_core::log::warn(&format!("{app}: {err:#}"));
                            failed.push(app.clone());
                        }
                        Err(_) => failed.push(app.clone()),
                    }
                }
            });
        }
        if !failed.is_empty() {
            anyhow::bail!("{} failed for: {}", self.command, failed.join(", "));
        }
        Ok(())
    }
}

/// The commands whose deploys are recorded under their own name (others' are recorded
/// by the deploy they start).
const BUILD_SOURCES: [&str; 3] = ["ps:rebuild", "ps:restart", "ps:start"];

/// An app whose deploy lock this process holds, and the way to start triggers under it.
pub(crate) struct Locked<'a> {
    pub ctx: &'a Ctx,
    pub app: &'a str,
    /// The lock and the build's recording reach children through this process's
    /// environment already (one app at a time); otherwise each trigger gets them in its
    /// own.
    shared: bool,
    /// The build's recording and what began it, when it is not shared.
    build: Option<(&'a Recording, &'a str)>,
}

impl Locked<'_> {
    /// A trigger whose processes run under the app's deploy lock.
    pub fn trigger(&self, name: &str) -> dokku_core::trigger::Trigger {
        let trigger = self.ctx.trigger(name);
        if self.shared {
            return trigger;
        }
        let trigger = trigger.env(dokku_core::env::DOKKU_DEPLOY_LOCKED, self.app);
        match self.build {
            Some((recording, source)) => trigger
                .env(dokku_core::builds::BUILD_ID, recording.id())
                .env(dokku_core::builds::BUILD_SOURCE, source),
            None => trigger,
        }
    }
}

/// Deploys the app's released image again (of every process type, or one) through the
/// builder's `deploy` trigger: the one route every deploy takes.
pub(crate) fn deploy(locked: &Locked, process: Option<&str>) -> Result<()> {
    locked
        .trigger("deploy")
        .args([locked.app, "latest", process.unwrap_or("")])
        .stream()
}

/// Runs `work` for each app under its deploy lock (shared with the triggers it fires),
/// recorded as a build begun by `source` when one is given.
pub(crate) fn each_locked(
    ctx: &Ctx,
    apps: &[String],
    source: Option<&str>,
    work: impl Fn(&Locked) -> Result<()>,
) -> Result<()> {
    for app in apps {
        let mut lock = dokku_core::fs::AppLock::for_deploy(&ctx.roots.lib_root, app)?;
        lock.share_with_children(app);
        let recording = source.and_then(|source| {
            let mut recording = Recording::begin(ctx, app, source)?;
            recording.share_with_children(source);
            recording.tee_output();
            Some(recording)
        });
        let done = work(&Locked {
            ctx,
            app,
            shared: true,
            build: None,
        });
        if let Some(recording) = recording {
            recording.finish(&done);
        }
        done?;
    }
    Ok(())
}

/// `ps:inspect APP`: the scheduler's description of the app's containers.
pub(crate) fn inspect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = match args {
        [app] => dokku_core::app::verify(&ctx.roots, app)?,
        [] => return Err(dokku_core::Error::MissingApp.into()),
        _ => anyhow::bail!("ps:inspect takes one app"),
    };
    let scheduler = dokku_core::ask::scheduler(ctx, app.as_str())?;
    ctx.trigger("scheduler-inspect")
        .args([scheduler.as_str(), app.as_str()])
        .stream()
}

/// `ps:rebuild [--all] APP`: the deploy branch is built, released and deployed again.
pub(crate) fn rebuild(ctx: &Ctx, args: &[String]) -> Result<()> {
    apps_of(ctx, "ps:rebuild", args)?.run(ctx, |locked| {
        locked.trigger("receive-app").arg(locked.app).stream()
    })
}

/// `ps:restart [--all] APP [PROC]`: new containers of the released image replace the
/// running ones once ready, as a deploy does.
pub(crate) fn restart(ctx: &Ctx, args: &[String]) -> Result<()> {
    let selection = apps_of(ctx, "ps:restart", args)?;
    let process = selection.process.clone();
    selection.run(ctx, |locked| {
        dokku_core::log::info1(&format!("Restarting {}", locked.app));
        deploy(locked, process.as_deref())
    })
}

/// `ps:start [--all] APP`: an app that is not running is released and deployed.
pub(crate) fn start(ctx: &Ctx, args: &[String]) -> Result<()> {
    apps_of(ctx, "ps:start", args)?.run(ctx, |locked| {
        let app = locked.app;
        if dokku_core::ask::is_deployed(ctx, app)? {
            dokku_core::log::info1(&format!("{app} is already running"));
            return Ok(());
        }
        dokku_core::log::info1(&format!("Starting {app}"));
        locked.trigger("release-and-deploy").arg(app).stream()
    })
}

/// Whether `ps:restore` brings the app back: true once deployed, false after `ps:stop`.
pub(crate) const RESTORE: &str = "restore";
/// Set once a deploy of the app has finished (kept when it is later scaled to nothing).
pub(crate) const DEPLOYED: &str = "deployed";

/// `ps:restore [APP]`: every app (or the one named) that was running when it last changed
/// and has no container running now (the engine restarted, the host rebooted) is deployed
/// again from its released image; one whose containers came back by themselves (their
/// restart policy) has its routing built again, since they came back with new addresses.
pub(crate) fn restore(ctx: &Ctx, args: &[String]) -> Result<()> {
    let apps = match args {
        [] => dokku_core::app::list(&ctx.roots)?
            .into_iter()
            .map(|a| a.to_string())
            .collect(),
        [app] => vec![dokku_core::app::verify(&ctx.roots, app)?.to_string()],
        _ => anyhow::bail!("ps:restore takes at most one app"),
    };
    let props = SETTINGS.properties(ctx);
    let wanted: Vec<String> = apps
        .into_iter()
        .filter(|app| props.get(app, RESTORE).ok().flatten().as_deref() == Some("true"))
        .collect();
    // One app that cannot come back (locked, its image gone) does not keep the others down.
    let mut failed = Vec::new();
    for app in &wanted {
        let restored = each_locked(ctx, std::slice::from_ref(app), None, |locked| {
            if dokku_core::ask::is_deployed(ctx, app)? {
                return locked.trigger("proxy-build-config").arg(app).stream();
            }
            dokku_core::log::info1(&format!("Restoring {app}"));
            let scheduler = dokku_core::ask::scheduler(ctx, app)?;
            locked
                .trigger("scheduler-pre-restore")
                .args([scheduler.as_str(), app])
                .stream()?;
            deploy(locked, None)
        });
        if let Err(err) = restored {
            dokku_core::log::warn(&format!("{app} was not restored: {err:#}"));
            failed.push(app.clone());
        }
    }
    if !failed.is_empty() {
        return Err(dokku_core::Error::Exit(1).into());
    }
    Ok(())
}

/// `ps:retire [APP]`: retires now what is due, of the app or of every app: containers a
/// deploy replaced whose `wait-to-retire` has passed, and one-off and cron containers past
/// their deadline. (Each deploy and run also retires its own in the background.)
pub(crate) fn retire(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = match args {
        [] => String::new(),
        [app] => dokku_core::app::verify(&ctx.roots, app)?.to_string(),
        _ => anyhow::bail!("ps:retire takes at most one app"),
    };
    let scheduler = dokku_core::ask::scheduler(
        ctx,
        if app.is_empty() {
            dokku_core::property::GLOBAL
        } else {
            &app
        },
    )?;
    let dir = ctx.roots.data_dir("ps", "");
    std::fs::create_dir_all(&dir)?;
    let Some(_lock) = dokku_core::fs::FileLock::try_exclusive(&dir.join("retire"))? else {
        anyhow::bail!("Failed to acquire ps:retire lock");
    };
    dokku_core::log::info1("Retiring old containers and images");
    ctx.trigger("scheduler-retire")
        .args([scheduler.as_str(), app.as_str()])
        .stream()?;
    dokku_core::log::info1("Retiring expired run and cron containers");
    ctx.trigger("scheduler-run-retire")
        .args([scheduler.as_str(), app.as_str()])
        .stream()
}

/// `ps:stop [--all] APP`: the app's containers stop (and stay, for `ps:start`); it is no
/// longer one `ps:restore` brings back.
pub(crate) fn stop(ctx: &Ctx, args: &[String]) -> Result<()> {
    apps_of(ctx, "ps:stop", args)?.run(ctx, |locked| {
        let app = locked.app;
        SETTINGS.properties(ctx).set(app, RESTORE, "false")?;
        dokku_core::log::info1(&format!("Stopping {app}"));
        let scheduler = dokku_core::ask::scheduler(ctx, app)?;
        locked
            .trigger("scheduler-stop")
            .args([scheduler.as_str(), app])
            .stream()
    })
}

/// `ps:report`'s rows beyond the settings: whether each app runs, and its scale (the
/// schedulers and their answers asked in one round each).
pub(crate) fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    let calls: Vec<Vec<String>> = apps.iter().map(|a| vec![a.to_string()]).collect();
    let schedulers = ctx.trigger("scheduler-detect").output_each(&calls)?;
    let calls: Vec<Vec<String>> = apps
        .iter()
        .zip(&schedulers)
        .map(|(app, scheduler)| {
            let scheduler = scheduler.lines().next().unwrap_or_default().trim();
            vec![scheduler.to_string(), app.to_string()]
        })
        .collect();
    let statuses = ctx.trigger("scheduler-app-status").output_each(&calls)?;
    apps.iter()
        .zip(statuses)
        .zip(&calls)
        .map(|((app, status), call)| {
            let app = app.as_str();
            let (count, running) = status.split_once(' ').unwrap_or(("0", "false"));
            let scale: Vec<String> = scale(ctx, app)?
                .iter()
                .map(|(kind, n)| format!("{kind}={n}"))
                .collect();
            Ok(vec![
                // Dokku's names for these four have no `ps-` prefix.
                (
                    "deployed".into(),
                    (count != "0"
                        || SETTINGS.properties(ctx).get(app, DEPLOYED)?.as_deref() == Some("true"))
                    .to_string(),
                ),
                ("processes".into(), count.to_string()),
                (
                    "restore".into(),
                    SETTINGS
                        .properties(ctx)
                        .get(app, RESTORE)?
                        .unwrap_or_else(|| "true".into()),
                ),
                ("running".into(), running.to_string()),
                ("ps-scale".into(), scale.join(" ")),
            ]
            .into_iter()
            .chain(container_statuses(ctx, app, &call[0])?)
            .collect())
        })
        .collect()
}

/// `status-TYPE.N` rows: of a docker-local app, each container it last deployed (its
/// `CONTAINER.TYPE.N` file) and the state the engine gives it, `missing` once it is gone;
/// of another scheduler's, each process its scheduler lists as running, with the address
/// it runs at (a swarm task's node).
fn container_statuses(ctx: &Ctx, app: &str, scheduler: &str) -> Result<Vec<(String, String)>> {
    if scheduler != "docker-local" {
        return Ok(dokku_core::ask::app_containers(ctx, app)?
            .into_iter()
            .map(|c| {
                let short: String = c.id.chars().take(11).collect();
                (
                    format!("status-{}", c.dyno),
                    format!("running (CID: {short}, on {})", c.ip),
                )
            })
            .collect());
    }
    let Ok(entries) = std::fs::read_dir(ctx.roots.app_dir(app)) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<(String, std::path::PathBuf)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().to_str()?.to_string();
            let process = name.strip_prefix("CONTAINER.")?.to_string();
            Some((process, entry.path()))
        })
        .collect();
    files.sort();
    let mut rows = Vec::new();
    for (process, path) in files {
        let id = std::fs::read_to_string(&path).unwrap_or_default();
        let id = id.lines().next().unwrap_or_default().trim().to_string();
        if id.is_empty() {
            continue;
        }
        let state = dokku_core::docker::container_inspect(&id)
            .ok()
            .flatten()
            .and_then(|info| info["State"]["Status"].as_str().map(String::from))
            .unwrap_or_else(|| "missing".into());
        let short: String = id.chars().take(11).collect();
        rows.push((
            format!("status-{process}"),
            format!("{state} (CID: {short})"),
        ));
    }
    Ok(rows)
}

#[derive(clap::Parser)]
pub(crate) struct Scale {
    /// Record the new scale without deploying it.
    #[arg(long)]
    skip_deploy: bool,
    /// How the scale is shown when no change is given.
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    format: String,
    #[arg(value_name = "APP")]
    app: String,
    /// `web=2 worker=1`
    #[arg(value_name = "PROC=COUNT")]
    changes: Vec<String>,
}

/// `type=count` -> the pair, checked (count 0 to 1000).
pub(crate) fn scale_change(text: &str) -> Result<(String, u32)> {
    let parsed = text.split_once('=').and_then(|(kind, count)| {
        let valid = !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let count: u32 = count.parse().ok().filter(|c| *c <= MAX_SCALE)?;
        valid.then(|| (kind.to_string(), count))
    });
    parsed.ok_or_else(|| {
        anyhow::anyhow!("Invalid scale {text:?}: use <proc>=<count>, a count from 0 to 1000")
    })
}

/// `ps:scale [--skip-deploy] APP [TYPE=COUNT...]`: without changes, the scale; with them,
/// the new scale, deployed for the process types whose count changed only (the others'
/// containers are left alone).
pub(crate) fn scale_command(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Scale = dokku_core::entry::parse("ps:scale", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let app = app.as_str();
    if cmd.changes.is_empty() && cmd.format == "json" {
        let json: Vec<serde_json::Value> = sorted_scale(ctx, app)?
            .into_iter()
            .map(|(kind, count)| serde_json::json!({"process_type": kind, "quantity": count}))
            .collect();
        dokku_core::log::data(&serde_json::to_string(&json)?);
        return Ok(());
    }
    if cmd.changes.is_empty() {
        dokku_core::log::info1_quiet(&format!("Scaling for {app}"));
        // Dokku's columns: the name and its colon padded to five, then the count.
        let line = |name: &str, count: &str| format!("{:<5} {count}", format!("{name}:"));
        if !dokku_core::env::quiet() {
            dokku_core::log::data(&line("proctype", "qty"));
            dokku_core::log::data(&line("--------", "---"));
        }
        for (kind, count) in sorted_scale(ctx, app)? {
            dokku_core::log::data(&line(&kind, &count.to_string()));
        }
        return Ok(());
    }
    let changes = cmd
        .changes
        .iter()
        .map(|c| scale_change(c))
        .collect::<Result<Vec<_>>>()?;
    if formation(ctx, app)?.is_some() {
        anyhow::bail!(
            "The scale of {app} is managed by the formation key of its app.json: change it there"
        );
    }
    // Scaling a type the Procfile lacks to zero asks for nothing to run: allowed, as in Dokku.
    if let Some(known) = processes(ctx, app)?
        && let Some((kind, _)) = changes
            .iter()
            .find(|(kind, count)| *count != 0 && !known.iter().any(|p| p.name == *kind))
    {
        anyhow::bail!("Process type {kind} is not in the Procfile of {app}");
    }
    let mut lock = dokku_core::fs::AppLock::for_deploy(&ctx.roots.lib_root, app)?;
    lock.share_with_children(app);
    let locked = Locked {
        ctx,
        app,
        shared: true,
        build: None,
    };
    let mut current = scale(ctx, app)?;
    let mut changed = Vec::new();
    for (kind, count) in changes {
        match current.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, old)) if *old == count => continue,
            Some((_, old)) => *old = count,
            None => current.push((kind.clone(), count)),
        }
        changed.push(kind);
    }
    let lines: Vec<String> = current.iter().map(|(k, c)| format!("{k}={c}")).collect();
    SETTINGS.properties(ctx).set_list(app, "scale", &lines)?;
    if changed.is_empty() || cmd.skip_deploy || !dokku_core::ask::is_deployed(ctx, app)? {
        return Ok(());
    }
    for kind in changed {
        let count = current
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, c)| *c);
        dokku_core::log::info1(&format!("Scaling {app} processes: {kind}={count}"));
        deploy(&locked, Some(&kind))?;
    }
    Ok(())
}
