//! The `resource:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};

pub(crate) const DEFAULT_TYPE: &str = "_default_";

pub(crate) const RESOURCES: [&str; 7] = [
    "cpu",
    "memory",
    "memory-swap",
    "network",
    "network-ingress",
    "network-egress",
    "nvidia-gpu",
];

pub(crate) fn properties(ctx: &Ctx) -> Properties {
    Properties::new(&ctx.roots, "resource")
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Limit,
    Reserve,
}

impl Kind {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Kind::Limit => "limit",
            Kind::Reserve => "reserve",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Limit => "limits",
            Kind::Reserve => "reservation",
        }
    }
}

#[derive(Parser)]
pub(crate) struct Set {
    #[arg(long = "process-type", value_name = "TYPE")]
    process_type: Option<String>,
    #[arg(long)]
    cpu: Option<String>,
    #[arg(long)]
    memory: Option<String>,
    #[arg(long = "memory-swap")]
    memory_swap: Option<String>,
    #[arg(long)]
    network: Option<String>,
    #[arg(long = "network-ingress")]
    network_ingress: Option<String>,
    #[arg(long = "network-egress")]
    network_egress: Option<String>,
    #[arg(long = "nvidia-gpu")]
    nvidia_gpu: Option<String>,
    #[arg(value_name = "APP")]
    app: String,
}

/// A process type as the Procfile names it, `_default_` when none is given.
pub(crate) fn process_type(given: Option<&str>) -> Result<String> {
    let Some(kind) = given else {
        return Ok(DEFAULT_TYPE.into());
    };
    let valid = !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!("Invalid process type {kind:?}: use a name as in the Procfile");
    }
    Ok(kind.to_string())
}

