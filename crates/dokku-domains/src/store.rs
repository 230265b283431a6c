//! Domain files: `$DOKKU_ROOT/VHOST` (global) and `$DOKKU_ROOT/<app>/VHOST`, one domain per
//! line. Whether an app uses vhosts is the `NO_VHOST` config var (Dokku's), read and set
//! through the config plugin's triggers.

use std::path::PathBuf;

use anyhow::Result;
use dokku_core::entry::Ctx;
use dokku_core::env::Roots;
use dokku_core::fs::{AppPresence, FileLock, read_optional, write_atomic};
use dokku_core::property::GLOBAL;
use dokku_core::trigger::Trigger;

use crate::hostname;

pub struct Domains {
    pub roots: Roots,
}

impl Domains {
    pub fn new(ctx: &Ctx) -> Domains {
        Domains {
            roots: ctx.roots.clone(),
        }
    }

    fn path(&self, slot: &str) -> PathBuf {
        if slot == GLOBAL {
            self.roots.dokku_root.join("VHOST")
        } else {
            self.roots.app_dir(slot).join("VHOST")
        }
    }

    /// One lock for every domain write: two apps racing for one domain cannot both win.
    /// A write to an app's list first holds the app's existence lock (always in that
    /// order, so a destroy's own domain cleanup never waits on a writer that waits on it).
    pub fn lock(&self, slot: &str) -> Result<(Option<AppPresence>, FileLock)> {
        let app = match slot {
            GLOBAL => None,
            app => Some(dokku_core::app::lock_existing(&self.roots, app)?),
        };
        Ok((
            app,
            FileLock::wait(&self.roots.data_dir("domains", ".lock"))?,
        ))
    }

    /// The domains of an app (or `--global`), in the order they were added.
    pub fn list(&self, slot: &str) -> Result<Vec<String>> {
        Ok(read_optional(&self.path(slot))?
            .map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn write(&self, slot: &str, domains: &[String]) -> Result<()> {
        let text: String = domains.iter().map(|d| format!("{d}\n")).collect();
        write_atomic(&self.path(slot), text.as_bytes(), 0o644)
    }

    /// The app (other than `except`) that already serves `domain`.
    pub fn owner(&self, domain: &str, except: &str) -> Result<Option<String>> {
        let Ok(entries) = std::fs::read_dir(&self.roots.dokku_root) else {
            return Ok(None);
        };
        let mut apps: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("VHOST").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name != except)
            .collect();
        apps.sort();
        for app in apps {
            if self.list(&app)?.iter().any(|d| d == domain) {
                return Ok(Some(app));
            }
        }
        Ok(None)
    }

    /// For every global domain that is a hostname (none for an IP): the name a plugin
    /// gives through `nginx-hostname APP SUBDOMAIN VHOST`, else `<app>.<global>`, or the
    /// app's own name when it has a dot (Dokku's rule: `test.dokku.test` is its domain).
    pub fn defaults(&self, app: &str) -> Result<Vec<String>> {
        let mut domains = Vec::new();
        for global in self.list(GLOBAL)? {
            if hostname::is_ip(&global) {
                continue;
            }
            let subdomain = app
                .strip_suffix(global.as_str())
                .and_then(|s| s.strip_suffix('.'))
                .unwrap_or(app);
            let from_plugin = Trigger::with_roots("nginx-hostname", self.roots.clone())
                .args([app, subdomain, global.as_str()])
                .output_string()?;
            let domain = match from_plugin.trim() {
                "" if app.contains('.') => app.to_string(),
                "" => format!("{app}.{global}"),
                named => named.to_string(),
            };
            if hostname::parse(&domain).is_ok() && !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        Ok(domains)
    }

    pub fn vhost_enabled(&self, app: &str) -> Result<bool> {
        let ctx = dokku_core::entry::Ctx {
            roots: self.roots.clone(),
        };
        Ok(dokku_core::ask::config_value(&ctx, app, "NO_VHOST")?.trim() != "1")
    }

    /// [`Domains::vhost_enabled`] of many apps, asked of the config plugin in one round.
    pub fn vhosts_enabled(&self, apps: &[&str]) -> Result<Vec<bool>> {
        let calls: Vec<Vec<String>> = apps
            .iter()
            .map(|app| vec![app.to_string(), "NO_VHOST".into()])
            .collect();
        Ok(Trigger::with_roots("config-get", self.roots.clone())
            .output_each(&calls)?
            .iter()
            .map(|value| value.trim() != "1")
            .collect())
    }

    /// Sets `NO_VHOST` quietly and without a restart: the proxy rebuilds on
    /// `post-domains-update`.
    pub fn set_vhost_enabled(&self, app: &str, enabled: bool) -> Result<()> {
        let pair = format!("NO_VHOST={}", if enabled { "0" } else { "1" });
        Trigger::with_roots("config-set", self.roots.clone())
            .args(["--no-restart", app, &pair])
            .stream()
    }
}
