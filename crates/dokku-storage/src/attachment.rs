//! Attachments: how an app mounts an entry (container path, phases, process type,
//! options), stored as Dokku stores them, one JSON object a line in the app's `mounts`
//! property. A line in the older `host:container[:options]` form is read as the mount of
//! the legacy entry for its host side, and that entry is registered on first sight.

use anyhow::{Result, bail};
use dokku_core::env::Roots;
use dokku_core::property::Properties;
use serde::{Deserialize, Serialize};

use crate::entry::{self, Entry};

pub const NAMESPACE: &str = "storage";
const MOUNTS: &str = "mounts";
pub const DEPLOY: &str = "deploy";
pub const RUN: &str = "run";
/// The process type that stands for every process type.
pub const DEFAULT_PROCESS: &str = "_default_";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub entry_name: String,
    pub container_path: String,
    pub phases: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_options: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub volume_chown: String,
}

/// `host:container[:options]` as `storage:mount` takes it (the host side a path or a
/// docker named volume), checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColonMount {
    pub host: String,
    pub container: String,
    pub readonly: bool,
    pub options: String,
}

/// Mount options as docker's `-v` takes them: comma-separated words, nothing a shell or
/// the colon form could read as more.
pub fn check_options(options: &str) -> Result<()> {
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.=-".contains(&b))
    };
    if !options.is_empty() && !options.split(',').all(word) {
        bail!(
            "Invalid volume options {options:?}: comma-separated words such as ro,Z or noexec,nosuid"
        );
    }
    Ok(())
}

impl ColonMount {
    pub fn parse(spec: &str, roots: &Roots) -> Result<ColonMount> {
        let mut parts = spec.splitn(3, ':');
        let (host, container) = match (parts.next(), parts.next()) {
            (Some(host), Some(container)) if container.starts_with('/') => (host, container),
            _ if spec.starts_with('/') => {
                bail!("Storage path must be two valid paths divided by colon.")
            }
            _ => bail!(
                "Volume name must be two characters or more. Volume name must not contain invalid characters. Storage path must be two valid paths divided by colon."
            ),
        };
        let host = if host.starts_with('/') {
            dokku_core::mount::host_path(host, roots)?
                .display()
                .to_string()
        } else if entry::named_volume(host) {
            host.to_string()
        } else {
            bail!(
                "Volume name must be two characters or more. Volume name must not contain invalid characters. Storage path must be two valid paths divided by colon."
            )
        };
        let container = dokku_core::mount::container_path(container)?
            .display()
            .to_string();
        let mut readonly = false;
        let mut options = Vec::new();
        for option in parts
            .next()
            .unwrap_or("")
            .split(',')
            .filter(|o| !o.is_empty())
        {
            if option == "ro" {
                readonly = true;
            } else {
                options.push(option);
            }
        }
        let options = options.join(",");
        check_options(&options)?;
        Ok(ColonMount {
            host,
            container,
            readonly,
            options,
        })
    }

    /// The attachment this mount is: the legacy entry for its host side, in both phases,
    /// for every process type.
    pub fn attachment(&self) -> (Entry, Attachment) {
        let entry = Entry::legacy(&self.host);
        let attachment = Attachment {
            entry_name: entry.name.clone(),
            container_path: self.container.clone(),
            phases: vec![DEPLOY.into(), RUN.into()],
            process_type: DEFAULT_PROCESS.into(),
            subpath: String::new(),
            readonly: self.readonly,
            volume_options: self.options.clone(),
            volume_chown: String::new(),
        };
        (entry, attachment)
    }
}

/// `host:container[:ro,options]`, the form `storage:list` shows.
pub fn colon_form(host: &str, attachment: &Attachment) -> String {
    let options = mount_options(attachment);
    if options.is_empty() {
        format!("{host}:{}", attachment.container_path)
    } else {
        format!("{host}:{}:{options}", attachment.container_path)
    }
}

/// `ro` first when read-only, then the attachment's own options.
pub fn mount_options(attachment: &Attachment) -> String {
    let mut options = Vec::new();
    if attachment.readonly {
        options.push("ro");
    }
    if !attachment.volume_options.is_empty() {
        options.push(&attachment.volume_options);
    }
    options.join(",")
}

