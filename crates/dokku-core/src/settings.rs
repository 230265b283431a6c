//! A plugin's settable properties, declared once as a table: the `<plugin>:set` command,
//! the value a property takes for an app (app, else global, else default), and the
//! properties' share of `post-app-clone-setup`, `post-app-rename-setup` and `post-delete`.

use anyhow::{Result, bail};

use crate::app::{self, AppName, Target};
use crate::entry::Ctx;
use crate::log;
use crate::property::{GLOBAL, Properties};
use crate::report::{Report, ReportRequest};

/// Where a property may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    AppOnly,
    GlobalOnly,
    AppOrGlobal,
}

/// One settable property.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub scope: Scope,
    /// The value when neither the app nor the global slot sets one.
    pub default: &'static str,
    /// Checks a new value; its error is the user's one-line message. A check that accepts
    /// an empty value makes it a value; otherwise an empty value unsets the property.
    pub validate: fn(&str) -> Result<()>,
}

/// A whole number of seconds from 0 to `MAX`.
pub fn seconds<const MAX: u64>(value: &str) -> Result<()> {
    let ok =
        value.chars().all(|c| c.is_ascii_digit()) && value.parse::<u64>().is_ok_and(|n| n <= MAX);
    if !ok {
        anyhow::bail!("Invalid number of seconds {value:?}: 0 to {MAX}");
    }
    Ok(())
}

/// `true` or `false`.
pub fn boolean(value: &str) -> Result<()> {
    match value {
        "true" | "false" => Ok(()),
        _ => bail!("Invalid value {value:?}: use true or false"),
    }
}

/// A relative path inside an app's repository, without `..` (`build-dir`,
/// `dockerfile-path`).
pub fn relative_path(value: &str) -> Result<()> {
    use std::path::{Component, Path};
    let inside = !value.is_empty()
        && Path::new(value)
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside || value.chars().any(char::is_control) {
        bail!("Invalid path {value:?}: a relative path inside the repository");
    }
    Ok(())
}

/// A plugin's table of settable properties, stored under `config/<namespace>/`.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub namespace: &'static str,
    pub table: &'static [Setting],
}

/// What a `:set` changed: the caller may have more to do (the git plugin repoints HEAD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub target: Target,
    pub key: &'static str,
    /// `None` when the property was unset.
    pub value: Option<String>,
}

/// `<plugin>:set`'s arguments (a plugin with keys beyond its table parses them too).
#[derive(clap::Parser)]
pub struct SetArgs {
    #[arg(long)]
    pub global: bool,
    /// `<app> <key> [<value>]`, or `<key> [<value>]` with --global.
    #[arg(num_args = 0..=3, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

impl Settings {
    /// The `<plugin>:set [--global | <app>] <key> [<value>]` command itself.
    pub fn set_command(&self, ctx: &Ctx, args: &[String]) -> Result<Change> {
        let name = format!("{}:set", self.namespace);
        let cmd: SetArgs = crate::entry::parse(&name, args)?;
        self.set(ctx, cmd.global, &cmd.rest)
    }

    /// The settings' share of an app's lifecycle: `post-app-clone-setup` and
    /// `post-app-rename-setup OLD NEW` give the new app the old app's properties (when the
    /// table has any an app may set), `post-delete APP` removes the app's properties and
    /// the plugin's data directory for it.
    pub fn app_lifecycle_trigger(&self, ctx: &Ctx, trigger: &str, args: &[String]) -> Result<()> {
        if trigger == "post-delete" {
            let app = AppName::parse(args.first().ok_or(crate::Error::MissingApp)?)?;
            self.properties(ctx).destroy_app(app.as_str())?;
            return crate::fs::remove_dir_all_if_exists(
                &ctx.roots.data_dir(self.namespace, app.as_str()),
            );
        }
        let [old, new] = crate::entry::exactly::<2>(trigger, args)?;
        let (old, new) = (AppName::parse(old)?, AppName::parse(new)?);
        if self.table.iter().all(|s| s.scope == Scope::GlobalOnly) {
            return Ok(());
        }
        self.properties(ctx).clone_app(old.as_str(), new.as_str())
    }

