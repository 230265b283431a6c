//! The process types whose checks are skipped (`checks:skip`) or which deploy without
//! zero downtime (`checks:disable`): the properties `skipped` and `disabled`, each a comma
//! list or `_all_`, as Dokku stores them.

use anyhow::{Result, bail};
use dokku_core::entry::Ctx;

const ALL: &str = "_all_";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum List {
    Disabled,
    Skipped,
}

impl List {
    pub fn key(self) -> &'static str {
        match self {
            List::Disabled => "disabled",
            List::Skipped => "skipped",
        }
    }
}

/// A stored list: every process type, or the ones named.
#[derive(Debug, PartialEq, Eq)]
pub enum Listed {
    All,
    Types(Vec<String>),
}

impl Listed {
    fn parse(text: &str) -> Listed {
        if text.trim() == ALL {
            return Listed::All;
        }
        Listed::Types(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    pub fn includes(&self, kind: &str) -> bool {
        match self {
            Listed::All => true,
            Listed::Types(types) => types.iter().any(|t| t == kind),
        }
    }

    /// How reports show it: `_all_`, `web,worker`, or `none`.
    pub fn shown(&self) -> String {
        match self {
            Listed::All => ALL.into(),
            Listed::Types(types) if types.is_empty() => "none".into(),
            Listed::Types(types) => types.join(","),
        }
    }

    /// As stored: `_all_`, `web,worker`, or empty.
    pub fn stored(&self) -> String {
        match self {
            Listed::All => ALL.into(),
            Listed::Types(types) => types.join(","),
        }
    }

    fn add(self, types: Option<&[String]>) -> Listed {
        match (self, types) {
            (Listed::All, _) | (_, None) => Listed::All,
            (Listed::Types(mut have), Some(add)) => {
                for kind in add {
                    if !have.contains(kind) {
                        have.push(kind.clone());
                    }
                }
                Listed::Types(have)
            }
        }
    }

    /// Without `types`, everything goes; `_all_` minus some is every one of `known` but
    /// those.
    fn remove(self, types: Option<&[String]>, known: &[String]) -> Listed {
        let Some(remove) = types else {
            return Listed::Types(Vec::new());
        };
        let have = match self {
            Listed::All => known.to_vec(),
            Listed::Types(have) => have,
        };
        Listed::Types(have.into_iter().filter(|t| !remove.contains(t)).collect())
    }
}

/// `web,worker` -> the process types, checked; None (every type) when not given.
pub fn parse_types(text: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let types: Vec<String> = text.split(',').map(|t| t.trim().to_string()).collect();
    for kind in &types {
        let valid = !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid || kind == ALL {
            bail!("Invalid process type {kind:?}: use names as in the Procfile, comma-separated");
        }
    }
    Ok(Some(types))
}

pub fn get(ctx: &Ctx, app: &str, list: List) -> Result<Listed> {
    let text = crate::SETTINGS
        .properties(ctx)
        .get(app, list.key())?
        .unwrap_or_default();
    Ok(Listed::parse(&text))
}

fn put(ctx: &Ctx, app: &str, list: List, value: Listed) -> Result<()> {
    let props = crate::SETTINGS.properties(ctx);
    match value.stored() {
        text if text.is_empty() => props.delete(app, list.key()),
        text => props.set(app, list.key(), &text),
    }
}

/// The types go onto `list` and off the other one (a type is skipped or disabled, not
/// both); with `add` false they go off both.
pub fn change(
    ctx: &Ctx,
    app: &str,
    list: Option<List>,
    types: Option<&[String]>,
    known: &[String],
) -> Result<()> {
    for each in [List::Disabled, List::Skipped] {
        let now = get(ctx, app, each)?;
        let next = if Some(each) == list {
            now.add(types)
        } else {
            now.remove(types, known)
        };
        put(ctx, app, each, next)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn lists_add_and_remove_as_dokku_does() {
        let empty = Listed::parse("");
        assert_eq!(empty.shown(), "none");
        assert!(!empty.includes("web"));
        let some = Listed::parse("").add(Some(&types(&["web", "worker"])));
        assert_eq!(some.shown(), "web,worker");
        assert!(some.includes("worker") && !some.includes("clock"));
        let all = some.add(None);
        assert_eq!(all, Listed::All);
        assert!(all.includes("anything"));
        let known = types(&["web", "worker", "clock"]);
        let fewer = Listed::All.remove(Some(&types(&["worker"])), &known);
        assert_eq!(fewer.shown(), "web,clock");
        assert_eq!(fewer.remove(None, &known).shown(), "none");
        assert_eq!(Listed::parse(" _all_ "), Listed::All);
    }

    #[test]
    fn process_types_are_checked() {
        assert_eq!(parse_types(None).expect("none"), None);
        assert_eq!(
            parse_types(Some("web,worker")).expect("two"),
            Some(types(&["web", "worker"]))
        );
        for bad in ["", "web,", "we b", "_all_", "web;rm"] {
            assert!(parse_types(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
