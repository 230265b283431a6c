//! `letsencrypt:set`: the settings table with the checks that keep lego from misreading a
//! value, and a DNS provider's credentials (`dns-provider-NAME`).

use anyhow::{Result, bail};
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;
use dokku_core::settings::{Scope, Setting, Settings};

pub(crate) const PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";

pub(crate) const STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Thirty days: a certificate closer than this to its expiry is renewed.
pub(crate) const DEFAULT_GRACE_PERIOD: &str = "2592000";

pub const SETTINGS: Settings = Settings {
    namespace: "letsencrypt",
    table: &[
        Setting {
            key: "dns-provider",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: provider,
        },
        Setting {
            key: "email",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: email,
        },
        Setting {
            key: "graceperiod",
            scope: Scope::AppOrGlobal,
            default: DEFAULT_GRACE_PERIOD,
            validate: dokku_core::settings::seconds::<{ u64::MAX }>,
        },
        Setting {
            key: "lego-args",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: lego_args,
        },
        Setting {
            key: "server",
            scope: Scope::AppOrGlobal,
            default: "default",
            validate: server,
        },
    ],
};

pub(crate) fn provider(value: &str) -> Result<()> {
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("Invalid DNS provider {value:?}: a lego provider name such as cloudflare");
    }
    if value == "exec" {
        bail!(
            "The exec DNS provider runs a program of the caller's choosing: use a provider with an API (httpreq for your own)"
        );
    }
    Ok(())
}

pub(crate) fn email(value: &str) -> Result<()> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
    };
    match value.split_once('@') {
        Some((user, domain)) if plain(user) && plain(domain) && domain.contains('.') => Ok(()),
        _ => bail!("Invalid email address {value:?}"),
    }
}

pub(crate) fn lego_args(value: &str) -> Result<()> {
    let words = shell_words::split(value)
        .map_err(|_| anyhow::anyhow!("Invalid lego arguments {value:?}: unbalanced quotes"))?;
    // These are the plugin's to choose: another path or webroot would put state where
    // nothing looks for it.
    if let Some(word) = words.iter().find(|w| {
        [
            "--path",
            "--http.webroot",
            "--server",
            "--email",
            "--domains",
            "-d",
        ]
        .iter()
        .any(|owned| w.as_str() == *owned || w.starts_with(&format!("{owned}=")))
    }) {
        bail!("Invalid lego arguments: {word} is set by the plugin");
    }
    Ok(())
}

pub(crate) fn server(value: &str) -> Result<()> {
    let url = value.starts_with("https://") || value.starts_with("http://");
    if !(matches!(value, "default" | "staging") || url) || value.contains(char::is_whitespace) {
        bail!("Invalid server {value:?}: default, staging or an ACME directory URL");
    }
    Ok(())
}

/// The prefix of the keys that hold a DNS provider's credentials: `dns-provider-NAME VALUE`
/// reaches lego as the environment variable `NAME`.
pub(crate) const CREDENTIAL_PREFIX: &str = "dns-provider-";

/// `letsencrypt:set`: the settings table's keys, and a DNS provider's credentials.
pub(crate) fn set_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: dokku_core::settings::SetArgs = parse("letsencrypt:set", args)?;
    let (target, rest) = dokku_core::app::Target::parse(&ctx.roots, cmd.global, &cmd.rest)?;
    let Some((key, value)) = rest.split_first() else {
        bail!("No property specified");
    };
    let Some(name) = key.strip_prefix(CREDENTIAL_PREFIX) else {
        return SETTINGS.set(ctx, cmd.global, &cmd.rest).map(|_| ());
    };
    credential_name(name)?;
    let props = SETTINGS.properties(ctx);
    match value {
        [] => {
            log::info2_quiet(&format!("Unsetting {key}"));
            props.delete(target.slot(), key)
        }
        [value] if !value.contains(['\n', '\0']) => {
            log::info2_quiet(&format!("Setting {key}"));
            props.set(target.slot(), key, value)
        }
        [_] => bail!("Invalid value for {key}: one line"),
        [_, extra, ..] => bail!("Unexpected argument {extra:?}"),
    }
}

/// Names no credential has: ones that tell a program where to load code or files from,
/// or change how lego itself or its runtime behave.
pub(crate) const NOT_CREDENTIALS: &[&str] = &[
    "ALL_PROXY",
    "BASH_",
    "DOCKER_",
    "DOKKU_",
    "EXEC_",
    "GCONV_",
    "GIT_",
    "GO",
    "HOME",
    "HOSTALIASES",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "LANG",
    "LC_",
    "LD_",
    "LEGO_",
    "LOCALDOMAIN",
    "MALLOC_",
    "NLSPATH",
    "NO_PROXY",
    "PATH",
    "PERL",
    "PYTHON",
    "RES_OPTIONS",
    "SHELL",
    "SSH_",
    "SSL_",
    "SUDO_",
    "TMP",
    "TZ",
    "XDG_",
];

/// A provider credential's name: `PROVIDER_SOMETHING` in capitals, never a name that
/// steers lego or the loader ([`NOT_CREDENTIALS`]).
pub(crate) fn credential_name(name: &str) -> Result<()> {
    let shaped = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.contains('_')
        && !name.ends_with('_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !shaped {
        bail!("Invalid credential name {name:?}: a provider's variable such as CF_DNS_API_TOKEN");
    }
    if let Some(prefix) = NOT_CREDENTIALS.iter().find(|p| name.starts_with(*p)) {
        bail!("{name} is not a DNS provider's credential (names starting {prefix} steer programs)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_refuse_what_lego_would_misread() {
        assert!(email("ops@example.com").is_ok());
        assert!(email("ops@localhost").is_err());
        assert!(email("a b@example.com").is_err());
        assert!(server("staging").is_ok());
        assert!(server("https://127.0.0.1:14000/dir").is_ok());
        assert!(server("ftp://x").is_err());
        assert!(lego_args("--key-type rsa2048").is_ok());
        assert!(lego_args("--path /tmp/x").is_err());
        assert!(lego_args("--server=https://evil").is_err());
        assert!(lego_args("'unbalanced").is_err());
        assert!(provider("cloudflare").is_ok());
        assert!(provider("cloud flare").is_err());
    }
}
