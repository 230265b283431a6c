//! `events`, `events:list`, `events:on`, `events:off`, and the log's place on the host.

use anyhow::Result;
use clap::Parser;
use dokku_core::cmd::Cmd;
use dokku_core::entry::Ctx;
use dokku_core::{events, log, privilege};

#[derive(Parser)]
struct Show {
    /// Follow the log.
    #[arg(short = 't')]
    follow: bool,
}

/// `events [-t]`: the newest 100 events, or the log followed.
pub fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Show = dokku_core::entry::parse("events", args)?;
    let path = events::log_path(&ctx.roots);
    if !path.is_file() {
        return Ok(());
    }
    let tail = match cmd.follow {
        true => Cmd::new("tail").arg("-F").arg(&path),
        false => Cmd::new("tail").args(["-n", "100"]).arg(&path),
    };
    tail.stream()
}

/// `events:on`.
pub fn on(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = dokku_core::entry::parse("events:on", args)?;
    log::data("Enabling dokku events logger");
    dokku_core::env::persist_flag(&ctx.roots, events::DOKKU_EVENTS, true)
}

/// `events:off`.
pub fn off(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = dokku_core::entry::parse("events:off", args)?;
    log::data("Disabling dokku events logger");
    dokku_core::env::persist_flag(&ctx.roots, events::DOKKU_EVENTS, false)
}

#[derive(Parser)]
struct Empty {}

/// `events:list`: the triggers the enabled plugins answer, each logged when called.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = dokku_core::entry::parse("events:list", args)?;
    if !events::enabled() {
        log::warn("Events logger disabled");
        return Ok(());
    }
    log::info2_quiet("Events currently logged");
    let enabled = ctx.roots.plugin_enabled();
    let mut triggers: Vec<String> = dokku_core::trigger::enabled_plugins(&ctx.roots)
        .iter()
        .flat_map(|plugin| {
            std::fs::read_dir(enabled.join(plugin))
                .into_iter()
                .flatten()
        })
        .filter_map(|entry| entry.ok())
        .filter(|entry| dokku_core::fs::is_executable(&entry.path()) && entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && !NOT_TRIGGERS.contains(&name.as_str()))
        .collect();
    triggers.sort();
    triggers.dedup();
    for trigger in triggers {
        log::data(&trigger);
    }
    Ok(())
}

/// Executables of a plugin directory that are no trigger.
const NOT_TRIGGERS: [&str; 2] = ["commands", "help-functions"];

/// `install`: the event log, `events.log` in the log directory, which belongs to the
/// dokku user as that directory does (install.sh adds logrotate's rule for it, and
/// syslog's filter for events sent with `logger -t dokku-event`, where the host has them).
pub fn install(ctx: &Ctx, _args: &[String]) -> Result<()> {
    if !privilege::is_root() {
        return Ok(());
    }
    let Some(user) = privilege::system_user(&ctx.roots) else {
        return Ok(());
    };
    std::fs::create_dir_all(&ctx.roots.logs_dir)?;
    let dir = privilege::open_dir_nofollow(&ctx.roots.logs_dir)?;
    create_log(&dir, user.uid.as_raw(), user.gid.as_raw())
}

/// `events.log` in the open directory, made when missing (mode 664), never through a
/// link.
fn create_log(dir: &std::fs::File, owner: u32, group: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(file) = privilege::create_file_at(dir, "events.log", 0o664)? {
        std::os::unix::fs::fchown(&file, Some(owner), Some(group))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o664))?;
    }
    Ok(())
}
