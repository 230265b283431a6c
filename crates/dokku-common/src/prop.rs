//! `common/prop OP PLUGIN [APP] [KEY] [VALUE] [INDEX]`: the property store as Dokku's bash
//! property functions drive it. Values print with one trailing newline (nothing when
//! empty); a missing value is empty, not an error; lists are one item per line.

use anyhow::{Result, bail};
use dokku_core::Error;
use dokku_core::entry::Ctx;
use dokku_core::log;
use dokku_core::property::Properties;

/// One path component of the store: what a plugin, app or key name may be.
fn component<'a>(what: &str, value: Option<&'a String>) -> Result<&'a str> {
    let Some(value) = value else {
        bail!("prop: missing {what}");
    };
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && !value.contains('/')
        && !value.contains('\0');
    if !plain {
        bail!("prop: invalid {what} '{value}'");
    }
    Ok(value)
}

/// A value argument: absent is empty, as the Go helper reads it.
fn word(args: &[String], at: usize) -> &str {
    args.get(at).map(String::as_str).unwrap_or("")
}

/// A list index argument: a number, or (where allowed) absent for 0.
fn index(args: &[String], at: usize, may_be_empty: bool) -> Result<usize> {
    match args.get(at).map(String::as_str) {
        None | Some("") if may_be_empty => Ok(0),
        Some(text) => text.parse().map_err(|_| Error::Exit(1).into()),
        None => Err(Error::Exit(1).into()),
    }
}

/// A property directory, 0755 as Dokku makes them.
fn make_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

struct Store {
    props: Properties,
    app: String,
    key: String,
}

impl Store {
    fn lines(&self) -> Result<Vec<String>> {
        Ok(self
            .props
            .get(&self.app, &self.key)?
            .map(|text| text.lines().map(String::from).collect())
            .unwrap_or_default())
    }

    /// Rewrites the whole list (an empty list keeps an empty file: the key still exists).
    fn write_lines(&self, lines: &[String]) -> Result<()> {
        let mut text = lines.join("\n");
        if !lines.is_empty() {
            text.push('\n');
        }
        self.props.set(&self.app, &self.key, &text)
    }
}

pub(crate) fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    let op = args.first().map(String::as_str).unwrap_or("");
    let plugin = component("plugin name", args.get(1))?;
    let props = Properties::new(&ctx.roots, plugin);
    let dir = ctx.roots.config_dir().join(plugin);
    match op {
        "setup" => return make_dir(&dir),
        "setup-app" => {
            let app = component("app", args.get(2))?;
            return make_dir(&dir.join(app));
        }
        "destroy" => {
            let app = component("app", args.get(2))?;
            if app == "_all_" {
                return dokku_core::fs::remove_dir_all_if_exists(&dir);
            }
            return props.destroy_app(app);
        }
        "clone" => {
            let old = component("app", args.get(2))?;
            let new = component("app", args.get(3))?;
            return props.clone_app(old, new);
        }
        "get-all" | "get-all-by-prefix" => {
            let app = component("app", args.get(2))?;
            let prefix = word(args, 3);
            for (key, value) in props.all(app)? {
                if key.starts_with(prefix) {
                    log::data(&format!("{key} {}", value.trim_end_matches('\n')));
                }
            }
            return Ok(());
        }
        "migrate-config-to-property" => return migrate(ctx, plugin, &args[2..]),
        _ => {}
    }
    let store = Store {
        props,
        app: component("app", args.get(2))?.to_string(),
        key: component("property", args.get(3))?.to_string(),
    };
    let value = word(args, 4);
    match op {
        "set" => store.props.set(&store.app, &store.key, value),
        "del" => store.props.delete(&store.app, &store.key),
        "exists" => match store.props.get(&store.app, &store.key)? {
            Some(_) => Ok(()),
            None => Err(Error::Exit(1).into()),
        },
        "get" | "get-with-default" => {
            let found = store.props.get(&store.app, &store.key)?;
            let text = found.unwrap_or_else(|| value.to_string());
            if !text.is_empty() {
                log::data(&text);
            }
            Ok(())
        }
        "lrange" => {
            for line in store.lines()? {
                log::data(&line);
            }
            Ok(())
        }
        "llen" => {
            log::data(&store.lines()?.len().to_string());
            Ok(())
        }
        "lindex" => {
            let at = index(args, 4, false)?;
            match store.lines()?.get(at) {
                Some(line) => {
                    log::data(line);
                    Ok(())
                }
                None => bail!("Index not found"),
            }
        }
        "lismember" => {
            if store.lines()?.iter().any(|l| l == value) {
                Ok(())
            } else {
                bail!("Value not found")
            }
        }
        "rpush" => {
            let at = index(args, 5, true)?;
            let mut lines = store.lines()?;
            let item = value.trim().to_string();
            if at == 0 || at > lines.len() {
                lines.push(item);
            } else {
                lines.insert(at - 1, item);
            }
            store.write_lines(&lines)
        }
        "lset" => {
            let at = index(args, 5, false)?;
            let mut lines = store.lines()?;
            let item = value.trim().to_string();
            match lines.get_mut(at) {
                Some(line) => *line = item,
                None => lines.push(item),
            }
            store.write_lines(&lines)
        }
        "lrem" | "lrem-by-prefix" => {
            let lines = store.lines()?;
            let keep: Vec<String> = lines
                .iter()
                .filter(|l| match op {
                    "lrem" => l.as_str() != value,
                    _ => !l.starts_with(value),
                })
                .cloned()
                .collect();
            store.write_lines(&keep)?;
            if keep.len() == lines.len() {
                bail!("Property not found, nothing was removed");
            }
            Ok(())
        }
        "lwrite" => store.write_lines(&args[4..]),
        _ => bail!("prop: unknown operation '{op}'"),
    }
}