/// A number with an optional fraction (`0.5`, `2`).
pub(crate) fn is_decimal(value: &str) -> bool {
    let mut parts = value.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// A size: digits and an optional unit (`b`, `k`, `m`, `g`, `B`, `KB`, `MB`, `GB`).
pub(crate) fn is_size(value: &str) -> bool {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &value[digits.len()..];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && ["", "b", "k", "m", "g", "B", "KB", "MB", "GB"].contains(&unit)
}

/// Checks a value before it is stored (`clear` removes one).
pub(crate) fn check_value(resource: &str, value: &str) -> Result<()> {
    let valid = value == "clear"
        || match resource {
            "cpu" => is_decimal(value),
            "memory" => is_size(value),
            "memory-swap" => value == "-1" || is_size(value),
            "nvidia-gpu" => value == "all" || value.chars().all(|c| c.is_ascii_digit()),
            _ => is_size(value) || value.chars().all(|c| c.is_ascii_digit()),
        };
    if !valid || value.is_empty() {
        bail!("Invalid {resource} value {value:?}");
    }
    Ok(())
}

pub(crate) fn set(ctx: &Ctx, name: &str, args: &[String], kind: Kind) -> Result<()> {
    let cmd: Set = parse(name, args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let process = process_type(cmd.process_type.as_deref())?;
    let given: Vec<(&str, String)> = [
        ("cpu", cmd.cpu),
        ("memory", cmd.memory),
        ("memory-swap", cmd.memory_swap),
        ("network", cmd.network),
        ("network-ingress", cmd.network_ingress),
        ("network-egress", cmd.network_egress),
        ("nvidia-gpu", cmd.nvidia_gpu),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    let props = properties(ctx);
    let scope = if process == DEFAULT_TYPE {
        String::new()
    } else {
        format!(" ({process})")
    };
    if given.is_empty() {
        let which = if process == DEFAULT_TYPE {
            " [defaults]".to_string()
        } else {
            scope
        };
        log::info2_quiet(&format!(
            "resource {} {app} information{which}",
            kind.noun()
        ));
        for resource in RESOURCES {
            let key = format!("{process}.{}.{resource}", kind.key());
            let value = props.get(app.as_str(), &key)?.unwrap_or_default();
            log::verbose(format!("{resource}: {value}").trim_end());
        }
        return Ok(());
    }
    for (resource, value) in &given {
        check_value(resource, value)?;
    }
    log::info2_quiet(&format!(
        "Setting resource {} for {app}{scope}",
        kind.noun()
    ));
    for (resource, value) in given {
        let key = format!("{process}.{}.{resource}", kind.key());
        if value == "clear" {
            log::verbose(&format!("{resource}: cleared"));
            props.delete(app.as_str(), &key)?;
        } else {
            log::verbose(&format!("{resource}: {value}"));
            props.set(app.as_str(), &key, &value)?;
        }
    }
    Ok(())
}

pub(crate) fn limit(ctx: &Ctx, args: &[String]) -> Result<()> {
    set(ctx, "resource:limit", args, Kind::Limit)
}

pub(crate) fn reserve(ctx: &Ctx, args: &[String]) -> Result<()> {
    set(ctx, "resource:reserve", args, Kind::Reserve)
}

#[derive(Parser)]
pub(crate) struct Clear {
    #[arg(long = "process-type", value_name = "TYPE")]
    process_type: Option<String>,
    #[arg(value_name = "APP")]
    app: String,
}

/// Clears one kind (limits or reservations), of one process type or of all.
pub(crate) fn clear(ctx: &Ctx, name: &str, args: &[String], kind: Kind) -> Result<()> {
    let cmd: Clear = parse(name, args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let only = match cmd.process_type.as_deref() {
        Some(given) => Some(process_type(Some(given))?),
        None => None,
    };
    let scope = only
        .as_deref()
        .filter(|p| *p != DEFAULT_TYPE)
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    log::info1_quiet(&format!(
        "Clearing resource {} for {app}{scope}",
        kind.noun()
    ));
    let props = properties(ctx);
    for key in props.all(app.as_str())?.keys() {
        let mut parts = key.splitn(3, '.');
        let (process, what) = (parts.next(), parts.next());
        if what == Some(kind.key()) && (only.is_none() || only.as_deref() == process) {
            props.delete(app.as_str(), key)?;
        }
    }
    Ok(())
}

pub(crate) fn limit_clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    clear(ctx, "resource:limit-clear", args, Kind::Limit)
}

pub(crate) fn reserve_clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    clear(ctx, "resource:reserve-clear", args, Kind::Reserve)
}

pub(crate) fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    dokku_core::report::print_for_apps(&request, &ctx.roots, "resource", |app| {
        Ok(properties(ctx)
            .all(app.as_str())?
            .into_iter()
            .fold(Report::new(app.as_str(), "resource"), |r, (k, v)| {
                r.row(&format!("resource-{k}"), v)
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_before_they_become_flags() {
        for (resource, good) in [
            ("cpu", "0.5"),
            ("cpu", "2"),
            ("memory", "512"),
            ("memory", "1g"),
            ("memory", "100MB"),
            ("memory-swap", "-1"),
            ("nvidia-gpu", "all"),
            ("cpu", "clear"),
        ] {
            assert!(check_value(resource, good).is_ok(), "{resource} {good}");
        }
        for (resource, bad) in [
            ("cpu", ""),
            ("cpu", ".5"),
            ("cpu", "1 --privileged"),
            ("memory", "1t"),
            ("memory", "g"),
            ("memory", "512 --privileged"),
            ("memory-swap", "-2"),
            ("nvidia-gpu", "some"),
        ] {
            assert!(check_value(resource, bad).is_err(), "{resource} {bad:?}");
        }
    }

    #[test]
    fn process_types_are_plain_names() {
        assert_eq!(process_type(None).expect("default"), DEFAULT_TYPE);
        assert_eq!(process_type(Some("worker")).expect("worker"), "worker");
        for bad in ["", "a b", "../x", "web.1"] {
            assert!(process_type(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
