//! `storage:annotations:*` and `storage:labels:*`: one key of an entry's annotations or
//! labels at a time (kept for schedulers that hand them to the cluster), and their reports.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::commands::registry_lock;
use crate::entry::{self, Entry};

/// Which of an entry's maps a command works on.
struct Field {
    plural: &'static str,
    singular: &'static str,
    row_label: &'static str,
    get: fn(&mut Entry) -> &mut BTreeMap<String, String>,
}

const ANNOTATIONS: Field = Field {
    plural: "annotations",
    singular: "annotation",
    row_label: "Annotation",
    get: |e| &mut e.annotations,
};

const LABELS: Field = Field {
    plural: "labels",
    singular: "label",
    row_label: "Label",
    get: |e| &mut e.labels,
};

/// `KEY` may hold anything a Kubernetes key does (`app.kubernetes.io/part-of`), stored as
/// given; only what would break a line or a report flag is refused.
fn check_key(field: &Field, key: &str) -> Result<()> {
    if key.is_empty() {
        bail!("No {} key specified", field.singular);
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("Invalid {} key {key:?}", field.singular);
    }
    Ok(())
}

fn set_key(ctx: &Ctx, field: &Field, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let (name, key, value) = match args {
        [] => bail!("storage entry name is required"),
        [name] => (name, "", ""),
        [name, key] => (name, key.as_str(), ""),
        [name, key, value] => (name, key.as_str(), value.as_str()),
        _ => bail!("expected NAME KEY [VALUE]"),
    };
    let _registry = registry_lock(roots)?;
    let mut entry = entry::load(roots, name)?;
    check_key(field, key)?;
    if value.chars().any(char::is_control) {
        bail!("A {} value is one line", field.singular);
    }
    let map = (field.get)(&mut entry);
    if value.is_empty() {
        map.remove(key);
        log::info2_quiet(&format!("Unsetting {} {key}", field.singular));
    } else {
        map.insert(key.to_string(), value.to_string());
        log::info2_quiet(&format!("Setting {} {key} to {value}", field.singular));
    }
    entry.validate(roots)?;
    entry::save(roots, &entry)
}

fn report(ctx: &Ctx, field: &Field, args: &[String]) -> Result<()> {
    let roots = &ctx.roots;
    let mut name = None;
    let mut json = false;
    let mut flag = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" => match it.next().map(String::as_str) {
                Some("json") => json = true,
                Some("stdout" | "text") => json = false,
                other => bail!("Invalid format: {}", other.unwrap_or("")),
            },
            a if a.starts_with("--") => flag = Some(a.to_string()),
            a if name.is_none() => name = Some(a.to_string()),
            a => bail!("unexpected argument '{a}'"),
        }
    }
    if json && flag.is_some() {
        bail!("--format flag cannot be specified when specifying an info flag");
    }
    let entries = match name {
        Some(name) => vec![entry::load(roots, &name)?],
        None if flag.is_some() => bail!(
            "storage:{}:report requires a storage entry name when an info flag is specified",
            field.plural
        ),
        None => entry::list(roots)?,
    };
    if entries.is_empty() {
        log::info1_quiet("No storage entries registered");
        return Ok(());
    }
    for mut entry in entries {
        let map = (field.get)(&mut entry).clone();
        if let Some(flag) = &flag {
            let prefix = format!("--storage-{}.", field.plural);
            let Some(value) = flag.strip_prefix(&prefix).and_then(|key| map.get(key)) else {
                let valid: Vec<String> = map.keys().map(|k| format!("{prefix}{k}")).collect();
                bail!("Invalid flag passed, valid flags: {}", valid.join(", "));
            };
            log::data(value);
        } else if json {
            log::data(&serde_json::to_string(&map)?);
        } else {
            log::info2_quiet(&format!("{} {} information", entry.name, field.plural));
            let rows: Vec<(String, String)> = map
                .iter()
                .map(|(k, v)| (format!("{} {k}", field.row_label), v.clone()))
                .collect();
            let width = rows
                .iter()
                .map(|(label, _)| label.len() + 1)
                .max()
                .unwrap_or(0)
                .max(31);
            for (label, value) in rows {
                log::verbose(&format!("{:<width$}{value}", format!("{label}:")));
            }
        }
    }
    Ok(())
}

/// `storage:annotations:set NAME KEY [VALUE]`.
pub fn annotations_set(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_key(ctx, &ANNOTATIONS, args)
}

/// `storage:labels:set NAME KEY [VALUE]`.
pub fn labels_set(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_key(ctx, &LABELS, args)
}

/// `storage:annotations:report [NAME] [--format stdout|json] [--storage-annotations.KEY]`.
pub fn annotations_report(ctx: &Ctx, args: &[String]) -> Result<()> {
    report(ctx, &ANNOTATIONS, args)
}

/// `storage:labels:report [NAME] [--format stdout|json] [--storage-labels.KEY]`.
pub fn labels_report(ctx: &Ctx, args: &[String]) -> Result<()> {
    report(ctx, &LABELS, args)
}
