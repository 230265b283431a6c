//! The `scheduler` plugin: which scheduler runs an app (`selected`, app then global, else
//! `docker-local`), answered through `scheduler-detect`, and the shell `enter` opens
//! (`shell`, through `scheduler-get-property`).

use anyhow::{Result, bail};
use dokku_core::entry::{Ctx, Plugin, TriggerEntry};
use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "scheduler",
    table: &[
        Setting {
            key: "selected",
            scope: Scope::AppOrGlobal,
            default: "docker-local",
            validate: scheduler_name,
        },
        Setting {
            key: "shell",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: shell_path,
        },
    ],
};

/// A shell to run in a container: a program name or path, no spaces or shell syntax.
fn shell_path(value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    if !valid {
        bail!("Invalid shell {value:?}: a program, as in /bin/sh");
    }
    Ok(())
}

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler",
    description: "Manage scheduler settings",
    triggers: &[
        TriggerEntry {
            name: "scheduler-detect",
            run: detect,
        },
        TriggerEntry {
            name: "scheduler-get-property",
            run: get_property,
        },
    ],
    settings: Some(&SETTINGS),
    ..Plugin::DEFAULTS
};

/// A scheduler's name: `docker-local`, `null`, a third-party scheduler's.
fn scheduler_name(value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("Invalid scheduler {value:?}");
    }
    Ok(())
}

/// `scheduler-detect APP`: the selected scheduler, else Dokku's default.
fn detect(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    dokku_core::log::data(&SETTINGS.computed(ctx, app, "selected")?);
    Ok(())
}

/// `scheduler-get-property APP KEY`: a setting's computed value.
fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("scheduler-get-property", args)?;
    dokku_core::log::data(&SETTINGS.computed(ctx, app, key)?);
    Ok(())
}
