//! The `plugin:*` commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::cmd::Cmd;
use dokku_core::entry::Ctx;
use dokku_core::entry::parse;
use dokku_core::env::Roots;
use dokku_core::fs::{copy_tree, remove_dir_all_if_exists};
use dokku_core::plugins::{self, BinaryMode};
use dokku_core::{Error, log};

#[derive(Parser)]
pub(crate) struct Name {
    #[arg(value_name = "NAME")]
    name: String,
}

pub(crate) fn named(ctx: &Ctx, command: &str, args: &[String]) -> Result<(Roots, String)> {
    let cmd: Name = parse(command, args)?;
    plugins::validate_name(&cmd.name)?;
    Ok((ctx.roots.clone(), cmd.name))
}

#[derive(Parser)]
pub(crate) struct List {
    #[arg(long, default_value = "stdout")]
    format: String,
}

pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("plugin:list", args)?;
    if cmd.format != "stdout" && cmd.format != "json" {
        bail!("Invalid output format specified, supported formats: json, stdout");
    }
    let all = plugins::list(&ctx.roots)?;
    if cmd.format == "json" {
        log::data(&serde_json::to_string(&all)?);
        return Ok(());
    }
    for p in all {
        let state = if p.enabled { "enabled" } else { "disabled" };
        log::data(
            format!(
                "  {:<20} {:<5} {:<10} {}",
                p.name, p.version, state, p.description
            )
            .trim_end(),
        );
    }
    Ok(())
}

pub(crate) fn installed(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, name) = named(ctx, "plugin:installed", args)?;
    if plugins::is_installed(&roots, &name) {
        Ok(())
    } else {
        Err(Error::Exit(1).into())
    }
}

pub(crate) fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, name) = named(ctx, "plugin:enable", args)?;
    if !plugins::is_installed(&roots, &name) {
        bail!("Plugin does not exist");
    }
    if plugins::is_enabled(&roots, &name) {
        bail!("Plugin already enabled");
    }
    plugins::enable(&roots, &name)?;
    log::info1_quiet(&format!("Plugin {name} enabled"));
    Ok(())
}

pub(crate) fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, name) = named(ctx, "plugin:disable", args)?;
    if !plugins::is_installed(&roots, &name) {
        bail!("Plugin does not exist");
    }
    if plugins::is_core(&roots, &name) {
        bail!("Cannot disable a core plugin");
    }
    if !plugins::is_enabled(&roots, &name) {
        bail!("Plugin already disabled");
    }
    plugins::disable(&roots, &name)?;
    log::info1_quiet(&format!("Plugin {name} disabled"));
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Install {
    /// Run the install trigger of the core plugins only.
    #[arg(long, conflicts_with_all = ["source", "name"])]
    core: bool,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    skip_install_trigger: bool,
    #[arg(long, hide = true)]
    committish: Option<String>,
    #[arg(value_name = "SOURCE")]
    source: Option<String>,
}

/// Where a plugin comes from: a directory on this host, or a git repository.
pub(crate) enum Source {
    Dir(PathBuf),
    Git(String),
}

impl Source {
    fn parse(text: &str) -> Result<Source> {
        let local = text.strip_prefix("file://").unwrap_or(text);
        let path = Path::new(local);
        if path.is_dir() {
            let path = path.canonicalize()?;
            return Ok(if path.join(".git").exists() {
                Source::Git(path.display().to_string())
            } else {
                Source::Dir(path)
            });
        }
        if text.starts_with("file://") || text.starts_with('/') || text.starts_with('.') {
            bail!("No plugin directory at {local}");
        }
        if ["https://", "git://", "ssh://", "git@"]
            .iter()
            .any(|p| text.starts_with(p))
        {
            return Ok(Source::Git(text.to_string()));
        }
        bail!("Invalid plugin source '{text}': give a directory, a file:// url or a git url")
    }

