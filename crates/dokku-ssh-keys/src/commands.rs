//! `ssh-keys:*` commands and the triggers through which other plugins (deploy keys) add
//! and remove their own lines. This plugin is the only writer of `authorized_keys`.

use dokku_core::entry::Ctx;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::entry::parse;
use dokku_core::env;
use dokku_core::fs::{FileLock, read_optional, write_atomic_owned};
use dokku_core::{Error, log, privilege};

use crate::keys::{self, Entry, OPTIONS};

struct AuthorizedKeys {
    path: PathBuf,
}

impl AuthorizedKeys {
    /// The file, opened as the dokku user: root switches to it first (this plugin keeps
    /// root only to read a key file root named), so a link the dokku user planted in
    /// `.ssh` never makes root read or write anything.
    fn new(ctx: &Ctx) -> Result<AuthorizedKeys> {
        let roots = &ctx.roots;
        privilege::drop_to_system_user(roots)?;
        Ok(AuthorizedKeys {
            path: roots.dokku_root.join(".ssh/authorized_keys"),
        })
    }

    fn lock(&self) -> Result<FileLock> {
        FileLock::wait(&self.path.with_file_name(".authorized_keys.lock"))
    }

    /// When root writes (a host whose `.ssh` the dokku user does not own, so root did not
    /// switch users), the new file goes to the owner of `.ssh`, as whom sshd reads it.
    fn owner(&self) -> Option<(u32, u32)> {
        use std::os::unix::fs::MetadataExt;
        self.path
            .parent()
            .and_then(|dir| std::fs::metadata(dir).ok())
            .map(|m| (m.uid(), m.gid()))
            .filter(|_| nix::unistd::geteuid().is_root())
    }

    fn lines(&self) -> Result<Vec<String>> {
        Ok(read_optional(&self.path)?
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect())
    }

    /// The keys, once every line of the file was found to be one: a file someone broke
    /// by hand is refused rather than rewritten around its damage (as in Dokku).
    fn entries(&self) -> Result<Vec<Entry>> {
        let lines = self.lines()?;
        if let Some(n) = lines.iter().position(|l| !is_key_line(l)) {
            bail!(
                "{} line {} is not a public key: fix or remove it",
                self.path.display(),
                n + 1
            );
        }
        Ok(lines.iter().filter_map(|l| Entry::parse(l)).collect())
    }

    fn write(&self, lines: &[String]) -> Result<()> {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        write_atomic_owned(&self.path, text.as_bytes(), 0o600, self.owner())
    }

    /// Appends a key under `name`, refusing a duplicate name or fingerprint.
    fn add(&self, name: &str, text: &str) -> Result<String> {
        let (key, fingerprint) = keys::validate(text)?;
        let dokku_bin = dokku_bin()?;
        let _lock = self.lock()?;
        let entries = self.entries()?;
        if entries.iter().any(|e| e.name == name) {
            bail!("Duplicate ssh key name: {name}");
        }
        if let Some(e) = entries.iter().find(|e| e.fingerprint == fingerprint) {
            bail!(
                "Duplicate ssh public key specified: it is already added as {}",
                e.name
            );
        }
        let mut lines = self.lines()?;
        lines.push(
            Entry {
                fingerprint: fingerprint.clone(),
                name: name.to_string(),
                options: OPTIONS.to_string(),
                key,
            }
            .render(&dokku_bin),
        );
        self.write(&lines)?;
        Ok(fingerprint)
    }

    /// Removes the lines `matches` picks; lines this plugin did not write are kept.
    /// Removes the matching keys; whether there were any. Removing what is not there
    /// leaves the file as it is and is no error (as in Dokku).
    fn remove(&self, matches: impl Fn(&Entry) -> bool) -> Result<bool> {
        let _lock = self.lock()?;
        let lines = self.lines()?;
        let kept: Vec<String> = lines
            .iter()
            .filter(|l| !Entry::parse(l).is_some_and(|e| matches(&e)))
            .cloned()
            .collect();
        if kept.len() == lines.len() {
            return Ok(false);
        }
        self.write(&kept)?;
        Ok(true)
    }
}

/// A line of authorized_keys that sshd reads as a key (ours, or one added by hand), a
/// comment, or blank.
fn is_key_line(line: &str) -> bool {
    let line = line.trim();
    line.is_empty()
        || line.starts_with('#')
        || Entry::parse(line).is_some()
        || line
            .split_whitespace()
            .any(|w| ["ssh-", "ecdsa-", "sk-"].iter().any(|p| w.starts_with(p)))
}

/// The dispatcher sshd runs for every key; its path goes into a shell command line.
fn dokku_bin() -> Result<String> {
    let bin = env::dokku_bin();
    if !bin.starts_with('/')
        || !bin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'))
    {
        bail!("The dokku path {bin:?} cannot be put in authorized_keys safely");
    }
    Ok(bin)
}

