//! The triggers the ps plugin answers.

use anyhow::{Context, Result};
use dokku_core::entry::Ctx;

use crate::commands::{DEPLOYED, RESTORE, each_locked, formation, processes, procfile_path, scale};
use crate::settings::SETTINGS;

pub(crate) fn valid_procfile(text: &str) -> Result<()> {
    dokku_core::procfile::parse(text).map(|_| ())
}

/// `core-post-extract APP DIR REV`.
pub(crate) fn keep_procfile(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        SETTINGS.namespace,
        |app| {
            Ok((
                SETTINGS.computed(ctx, app, "procfile-path")?,
                "Procfile".into(),
            ))
        },
        "Procfile",
        |text| valid_procfile(text).map(|()| text.to_string()),
    )
}

/// `post-release-builder BUILDER APP IMAGE`: the released build's Procfile becomes the
/// app's, and the scale follows its process types (new ones join, `web` at 1 and others
/// at 0; those gone leave, but `web`). An app without a Procfile runs its image's command
/// as `web`.
pub(crate) fn adopt_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = dokku_core::entry::exactly::<3>("post-release-builder", args)?;
    if !dokku_core::build_files::adopt_build_file(&ctx.roots, SETTINGS.namespace, app, "Procfile")?
    {
        return Ok(());
    }
    let mut names: Vec<String> = match processes(ctx, app)? {
        Some(list) => list.into_iter().map(|p| p.name).collect(),
        None => vec!["web".into()],
    };
    let current = scale(ctx, app)?;
    // web stays in the scale, as in Dokku: a deploy says it skips it while the Procfile
    // lacks it, and it comes back at its count when the Procfile has it again.
    if !names.iter().any(|n| n == "web") && current.iter().any(|(n, _)| n == "web") {
        names.insert(0, "web".into());
    }
    let formation = formation(ctx, app)?;
    let lines: Vec<String> = names
        .iter()
        .map(|name| {
            let count = match &formation {
                Some(formation) => formation.get(name).copied().unwrap_or(0),
                None => current
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(u32::from(name == "web"), |(_, c)| *c),
            };
            format!("{name}={count}")
        })
        .collect();
    SETTINGS.properties(ctx).set_list(app, "scale", &lines)
}

/// `post-create APP`: a new app runs one web process, as in Dokku (a release without a
/// Procfile or app.json leaves the scale as it is).
pub(crate) fn initial_scale(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = dokku_core::entry::exactly::<1>("post-create", args)?;
    // The app's process files live here (Dokku makes it at create too).
    let dir = ctx.roots.data_dir("ps", app);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if scale(ctx, app)?.is_empty() {
        SETTINGS
            .properties(ctx)
            .set_list(app, "scale", &["web=1".into()])?;
    }
    Ok(())
}

/// `docker-args-process-deploy APP ...`: the app's restart policy.
pub(crate) fn restart_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let policy = SETTINGS.computed(ctx, app, "restart-policy")?;
    dokku_core::docker::filter_args(&format!(" --restart={policy}"))
}

/// `ps-get-property APP KEY`: a setting's computed value.
pub(crate) fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("ps-get-property", args)?;
    // `deployed`: whether a deploy of the app finished (kept when scaled to nothing) and
    // the app was not stopped since (`ps:stop`).
    if key == DEPLOYED {
        let props = SETTINGS.properties(ctx);
        let deployed = props.get(app, DEPLOYED)?.as_deref() == Some("true")
            && props.get(app, RESTORE)?.as_deref() != Some("false");
        dokku_core::log::data(&deployed.to_string());
        return Ok(());
    }
    dokku_core::log::data(&SETTINGS.computed(ctx, app, key)?);
    Ok(())
}

/// `ps-current-scale APP`: `type=count` lines.
pub(crate) fn current_scale(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    for (name, count) in scale(ctx, app)? {
        dokku_core::log::data(&format!("{name}={count}"));
    }
    Ok(())
}

/// The app's Procfile; during a build's release (a release task, say), that build's.
fn procfile_text(ctx: &Ctx, app: &str) -> Result<Option<String>> {
    match dokku_core::build_files::BuildFiles::current(&ctx.roots, SETTINGS.namespace, app) {
        Some(build) => build.get("Procfile"),
        None => dokku_core::fs::read_optional(&procfile_path(ctx, app)),
    }
}

/// `procfile-exists APP`: succeeds when the app has a Procfile.
pub(crate) fn procfile_exists(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    match procfile_text(ctx, app)? {
        Some(_) => Ok(()),
        None => Err(dokku_core::Error::Exit(1).into()),
    }
}

/// The process type's command as the Procfile has it; None when the app has no Procfile
/// or no such type.
fn procfile_entry(ctx: &Ctx, app: &str, kind: &str) -> Result<Option<String>> {
    let processes = match procfile_text(ctx, app)? {
        Some(text) => dokku_core::procfile::parse(&text)?,
        None => Vec::new(),
    };
    Ok(processes
        .into_iter()
        .find(|p| p.name == kind)
        .map(|p| p.command))
}

/// `procfile-get-command APP TYPE [PORT]`, Dokku's: the process type's command, `$PORT`
/// (5000 unless given) and the app's config expanded; a name neither knows stays as
/// written. Nothing when the app has no Procfile or no such type.
pub(crate) fn procfile_command(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(app), Some(kind)) = (args.first(), args.get(1)) else {
        anyhow::bail!("procfile-get-command: expected APP TYPE [PORT]");
    };
    let port = args
        .get(2)
        .filter(|p| !p.is_empty())
        .map_or("5000", String::as_str);
    let Some(command) = procfile_entry(ctx, app, kind)? else {
        return Ok(());
    };
    let command = if command.contains('$') {
        let config = dokku_core::ask::app_config(ctx, app)?;
        dokku_core::procfile::expand_known(&command, |name| match name {
            "PORT" => Some(port.to_string()),
            _ => config.get(name).cloned(),
        })
    } else {
        command
    };
    dokku_core::log::data(&command);
    Ok(())
}

/// `procfile-get-raw-command APP TYPE`: the command unexpanded, for the plugins here that
/// expand it where it runs (a container's own variables, a task's shell), so a config
/// value is never read as part of the command.
pub(crate) fn procfile_raw_command(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, kind] = dokku_core::entry::exactly::<2>("procfile-get-raw-command", args)?;
    if let Some(command) = procfile_entry(ctx, app, kind)? {
        dokku_core::log::data(&command);
    }
    Ok(())
}

/// `post-app-rename` / `post-app-clone OLD NEW`: the new app is built and deployed from
/// its repository (it has no image of its own yet), unless `SKIP_REBUILD` is true.
pub(crate) fn rebuild_renamed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_old, new] = dokku_core::entry::exactly::<2>("post-app-rename", args)?;
    if dokku_core::env::var("SKIP_REBUILD").as_deref() == Some("true")
        || !ctx.trigger("git-has-code").arg(new).succeeds()?
    {
        return Ok(());
    }
    each_locked(ctx, std::slice::from_ref(new), None, |locked| {
        locked.trigger("receive-app").arg(locked.app).stream()
    })
}

/// `core-post-deploy APP ...`: a deployed app is one to restore.
pub(crate) fn mark_running(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let props = SETTINGS.properties(ctx);
    props.set(app, DEPLOYED, "true")?;
    props.set(app, RESTORE, "true")
}
