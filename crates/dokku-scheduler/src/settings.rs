//! `scheduler:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
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
pub(crate) fn shell_path(value: &str) -> Result<()> {
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

/// A scheduler's name: `docker-local`, `null`, a third-party scheduler's.
pub(crate) fn scheduler_name(value: &str) -> Result<()> {
    let valid = value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("Invalid scheduler {value:?}");
    }
    Ok(())
}
