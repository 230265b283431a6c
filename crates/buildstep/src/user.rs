//! The account buildpacks and the app run as (`USER`, herokuish's `herokuishuser` by
//! default), read from `/etc/passwd` directly: the binary is static and has no name
//! service to ask.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// The account herokuish images run apps as.
pub const DEFAULT_USER: &str = "herokuishuser";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl Account {
    /// The entry for `name` in `passwd` (the text of `/etc/passwd`).
    pub fn find(passwd: &str, name: &str) -> Option<Account> {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields[..] {
                [user, _, uid, gid, ..] if user == name => Some(Account {
                    name: name.to_string(),
                    uid: uid.parse().ok()?,
                    gid: gid.parse().ok()?,
                }),
                _ => None,
            }
        })
    }

    /// The account named `name` on this system.
    pub fn named(name: &str) -> Result<Account> {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        match Account::find(&passwd, name) {
            Some(account) => Ok(account),
            None => bail!("no user {name} in /etc/passwd"),
        }
    }

    /// The account that owns `path`.
    pub fn owner_of(path: &Path) -> Result<Account> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let name = passwd
            .lines()
            .find(|l| l.split(':').nth(2) == Some(&meta.uid().to_string()))
            .and_then(|l| l.split(':').next())
            .unwrap_or_default()
            .to_string();
        Ok(Account {
            name,
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }

    /// Whether this process must change to the account to act as it (it is root and the
    /// account is not).
    pub fn needs_switch(&self) -> bool {
        nix::unistd::geteuid().is_root() && self.uid != 0
    }

    /// Makes `command` run as this account, when this process is root.
    pub fn apply(&self, command: &mut Command) {
        if !self.needs_switch() {
            return;
        }
        let (uid, gid) = (self.uid, self.gid);
        #[allow(unsafe_code)]
        // SAFETY: between fork and exec the closure only makes async-signal-safe system
        // calls (setgroups, setgid, setuid) and allocates nothing.
        unsafe {
            command.pre_exec(move || switch_ids(uid, gid));
        }
    }

    /// Becomes this account for good (before exec), when this process is root.
    pub fn become_it(&self) -> Result<()> {
        if self.needs_switch() {
            switch_ids(self.uid, self.gid)?;
        }
        Ok(())
    }

    /// `chown -R` of `path` to this account, when this process is root.
    pub fn take(&self, path: &Path) -> Result<()> {
        if !nix::unistd::geteuid().is_root() || !path.exists() {
            return Ok(());
        }
        let status = Command::new("chown")
            .args(["-R", &format!("{}:{}", self.uid, self.gid)])
            .arg(path)
            .status()?;
        if !status.success() {
            bail!("chown of {} failed", path.display());
        }
        Ok(())
    }
}

fn switch_ids(uid: u32, gid: u32) -> std::io::Result<()> {
    use nix::unistd::{Gid, Uid, setgid, setgroups, setuid};
    let gid = Gid::from_raw(gid);
    setgroups(&[gid])?;
    setgid(gid)?;
    setuid(Uid::from_raw(uid))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_passwd_lines() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      herokuishuser:x:32767:32767::/app:/bin/bash\n";
        assert_eq!(
            Account::find(passwd, DEFAULT_USER),
            Some(Account {
                name: DEFAULT_USER.into(),
                uid: 32767,
                gid: 32767
            })
        );
        assert_eq!(Account::find(passwd, "herokuish"), None);
        assert_eq!(Account::find("bad:x:y:0\n", "bad"), None);
    }
}
