//! What a plugin answers: its subcommands and triggers (the entry points installing it
//! links), and what the dispatcher needs to route to it (the command prefixes and bare
//! words it answers, the commands only root may run).
//!
//! A plugin binary built on [`crate::entry`] says this itself (`--entrypoints`); a plugin
//! in another language says it in `plugin.toml` (`[entrypoints]` lists, `[dispatch]`).
//! Installing a plugin keeps the answer in its directory as [`ANSWERS_FILE`].

use std::path::Path;

use anyhow::{Result, bail};

use crate::manifest::Manifest;

/// The file in a plugin's directory that keeps its answers, one `KIND NAME` line each.
pub const ANSWERS_FILE: &str = ".entrypoints";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pub subcommands: Vec<String>,
    pub triggers: Vec<String>,
    /// Executables other plugins run by path (Dokku's `common/prop`, `config/config_sub`),
    /// linked beside the triggers.
    pub helpers: Vec<String>,
    /// Command prefixes besides the plugin directory's own name.
    pub prefixes: Vec<String>,
    pub words: Vec<String>,
    /// Subcommand names (without prefix) only root may run.
    pub root_only: Vec<String>,
    /// `(trigger, key name prefix)`: a trigger that concerns only callers whose SSH key name
    /// starts with the prefix ([`crate::entry::Guard`]).
    pub guards: Vec<(String, String)>,
    /// `(trigger, namespace, key)`: a trigger that adds nothing for an app without
    /// properties (or that property) in `config/<namespace>` ([`crate::entry::AppScoped`]).
    pub app_scoped: Vec<(String, String, Option<String>)>,
    /// `(trigger, argument index, value)`: a trigger that concerns only calls with that
    /// value there ([`crate::entry::Concerns`]).
    pub concerns: Vec<(String, usize, String)>,
    /// The files the plugin keeps with each build ([`crate::entry::BuildFile`]).
    pub build_files: Vec<DeclaredBuildFile>,
    /// The binary answers any of its triggers for many calls in one run
    /// ([`crate::trigger::Trigger::output_each`]).
    pub batches: bool,
}

/// [`crate::entry::BuildFile`] as installing keeps it: `build-file DATA NAME` or
/// `build-file DATA NAME NAMESPACE KEY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredBuildFile {
    pub data: String,
    pub name: String,
    pub path_setting: Option<(String, String)>,
}

impl From<&crate::entry::BuildFile> for DeclaredBuildFile {
    fn from(file: &crate::entry::BuildFile) -> DeclaredBuildFile {
        DeclaredBuildFile {
            data: file.data.into(),
            name: file.name.into(),
            path_setting: file.path_setting.map(|(ns, key)| (ns.into(), key.into())),
        }
    }
}

impl DeclaredBuildFile {
    pub(crate) fn render(&self) -> String {
        let mut words = vec![self.data.as_str(), self.name.as_str()];
        if let Some((namespace, key)) = &self.path_setting {
            words.extend([namespace.as_str(), key.as_str()]);
        }
        words.join(" ")
    }

    pub(crate) fn parse(words: &str) -> Result<DeclaredBuildFile> {
        let words: Vec<&str> = words.split(' ').collect();
        let (data, name, path_setting) = match words[..] {
            [data, name] => (data, name, None),
            [data, name, namespace, key] => {
                crate::plugins::validate_name(namespace)?;
                crate::plugins::validate_name(key)?;
                (data, name, Some((namespace.into(), key.into())))
            }
            _ => bail!("unexpected build file {words:?}"),
        };
        crate::plugins::validate_name(data)?;
        let plain_file_name = !matches!(name, "" | "." | "..")
            && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
        if !plain_file_name {
            bail!("unexpected build file name {name:?}");
        }
        Ok(DeclaredBuildFile {
            data: data.into(),
            name: name.into(),
            path_setting,
        })
    }

    /// Its path in `tree` for `app`.
    pub fn path_in_tree(&self, roots: &crate::env::Roots, app: &str) -> String {
        match &self.path_setting {
            Some((namespace, key)) => crate::property::Properties::new(roots, namespace)
                .computed(app, key, &self.name)
                .unwrap_or_else(|_| self.name.clone()),
            None => self.name.clone(),
        }
    }
}

/// The line that says [`Answers::batches`].
const BATCHES_LINE: &str = "batches all";

