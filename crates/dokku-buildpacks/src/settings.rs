//! `buildpacks:set-property APP|--global stack IMAGE`: the builder image.

use dokku_core::settings::{Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "buildpacks",
    table: &[Setting {
        key: "stack",
        scope: Scope::AppOrGlobal,
        default: "",
        validate: valid_image,
    }],
};

/// The property that holds the app's buildpack list, one URL per line.
pub const LIST: &str = "buildpacks";

fn valid_image(value: &str) -> anyhow::Result<()> {
    let plain = !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if !plain {
        anyhow::bail!("Invalid stack {value:?}: a docker image name");
    }
    Ok(())
}