    pub fn properties(&self, ctx: &Ctx) -> Properties {
        Properties::new(&ctx.roots, self.namespace)
    }

    fn setting(&self, key: &str) -> Result<&Setting> {
        self.table.iter().find(|s| s.key == key).ok_or_else(|| {
            let keys: Vec<&str> = self.table.iter().map(|s| s.key).collect();
            anyhow::anyhow!(
                "Invalid property specified, valid properties include: {}",
                keys.join(", ")
            )
        })
    }

    /// `<plugin>:set [--global | <app>] <key> [<value>]`: a value sets the property, none
    /// unsets it. `words` are the command's words after `--global` was taken out.
    pub fn set(&self, ctx: &Ctx, global: bool, words: &[String]) -> Result<Change> {
        let (target, rest) = Target::parse(&ctx.roots, global, words)?;
        let (key, value) = match rest {
            [] => bail!("No property specified"),
            [key] => (key, None),
            [key, value] => (key, Some(value.clone())),
            [_, _, extra, ..] => bail!("Unexpected argument {extra:?}"),
        };
        let setting = self.setting(key)?;
        // As in Dokku, an empty value unsets, unless the setting gives emptiness a meaning
        // of its own (its check accepts it: an empty `rev-env-var` records no revision).
        let value = value.filter(|v| !v.is_empty() || (setting.validate)(v).is_ok());
        match (setting.scope, &target) {
            (Scope::GlobalOnly, Target::App(_)) => {
                bail!("Property cannot be specified on a per-app basis")
            }
            (Scope::AppOnly, Target::Global) => {
                bail!("Property cannot be specified globally")
            }
            _ => {}
        }
        if let Some(value) = &value {
            (setting.validate)(value)?;
        }
        let _app = match &target {
            Target::App(app) => Some(app::lock_existing(&ctx.roots, app.as_str())?),
            Target::Global => None,
        };
        let props = self.properties(ctx);
        match &value {
            Some(value) => {
                log::info2_quiet(&format!("Setting {key} to {value}"));
                props.set(target.slot(), setting.key, value)?;
            }
            None => {
                log::info2_quiet(&format!("Unsetting {key}"));
                props.delete(target.slot(), setting.key)?;
            }
        }
        Ok(Change {
            target,
            key: setting.key,
            value,
        })
    }

    /// The value a property takes for `slot`: the slot's own, else the global one, else
    /// the table's default.
    pub fn computed(&self, ctx: &Ctx, slot: &str, key: &str) -> Result<String> {
        let setting = self.setting(key)?;
        self.properties(ctx).computed(slot, key, setting.default)
    }

    /// The report rows of an app's settings, Dokku's way: for each key its computed, global
    /// and app values (`<ns>-computed-<key>`, `<ns>-global-<key>`, `<ns>-<key>`), plus
    /// `extra` rows, sorted by key as Dokku sorts its report flags.
    pub fn report(&self, ctx: &Ctx, app: &str, extra: Vec<(String, String)>) -> Result<Report> {
        let props = self.properties(ctx);
        let ns = self.namespace;
        let mut rows = extra;
        for setting in self.table {
            let key = setting.key;
            let own = props.get(app, key)?.unwrap_or_default();
            let global = props.get(GLOBAL, key)?.unwrap_or_default();
            if setting.scope != Scope::AppOnly {
                rows.push((format!("{ns}-global-{key}"), global));
            }
            if setting.scope != Scope::GlobalOnly {
                rows.push((
                    format!("{ns}-computed-{key}"),
                    self.computed(ctx, app, key)?,
                ));
                rows.push((format!("{ns}-{key}"), own));
            }
        }
        rows.sort();
        Ok(rows
            .into_iter()
            .fold(Report::new(app, ns), |r, (k, v)| r.row(&k, v)))
    }

    /// `<plugin>:report --global`: each global value and (unless `values_only`) its
    /// computed value (the global value, else the default).
    fn global_report(&self, ctx: &Ctx, values_only: bool) -> Result<Report> {
        let props = self.properties(ctx);
        let ns = self.namespace;
        let mut rows = Vec::new();
        for setting in self.table.iter().filter(|s| s.scope != Scope::AppOnly) {
            let key = setting.key;
            rows.push((
                format!("{ns}-global-{key}"),
                props.get(GLOBAL, key)?.unwrap_or_default(),
            ));
            if !values_only {
                rows.push((
                    format!("{ns}-computed-{key}"),
                    self.computed(ctx, GLOBAL, key)?,
                ));
            }
        }
        rows.sort();
        Ok(rows
            .into_iter()
            .fold(Report::new(GLOBAL, ns), |r, (k, v)| r.row(&k, v)))
    }