impl Answers {
    /// `KIND NAME` lines: `subcommand`, `trigger`, `prefix`, `word`, `root-only`, and
    /// `guard TRIGGER PREFIX`, `app-scoped TRIGGER NAMESPACE`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (kind, names) in self.kinds() {
            for name in names {
                out.push_str(&format!("{kind} {name}\n"));
            }
        }
        for (trigger, prefix) in &self.guards {
            out.push_str(&format!("guard {trigger} {prefix}\n"));
        }
        for (trigger, namespace, key) in &self.app_scoped {
            let line = format!(
                "app-scoped {trigger} {namespace} {}",
                key.as_deref().unwrap_or("")
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for (trigger, arg, value) in &self.concerns {
            out.push_str(&format!("concerns {trigger} {arg} {value}\n"));
        }
        for file in &self.build_files {
            out.push_str(&format!("build-file {}\n", file.render()));
        }
        if self.batches {
            out.push_str(BATCHES_LINE);
            out.push('\n');
        }
        out
    }

    pub fn parse(text: &str) -> Result<Answers> {
        let mut answers = Answers::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line == BATCHES_LINE {
                answers.batches = true;
                continue;
            }
            let Some((kind, name)) = line.split_once(' ') else {
                bail!("unexpected entry point line {line:?}");
            };
            if kind == "app-scoped" {
                let words: Vec<&str> = name.split(' ').collect();
                let (trigger, namespace, key) = match words[..] {
                    [trigger, namespace] => (trigger, namespace, None),
                    [trigger, namespace, key] => (trigger, namespace, Some(key)),
                    _ => bail!("unexpected entry point line {line:?}"),
                };
                crate::plugins::validate_entry_name(trigger)?;
                crate::plugins::validate_name(namespace)?;
                if let Some(key) = key {
                    crate::plugins::validate_name(key)?;
                }
                answers
                    .app_scoped
                    .push((trigger.into(), namespace.into(), key.map(String::from)));
                continue;
            }
            if kind == "concerns" {
                let words: Vec<&str> = name.split(' ').collect();
                let [trigger, arg, value] = words[..] else {
                    bail!("unexpected entry point line {line:?}");
                };
                crate::plugins::validate_entry_name(trigger)?;
                crate::plugins::validate_name(value)?;
                let arg = arg
                    .parse()
                    .map_err(|_| anyhow::anyhow!("unexpected argument index {arg:?}"))?;
                answers.concerns.push((trigger.into(), arg, value.into()));
                continue;
            }
            if kind == "build-file" {
                answers.build_files.push(DeclaredBuildFile::parse(name)?);
                continue;
            }
            if kind == "guard" {
                let Some((trigger, prefix)) = name.split_once(' ') else {
                    bail!("unexpected entry point line {line:?}");
                };
                crate::plugins::validate_entry_name(trigger)?;
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
                    bail!("unexpected key name prefix {prefix:?}");
                }
                answers.guards.push((trigger.into(), prefix.into()));
                continue;
            }
            if kind == "subcommand" {
                crate::plugins::validate_subcommand_name(name)?;
            } else {
                crate::plugins::validate_entry_name(name)?;
            }
            let list = match kind {
                "subcommand" => &mut answers.subcommands,
                "trigger" => &mut answers.triggers,
                "helper" => &mut answers.helpers,
                "prefix" => &mut answers.prefixes,
                "word" => &mut answers.words,
                "root-only" => &mut answers.root_only,
                _ => bail!("unexpected entry point kind {kind:?}"),
            };
            list.push(name.to_string());
        }
        Ok(answers)
    }

    fn kinds(&self) -> [(&'static str, &Vec<String>); 6] {
        [
            ("subcommand", &self.subcommands),
            ("trigger", &self.triggers),
            ("helper", &self.helpers),
            ("prefix", &self.prefixes),
            ("word", &self.words),
            ("root-only", &self.root_only),
        ]
    }

    /// What `plugin.toml` declares for a plugin whose binary does not answer for itself.
    pub fn from_manifest(manifest: &Manifest) -> Answers {
        let dispatch = manifest.dispatch.clone().unwrap_or_default();
        let (subcommands, triggers) = manifest
            .entrypoints
            .as_ref()
            .map(|e| (e.subcommands.clone(), e.triggers.clone()))
            .unwrap_or_default();
        Answers {
            subcommands,
            triggers,
            helpers: Vec::new(),
            prefixes: dispatch.prefixes,
            words: dispatch.words,
            root_only: dispatch.root_only,
            guards: Vec::new(),
            app_scoped: Vec::new(),
            concerns: Vec::new(),
            build_files: Vec::new(),
            batches: false,
        }
    }

    /// The answers installing kept in `plugin_dir`, else what its `plugin.toml` declares.
    pub fn of_installed(plugin_dir: &Path) -> Result<Answers> {
        match crate::fs::read_optional(&plugin_dir.join(ANSWERS_FILE))? {
            Some(text) => Answers::parse(&text),
            None => Ok(Answers::from_manifest(&Manifest::read(plugin_dir)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_refuse_paths() {
        let answers = Answers {
            subcommands: vec!["allow".into()],
            triggers: vec!["post-delete".into()],
            helpers: vec!["prop".into()],
            prefixes: vec!["deploy".into()],
            words: vec!["url".into()],
            root_only: vec!["allow".into()],
            guards: vec![("user-auth".into(), "deploy:".into())],
            app_scoped: vec![
                ("docker-args-deploy".into(), "storage".into(), None),
                (
                    "core-post-extract".into(),
                    "builder".into(),
                    Some("build-dir".into()),
                ),
            ],
            concerns: vec![("builder-build".into(), 0, "dockerfile".into())],
            build_files: vec![
                DeclaredBuildFile {
                    data: "ps".into(),
                    name: "Procfile".into(),
                    path_setting: Some(("ps".into(), "procfile-path".into())),
                },
                DeclaredBuildFile {
                    data: "checks".into(),
                    name: "CHECKS".into(),
                    path_setting: None,
                },
            ],
            batches: true,
        };
        assert_eq!(Answers::parse(&answers.render()).unwrap(), answers);
        assert!(Answers::parse("subcommand ../x\n").is_err());
        assert!(Answers::parse("binary x\n").is_err());
        assert!(Answers::parse("build-file ps ../Procfile\n").is_err());
        assert!(Answers::parse("build-file ps Procfile ps\n").is_err());
    }
}
