//! `cron:set`: where cron mails a task's output (`mailto`, `mailfrom`, host-wide), and
//! maintenance, which keeps tasks from running: the host's, an app's, or one task's
//! (`maintenance.<ID>`, which `cron:suspend` and `cron:resume` set).

use anyhow::{Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "cron",
    table: &[
        Setting {
            key: "mailfrom",
            scope: Scope::GlobalOnly,
            default: "",
            validate: address,
        },
        Setting {
            key: "mailto",
            scope: Scope::GlobalOnly,
            default: "",
            validate: address,
        },
        Setting {
            key: "maintenance",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
    ],
};

/// The per-task property's prefix: `maintenance.<ID>`.
pub const TASK_MAINTENANCE: &str = "maintenance.";

/// A mail address as cron passes it on: one word, no line breaks.
fn address(value: &str) -> Result<()> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("Invalid address {value:?}: one word, such as admin@example.com");
    }
    Ok(())
}

/// Why a task does not run now: `Some("task")` when it is suspended itself, `Some("app")`
/// when its app (or the host) is in maintenance.
pub fn maintenance_of(ctx: &Ctx, app: &str, task_id: &str) -> Result<Option<&'static str>> {
    let props = SETTINGS.properties(ctx);
    let own = props.get(app, &format!("{TASK_MAINTENANCE}{task_id}"))?;
    if own.as_deref() == Some("true") {
        return Ok(Some("task"));
    }
    if SETTINGS.computed(ctx, app, "maintenance")? == "true" {
        return Ok(Some("app"));
    }
    Ok(None)
}
