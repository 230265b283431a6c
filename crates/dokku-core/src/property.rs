//! The property store, laid out as Dokku lays it out: `$DOKKU_LIB_ROOT/config/<plugin>/<app|--global>/<key>`,
//! one value per file (no trailing newline), lists one item per line, files 0600.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use anyhow::Result;

use crate::env::Roots;
use crate::fs::{read_optional, remove_dir_all_if_exists, remove_file_if_exists, write_atomic};

/// The `<app>` slot for global values.
pub const GLOBAL: &str = "--global";

#[derive(Debug, Clone)]
pub struct Properties {
    dir: PathBuf,
}

impl Properties {
    pub fn new(roots: &Roots, plugin: &str) -> Properties {
        Properties {
            dir: roots.config_dir().join(plugin),
        }
    }

    fn path(&self, app: &str, key: &str) -> PathBuf {
        self.dir.join(app).join(key)
    }

    pub fn get(&self, app: &str, key: &str) -> Result<Option<String>> {
        read_optional(&self.path(app, key))
    }

    /// The app's value, else the global one, else `default` (Dokku's "computed" value).
    pub fn computed(&self, app: &str, key: &str, default: &str) -> Result<String> {
        if let Some(v) = self.get(app, key)?.filter(|v| !v.is_empty()) {
            return Ok(v);
        }
        Ok(self
            .get(GLOBAL, key)?
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string()))
    }

    pub fn set(&self, app: &str, key: &str, value: &str) -> Result<()> {
        write_atomic(&self.path(app, key), value.as_bytes(), 0o600)
    }

    pub fn delete(&self, app: &str, key: &str) -> Result<()> {
        remove_file_if_exists(&self.path(app, key))
    }

    pub fn list(&self, app: &str, key: &str) -> Result<Vec<String>> {
        Ok(self
            .get(app, key)?
            .map(|s| {
                s.lines()
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn set_list(&self, app: &str, key: &str, items: &[String]) -> Result<()> {
        if items.is_empty() {
            return self.delete(app, key);
        }
        let mut text = items.join("\n");
        text.push('\n');
        write_atomic(&self.path(app, key), text.as_bytes(), 0o600)
    }

    /// Every key of an app with its value, sorted by key.
    pub fn all(&self, app: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let Ok(entries) = fs::read_dir(self.dir.join(app)) else {
            return Ok(out);
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            out.insert(name, fs::read_to_string(entry.path())?);
        }
        Ok(out)
    }

    /// Every app (or `--global`) slot that has properties in this namespace, sorted.
    pub fn slots(&self) -> Result<Vec<String>> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut slots: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        slots.sort();
        Ok(slots)
    }

    /// Removes every property of an app (its `post-delete`).
    pub fn destroy_app(&self, app: &str) -> Result<()> {
        remove_dir_all_if_exists(&self.dir.join(app))
    }

    /// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`, as a trigger handler.
    pub fn copy_trigger(&self, args: &[String]) -> Result<()> {
        let [old, new] = crate::entry::exactly::<2>("post-app-clone-setup", args)?;
        self.clone_app(old, new)
    }

    /// `post-delete APP`, as a trigger handler: the app's properties go.
    pub fn delete_trigger(&self, args: &[String]) -> Result<()> {
        let app = args.first().ok_or(crate::Error::MissingApp)?;
        self.destroy_app(app)
    }

    /// Copies every property of `old` to `new` (`post-app-clone-setup`).
    pub fn clone_app(&self, old: &str, new: &str) -> Result<()> {
        for (key, value) in self.all(old)? {
            self.set(new, &key, &value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_set_computed_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let props = Properties::new(&Roots::under(dir.path()), "git");
        assert_eq!(props.get("demo", "deploy-branch").unwrap(), None);
        assert_eq!(
            props.computed("demo", "deploy-branch", "master").unwrap(),
            "master"
        );
        props.set(GLOBAL, "deploy-branch", "main").unwrap();
        assert_eq!(
            props.computed("demo", "deploy-branch", "master").unwrap(),
            "main"
        );
        props.set("demo", "deploy-branch", "prod").unwrap();
        assert_eq!(
            props.computed("demo", "deploy-branch", "master").unwrap(),
            "prod"
        );
        let raw = fs::read(dir.path().join("lib/config/git/demo/deploy-branch")).unwrap();
        assert_eq!(raw, b"prod");
        props
            .set_list("demo", "mounts", &["/a:/b".into(), "/c:/d".into()])
            .unwrap();
        assert_eq!(props.list("demo", "mounts").unwrap(), ["/a:/b", "/c:/d"]);
    }

    #[test]
    fn clone_and_destroy() {
        let dir = tempfile::tempdir().unwrap();
        let props = Properties::new(&Roots::under(dir.path()), "apps");
        props.set("a", "created-at", "1").unwrap();
        props.clone_app("a", "b").unwrap();
        assert_eq!(props.get("b", "created-at").unwrap().as_deref(), Some("1"));
        props.destroy_app("b").unwrap();
        assert!(props.all("b").unwrap().is_empty());
        assert_eq!(props.get("a", "created-at").unwrap().as_deref(), Some("1"));
    }
}
