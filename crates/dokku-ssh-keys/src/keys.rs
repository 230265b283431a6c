//! `authorized_keys` lines in sshcommand's shape, and public-key validation.
//!
//! A line: `command="FINGERPRINT=SHA256:... NAME=\"admin\" /usr/local/bin/dokku",OPTIONS TYPE
//! BASE64 [COMMENT]`. sshd runs the command through the user's shell, so every piece put
//! into it is checked to be inert there (no quotes, `$`, backquotes, backslashes or spaces).

use std::path::Path;

use anyhow::{Result, bail};
use dokku_core::cmd::Cmd;

/// sshcommand's default restrictions (`SSHCOMMAND_ALLOWED_KEYS`). A pty stays allowed:
/// `dokku run` and `enter` need one.
pub const OPTIONS: &str = "no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding";

const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub name: String,
    pub options: String,
    /// `TYPE BASE64 [COMMENT]`.
    pub key: String,
}

/// True for characters that mean nothing to a shell inside double quotes and nothing to
/// sshd's option parser.
fn inert(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':' | '+' | '/' | '=')
        })
}

/// Names other plugins give their keys (`deploy:SHA256:...`): inert, but wider.
pub fn valid_internal_name(name: &str) -> bool {
    inert(name) && name.len() <= 128
}

impl Entry {
    pub fn render(&self, dokku_bin: &str) -> String {
        format!(
            "command=\"FINGERPRINT={} NAME=\\\"{}\\\" {dokku_bin}\",{} {}",
            self.fingerprint, self.name, self.options, self.key
        )
    }

    /// Reads a line this plugin (or sshcommand, or dokku-alt with `NAME=name`) wrote;
    /// `None` for any other line, which is kept as it is.
    pub fn parse(line: &str) -> Option<Entry> {
        let rest = line.strip_prefix("command=\"")?;
        let mut command = String::new();
        let mut chars = rest.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        command.push(n);
                    }
                }
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => command.push(c),
            }
        }
        let after = &rest[end? + 1..];
        let (options, key) = after.strip_prefix(',')?.split_once(' ')?;
        let mut fingerprint = None;
        let mut name = None;
        for word in command.split_whitespace() {
            if let Some(fp) = word.strip_prefix("FINGERPRINT=") {
                fingerprint = Some(fp.to_string());
            } else if let Some(n) = word.strip_prefix("NAME=") {
                name = Some(n.trim_matches('"').to_string());
            }
        }
        Some(Entry {
            fingerprint: fingerprint?,
            name: name?,
            options: options.to_string(),
            key: key.trim().to_string(),
        })
    }
}

/// Checks that `text` is exactly one public key of a known type and returns the key line
/// and its SHA256 fingerprint (computed by `ssh-keygen -lf`).
pub fn validate(text: &str) -> Result<(String, String)> {
    if text.contains("PRIVATE KEY") {
        bail!(
            "That is a private key: give the public key (the .pub file), and keep the private key secret"
        );
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = match lines.as_slice() {
        [] => bail!("No public key given"),
        [line] => *line,
        _ => bail!("Too many keys provided: give exactly one public key"),
    };
    let key_type = line.split_whitespace().next().unwrap_or_default();
    if !KEY_TYPES.contains(&key_type) {
        bail!(
            "Invalid ssh public key: unknown key type {key_type:?} (options before the key are not accepted)"
        );
    }
    if line.chars().any(|c| c.is_control()) {
        bail!("Invalid ssh public key: it contains control characters");
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("key.pub");
    dokku_core::fs::write_atomic(&file, format!("{line}\n").as_bytes(), 0o600)?;
    let fingerprint = fingerprint_of(&file)?;
    Ok((line.to_string(), fingerprint))
}

fn fingerprint_of(file: &Path) -> Result<String> {
    let out = Cmd::new("ssh-keygen")
        .args(["-E", "sha256", "-lf"])
        .arg(file)
        .output_unchecked()?;
    let text = out.stdout_str();
    match text.split_whitespace().nth(1) {
        Some(fp) if out.code == 0 && fp.starts_with("SHA256:") && inert(fp) => Ok(fp.to_string()),
        _ => bail!("Invalid ssh public key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let entry = Entry {
            fingerprint: "SHA256:abc+/=".into(),
            name: "admin".into(),
            options: OPTIONS.into(),
            key: "ssh-ed25519 AAAAC3Nz user@host".into(),
        };
        let line = entry.render("/usr/local/bin/dokku");
        assert_eq!(
            line,
            "command=\"FINGERPRINT=SHA256:abc+/= NAME=\\\"admin\\\" /usr/local/bin/dokku\",no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding ssh-ed25519 AAAAC3Nz user@host"
        );
        assert_eq!(Entry::parse(&line), Some(entry));
    }

    #[test]
    fn reads_sshcommand_and_dokku_alt_lines() {
        let sshcommand = "command=\"FINGERPRINT=SHA256:x NAME=\\\"bob\\\" `cat /home/dokku/.sshcommand` $SSH_ORIGINAL_COMMAND\",no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding ssh-rsa AAAAB3 bob@laptop";
        let e = Entry::parse(sshcommand).unwrap();
        assert_eq!(
            (e.fingerprint.as_str(), e.name.as_str()),
            ("SHA256:x", "bob")
        );
        assert_eq!(e.key, "ssh-rsa AAAAB3 bob@laptop");
        let alt = "command=\"FINGERPRINT=aa:bb NAME=alice `cat /home/dokku/.sshcommand` $SSH_ORIGINAL_COMMAND\",no-pty ssh-rsa AAAAB3";
        assert_eq!(Entry::parse(alt).unwrap().name, "alice");
        assert_eq!(Entry::parse("ssh-rsa AAAAB3 hand@added"), None);
    }

    #[test]
    fn names() {
        use dokku_core::name::is_key_name;
        assert!(is_key_name("admin") && is_key_name("ci.bot@example-1"));
        for bad in [
            "",
            "-x",
            "a b",
            "a\"b",
            "a$b",
            "a`b",
            "a\\b",
            "deploy:x",
            &"a".repeat(65),
        ] {
            assert!(!is_key_name(bad), "{bad:?}");
        }
        assert!(valid_internal_name("deploy:SHA256:ab+/="));
        assert!(!valid_internal_name("deploy:\"x"));
    }

    #[test]
    fn refuses_private_keys_garbage_and_options() {
        for bad in [
            "",
            "\n\n",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
            "hello world",
            "command=\"id\" ssh-ed25519 AAAA",
            "ssh-ed25519 AAAA\nssh-ed25519 BBBB",
            "ssh-ed25519 notbase64!!",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} accepted");
        }
    }
}
