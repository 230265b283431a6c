//! `registry:set`: the repository an app's images are named in (`image-repo`, or
//! `image-repo-template` rendered for the app), the registry server, and whether releases
//! are pushed there (`push-on-release`, with `push-extra-tags`).

use anyhow::{Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::property::GLOBAL;
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "registry",
    table: &[
        Setting {
            key: "image-repo",
            scope: Scope::AppOnly,
            default: "",
            validate: image_repo,
        },
        Setting {
            key: "image-repo-template",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: template,
        },
        Setting {
            key: "push-extra-tags",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: tags,
        },
        Setting {
            key: "push-on-release",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
        Setting {
            key: "server",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: server,
        },
    ],
};

/// The property keeping the number of the app's last pushed tag.
pub const TAG_VERSION: &str = "tag-version";

/// A docker repository path: lowercase components of letters, digits and separators.
fn image_repo(value: &str) -> Result<()> {
    let valid = value.split('/').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    });
    if !valid {
        bail!("Invalid image-repo {value:?}: a docker repository such as dokku/app");
    }
    Ok(())
}

fn template(value: &str) -> Result<()> {
    if value.chars().any(char::is_control) {
        bail!("Invalid image-repo-template: one line");
    }
    Ok(())
}

/// Comma-separated docker tags.
fn tags(value: &str) -> Result<()> {
    for tag in value.split(',') {
        let mut chars = tag.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            && tag.len() <= 128;
        if !valid {
            bail!("Invalid tag {tag:?} in push-extra-tags");
        }
    }
    Ok(())
}

/// A registry host, optionally with a port and a path.
fn server(value: &str) -> Result<()> {
    let valid = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-_:/".contains(c))
        && !value.starts_with(['-', '/', '.']);
    if !valid {
        bail!("Invalid server {value:?}: a registry host such as ghcr.io");
    }
    Ok(())
}

/// The app's value of `key`, else the global one (both trimmed), else empty.
pub fn own_or_global(ctx: &Ctx, app: &str, key: &str) -> Result<String> {
    let props = SETTINGS.properties(ctx);
    for slot in [app, GLOBAL] {
        let value = props.get(slot, key)?.unwrap_or_default();
        if !value.trim().is_empty() {
            return Ok(value.trim().to_string());
        }
    }
    Ok(String::new())
}

/// The server images are pushed to, as a prefix (`ghcr.io/`); empty for Docker Hub.
pub fn server_prefix(ctx: &Ctx, app: &str) -> Result<String> {
    let server = own_or_global(ctx, app, "server")?;
    let server = server.trim_end_matches('/');
    Ok(match server {
        "" | "hub.docker.com" | "docker.io" => String::new(),
        other => format!("{other}/"),
    })
}

/// The repository the app's images are named in: its `image-repo`, else its (or the
/// host's) `image-repo-template` rendered with `.AppName`, else `dokku/APP`. A template
/// that does not render is passed over.
pub fn image_repo_of(ctx: &Ctx, app: &str) -> Result<String> {
    let own = SETTINGS
        .properties(ctx)
        .get(app, "image-repo")?
        .unwrap_or_default();
    if !own.trim().is_empty() {
        return Ok(own.trim().to_string());
    }
    let template = own_or_global(ctx, app, "image-repo-template")?;
    if !template.is_empty() {
        let vars = [("AppName".to_string(), app.to_string())].into();
        if let Ok(rendered) =
            sigil::render(&template, &vars, &Default::default(), sigil::Access::Text)
            && !rendered.trim().is_empty()
        {
            return Ok(rendered.trim().to_string());
        }
    }
    Ok(dokku_core::docker::app_repo(app))
}

pub fn push_on_release(ctx: &Ctx, app: &str) -> Result<bool> {
    Ok(SETTINGS.computed(ctx, app, "push-on-release")? == "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert!(image_repo("heroku/app-1").is_ok());
        for bad in ["", "Heroku/app", "a//b", "a b", "a;b"] {
            assert!(image_repo(bad).is_err(), "{bad:?}");
        }
        assert!(tags("latest,stable").is_ok());
        assert!(tags("latest,,x").is_err());
        assert!(server("ghcr.io").is_ok());
        assert!(server("registry.local:5000/team").is_ok());
        assert!(server("-x").is_err());
    }
}
