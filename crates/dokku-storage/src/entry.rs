//! Storage entries: named volumes any app may mount, one JSON file each under
//! `$DOKKU_LIB_ROOT/data/storage-registry/entries/<name>.json`, as Dokku keeps them. On
//! docker-local an entry is a host directory or a docker named volume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dokku_core::env::Roots;
use serde::{Deserialize, Serialize};
use sha1_smol::Sha1;

pub const SCHEMA_VERSION: u32 = 1;
pub const DOCKER_LOCAL: &str = "docker-local";
pub const K3S: &str = "k3s";
/// Names given to mounts made in the `host:container` form; users cannot take them.
pub const LEGACY_PREFIX: &str = "legacy-";
/// Room for `storage-<name>` in a Helm release name, as Dokku reserves it.
const MAX_NAME: usize = 45;
const RETAIN: &str = "Retain";
pub const DELETE: &str = "Delete";
const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Entry {
    pub name: String,
    pub scheduler: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub size: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub storage_class: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub chown: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reclaim_policy: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub schema_version: u32,
}

/// `$DOKKU_LIB_ROOT/data/storage`: where entries live by default, one directory each.
pub fn storage_dir(roots: &Roots) -> PathBuf {
    roots.lib_root.join("data/storage")
}

/// `$DOKKU_LIB_ROOT/data/storage-registry`.
pub fn registry_dir(roots: &Roots) -> PathBuf {
    roots.lib_root.join("data/storage-registry")
}

fn entries_dir(roots: &Roots) -> PathBuf {
    registry_dir(roots).join("entries")
}

fn entry_path(roots: &Roots, name: &str) -> PathBuf {
    entries_dir(roots).join(format!("{name}.json"))
}