    /// URL basename minus `.git` and a leading `dokku-`.
    fn default_name(text: &str) -> String {
        let base = text
            .trim_end_matches('/')
            .rsplit(['/', ':'])
            .next()
            .unwrap_or(text);
        let base = base.strip_suffix(".git").unwrap_or(base);
        base.strip_prefix("dokku-").unwrap_or(base).to_string()
    }
}

/// What `plugin:install` says, as Dokku does, when its arguments name no plugin source.
fn retry_with_valid_arguments(why: &anyhow::Error) -> anyhow::Error {
    let why = format!("{why:#}");
    anyhow::anyhow!(
        "{}. Please retry with valid arguments: --core, a plugin directory, or a https:, git:, git@, ssh: or file: url",
        why.lines().next().unwrap_or_default().trim_end_matches('.')
    )
}

pub(crate) fn install(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Install = parse("plugin:install", args).map_err(|e| match e.downcast_ref() {
        Some(Error::Exit(0)) => e,
        _ => retry_with_valid_arguments(&e),
    })?;
    let roots = &ctx.roots;
    if cmd.core {
        for plugin in plugins::list(roots)?.into_iter().filter(|p| p.core) {
            ctx.trigger("install").only(&plugin.name).stream()?;
        }
        return Ok(());
    }
    let Some(text) = cmd.source else {
        return ctx.trigger("install").stream();
    };
    let source = Source::parse(&text).map_err(|e| retry_with_valid_arguments(&e))?;
    let name = cmd.name.unwrap_or_else(|| Source::default_name(&text));
    plugins::validate_name(&name)?;
    let dest = roots.plugin_available().join(&name);
    if dest.exists() {
        bail!("Plugin {name} is already installed; use plugin:update to update it");
    }
    let staged = roots.plugin_available().join(format!(".{name}.new"));
    remove_dir_all_if_exists(&staged)?;
    std::fs::create_dir_all(roots.plugin_available())?;
    log::info1_quiet(&format!("Installing plugin {name} from {text}"));
    let fetched = match &source {
        Source::Dir(path) => copy_tree(path, &staged),
        Source::Git(url) => git_clone(url, &staged, cmd.committish.as_deref()),
    }
    .and_then(|()| plugins::link_entrypoints(&staged))
    .and_then(|()| {
        std::fs::rename(&staged, &dest)
            .with_context(|| format!("installing into {}", dest.display()))
    });
    if let Err(err) = fetched {
        let _ = remove_dir_all_if_exists(&staged);
        return Err(err);
    }
    plugins::enable(roots, &name)?;
    log::info1_quiet(&format!("Plugin {name} enabled"));
    if cmd.skip_install_trigger {
        return Ok(());
    }
    // As Dokku does: every enabled plugin's install trigger, in name order (they are
    // idempotent; a new plugin may extend what others set up). Its `dependencies` are
    // `plugin:install-dependencies`'s to run.
    let Err(err) = ctx.trigger("install").stream() else {
        return Ok(());
    };
    let failed_itself = matches!(
        err.downcast_ref(),
        Some(Error::TriggerFailed { plugin, .. }) if *plugin == name
    );
    if failed_itself {
        // A plugin whose own install failed is not left half-installed.
        let _ = plugins::remove(roots, &name);
        log::warn(&format!("Plugin {name} failed to install and was removed"));
    }
    Err(err)
}

pub(crate) fn git_clone(url: &str, dest: &Path, committish: Option<&str>) -> Result<()> {
    Cmd::new("git")
        .args(["clone", "--quiet", "--recursive", url])
        .arg(dest)
        .output()?;
    if let Some(rev) = committish {
        Cmd::new("git")
            .arg("-C")
            .arg(dest)
            .args(["checkout", "--quiet", rev])
            .output()?;
    }
    Ok(())
}

#[derive(Parser)]
pub(crate) struct InstallCore {
    plugins_dir: PathBuf,
    bin_dir: PathBuf,
    /// Link binaries instead of copying them (tests, benchmarks).
    #[arg(long)]
    symlink: bool,
}

