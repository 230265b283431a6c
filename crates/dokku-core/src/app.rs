//! App names: the only place the naming rules live.

use std::fmt;

use crate::error::Error;

/// Longest app name (Dokku sets none): it becomes part of hostnames, container and image
/// names.
pub const MAX_LEN: usize = 63;

/// Words that would read as something else where app names appear: a CLI keyword, a
/// property namespace marker, the name of the image namespace, or a file `$DOKKU_ROOT`
/// keeps for itself beside the app directories (`dokkurc`, the global `tls`; its other
/// files, `.ssh`, `.dokkurc`, `ENV`, `VHOST`, `HOSTNAME`, are no valid app name anyway).
pub const RESERVED: &[&str] = &[
    "all", "default", "dokku", "dokkurc", "global", "help", "tls", "version",
];

/// A validated app name, Dokku's rule: `^[a-z0-9][a-z0-9.-]*$` (a name with a dot is its
/// own default domain), at most 63 bytes, not reserved. Names from before that rule may
/// also hold underscores: such an app is still named (and served), but no new app is
/// created with one ([`AppName::check_new`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

impl AppName {
    pub fn parse(name: &str) -> Result<AppName, Error> {
        let invalid = |reason: &str| Error::InvalidAppName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if name.is_empty() {
            return Err(Error::MissingApp);
        }
        if name.len() > MAX_LEN {
            return Err(invalid("must be at most 63 characters"));
        }
        let first = name.as_bytes()[0];
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(invalid(
                "must begin with a lowercase alphanumeric character",
            ));
        }
        if !name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_'
        }) {
            return Err(invalid(
                "may only contain lowercase alphanumerics, dots, and hyphens",
            ));
        }
        if RESERVED.contains(&name) {
            return Err(invalid("is a reserved word"));
        }
        Ok(AppName(name.to_string()))
    }

    /// The rule for a name a new app takes: no underscore (only apps named before the
    /// rule keep one).
    pub fn check_new(&self) -> Result<(), Error> {
        if self.0.contains('_') {
            return Err(Error::InvalidAppName {
                name: self.0.clone(),
                reason: "may only contain lowercase alphanumerics, dots, and hyphens".into(),
            });
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AppName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for AppName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AppName::parse(s)
    }
}

/// The app a git client names in `git-receive-pack 'app'` (quotes kept by older clients,
/// a leading `/` from `ssh://host/app` remotes), shared by the git plugin and the
/// deploy-keys rule so both read the same app.
pub fn from_git_path(arg: &str) -> &str {
    arg.trim_matches('\'').trim_start_matches('/')
}

/// Does the app exist? Its directory under `$DOKKU_ROOT` is its existence.
pub fn exists(roots: &crate::env::Roots, app: &AppName) -> bool {
    roots.app_dir(app.as_str()).is_dir()
}

/// Validates the name and checks the app exists and is visible to the caller
/// (`user-auth-app`), as Dokku's `verify_app_name` does.
pub fn verify(roots: &crate::env::Roots, name: &str) -> Result<AppName, Error> {
    let app = AppName::parse(name)?;
    if !exists(roots, &app)
        || !visible(roots, std::slice::from_ref(&app))
            .map_err(|_| Error::AppNotFound(name.into()))?
            .contains(&app)
    {
        return Err(Error::AppNotFound(name.to_string()));
    }
    Ok(app)
}

/// Holds the app's existence lock (shared) and checks under it that the app exists: a
/// per-app write made while the guard lives never lands after the app's destroy.
pub fn lock_existing(
    roots: &crate::env::Roots,
    app: &str,
) -> anyhow::Result<crate::fs::AppPresence> {
    let name = AppName::parse(app)?;
    let guard = crate::fs::AppPresence::shared(&roots.lib_root, name.as_str())?;
    if !exists(roots, &name) {
        return Err(Error::AppNotFound(app.to_string()).into());
    }
    Ok(guard)
}

/// Whose settings or variables: the global slot or one app's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Global,
    App(AppName),
}

impl Target {
    /// The `<app>` slot of the property store.
    pub fn slot(&self) -> &str {
        match self {
            Target::Global => crate::property::GLOBAL,
            Target::App(app) => app.as_str(),
        }
    }

    /// `[--global | <app>]`: `--global` given as a flag, or the first word, which is
    /// `--global` or an existing app. Returns the target and the words after it. Every
    /// `[--global | <app>]` command parses its target here.
    pub fn parse<'a>(
        roots: &crate::env::Roots,
        global: bool,
        words: &'a [String],
    ) -> anyhow::Result<(Target, &'a [String])> {
        if global {
            return Ok((Target::Global, words));
        }
        match words.split_first() {
            Some((first, rest)) if first == crate::property::GLOBAL => Ok((Target::Global, rest)),
            Some((first, rest)) => Ok((Target::App(verify(roots, first)?), rest)),
            None => Err(Error::MissingApp.into()),
        }
    }
}

/// Every existing app, sorted, filtered through `user-auth-app` when a plugin implements it.
pub fn list(roots: &crate::env::Roots) -> anyhow::Result<Vec<AppName>> {
    let mut apps = Vec::new();
    let entries = match std::fs::read_dir(&roots.dokku_root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(apps),
        Err(e) => {
            return Err(
                anyhow::Error::from(e).context(format!("reading {}", roots.dokku_root.display()))
            );
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Ok(app) = AppName::parse(&name)
            && entry.path().is_dir()
        {
            apps.push(app);
        }
    }
    apps.sort();
    visible(roots, &apps)
}

/// Filters apps through the `user-auth-app` trigger (`SSH_USER SSH_NAME APP...`; stdout
/// lines are the allowed apps). Without an implementer every app is visible.
pub fn visible(roots: &crate::env::Roots, apps: &[AppName]) -> anyhow::Result<Vec<AppName>> {
    let trigger = crate::trigger::Trigger::with_roots("user-auth-app", roots.clone());
    if apps.is_empty() || !trigger.exists() {
        return Ok(apps.to_vec());
    }
    let (user, name) = crate::env::ssh_identity();
    let allowed = trigger
        .args([user, name])
        .args(apps.iter().map(|a| a.as_str().to_string()))
        .output_lines()?;
    Ok(apps
        .iter()
        .filter(|a| allowed.iter().any(|x| x == a.as_str()))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dokkus_names() {
        for ok in [
            "demo",
            "a",
            "0app",
            "my-app-2",
            "test.dokku.test",
            &"a".repeat(63),
        ] {
            assert_eq!(AppName::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_everything_else() {
        let too_long = "a".repeat(64);
        for bad in [
            "Demo", "a/b", "..", ".app", "my app", "-app", "_app", "a;id", "$(id)", "`id`", "a'b",
            "a\"b", "café", "app\n", &too_long, "global", "help", "dokkurc", "tls",
        ] {
            assert!(
                matches!(AppName::parse(bad), Err(Error::InvalidAppName { .. })),
                "{bad:?} should be invalid"
            );
        }
        assert!(matches!(AppName::parse(""), Err(Error::MissingApp)));
    }

    #[test]
    fn underscores_name_old_apps_only() {
        let old = AppName::parse("test_app").unwrap();
        assert_eq!(old.as_str(), "test_app");
        assert!(matches!(old.check_new(), Err(Error::InvalidAppName { .. })));
        assert!(AppName::parse("test-app").unwrap().check_new().is_ok());
    }

    #[test]
    fn messages_name_the_app_and_the_rule() {
        let err = AppName::parse("Demo").unwrap_err().to_string();
        assert_eq!(
            err,
            "App name 'Demo' must begin with a lowercase alphanumeric character"
        );
    }
}
