//! `plugin.toml`: Dokku's `[plugin]` section plus this project's `[entrypoints]` table,
//! which names the plugin's binary (and, for a binary that cannot say it itself, the
//! commands and triggers it answers), and `[dispatch]`, what a plugin without such a
//! binary tells the dispatcher (see [`crate::plugins::Answers`]). plugn ignores both.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
pub struct Manifest {
    #[serde(default)]
    pub plugin: PluginSection,
    pub entrypoints: Option<Entrypoints>,
    pub dispatch: Option<Dispatch>,
}

/// Routing a plugin without a binary of ours declares.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct Dispatch {
    /// Command prefixes besides the plugin's directory name.
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Commands typed bare.
    #[serde(default)]
    pub words: Vec<String>,
    /// Subcommands only root may run.
    #[serde(default)]
    pub root_only: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
pub struct PluginSection {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Entrypoints {
    /// File name of the binary under the plugin's `bin/`.
    pub binary: String,
    #[serde(default)]
    pub commands: bool,
    #[serde(default)]
    pub subcommands: Vec<String>,
    #[serde(default)]
    pub triggers: Vec<String>,
}

impl Manifest {
    pub fn parse(text: &str) -> Result<Manifest> {
        Ok(toml::from_str(text)?)
    }

    /// Reads `<dir>/plugin.toml`; a plugin without one has an empty manifest.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join("plugin.toml");
        match crate::fs::read_optional(&path)? {
            Some(text) => {
                Manifest::parse(&text).with_context(|| format!("parsing {}", path.display()))
            }
            None => Ok(Manifest::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dokku_manifest_with_entrypoints() {
        let m = Manifest::parse(
            r#"
[plugin]
description = "dokku core apps plugin"
version = "0.1.0"
[plugin.config]
[entrypoints]
binary = "dokku-apps"
commands = true
subcommands = ["create"]
triggers = ["post-delete"]
"#,
        )
        .unwrap();
        assert_eq!(m.plugin.description, "dokku core apps plugin");
        let e = m.entrypoints.unwrap();
        assert_eq!((e.binary.as_str(), e.commands), ("dokku-apps", true));
        assert_eq!(e.subcommands, ["create"]);
    }

    #[test]
    fn plain_dokku_manifest_has_no_entrypoints() {
        let m =
            Manifest::parse("[plugin]\ndescription = \"x\"\nversion = \"1\"\n[plugin.config]\n")
                .unwrap();
        assert!(m.entrypoints.is_none());
    }
}
