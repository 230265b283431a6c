//! `storage:migrate`: `-v` options an app was given through docker-options become storage
//! entries and attachments, as Dokku 0.38 moves them, and leave docker-options.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use dokku_core::docker::options::Stored;
use dokku_core::env::Roots;
use dokku_core::property::Properties;

use crate::attachment::{self, Attachment, ColonMount, DEPLOY, NAMESPACE, RUN};
use crate::entry;

/// Set on an app once `-v` options of its were moved (never on an app that had none).
pub const MIGRATED: &str = "legacy-mounts-migrated";

/// Where Dokku releases before the property kept that mark, one empty file per app.
fn flag_file(roots: &Roots, app: &str) -> std::path::PathBuf {
    entry::registry_dir(roots).join("migrations").join(app)
}

/// Moves the app's `-v` options (deploy and run phases, every process type's scope
/// `_default_`) into attachments. Each mount is recorded before its option is dropped, so
/// a failure part way leaves every mount in place in one store or the other.
pub fn migrate_app(roots: &Roots, app: &str) -> Result<()> {
    let props = Properties::new(roots, NAMESPACE);
    let flag = flag_file(roots, app);
    if flag.exists() {
        props.set(app, MIGRATED, "true")?;
        dokku_core::fs::remove_file_if_exists(&flag)?;
    }
    let options = Stored::new(roots);
    let mut phases_of: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for phase in [DEPLOY, RUN] {
        for line in options.list(app, None, phase)? {
            if let Some(spec) = line.strip_prefix("-v ") {
                let spec = shell_unquote(spec);
                let phases = phases_of.entry(spec).or_default();
                if !phases.contains(&phase) {
                    phases.push(phase);
                }
            }
        }
    }
    if phases_of.is_empty() {
        return Ok(());
    }
    let mut attachments = attachment::load(roots, app)?;
    for (spec, phases) in &phases_of {
        let (legacy, mut mount) = ColonMount::parse(spec, roots)?.attachment();
        match entry::exists(roots, &legacy.name) {
            true => {
                let existing = entry::load(roots, &legacy.name)?;
                if existing.host_path != legacy.host_path || existing.scheduler != legacy.scheduler
                {
                    bail!(
                        "legacy entry {:?} already exists with conflicting fields",
                        legacy.name
                    );
                }
            }
            false => entry::save(roots, &legacy)?,
        }
        mount.phases = phases.iter().map(|p| p.to_string()).collect();
        if !attachments.iter().any(|a: &Attachment| {
            a.entry_name == mount.entry_name
                && a.container_path == mount.container_path
                && a.process_type == mount.process_type
        }) {
            attachments.push(mount);
        }
    }
    attachment::save(roots, app, &attachments)?;
    for phase in [DEPLOY, RUN] {
        let kept: Vec<String> = options
            .list(app, None, phase)?
            .into_iter()
            .filter(|line| {
                !line
                    .strip_prefix("-v ")
                    .is_some_and(|spec| phases_of.contains_key(&shell_unquote(spec)))
            })
            .collect();
        options.set_list(app, None, phase, &kept)?;
    }
    props.set(app, MIGRATED, "true")
}

/// docker-options keeps an option's words as a shell would need them written.
fn shell_unquote(spec: &str) -> String {
    shell_words::split(spec)
        .ok()
        .filter(|words| words.len() == 1)
        .map(|mut words| words.remove(0))
        .unwrap_or_else(|| spec.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v_options_move_into_attachments_once() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let options = Stored::new(&roots);
        options
            .set_list(
                "demo",
                None,
                DEPLOY,
                &[
                    "-v /srv/a:/a".into(),
                    "--rm".into(),
                    "-v '/srv/b c:/b'".into(),
                ],
            )
            .unwrap();
        options
            .set_list("demo", None, RUN, &["-v /srv/a:/a".into()])
            .unwrap();
        migrate_app(&roots, "demo").unwrap();
        assert_eq!(options.list("demo", None, DEPLOY).unwrap(), vec!["--rm"]);
        assert!(options.list("demo", None, RUN).unwrap().is_empty());
        let attachments = attachment::load(&roots, "demo").unwrap();
        assert_eq!(attachments.len(), 2);
        assert_eq!(attachments[0].phases, vec!["deploy", "run"]);
        assert_eq!(attachments[1].phases, vec!["deploy"]);
        let props = Properties::new(&roots, NAMESPACE);
        assert_eq!(
            props.get("demo", MIGRATED).unwrap().as_deref(),
            Some("true")
        );
        migrate_app(&roots, "demo").unwrap();
        assert_eq!(attachment::load(&roots, "demo").unwrap(), attachments);

        migrate_app(&roots, "bare").unwrap();
        assert_eq!(props.get("bare", MIGRATED).unwrap(), None);
    }
}
