//! The triggers a deploy fires to record its build, and the app lifecycle's.

use anyhow::{Context, Result, bail};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::record::{self, Build, Store};

/// `builds-generate-id`: a new build id, alone on stdout.
pub fn generate_id(_ctx: &Ctx, _args: &[String]) -> Result<()> {
    log::data(&dokku_core::builds::new_id());
    Ok(())
}

/// `builds-record-start APP ID PID SOURCE`: the build's running record.
pub fn record_start(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, id, pid, source] = exactly::<4>("builds-record-start", args)?;
    let app = dokku_core::app::AppName::parse(app)?;
    let pid: i64 = pid
        .parse()
        .with_context(|| format!("builds-record-start: invalid pid {pid:?}"))?;
    let (source, kind) = match record::kind_of(source) {
        Some(kind) => (source.as_str(), kind),
        None => {
            log::warn(&format!(
                "builds-record-start: unknown source {source:?} for app {app}, recording as \"unknown\""
            ));
            ("unknown", "deploy")
        }
    };
    Store::new(ctx, app.as_str()).write(&Build {
        id: id.clone(),
        app: app.to_string(),
        kind: kind.into(),
        pid,
        started_at: dokku_core::time::rfc3339(dokku_core::time::now().as_secs()),
        finished_at: None,
        status: record::RUNNING.into(),
        source: source.into(),
        exit_code: None,
    })
}

/// `builds-record-finalize APP ID EXIT_CODE`: the build's outcome (a record already
/// finished, as `builds:cancel` leaves it, stays as it is), then the app's records are
/// pruned to its retention.
pub fn record_finalize(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, id, code] = exactly::<3>("builds-record-finalize", args)?;
    let app = dokku_core::app::AppName::parse(app)?;
    let Ok(code) = code.parse::<i64>() else {
        bail!("builds-record-finalize: invalid exit code {code:?}");
    };
    let store = Store::new(ctx, app.as_str());
    let Some(mut build) = store.read(id)? else {
        log::warn(&format!(
            "builds-record-finalize: no record for {app}/{id}, skipping"
        ));
        return Ok(());
    };
    if !build.is_terminal() {
        let status = if code == 0 {
            record::SUCCEEDED
        } else {
            record::FAILED
        };
        build.finish(status, code);
        store.write(&build)?;
    }
    crate::commands::prune_app(ctx, &app)
}

/// `post-app-rename-setup OLD NEW`: the records move with the app.
pub fn renamed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-rename-setup", args)?;
    let from = ctx.roots.data_dir("builds", old);
    if from.exists() {
        let to = ctx.roots.data_dir("builds", new);
        std::fs::rename(&from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
    }
    crate::settings::SETTINGS.properties(ctx).destroy_app(old)
}