    /// `<plugin>:report [<app>|--global] [--format json] [--<flag>]` over
    /// [`Settings::report`]; `extra` gives the rows beyond the settings for every app the
    /// report covers at once, in their order.
    pub fn print_report(
        &self,
        ctx: &Ctx,
        args: &[String],
        global_values_only: bool,
        extra: impl FnOnce(&[AppName]) -> Result<Vec<Vec<(String, String)>>>,
    ) -> Result<()> {
        let request = ReportRequest::parse(args)?;
        if request.app.as_deref() == Some(GLOBAL) {
            return self.global_report(ctx, global_values_only)?.print(&request);
        }
        crate::report::print_for_apps_prepared(
            &request,
            &ctx.roots,
            self.namespace,
            |apps| {
                let rows = extra(apps)?;
                if rows.len() != apps.len() {
                    bail!(
                        "{}:report: rows for {} of {} apps",
                        self.namespace,
                        rows.len(),
                        apps.len()
                    );
                }
                Ok(apps
                    .iter()
                    .map(|a| a.to_string())
                    .zip(rows)
                    .collect::<std::collections::BTreeMap<_, _>>())
            },
            |app, rows| {
                let extra = rows.get(app.as_str()).cloned().unwrap_or_default();
                self.report(ctx, app.as_str(), extra)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Settings = Settings {
        namespace: "demo-plugin",
        table: &[
            Setting {
                key: "only-global",
                scope: Scope::GlobalOnly,
                default: "false",
                validate: boolean,
            },
            Setting {
                key: "anywhere",
                scope: Scope::AppOrGlobal,
                default: "x",
                validate: |_| Ok(()),
            },
        ],
    };

    #[test]
    fn seconds_are_whole_and_bounded() {
        assert!(seconds::<3600>("0").is_ok() && seconds::<3600>("3600").is_ok());
        for bad in ["", "-1", "+5", "3601", "1.5", "60s"] {
            assert!(seconds::<3600>(bad).is_err(), "{bad:?}");
        }
        assert!(seconds::<{ u64::MAX }>("86400").is_ok());
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn set_validates_scope_key_and_value_then_computes() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            roots: crate::env::Roots::under(dir.path()),
        };
        std::fs::create_dir_all(ctx.roots.app_dir("demo")).unwrap();
        let err = |w: &[&str], global| {
            SETTINGS
                .set(&ctx, global, &words(w))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&["demo", "only-global", "true"], false),
            "Property cannot be specified on a per-app basis"
        );
        assert_eq!(
            err(&["only-global", "maybe"], true),
            "Invalid value \"maybe\": use true or false"
        );
        assert!(err(&["demo", "bogus", "1"], false).starts_with("Invalid property specified"));
        assert_eq!(
            err(&["nope", "anywhere", "1"], false),
            "App nope does not exist"
        );
        assert_eq!(
            err(&[], false),
            "Please specify an app to run the command on"
        );
        assert_eq!(SETTINGS.computed(&ctx, "demo", "anywhere").unwrap(), "x");
        SETTINGS
            .set(&ctx, false, &words(&["--global", "anywhere", "g"]))
            .unwrap();
        assert_eq!(SETTINGS.computed(&ctx, "demo", "anywhere").unwrap(), "g");
        let change = SETTINGS
            .set(&ctx, false, &words(&["demo", "anywhere", "a"]))
            .unwrap();
        assert_eq!(change.value.as_deref(), Some("a"));
        assert_eq!(SETTINGS.computed(&ctx, "demo", "anywhere").unwrap(), "a");
        SETTINGS
            .set(&ctx, false, &words(&["demo", "anywhere"]))
            .unwrap();
        assert_eq!(SETTINGS.computed(&ctx, "demo", "anywhere").unwrap(), "g");
    }
}