/// Used by install.sh: lays out the core plugins from the source tree's `plugins/`.
pub(crate) fn install_core(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: InstallCore = parse("plugin:install-core", args)?;
    let mode = if cmd.symlink {
        BinaryMode::Link
    } else {
        BinaryMode::Copy
    };
    let result = plugins::install_core(&ctx.roots, &cmd.plugins_dir, &cmd.bin_dir, mode)?;
    for name in &result.installed {
        log::info1_quiet(&format!("Installed core plugin {name}"));
    }
    if !result.unchanged.is_empty() {
        log::verbose_quiet(&format!("Unchanged: {}", result.unchanged.join(", ")));
    }
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Dependencies {
    #[arg(long)]
    core: bool,
}

pub(crate) fn install_dependencies(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Dependencies = parse("plugin:install-dependencies", args)?;
    let roots = &ctx.roots;
    for plugin in plugins::list(roots)?
        .into_iter()
        .filter(|p| p.enabled && (!cmd.core || p.core))
    {
        ctx.trigger("dependencies").only(&plugin.name).stream()?;
    }
    Ok(())
}

pub(crate) fn uninstall(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (roots, name) = named(ctx, "plugin:uninstall", args)?;
    if plugins::is_core(&roots, &name) {
        bail!("Cannot uninstall a core plugin");
    }
    if !plugins::is_installed(&roots, &name) {
        bail!("Plugin does not exist");
    }
    ctx.trigger("uninstall").arg(&name).stream()?;
    plugins::remove(&roots, &name)?;
    log::info1_quiet(&format!("Plugin {name} uninstalled"));
    Ok(())
}

#[derive(Parser)]
pub(crate) struct Update {
    name: Option<String>,
    committish: Option<String>,
}

pub(crate) fn update(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Update = parse("plugin:update", args)?;
    let roots = &ctx.roots;
    let names = match &cmd.name {
        Some(name) => {
            plugins::validate_name(name)?;
            if !plugins::is_enabled(roots, name) {
                bail!("Specified plugin not enabled or installed");
            }
            if plugins::is_core(roots, name) {
                bail!("Cannot update a core plugin; update dokku-rs instead");
            }
            vec![name.clone()]
        }
        None => plugins::list(roots)?
            .into_iter()
            .filter(|p| p.enabled && !p.core)
            .map(|p| p.name)
            .collect(),
    };
    for name in names {
        let dir = roots.plugin_available().join(&name);
        if !dir.join(".git").exists() {
            log::verbose_quiet(&format!("Plugin {name} is not a git repository, skipping"));
            continue;
        }
        log::info1_quiet(&format!("Updating {name}"));
        let git = || Cmd::new("git").arg("-C").arg(&dir);
        match &cmd.committish {
            Some(rev) => {
                git().args(["fetch", "--quiet", "--tags"]).output()?;
                git().args(["checkout", "--quiet", rev]).output()?;
            }
            None => {
                git().args(["pull", "--quiet", "--ff-only"]).output()?;
            }
        }
        plugins::link_entrypoints(&dir)?;
    }
    plugins::index::Index::write(&ctx.roots)?;
    ctx.trigger("update").stream()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_dokku() {
        assert_eq!(
            Source::default_name("https://github.com/dokku/dokku-postgres.git"),
            "postgres"
        );
        assert_eq!(Source::default_name("git@host:me/hello.git"), "hello");
        assert_eq!(
            Source::default_name("/tmp/plugins/hello-bash/"),
            "hello-bash"
        );
    }

    #[test]
    fn sources_must_be_directories_or_git_urls() {
        assert!(matches!(
            Source::parse("https://example.invalid/x.git"),
            Ok(Source::Git(_))
        ));
        assert!(Source::parse("/definitely/not/here").is_err());
        assert!(Source::parse("ftp://x").is_err());
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Source::parse(&format!("file://{}", dir.path().display())),
            Ok(Source::Dir(_))
        ));
    }
}
