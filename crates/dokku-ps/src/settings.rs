//! `ps:set`: the plugin's settings table and the checks its values pass.

use anyhow::Result;
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "ps",
    table: &[
        Setting {
            key: "dockerfile-start-cmd",
            scope: Scope::AppOnly,
            default: "",
            validate: one_line,
        },
        Setting {
            key: "procfile-path",
            scope: Scope::AppOrGlobal,
            default: "Procfile",
            validate: settings::relative_path,
        },
        Setting {
            key: "restart-policy",
            scope: Scope::AppOrGlobal,
            default: "on-failure:10",
            validate: restart_policy,
        },
        Setting {
            key: "skip-deploy",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
        Setting {
            key: "start-cmd",
            scope: Scope::AppOnly,
            default: "",
            validate: one_line,
        },
        Setting {
            key: "stop-timeout-seconds",
            scope: Scope::AppOrGlobal,
            default: "30",
            validate: dokku_core::settings::seconds::<3600>,
        },
    ],
};

/// docker's restart policies: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
pub(crate) fn restart_policy(value: &str) -> Result<()> {
    let valid = match value.split_once(':') {
        Some(("on-failure", n)) => n.parse::<u32>().is_ok(),
        None => matches!(value, "no" | "always" | "unless-stopped" | "on-failure"),
        _ => false,
    };
    if !valid {
        anyhow::bail!(
            "Invalid restart-policy specified: {value:?} (use no, always, unless-stopped or on-failure[:N])"
        );
    }
    Ok(())
}

/// A start command: one line, its quotes balanced (it is split into words as a shell would).
fn one_line(value: &str) -> Result<()> {
    if value.chars().any(char::is_control) || shell_words::split(value).is_err() {
        anyhow::bail!("A start command is one line with balanced quotes");
    }
    Ok(())
}