/// `prop migrate-config-to-property PLUGIN PROPERTY CONFIG_VAR [--global-config-var VAR]
/// [--list] [--transform NAME]`: Dokku's transforms by name.
fn migrate(ctx: &Ctx, plugin: &str, args: &[String]) -> Result<()> {
    let property = component("property", args.first())?;
    let var = args.get(1).map(String::as_str).filter(|v| !v.is_empty());
    let mut entry = dokku_core::ask::ConfigToProperty {
        property,
        var,
        global_var: None,
        transform: None,
        list: false,
    };
    let mut rest = args.iter().skip(2);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--list" => entry.list = true,
            "--global-config-var" => entry.global_var = rest.next().map(String::as_str),
            "--transform" => {
                entry.transform = Some(match rest.next().map(String::as_str) {
                    Some("restore-bool") => |v| (if v == "0" { "false" } else { "true" }).into(),
                    Some("non-empty-to-true") => {
                        |v| (if v.is_empty() { "" } else { "true" }).into()
                    }
                    Some("skip-all-checks-to-disabled") => {
                        |v| (if v == "true" { "_all_" } else { "" }).into()
                    }
                    Some("checks-enabled-to-skipped") => {
                        |v| (if v == "0" { "_all_" } else { "" }).into()
                    }
                    other => bail!("Unknown transform: {}", other.unwrap_or("")),
                })
            }
            other => bail!("prop migrate-config-to-property: unexpected argument {other:?}"),
        }
    }
    dokku_core::ask::migrate_config_to_property(ctx, plugin, &[entry])
}

#[cfg(test)]
mod tests {
    use super::*;
    use dokku_core::env::Roots;

    fn call(ctx: &Ctx, args: &[&str]) -> (Result<()>, String) {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (result, out) = log::capture(|| run(ctx, &args));
        (result, String::from_utf8_lossy(&out).into_owned())
    }

    fn ok(ctx: &Ctx, args: &[&str]) -> String {
        let (result, out) = call(ctx, args);
        result.unwrap();
        out
    }

    #[test]
    fn values_and_lists_behave_as_the_bash_functions_expect() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            roots: Roots::under(dir.path()),
        };
        ok(&ctx, &["setup", "svc"]);
        assert!(ctx.roots.config_dir().join("svc").is_dir());
        assert_eq!(ok(&ctx, &["get", "svc", "a", "k"]), "");
        assert_eq!(ok(&ctx, &["get-with-default", "svc", "a", "k", "d"]), "d\n");
        assert!(call(&ctx, &["exists", "svc", "a", "k"]).0.is_err());
        ok(&ctx, &["set", "svc", "a", "k", "v 1"]);
        assert_eq!(ok(&ctx, &["get", "svc", "a", "k"]), "v 1\n");
        assert_eq!(
            std::fs::read_to_string(ctx.roots.config_dir().join("svc/a/k")).unwrap(),
            "v 1"
        );
        ok(&ctx, &["rpush", "svc", "a", "l", "one"]);
        ok(&ctx, &["rpush", "svc", "a", "l", "three"]);
        ok(&ctx, &["rpush", "svc", "a", "l", " two ", "2"]);
        assert_eq!(ok(&ctx, &["lrange", "svc", "a", "l"]), "one\ntwo\nthree\n");
        assert_eq!(ok(&ctx, &["llen", "svc", "a", "l"]), "3\n");
        assert_eq!(ok(&ctx, &["lindex", "svc", "a", "l", "1"]), "two\n");
        assert!(call(&ctx, &["lindex", "svc", "a", "l", "9"]).0.is_err());
        ok(&ctx, &["lismember", "svc", "a", "l", "three"]);
        ok(&ctx, &["lset", "svc", "a", "l", "TWO", "1"]);
        ok(&ctx, &["lrem", "svc", "a", "l", "one"]);
        assert!(call(&ctx, &["lrem", "svc", "a", "l", "nope"]).0.is_err());
        assert_eq!(ok(&ctx, &["lrange", "svc", "a", "l"]), "TWO\nthree\n");
        assert_eq!(ok(&ctx, &["get-all", "svc", "a"]), "k v 1\nl TWO\nthree\n");
        ok(&ctx, &["clone", "svc", "a", "b"]);
        assert_eq!(ok(&ctx, &["get", "svc", "b", "k"]), "v 1\n");
        ok(&ctx, &["del", "svc", "b", "k"]);
        assert_eq!(ok(&ctx, &["get", "svc", "b", "k"]), "");
        ok(&ctx, &["destroy", "svc", "a"]);
        assert_eq!(ok(&ctx, &["get", "svc", "a", "k"]), "");
        ok(&ctx, &["destroy", "svc", "_all_"]);
        assert!(!ctx.roots.config_dir().join("svc").exists());
    }

    #[test]
    fn names_never_leave_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            roots: Roots::under(dir.path()),
        };
        for args in [
            &["set", "..", "a", "k", "v"][..],
            &["set", "svc", "../x", "k", "v"],
            &["set", "svc", "a", "", "v"],
            &["destroy", "svc", ".."],
        ] {
            assert!(call(&ctx, args).0.is_err(), "{args:?}");
        }
    }
}