/// A DNS-1123 label: lowercase letters, digits and inner dashes.
fn dns_label(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// What docker reads as a named volume rather than a path.
pub fn named_volume(token: &str) -> bool {
    token.len() >= 2
        && token.as_bytes()[0].is_ascii_alphanumeric()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

pub fn validate_name(name: &str, allow_legacy: bool) -> Result<()> {
    if name.is_empty() {
        bail!("storage entry name is required");
    }
    if name.len() > MAX_NAME {
        bail!("storage entry name {name:?} is too long (max {MAX_NAME} characters)");
    }
    if !dns_label(name) {
        bail!(
            "storage entry name {name:?} must be a DNS-1123 label (lowercase letters, digits, and dashes; cannot start or end with a dash)"
        );
    }
    if !allow_legacy && name.starts_with(LEGACY_PREFIX) {
        bail!("storage entry name {name:?} must not start with reserved prefix {LEGACY_PREFIX:?}");
    }
    Ok(())
}

/// A 3 or 4 digit octal mode in its 4 digit form ("" stays "": leave the mode alone).
pub fn normalize_mode(mode: &str) -> Result<String> {
    if mode.is_empty() {
        return Ok(String::new());
    }
    if !(3..=4).contains(&mode.len()) || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        bail!(
            "Unsupported directory mode {mode:?}. Value must be a 3 or 4 digit octal mode, such as 0755"
        );
    }
    Ok(format!("{mode:0>4}"))
}

impl Entry {
    /// A docker-local entry at the default place, `data/storage/<name>`.
    pub fn docker_local(roots: &Roots, name: &str) -> Entry {
        Entry {
            name: name.to_string(),
            scheduler: DOCKER_LOCAL.to_string(),
            host_path: storage_dir(roots).join(name).display().to_string(),
            schema_version: SCHEMA_VERSION,
            ..Entry::default()
        }
    }

    /// The entry a `host:container` mount stands for: named after a hash of its host side,
    /// so every app mounting the same directory shares one entry, and mounting again finds it.
    pub fn legacy(host: &str) -> Entry {
        let input = if host.starts_with('/') {
            host.to_string()
        } else {
            format!("vol:{host}")
        };
        let digest = Sha1::from(input).digest().to_string();
        Entry {
            name: format!("{LEGACY_PREFIX}{}", &digest[..10]),
            scheduler: DOCKER_LOCAL.to_string(),
            host_path: host.to_string(),
            schema_version: SCHEMA_VERSION,
            ..Entry::default()
        }
    }

    pub fn is_default_path(&self, roots: &Roots) -> bool {
        Path::new(&self.host_path) == storage_dir(roots).join(&self.name)
    }

    /// Refuses `flag` unless the entry lives at its default place: root acts for the dokku
    /// user only there.
    pub fn require_default_path(&self, roots: &Roots, flag: &str) -> Result<()> {
        if self.is_default_path(roots) {
            return Ok(());
        }
        let default = storage_dir(roots).join(&self.name);
        bail!(
            "{flag} is only supported when the storage entry uses the default host path ({}); omit {flag} and manage {} manually",
            default.display(),
            self.host_path
        )
    }

    /// The rules every entry follows for its scheduler; host paths also follow the mount
    /// rules (never the host's own files).
    pub fn validate(&self, roots: &Roots) -> Result<()> {
        let name = &self.name;
        validate_name(name, name.starts_with(LEGACY_PREFIX))?;
        if !self.reclaim_policy.is_empty()
            && ![RETAIN, DELETE].contains(&self.reclaim_policy.as_str())
        {
            bail!(
                "storage entry {name:?} has unsupported reclaim policy {:?}",
                self.reclaim_policy
            );
        }
        match self.scheduler.as_str() {
            DOCKER_LOCAL => {
                if self.host_path.is_empty() {
                    bail!("storage entry {name:?} (docker-local) is missing host_path");
                }
                if self.host_path.starts_with('/') {
                    dokku_core::mount::host_path(&self.host_path, roots)?;
                } else if !named_volume(&self.host_path) {
                    bail!(
                        "storage entry {name:?} host_path must be an absolute path or a docker named volume token, got {:?}",
                        self.host_path
                    );
                }
                for (value, flag) in [
                    (&self.size, "--size"),
                    (&self.storage_class, "--storage-class-name"),
                    (&self.access_mode, "--access-mode"),
                ] {
                    if !value.is_empty() {
                        bail!("storage entry {name:?} (docker-local) does not accept {flag}");
                    }
                }
                normalize_mode(&self.mode)?;
                if self.reclaim_policy == DELETE && !self.is_default_path(roots) {
                    bail!(
                        "storage entry {name:?} (docker-local) only accepts --reclaim-policy Delete on the default host path ({})",
                        storage_dir(roots).join(name).display()
                    );
                }
            }
            K3S => {
                if self.size.is_empty() {
                    bail!("storage entry {name:?} (k3s) requires --size");
                }
                if !self.storage_class.is_empty() && !self.host_path.is_empty() {
                    bail!(
                        "storage entry {name:?} (k3s) cannot set both --storage-class-name and a host path"
                    );
                }
                if !self.access_mode.is_empty()
                    && !ACCESS_MODES.contains(&self.access_mode.as_str())
                {
                    bail!(
                        "storage entry {name:?} has unsupported access mode {:?}",
                        self.access_mode
                    );
                }
                if !self.host_path.is_empty() && !self.host_path.starts_with('/') {
                    bail!(
                        "storage entry {name:?} host_path must be absolute, got {:?}",
                        self.host_path
                    );
                }
                if !self.mode.is_empty() {
                    bail!("storage entry {name:?} (k3s) does not accept --mode");
                }
            }
            other => bail!(
                "storage entry {name:?} has unsupported scheduler {other:?} (supported: docker-local, k3s)"
            ),
        }
        Ok(())
    }
}

pub fn exists(roots: &Roots, name: &str) -> bool {
    validate_name(name, true).is_ok() && entry_path(roots, name).is_file()
}

pub fn load(roots: &Roots, name: &str) -> Result<Entry> {
    validate_name(name, true)?;
    let path = entry_path(roots, name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!("storage entry {name:?} does not exist")
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let entry: Entry = serde_json::from_str(&text)
        .with_context(|| format!("unable to parse storage entry {name:?}"))?;
    if entry.name != name {
        bail!(
            "storage entry file {} names {:?}",
            path.display(),
            entry.name
        );
    }
    Ok(entry)
}

pub fn save(roots: &Roots, entry: &Entry) -> Result<()> {
    let mut entry = entry.clone();
    if entry.schema_version == 0 {
        entry.schema_version = SCHEMA_VERSION;
    }
    let text = serde_json::to_string_pretty(&entry)?;
    dokku_core::fs::write_atomic(&entry_path(roots, &entry.name), text.as_bytes(), 0o600)
}

pub fn delete(roots: &Roots, name: &str) -> Result<()> {
    validate_name(name, true)?;
    dokku_core::fs::remove_file_if_exists(&entry_path(roots, name))
}

/// Every registered entry, by name.
pub fn list(roots: &Roots) -> Result<Vec<Entry>> {
    let dir = entries_dir(roots);
    let listing = match std::fs::read_dir(&dir) {
        Ok(listing) => listing,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("listing {}", dir.display())),
    };
    let mut entries = Vec::new();
    for item in listing {
        let file = item?.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".json")
            && validate_name(name, true).is_ok()
        {
            entries.push(load(roots, name)?);
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels_of_at_most_45_characters() {
        for good in ["data", "a", "rdmtest-entry", &"a".repeat(45)] {
            validate_name(good, false).unwrap();
        }
        for bad in [
            "",
            "Data",
            "under_score",
            "-lead",
            "trail-",
            "legacy-foo",
            "a/b",
            "..",
            &"a".repeat(46),
        ] {
            assert!(validate_name(bad, false).is_err(), "{bad:?} accepted");
        }
        validate_name("legacy-0123456789", true).unwrap();
    }

    #[test]
    fn modes_are_three_or_four_octal_digits() {
        assert_eq!(normalize_mode("750").unwrap(), "0750");
        assert_eq!(normalize_mode("0777").unwrap(), "0777");
        assert_eq!(normalize_mode("").unwrap(), "");
        for bad in ["0888", "07555", "u+rwx", "77", "-755"] {
            assert!(normalize_mode(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn legacy_entries_are_named_after_their_host_side() {
        let a = Entry::legacy("/srv/data");
        assert_eq!(a, Entry::legacy("/srv/data"));
        assert!(a.name.starts_with("legacy-") && a.name.len() == 17);
        assert_ne!(a.name, Entry::legacy("srv-data").name);
        validate_name(&a.name, true).unwrap();
    }

    #[test]
    fn docker_local_entries_follow_the_mount_rules() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        Entry::docker_local(&roots, "data")
            .validate(&roots)
            .unwrap();
        let mut entry = Entry::docker_local(&roots, "etc");
        entry.host_path = "/etc".into();
        assert!(entry.validate(&roots).is_err());
        entry.host_path = "my_volume".into();
        entry.validate(&roots).unwrap();
        entry.host_path = "../x".into();
        assert!(entry.validate(&roots).is_err());
        let mut sized = Entry::docker_local(&roots, "sized");
        sized.size = "1Gi".into();
        assert!(sized.validate(&roots).is_err());
    }
}