impl Attachment {
    fn same_target(&self, other: &Attachment) -> bool {
        self.entry_name == other.entry_name
            && self.container_path == other.container_path
            && self.process_type == other.process_type
    }

    pub fn in_phase(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

fn properties(roots: &Roots) -> Properties {
    Properties::new(roots, NAMESPACE)
}

/// The app's attachments, in the order they were made.
pub fn load(roots: &Roots, app: &str) -> Result<Vec<Attachment>> {
    let mut attachments = Vec::new();
    for line in properties(roots).list(app, MOUNTS)? {
        let line = line.trim();
        if line.starts_with('{') {
            let attachment: Attachment = serde_json::from_str(line).map_err(|err| {
                anyhow::anyhow!("unable to parse storage attachment for {app:?}: {err}")
            })?;
            attachments.push(attachment);
        } else if !line.is_empty() {
            let (entry, attachment) = ColonMount::parse(line, roots)?.attachment();
            if !entry::exists(roots, &entry.name) {
                entry::save(roots, &entry)?;
            }
            attachments.push(attachment);
        }
    }
    Ok(attachments)
}

pub fn save(roots: &Roots, app: &str, attachments: &[Attachment]) -> Result<()> {
    let lines = attachments
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    properties(roots).set_list(app, MOUNTS, &lines)
}

/// Refuses a second entry at a container path the same processes already mount (docker
/// would refuse the containers at the next deploy).
fn refuse_clash(attachments: &[Attachment], attachment: &Attachment, app: &str) -> Result<()> {
    if let Some(other) = attachments.iter().find(|a| {
        a.entry_name != attachment.entry_name
            && a.container_path == attachment.container_path
            && a.process_type == attachment.process_type
    }) {
        bail!(
            "storage entry {} is already mounted at {} in {app}",
            other.entry_name,
            other.container_path
        );
    }
    Ok(())
}

/// Adds `attachment`, or rewrites the mount-time fields of the one with the same entry,
/// container path and process type. True when it was added.
pub fn upsert(roots: &Roots, app: &str, attachment: Attachment) -> Result<bool> {
    let mut attachments = load(roots, app)?;
    refuse_clash(&attachments, &attachment, app)?;
    let added = match attachments.iter_mut().find(|a| a.same_target(&attachment)) {
        Some(existing) => {
            *existing = attachment;
            false
        }
        None => {
            attachments.push(attachment);
            true
        }
    };
    save(roots, app, &attachments)?;
    Ok(added)
}

/// Adds `attachment` (a `host:container` mount); the same mount again is refused in
/// Dokku's words.
pub fn add(roots: &Roots, app: &str, attachment: Attachment) -> Result<()> {
    let mut attachments = load(roots, app)?;
    if attachments.iter().any(|a| a.same_target(&attachment)) {
        bail!("Mount path already exists.");
    }
    refuse_clash(&attachments, &attachment, app)?;
    attachments.push(attachment);
    save(roots, app, &attachments)
}

/// The app's attachments without its mount of `entry_name` (at `container_path` when
/// given; without it the entry must be mounted once only).
pub fn removal(
    attachments: &[Attachment],
    app: &str,
    entry_name: &str,
    container_path: Option<&str>,
) -> Result<Vec<Attachment>> {
    let matches = |a: &Attachment| {
        a.entry_name == entry_name && container_path.is_none_or(|c| a.container_path == c)
    };
    let mut paths: Vec<&str> = attachments
        .iter()
        .filter(|a| matches(a))
        .map(|a| a.container_path.as_str())
        .collect();
    match (paths.len(), container_path) {
        (0, None) => bail!("storage entry {entry_name:?} is not mounted on app {app:?}"),
        (0, Some(path)) => {
            bail!("storage entry {entry_name:?} is not mounted at {path:?} on app {app:?}")
        }
        (1, _) | (_, Some(_)) => {}
        _ => {
            paths.sort();
            bail!(
                "storage entry {entry_name:?} is mounted at multiple paths on app {app:?} ({}); pass --container-dir to disambiguate",
                paths.join(", ")
            )
        }
    }
    Ok(attachments
        .iter()
        .filter(|a| !matches(a))
        .cloned()
        .collect())
}

/// Removes the app's mount of `entry_name`, as [`removal`] decides.
pub fn remove(
    roots: &Roots,
    app: &str,
    entry_name: &str,
    container_path: Option<&str>,
) -> Result<()> {
    let keep = removal(&load(roots, app)?, app, entry_name, container_path)?;
    save(roots, app, &keep)
}

/// The app's attachments for a phase, by entry name then container path.
pub fn for_phase(roots: &Roots, app: &str, phase: &str) -> Result<Vec<Attachment>> {
    let mut attachments: Vec<Attachment> = load(roots, app)?
        .into_iter()
        .filter(|a| a.in_phase(phase))
        .collect();
    attachments.sort_by(|a, b| {
        (&a.entry_name, &a.container_path).cmp(&(&b.entry_name, &b.container_path))
    });
    Ok(attachments)
}

/// The apps that mount `entry_name`, by name.
pub fn apps_using(roots: &Roots, entry_name: &str) -> Result<Vec<String>> {
    let mut apps = Vec::new();
    for app in dokku_core::app::list(roots)? {
        if load(roots, app.as_str())?
            .iter()
            .any(|a| a.entry_name == entry_name)
        {
            apps.push(app.to_string());
        }
    }
    Ok(apps)
}

pub fn destroy_app(roots: &Roots, app: &str) -> Result<()> {
    properties(roots).destroy_app(app)
}

pub fn clone_app(roots: &Roots, old: &str, new: &str) -> Result<()> {
    properties(roots).clone_app(old, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        (dir, roots)
    }

    #[test]
    fn colon_mounts_parse_as_dokku_reads_them() {
        let (_dir, roots) = roots();
        let m = ColonMount::parse("/srv/data//x:/mount/:ro,Z", &roots).unwrap();
        assert_eq!(
            (
                m.host.as_str(),
                m.container.as_str(),
                m.readonly,
                m.options.as_str()
            ),
            ("/srv/data/x", "/mount", true, "Z")
        );
        let v = ColonMount::parse("mount_volume:/mount", &roots).unwrap();
        assert_eq!(v.host, "mount_volume");
        for bad in [
            "/srv/x",
            "x:/data",
            "/etc:/data",
            "/srv/x:relative",
            "/srv/x:/",
            "/srv/x:/data:a b",
            "/srv/x:/data:ro;rm",
            "bad$name:/data",
        ] {
            assert!(ColonMount::parse(bad, &roots).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn lines_in_the_older_form_become_legacy_attachments() {
        let (_dir, roots) = roots();
        properties(&roots)
            .set_list("demo", MOUNTS, &["/srv/data:/data:ro".to_string()])
            .unwrap();
        let attachments = load(&roots, "demo").unwrap();
        let entry = Entry::legacy("/srv/data");
        assert_eq!(attachments[0].entry_name, entry.name);
        assert!(attachments[0].readonly);
        assert_eq!(entry::load(&roots, &entry.name).unwrap(), entry);
        save(&roots, "demo", &attachments).unwrap();
        assert_eq!(load(&roots, "demo").unwrap(), attachments);
    }

    #[test]
    fn upsert_rewrites_and_remove_needs_a_path_when_ambiguous() {
        let (_dir, roots) = roots();
        let at = |path: &str, options: &str| Attachment {
            entry_name: "data".into(),
            container_path: path.into(),
            phases: vec![DEPLOY.into(), RUN.into()],
            process_type: DEFAULT_PROCESS.into(),
            subpath: String::new(),
            readonly: false,
            volume_options: options.into(),
            volume_chown: String::new(),
        };
        assert!(upsert(&roots, "demo", at("/data", "Z")).unwrap());
        assert!(!upsert(&roots, "demo", at("/data", "noexec")).unwrap());
        assert!(upsert(&roots, "demo", at("/other", "")).unwrap());
        let stored = load(&roots, "demo").unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0].volume_options, "noexec");
        assert!(add(&roots, "demo", at("/data", "")).is_err());
        assert!(remove(&roots, "demo", "data", None).is_err());
        remove(&roots, "demo", "data", Some("/data")).unwrap();
        remove(&roots, "demo", "data", None).unwrap();
        assert!(load(&roots, "demo").unwrap().is_empty());
    }
}
