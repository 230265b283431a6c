//! `git:auth` and `git:auth-status`: the dokku user's `~/.netrc`, whose entries git uses to
//! fetch from https remotes that need a login (`git:sync`, private submodules).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Ctx, parse};
use dokku_core::{Error, log};

/// One `machine` entry; anything else the file holds is kept as it is.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    machine: String,
    login: String,
    password: String,
}

/// The file: its entries, and the text of what is not an entry of ours (`default`,
/// `macdef`, comments), kept in front.
#[derive(Debug, Default)]
struct Netrc {
    other: Vec<String>,
    entries: Vec<Entry>,
}

impl Netrc {
    fn parse(text: &str) -> Netrc {
        let mut netrc = Netrc::default();
        let mut tokens = text.split_whitespace().peekable();
        while let Some(token) = tokens.next() {
            match token {
                "machine" => {
                    let machine = tokens.next().unwrap_or_default().to_string();
                    let mut entry = Entry {
                        machine,
                        login: String::new(),
                        password: String::new(),
                    };
                    while let Some(&key) = tokens.peek() {
                        if key == "machine" || key == "default" || key == "macdef" {
                            break;
                        }
                        tokens.next();
                        let value = tokens.next().unwrap_or_default().to_string();
                        match key {
                            "login" => entry.login = value,
                            "password" => entry.password = value,
                            _ => {}
                        }
                    }
                    netrc.entries.push(entry);
                }
                other => netrc.other.push(other.to_string()),
            }
        }
        netrc
    }

    fn render(&self) -> String {
        let mut text = String::new();
        if !self.other.is_empty() {
            text.push_str(&self.other.join(" "));
            text.push('\n');
        }
        for entry in &self.entries {
            text.push_str(&format!(
                "machine {}\n  login {}\n  password {}\n",
                entry.machine, entry.login, entry.password
            ));
        }
        text
    }

    fn get(&self, host: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.machine == host)
    }
}

fn path(ctx: &Ctx) -> PathBuf {
    ctx.roots.dokku_root.join(".netrc")
}

fn load(ctx: &Ctx) -> Result<Netrc> {
    Ok(Netrc::parse(
        &dokku_core::fs::read_optional(&path(ctx))?.unwrap_or_default(),
    ))
}

/// Written whole, readable by the dokku user alone.
fn save(ctx: &Ctx, netrc: &Netrc) -> Result<()> {
    dokku_core::fs::write_atomic(&path(ctx), netrc.render().as_bytes(), 0o600)
}

/// A netrc token: one word (the file's format has no quoting).
fn token(what: &str, value: &str) -> Result<()> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("Invalid {what}: no spaces or line breaks");
    }
    Ok(())
}

#[derive(Parser)]
struct Auth {
    #[arg(value_name = "HOST")]
    host: Option<String>,
    #[arg(value_name = "USERNAME")]
    username: Option<String>,
    #[arg(value_name = "PASSWORD")]
    password: Option<String>,
}

impl Auth {
    /// The host, the username, and the password (from stdin when piped and not given).
    fn read(self) -> Result<(String, Option<String>, Option<String>)> {
        let Some(host) = self.host.filter(|h| !h.is_empty()) else {
            bail!("Please supply a git host");
        };
        token("host", &host)?;
        let username = self.username.filter(|u| !u.is_empty());
        let mut password = self.password.filter(|p| !p.is_empty());
        if username.is_some() && password.is_none() && !std::io::stdin().is_terminal() {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            password = text
                .lines()
                .next()
                .map(String::from)
                .filter(|p| !p.is_empty());
        }
        if username.is_some() && password.is_none() {
            bail!("Missing password for netrc auth entry");
        }
        for (what, value) in [("username", &username), ("password", &password)] {
            if let Some(value) = value {
                token(what, value)?;
            }
        }
        Ok((host, username, password))
    }
}

/// `git:auth HOST [USERNAME [PASSWORD]]`: sets the host's login (the password may come on
/// stdin), or without a username removes it.
pub fn auth(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Auth = parse("git:auth", args)?;
    let (host, username, password) = cmd.read()?;
    let mut netrc = load(ctx)?;
    netrc.entries.retain(|e| e.machine != host);
    match (username, password) {
        (Some(login), Some(password)) => {
            log::info1(&format!("Setting netrc auth entry for host {host}"));
            netrc.entries.push(Entry {
                machine: host,
                login,
                password,
            });
        }
        _ => log::info1(&format!("Removing netrc auth entry for host {host}")),
    }
    save(ctx, &netrc)
}

/// `git:auth-status HOST [USERNAME [PASSWORD]]`: succeeds when the host's login is the one
/// given, or with no username when the host has none.
pub fn auth_status(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Auth = parse("git:auth-status", args)?;
    let (host, username, password) = cmd.read()?;
    let netrc = load(ctx)?;
    let current = netrc.get(&host);
    let matches = match (&username, current) {
        (None, current) => current.is_none(),
        (Some(login), Some(entry)) => {
            &entry.login == login && Some(&entry.password) == password.as_ref()
        }
        (Some(_), None) => false,
    };
    if !matches {
        return Err(Error::Exit(1).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_set_and_written_back() {
        let mut netrc = Netrc::parse(
            "machine github.com login a password b\nmachine example.com\n  login c\n  password d\n",
        );
        assert_eq!(
            netrc.get("example.com").map(|e| e.login.as_str()),
            Some("c")
        );
        netrc.entries.retain(|e| e.machine != "github.com");
        let again = Netrc::parse(&netrc.render());
        assert!(again.get("github.com").is_none());
        assert_eq!(again.get("example.com").unwrap().password, "d");
    }
}