/// A key from FILE, or from stdin when it is a pipe (never a waiting terminal).
fn read_key(file: Option<&str>) -> Result<String> {
    if let Some(file) = file {
        return std::fs::read_to_string(file).with_context(|| format!("reading {file}"));
    }
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("No key specified via file or pipe");
    }
    let mut text = String::new();
    stdin.read_to_string(&mut text).context("reading the key")?;
    Ok(text)
}

#[derive(Parser)]
struct Add {
    #[arg(value_name = "NAME")]
    name: String,
    #[arg(value_name = "FILE")]
    file: Option<String>,
}

pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Add = parse("ssh-keys:add", args)?;
    if !dokku_core::name::is_key_name(&cmd.name) {
        bail!(
            "Invalid key name {:?}: letters, digits, '-', '_', '.' and '@', starting with a letter or digit",
            cmd.name
        );
    }
    let text = read_key(cmd.file.as_deref())?;
    let fingerprint = AuthorizedKeys::new(ctx)?.add(&cmd.name, &text)?;
    log::data(&fingerprint);
    Ok(())
}

#[derive(Parser)]
struct Remove {
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "name")]
    fingerprint: Option<String>,
    #[arg(value_name = "NAME", required_unless_present = "fingerprint")]
    name: Option<String>,
}

pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Remove = parse("ssh-keys:remove", args)?;
    let file = AuthorizedKeys::new(ctx)?;
    let (what, removed) = match (cmd.fingerprint, cmd.name) {
        (Some(fp), _) => {
            let removed = file.remove(|e| e.fingerprint == fp)?;
            (fp, removed)
        }
        (None, Some(name)) => {
            let removed = file.remove(|e| e.name == name)?;
            (name, removed)
        }
        (None, None) => bail!("Specify a key name or --fingerprint"),
    };
    if removed {
        log::info1_quiet("Key removed");
    } else {
        log::warn(&format!("No ssh key found for {what}"));
    }
    Ok(())
}

#[derive(Parser)]
struct List {
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    format: String,
    #[arg(value_name = "NAME")]
    name: Option<String>,
}

pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("ssh-keys:list", args)?;
    let entries: Vec<Entry> = AuthorizedKeys::new(ctx)?
        .entries()?
        .into_iter()
        .filter(|e| cmd.name.as_ref().is_none_or(|n| *n == e.name))
        .collect();
    if cmd.format == "json" {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "fingerprint": e.fingerprint,
                    "name": e.name,
                    "SSHCOMMAND_ALLOWED_KEYS": e.options,
                    "public-key": e.key,
                })
            })
            .collect();
        log::data(&serde_json::to_string(&rows)?);
        return Ok(());
    }
    // No keys at all is worth saying; a name no key has is an empty answer and a failure,
    // as grep gives it (and Dokku).
    if entries.is_empty() {
        if cmd.name.is_none() {
            log::warn("No public keys found.");
        }
        return Err(Error::Exit(1).into());
    }
    for e in entries {
        log::data(&format!(
            "{} NAME=\"{}\" SSHCOMMAND_ALLOWED_KEYS=\"{}\"",
            e.fingerprint, e.name, e.options
        ));
    }
    Ok(())
}

fn stdin_text() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the key")?;
    Ok(text)
}

/// `ssh-keys-add NAME` (key on stdin): prints the fingerprint. For plugins such as deploy
/// keys, whose names (`deploy:...`) never clash with an admin's.
pub fn trigger_add(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [name] = args else {
        bail!("ssh-keys-add: expected NAME")
    };
    if !keys::valid_internal_name(name) {
        bail!("Invalid key name {name:?}");
    }
    let fingerprint = AuthorizedKeys::new(ctx)?.add(name, &stdin_text()?)?;
    log::raw(fingerprint.as_bytes());
    Ok(())
}

/// `ssh-keys-remove FINGERPRINT`.
pub fn trigger_remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [fp] = args else {
        bail!("ssh-keys-remove: expected FINGERPRINT")
    };
    if !AuthorizedKeys::new(ctx)?.remove(|e| e.fingerprint == *fp)? {
        bail!("No ssh key found for {fp}");
    }
    Ok(())
}

/// `ssh-keys-fingerprint` (key on stdin): validates it and prints its fingerprint.
pub fn trigger_fingerprint(_ctx: &Ctx, _args: &[String]) -> Result<()> {
    let (_, fingerprint) = keys::validate(&stdin_text()?)?;
    log::raw(fingerprint.as_bytes());
    Ok(())
}

/// `ssh-keys-list`: `FINGERPRINT NAME` lines.
pub fn trigger_list(ctx: &Ctx, _args: &[String]) -> Result<()> {
    for e in AuthorizedKeys::new(ctx)?.entries()? {
        log::data(&format!("{} {}", e.fingerprint, e.name));
    }
    Ok(())
}
