//! `dokku help [--all]`: assembled from every enabled plugin's `commands help`.

use std::path::Path;

use anyhow::Result;
use dokku_core::cmd::Cmd;
use dokku_core::env::{self, Roots};
use dokku_core::fs::is_executable;
use dokku_core::log;

pub fn print(roots: &Roots, all: bool) -> Result<i32> {
    let core_root = roots.plugin_core_path.canonicalize().ok();
    let mut core = Vec::new();
    let mut community = Vec::new();
    for plugin in dokku_core::trigger::enabled_plugins(roots) {
        let dir = roots.plugin_enabled().join(&plugin);
        let commands = dir.join("commands");
        if !is_executable(&commands) {
            continue;
        }
        let mut cmd = Cmd::new(&commands).arg("help");
        if all {
            cmd = cmd.env(env::DOKKU_HELP_ALL, "1");
        }
        let out = cmd.stdout_unchecked()?;
        let lines = out
            .stdout_str()
            .lines()
            .map(String::from)
            .collect::<Vec<_>>();
        if is_under(&dir, core_root.as_deref()) {
            core.extend(lines);
        } else {
            community.extend(lines);
        }
    }
    if !env::quiet() {
        log::data(
            "Usage: dokku [--quiet|--trace|--force] COMMAND <app> [command-specific-options]\n",
        );
        log::data(
            "Run \"dokku COMMAND:help\" for a command's details, or \"dokku help --all\" for every command.\n",
        );
        log::data("Commands:\n");
    }
    let core_rows: Vec<(String, String)> = core
        .iter()
        .filter_map(|l| split_row(l))
        .filter(|(name, _)| all || !name.contains(':'))
        .map(|(name, desc)| {
            if all {
                (name, desc)
            } else {
                (strip_args(&name), desc)
            }
        })
        .collect();
    print_rows(core_rows);
    let community_rows: Vec<(String, String)> =
        community.iter().filter_map(|l| split_row(l)).collect();
    if !community_rows.is_empty() {
        if !env::quiet() {
            log::data("\nCommunity plugin commands:\n");
        }
        print_rows(community_rows);
    }
    Ok(0)
}

fn is_under(dir: &Path, root: Option<&Path>) -> bool {
    match (dir.canonicalize(), root) {
        (Ok(d), Some(r)) => d.starts_with(r),
        _ => false,
    }
}

/// `    name args, description` -> (`name args`, `description`).
fn split_row(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (name, desc) = line.split_once(", ").or_else(|| line.split_once(','))?;
    Some((name.trim().to_string(), desc.trim().to_string()))
}

/// Drops the argument synopsis: everything from the first space before `[`, `<`, `-`, `(`.
fn strip_args(name: &str) -> String {
    let bytes = name.as_bytes();
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] == b' ' && matches!(bytes[i + 1], b'[' | b'<' | b'-' | b'(') {
            return name[..i].to_string();
        }
    }
    name.to_string()
}

fn print_rows(mut rows: Vec<(String, String)>) {
    rows.sort();
    rows.dedup();
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, desc) in rows {
        log::data(&format!("    {name:<width$}  {desc}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_and_strip() {
        assert_eq!(
            split_row("    apps:create <app>, Create a new app"),
            Some(("apps:create <app>".into(), "Create a new app".into()))
        );
        assert_eq!(strip_args("cleanup [<app>]"), "cleanup");
        assert_eq!(strip_args("apps:create <app>"), "apps:create");
        assert_eq!(strip_args("apps"), "apps");
        assert_eq!(split_row("   "), None);
    }
}
