//! The plugin tree (Dokku's layout): `available/<name>`, `enabled/<name>`
//! links, core plugins under `core-plugins/`, entry-point links for what each plugin
//! answers, and the dispatcher's [`index`]. install.sh, `plugin:*` and the test host all
//! go through this one module.

pub mod answers;
pub mod index;

pub use answers::{Answers, DeclaredBuildFile};

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::env::Roots;
use crate::fs::{copy_tree, remove_dir_all_if_exists};
use crate::manifest::Manifest;

/// Plugin names are directory names and command prefixes: the app-name rules (lowercase
/// letters, digits and `-`, starting with a letter or digit, at most 63), plus `_` for
/// Dokku's ordered core names (`00_dokku-standard`).
pub fn validate_name(name: &str) -> Result<()> {
    let ok = name.len() <= crate::app::MAX_LEN
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        bail!(
            "Invalid plugin name '{name}': lowercase letters, digits, '_' and '-', starting with a letter or digit"
        );
    }
    Ok(())
}

/// Trigger and subcommand names are file names in a plugin's directory: no path tricks,
/// nothing an argument parser would take for a flag.
pub fn validate_entry_name(name: &str) -> Result<()> {
    let ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !ok {
        bail!("Invalid name '{name}': use letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

/// Subcommand names may also hold a colon after the first character, as Dokku's do
/// (`subcommands/annotations:set` answers `storage:annotations:set`).
pub fn validate_subcommand_name(name: &str) -> Result<()> {
    let plain = name.replace(':', "-");
    if name.starts_with(':') || name.ends_with(':') || validate_entry_name(&plain).is_err() {
        bail!("Invalid name '{name}': use letters, digits, '.', '_', '-' and inner ':'");
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub enabled: bool,
    pub core: bool,
    pub description: String,
    /// Where a plugin installed from git came from (its `origin`), else empty.
    pub source_url: String,
    /// The commit a git plugin is at, else empty.
    pub committish: String,
    /// The branch a git plugin is on, else empty.
    pub branch: String,
}

/// `origin`, `HEAD` and the branch of the git checkout `dir`: empty for a plugin that is
/// not one.
fn git_source(dir: &Path) -> (String, String, String) {
    if !dir.join(".git").exists() {
        return Default::default();
    }
    let ask = |args: &[&str]| {
        crate::cmd::git()
            .arg("-c")
            .arg("safe.directory=*")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map(|out| out.stdout_trimmed())
            .unwrap_or_default()
    };
    (
        // As the plugin was installed from (`get-url` would rewrite it by git's insteadOf).
        ask(&["config", "--get", "remote.origin.url"]),
        ask(&["rev-parse", "HEAD"]),
        ask(&["rev-parse", "--abbrev-ref", "HEAD"]),
    )
}

pub fn is_installed(roots: &Roots, name: &str) -> bool {
    roots.plugin_available().join(name).exists()
}

pub fn is_enabled(roots: &Roots, name: &str) -> bool {
    roots.plugin_enabled().join(name).exists()
}

pub fn is_core(roots: &Roots, name: &str) -> bool {
    roots.core_enabled().join(name).exists()
}

/// Every installed plugin, sorted by name.
pub fn list(roots: &Roots) -> Result<Vec<PluginInfo>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(roots.plugin_available()) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).context("reading the available plugins"),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let dir = roots.plugin_available().join(&name);
        let manifest = Manifest::read(&dir).unwrap_or_default();
        let (source_url, committish, branch) = git_source(&dir);
        out.push(PluginInfo {
            enabled: is_enabled(roots, &name),
            core: is_core(roots, &name),
            version: manifest.plugin.version,
            description: manifest.plugin.description,
            name,
            source_url,
            committish,
            branch,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Replaces `link` with a symlink to `target` (atomically, via a temp link and rename).
fn relink(target: &Path, link: &Path) -> Result<()> {
    if fs::read_link(link).is_ok_and(|t| t == target) {
        return Ok(());
    }
    let tmp = link.with_file_name(format!(
        ".{}.{}.link",
        link.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    symlink(target, &tmp).with_context(|| format!("linking {}", tmp.display()))?;
    fs::rename(&tmp, link).with_context(|| format!("linking {}", link.display()))
}

/// Enables a plugin; one whose commands would clash with an enabled plugin's stays
/// disabled.
pub fn enable(roots: &Roots, name: &str) -> Result<()> {
    validate_name(name)?;
    let available = roots.plugin_available().join(name);
    if !available.exists() {
        bail!("Plugin does not exist");
    }
    fs::create_dir_all(roots.plugin_enabled())?;
    let link = roots.plugin_enabled().join(name);
    let was_enabled = link.exists();
    relink(&available, &link)?;
    if let Err(err) = index::Index::write(roots) {
        if !was_enabled {
            crate::fs::remove_file_if_exists(&link)?;
        }
        return Err(err);
    }
    Ok(())
}

pub fn disable(roots: &Roots, name: &str) -> Result<()> {
    validate_name(name)?;
    crate::fs::remove_file_if_exists(&roots.plugin_enabled().join(name))?;
    index::Index::write(roots)
}

/// Removes a (non-core) plugin's files and its enabled link.
pub fn remove(roots: &Roots, name: &str) -> Result<()> {
    validate_name(name)?;
    disable(roots, name)?;
    let available = roots.plugin_available().join(name);
    if fs::symlink_metadata(&available).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(&available)?;
    } else {
        remove_dir_all_if_exists(&available)?;
    }
    Ok(())
}

/// Links the entry points a plugin with a binary answers, each to `bin/<binary>`, and
/// drops links to the binary it no longer answers. What it answers is what
/// `plugin.toml`'s `[entrypoints]` lists, or, when it lists nothing, what the binary
/// itself says (`--entrypoints`); either way it is kept as the plugin's [`Answers`].
pub fn link_entrypoints(plugin_dir: &Path) -> Result<()> {
    let manifest = Manifest::read(plugin_dir)?;
    let answers_file = plugin_dir.join(answers::ANSWERS_FILE);
    let Some(entry) = &manifest.entrypoints else {
        // A plugin without a binary of ours answers what its plugin.toml declares, never a
        // file it shipped under the answers' name.
        let answers = Answers::from_manifest(&manifest).render();
        return crate::fs::write_atomic(&answers_file, answers.as_bytes(), 0o644);
    };
    validate_entry_name(&entry.binary)?;
    let from_binary = entry.subcommands.is_empty() && entry.triggers.is_empty();
    let answers = if from_binary {
        let binary = plugin_dir.join("bin").join(&entry.binary);
        let out = crate::cmd::Cmd::new(&binary)
            .arg(crate::entry::ENTRYPOINTS_FLAG)
            .output()
            .with_context(|| format!("asking {} what it answers", binary.display()))?;
        Answers::parse(&out.stdout_str())?
    } else {
        Answers::from_manifest(&manifest)
    };
    if crate::fs::read_optional(&answers_file)?.as_deref() != Some(answers.render().as_str()) {
        crate::fs::write_atomic(&answers_file, answers.render().as_bytes(), 0o644)?;
    }
    let root_target = PathBuf::from("bin").join(&entry.binary);
    let sub_target = PathBuf::from("..").join(&root_target);
    let subcommands = plugin_dir.join("subcommands");
    for (dir, target) in [
        (plugin_dir, &root_target),
        (subcommands.as_path(), &sub_target),
    ] {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            if fs::read_link(e.path()).is_ok_and(|t| &t == target) {
                fs::remove_file(e.path())?;
            }
        }
    }
    let mut names: Vec<&String> = answers.triggers.iter().chain(&answers.helpers).collect();
    let commands = "commands".to_string();
    // A library plugin (Dokku's `common`) has no commands, and so no line in help.
    if (from_binary && !answers.subcommands.is_empty()) || entry.commands {
        names.push(&commands);
    }
    for name in names {
        validate_entry_name(name)?;
        relink(&root_target, &plugin_dir.join(name))?;
    }
    if !answers.subcommands.is_empty() {
        fs::create_dir_all(&subcommands)?;
    }
    for name in &answers.subcommands {
        validate_subcommand_name(name)?;
        relink(&sub_target, &subcommands.join(name))?;
    }
    Ok(())
}

/// How a core plugin's binary gets into its `bin/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryMode {
    /// Copy the binary (install.sh: the plugin dir stands on its own).
    Copy,
    /// Hard-link the build output (tests and benchmarks: no copying of large files), or
    /// copy it when it lies on another filesystem. Never a symlink: the dispatcher runs only
    /// executables whose real path lies inside their plugin's directory.
    Link,
}

/// What installing the core plugins changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CoreInstall {
    pub installed: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Installs every `<source>/<name>/plugin.toml` as a core plugin: its files into
/// `core-plugins/available/<name>` (binary from `bin_dir`), entry-point links, then the
/// `core-plugins/enabled`, `plugins/available` and `plugins/enabled` links. A plugin
/// whose files would not change is left untouched, so a second run changes nothing.
pub fn install_core(
    roots: &Roots,
    source: &Path,
    bin_dir: &Path,
    mode: BinaryMode,
) -> Result<CoreInstall> {
    let mut result = CoreInstall::default();
    let mut names: Vec<String> = fs::read_dir(source)
        .with_context(|| format!("reading {}", source.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("plugin.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for dir in [
        roots.core_available(),
        roots.core_enabled(),
        roots.plugin_available(),
        roots.plugin_enabled(),
    ] {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for name in names {
        validate_name(&name)?;
        let dest = roots.core_available().join(&name);
        let staged = roots.core_available().join(format!(".{name}.new"));
        remove_dir_all_if_exists(&staged)?;
        copy_tree(&source.join(&name), &staged)?;
        let manifest = Manifest::read(&staged)?;
        if let Some(entry) = &manifest.entrypoints {
            let binary = bin_dir.join(&entry.binary);
            if !binary.is_file() {
                bail!(
                    "{} is missing: build the workspace first (cargo build --workspace --bins)",
                    binary.display()
                );
            }
            let bin = staged.join("bin");
            fs::create_dir_all(&bin)?;
            match mode {
                BinaryMode::Copy => {
                    fs::copy(&binary, bin.join(&entry.binary))
                        .with_context(|| format!("copying {}", binary.display()))?;
                }
                BinaryMode::Link => {
                    let dest = bin.join(&entry.binary);
                    if fs::hard_link(&binary, &dest).is_err() {
                        fs::copy(&binary, &dest)
                            .with_context(|| format!("copying {}", binary.display()))?;
                    }
                }
            }
        }
        link_entrypoints(&staged)?;
        if dest.exists() && tree_fingerprint(&dest)? == tree_fingerprint(&staged)? {
            remove_dir_all_if_exists(&staged)?;
            result.unchanged.push(name.clone());
        } else {
            let old = roots.core_available().join(format!(".{name}.old"));
            remove_dir_all_if_exists(&old)?;
            if dest.exists() {
                fs::rename(&dest, &old)?;
            }
            fs::rename(&staged, &dest)?;
            remove_dir_all_if_exists(&old)?;
            result.installed.push(name.clone());
        }
        relink(&dest, &roots.core_enabled().join(&name))?;
        relink(&dest, &roots.plugin_available().join(&name))?;
        relink(
            &roots.plugin_available().join(&name),
            &roots.plugin_enabled().join(&name),
        )?;
    }
    index::Index::write(roots)?;
    Ok(result)
}

/// Paths, kinds, link targets and contents of a tree, for "would anything change?".
fn tree_fingerprint(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry?;
        let rel = entry.path().strip_prefix(dir)?.to_path_buf();
        let kind = entry.file_type();
        let data = if kind.is_symlink() {
            let mut d = b"link:".to_vec();
            d.extend_from_slice(fs::read_link(entry.path())?.as_os_str().as_encoded_bytes());
            d
        } else if kind.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let mut d = format!("file:{:o}:", entry.metadata()?.permissions().mode()).into_bytes();
            d.extend(fs::read(entry.path())?);
            d
        } else {
            b"dir".to_vec()
        };
        out.push((rel, data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::write_atomic;

    fn source(dir: &Path) -> (PathBuf, PathBuf) {
        let src = dir.join("plugins");
        write_atomic(
            &src.join("apps/plugin.toml"),
            br#"[plugin]
description = "apps"
version = "0.1.0"
[plugin.config]
[entrypoints]
binary = "dokku-apps"
commands = true
subcommands = ["create", "list"]
triggers = ["post-delete"]
"#,
            0o644,
        )
        .unwrap();
        let bin = dir.join("bin");
        write_atomic(&bin.join("dokku-apps"), b"#!/bin/sh\necho hi\n", 0o755).unwrap();
        (src, bin)
    }

    #[test]
    fn install_core_links_entrypoints_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let (src, bin) = source(dir.path());
        let first = install_core(&roots, &src, &bin, BinaryMode::Copy).unwrap();
        assert_eq!(first.installed, ["apps"]);
        let enabled = roots.plugin_enabled().join("apps");
        assert!(crate::fs::is_executable(&enabled.join("commands")));
        assert!(crate::fs::is_executable(
            &enabled.join("subcommands/create")
        ));
        assert!(crate::fs::is_executable(&enabled.join("post-delete")));
        assert_eq!(
            fs::read_link(enabled.join("subcommands/list")).unwrap(),
            Path::new("../bin/dokku-apps")
        );
        assert!(is_core(&roots, "apps"));
        let second = install_core(&roots, &src, &bin, BinaryMode::Copy).unwrap();
        assert_eq!(second.unchanged, ["apps"]);
        assert!(second.installed.is_empty());
    }

    #[test]
    fn relinking_drops_entrypoints_no_longer_listed() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let (src, bin) = source(dir.path());
        install_core(&roots, &src, &bin, BinaryMode::Link).unwrap();
        let toml = fs::read_to_string(src.join("apps/plugin.toml")).unwrap();
        write_atomic(
            &src.join("apps/plugin.toml"),
            toml.replace(", \"list\"", "").as_bytes(),
            0o644,
        )
        .unwrap();
        let again = install_core(&roots, &src, &bin, BinaryMode::Link).unwrap();
        assert_eq!(again.installed, ["apps"]);
        assert!(
            !roots
                .plugin_enabled()
                .join("apps/subcommands/list")
                .exists()
        );
    }

    #[test]
    fn enable_disable_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let plugin = roots.plugin_available().join("hello");
        write_atomic(
            &plugin.join("plugin.toml"),
            b"[plugin]\ndescription = \"hi\"\nversion = \"2\"\n[plugin.config]\n",
            0o644,
        )
        .unwrap();
        enable(&roots, "hello").unwrap();
        assert_eq!(
            list(&roots).unwrap(),
            vec![PluginInfo {
                name: "hello".into(),
                version: "2".into(),
                enabled: true,
                core: false,
                description: "hi".into(),
                source_url: String::new(),
                committish: String::new(),
                branch: String::new(),
            }]
        );
        disable(&roots, "hello").unwrap();
        assert!(!is_enabled(&roots, "hello"));
        assert!(enable(&roots, "missing").is_err());
        assert!(enable(&roots, "../x").is_err());
        for bad in ["-x", "X", "a.b", ".hidden", "", &"a".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for ok in [
            "00_dokku-standard",
            "20_events",
            "letsencrypt",
            "deploy-keys",
        ] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
    }
}
