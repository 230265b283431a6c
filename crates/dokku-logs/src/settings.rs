//! `logs:set`: the plugin's settings table and the checks its values pass.

use anyhow::{Result, bail};
use dokku_core::settings::{Scope, Setting, Settings};

/// The label dokku puts on every app container, naming its app.
pub const APP_LABEL: &str = "com.dokku.app-name";

/// The vector image `logs:vector-start` runs unless `vector-image` names another.
pub const VECTOR_IMAGE: &str = "timberio/vector:0.57.0-debian";

pub const SETTINGS: Settings = Settings {
    namespace: "logs",
    table: &[
        Setting {
            key: "app-label-alias",
            scope: Scope::AppOrGlobal,
            default: APP_LABEL,
            validate: label_alias,
        },
        Setting {
            key: "max-size",
            scope: Scope::AppOrGlobal,
            default: "10m",
            validate: max_size,
        },
        Setting {
            key: "vector-cron-sink",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: sink,
        },
        Setting {
            key: "vector-image",
            scope: Scope::GlobalOnly,
            default: VECTOR_IMAGE,
            validate: image,
        },
        Setting {
            key: "vector-networks",
            scope: Scope::GlobalOnly,
            default: "",
            validate: networks,
        },
        Setting {
            key: "vector-sink",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: sink,
        },
    ],
};

/// A label key docker takes and the generated vector program can quote.
fn label_alias(value: &str) -> Result<()> {
    let mut chars = value.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid {
        bail!(
            "Invalid app-label-alias value, must start with a letter or number and contain only letters, numbers, and any of [_, ., -]"
        );
    }
    Ok(())
}

/// `unlimited`, or a whole number followed by k, m or g.
fn max_size(value: &str) -> Result<()> {
    if value == "unlimited" {
        return Ok(());
    }
    let Some(number) = value.strip_suffix(['k', 'm', 'g']) else {
        bail!("Invalid max-size unit measure, value must end in any of [k, m, g]");
    };
    if number.is_empty() {
        bail!("Invalid max-size value, must be a number followed by a unit of measure [k, m, g]");
    }
    if number.parse::<u64>().is_err() {
        bail!("Invalid max-size value, unable to convert number to int: {number:?}");
    }
    Ok(())
}

fn sink(value: &str) -> Result<()> {
    crate::vector::sink_config(value, &[]).map(drop)
}

fn image(value: &str) -> Result<()> {
    let valid = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && !value.starts_with(['-', '/']);
    if !valid {
        bail!("Invalid vector-image {value:?}");
    }
    Ok(())
}

/// Comma-separated names of docker networks that exist, `bridge` aside (vector is on it
/// already).
fn networks(value: &str) -> Result<()> {
    for name in value.split(',').map(str::trim) {
        if name.is_empty() {
            bail!("Invalid vector-networks value, empty entry in comma-separated list");
        }
        if name == "bridge" {
            bail!(
                "Invalid vector-networks value, \"bridge\" is not a valid entry for vector-networks"
            );
        }
        let plain = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        let exists = plain
            && dokku_core::docker::docker()
                .args(["network", "inspect", name])
                .output()
                .is_ok();
        if !exists {
            bail!("Network {name:?} does not exist");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_as_dokku_checks_them() {
        for good in ["10m", "1k", "200g", "unlimited"] {
            max_size(good).unwrap();
        }
        for bad in ["10", "m", "x10m", "10M", "-1m"] {
            assert!(max_size(bad).is_err(), "{bad:?} accepted");
        }
        label_alias("global_alt_name").unwrap();
        label_alias("a.b-c").unwrap();
        for bad in ["not a label", "_leading", "", "a\"b"] {
            assert!(label_alias(bad).is_err(), "{bad:?} accepted");
        }
        assert!(networks("a,").is_err());
        assert!(networks("bridge").is_err());
    }
}
