//! An app's releases: `data/releases/<app>/v<N>.json`, one file per release, written
//! atomically and readable by the dokku user only (a release holds the app's config).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// What ran after one deploy: the image (and the build it came from), the app's own config,
/// and a line saying what changed since the release before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub version: u64,
    /// Seconds since the epoch.
    pub created_at: u64,
    pub description: String,
    /// The image's id.
    pub image: String,
    /// The build tag (`build-7`) whose image, Procfile and app.json a rollback deploys.
    pub build: Option<String>,
    pub revision: Option<String>,
    pub config: BTreeMap<String, String>,
}

pub struct Releases {
    dir: PathBuf,
}

impl Releases {
    pub fn new(dir: PathBuf) -> Releases {
        Releases { dir }
    }

    fn path(&self, version: u64) -> PathBuf {
        self.dir.join(format!("v{version}.json"))
    }

    /// Every release, oldest first.
    pub fn list(&self) -> Result<Vec<Release>> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut versions: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| version_of_file(&e.path()))
            .collect();
        versions.sort_unstable();
        versions.into_iter().map(|v| self.read(v)).collect()
    }

    fn read(&self, version: u64) -> Result<Release> {
        let path = self.path(version);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Stores a release (its version is the next one) and returns it.
    pub fn add(&self, mut release: Release) -> Result<Release> {
        release.version = self.list()?.last().map_or(1, |r| r.version + 1);
        std::fs::create_dir_all(&self.dir)?;
        dokku_core::fs::write_atomic(
            &self.path(release.version),
            serde_json::to_string_pretty(&release)?.as_bytes(),
            0o600,
        )?;
        Ok(release)
    }

    /// Removes all but the newest `keep` releases.
    pub fn prune(&self, keep: usize) -> Result<()> {
        let all = self.list()?;
        for old in &all[..all.len().saturating_sub(keep)] {
            dokku_core::fs::remove_file_if_exists(&self.path(old.version))?;
        }
        Ok(())
    }
}

fn version_of_file(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix('v')?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// `v3` or `3` -> 3.
pub fn parse_version(text: &str) -> Result<u64> {
    text.strip_prefix('v')
        .unwrap_or(text)
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| anyhow::anyhow!("Invalid release {text:?}: expected vN, as in v3"))
}

/// What changed between two releases, in Heroku's words: `Deploy 1a2b3c4`, `Set A, B
/// config vars`, `Remove C config var`, joined by `; `. A new image's revision, when it
/// is also a config value (the rev env var), is not a config change of its own.
pub fn describe(before: Option<&Release>, after: &Release) -> String {
    let mut parts = Vec::new();
    let new_image = before.is_none_or(|b| b.image != after.image);
    if new_image {
        let what = match &after.revision {
            Some(rev) if !rev.is_empty() => rev.chars().take(7).collect(),
            _ => short_image(&after.image),
        };
        parts.push(format!("Deploy {what}"));
    }
    // The first release is the first deploy: the config it starts with is no change.
    let Some(before) = before else {
        return parts.join("; ");
    };
    let old = &before.config;
    let is_revision = |value: &String| new_image && after.revision.as_ref() == Some(value);
    let set: Vec<&str> = after
        .config
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v) && !is_revision(v))
        .map(|(k, _)| k.as_str())
        .collect();
    let removed: Vec<&str> = old
        .keys()
        .filter(|k| !after.config.contains_key(*k))
        .map(String::as_str)
        .collect();
    for (verb, keys) in [("Set", set), ("Remove", removed)] {
        if keys.is_empty() {
            continue;
        }
        let noun = if keys.len() == 1 { "var" } else { "vars" };
        let verb = if parts.is_empty() {
            verb.to_string()
        } else {
            verb.to_lowercase()
        };
        parts.push(format!("{verb} {} config {noun}", keys.join(", ")));
    }
    if parts.is_empty() {
        return "Deploy".into();
    }
    parts.join("; ")
}

/// `sha256:0123456789ab...` -> `0123456789ab`.
pub fn short_image(id: &str) -> String {
    id.strip_prefix("sha256:")
        .unwrap_or(id)
        .chars()
        .take(12)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(image: &str, revision: Option<&str>, config: &[(&str, &str)]) -> Release {
        Release {
            version: 0,
            created_at: 0,
            description: String::new(),
            image: image.into(),
            build: None,
            revision: revision.map(String::from),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn descriptions_say_what_changed() {
        let v1 = release(
            "sha256:aaa",
            Some("1a2b3c4d5e"),
            &[("GIT_REV", "1a2b3c4d5e")],
        );
        assert_eq!(describe(None, &v1), "Deploy 1a2b3c4");
        let v2 = release(
            "sha256:aaa",
            Some("1a2b3c4d5e"),
            &[("GIT_REV", "1a2b3c4d5e"), ("A", "1"), ("B", "2")],
        );
        assert_eq!(describe(Some(&v1), &v2), "Set A, B config vars");
        let v3 = release(
            "sha256:aaa",
            Some("1a2b3c4d5e"),
            &[("GIT_REV", "1a2b3c4d5e")],
        );
        assert_eq!(describe(Some(&v2), &v3), "Remove A, B config vars");
        let v4 = release(
            "sha256:bbb",
            Some("9f8e7d6c5b"),
            &[("GIT_REV", "9f8e7d6c5b"), ("C", "3")],
        );
        assert_eq!(describe(Some(&v3), &v4), "Deploy 9f8e7d6; set C config var");
        let with_config = release("sha256:ccc", Some("abcdef0123"), &[("A", "1")]);
        assert_eq!(describe(None, &with_config), "Deploy abcdef0");
        let image_only = release("sha256:0123456789abcdef", None, &[]);
        assert_eq!(describe(None, &image_only), "Deploy 0123456789ab");
    }

    #[test]
    fn releases_number_up_and_prune_the_oldest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Releases::new(dir.path().join("app"));
        assert!(store.list().expect("empty list").is_empty());
        for image in ["a", "b", "c"] {
            store
                .add(release(image, None, &[("K", image)]))
                .expect("add");
        }
        let all = store.list().expect("list");
        let versions: Vec<u64> = all.iter().map(|r| r.version).collect();
        assert_eq!(versions, [1, 2, 3]);
        assert_eq!(all[2].config["K"], "c");
        store.prune(2).expect("prune");
        let versions: Vec<u64> = store
            .list()
            .expect("list")
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(versions, [2, 3]);
        assert_eq!(store.add(release("d", None, &[])).expect("add").version, 4);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join("app/v4.json"))
                .expect("stat")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn versions_read_with_or_without_v() {
        assert_eq!(parse_version("v3").expect("v3"), 3);
        assert_eq!(parse_version("12").expect("12"), 12);
        for bad in ["", "v", "v0", "vx", "-1", "v1.2"] {
            assert!(parse_version(bad).is_err(), "{bad:?}");
        }
    }
}
