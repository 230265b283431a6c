//! The `ports` plugin: how an app's web process is reached, as `scheme:host-port:container-
//! port` mappings (Dokku's `ports:*`). The effective map (`ports-get`) is the one set with
//! `ports:add|set`, else the one the builder detected (`ports-set-detected`, from the
//! Dockerfile's `EXPOSE`), else `http:80:5000`. Proxies read it; the scheduler takes the web
//! process's `PORT` from its first TCP mapping. Every change fires
//! `post-proxy-ports-update APP ACTION`.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{AppListing, Command, Ctx, Plugin, TriggerEntry, exactly, parse};
use dokku_core::log;
use dokku_core::port_map::{Mapping, parse as parse_mapping, port};
use dokku_core::property::Properties;
use dokku_core::report::{Report, ReportRequest};

const MAP: &str = "map";
const DETECTED: &str = "map-detected";
const DEFAULT_MAP: &str = "http:80:5000";

pub const PLUGIN: Plugin = Plugin {
    name: "ports",
    description: "Manage ports for an app",
    commands: &[
        Command {
            name: "add",
            args: "<app> <scheme>:<host-port>:<container-port>...",
            help: "Add port mappings to an app",
            run: add,
        },
        Command {
            name: "clear",
            args: "<app>",
            help: "Clear all port mappings for an app",
            run: clear,
        },
        Command {
            name: "list",
            args: "<app> [--format stdout|json]",
            help: "List port mappings for an app",
            run: list,
        },
        Command {
            name: "remove",
            args: "<app> <host-port>|<scheme>:<host-port>:<container-port>...",
            help: "Remove specific port mappings from an app",
            run: remove,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a ports report for one or more apps",
            run: report,
        },
        Command {
            name: "set",
            args: "<app> <scheme>:<host-port>:<container-port>...",
            help: "Set port mappings for an app",
            run: set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "ports-clear",
            run: clear_trigger,
        },
        TriggerEntry {
            name: "ports-get",
            run: get,
        },
        TriggerEntry {
            name: "ports-set-detected",
            run: set_detected,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: copy,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: copy,
        },
        TriggerEntry {
            name: "post-certs-remove",
            run: drop_https_443,
        },
        TriggerEntry {
            name: "post-certs-update",
            run: add_https_443,
        },
        TriggerEntry {
            name: "post-delete",
            run: post_delete,
        },
    ],
    ..Plugin::DEFAULTS
};

fn properties(ctx: &Ctx) -> Properties {
    Properties::new(&ctx.roots, "ports")
}

fn stored(ctx: &Ctx, app: &str, key: &str) -> Result<Vec<Mapping>> {
    properties(ctx)
        .list(app, key)?
        .iter()
        .flat_map(|line| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|m| parse_mapping(&m).ok())
        .map(Ok)
        .collect()
}

/// The effective map: set, else detected, else the default.
fn effective(ctx: &Ctx, app: &str) -> Result<Vec<Mapping>> {
    for key in [MAP, DETECTED] {
        let map = stored(ctx, app, key)?;
        if !map.is_empty() {
            return Ok(map);
        }
    }
    Ok(vec![parse_mapping(DEFAULT_MAP)?])
}

/// Stores a map sorted as Dokku keeps it (by its text).
fn store(ctx: &Ctx, app: &str, key: &str, map: &[Mapping]) -> Result<()> {
    let mut lines: Vec<String> = map.iter().map(Mapping::to_string).collect();
    lines.sort();
    if lines.is_empty() {
        return properties(ctx).delete(app, key);
    }
    properties(ctx).set_list(app, key, &lines)
}

#[derive(Parser)]
struct Change {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "MAPPING", required = true)]
    mappings: Vec<String>,
}

/// Sets the app's map to what `change` makes of the effective one and the arguments, then
/// tells the proxy (`post-proxy-ports-update APP ACTION`).
fn edit(
    ctx: &Ctx,
    action: &str,
    args: &[String],
    change: impl Fn(Vec<Mapping>, &[String]) -> Result<Vec<Mapping>>,
) -> Result<()> {
    let cmd: Change = parse(&format!("ports:{action}"), args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let next = change(effective(ctx, app.as_str())?, &cmd.mappings)?;
    store(ctx, app.as_str(), MAP, &next)?;
    ctx.trigger("post-proxy-ports-update")
        .args([app.as_str(), action])
        .stream()
}

fn parse_all(words: &[String]) -> Result<Vec<Mapping>> {
    words.iter().map(|w| parse_mapping(w)).collect()
}

/// `ports:add APP MAPPING...`: the map gains them (a detected map is kept and added to);
/// a mapping already there, or a host port already mapped, is refused.
fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    edit(ctx, "add", args, |mut map, words| {
        for mapping in parse_all(words)? {
            if map.contains(&mapping) {
                bail!("Port mapping {mapping} already exists");
            }
            map.push(mapping);
        }
        one_mapping_per_host_port(&map)?;
        Ok(map)
    })
}

/// `ports:set APP MAPPING...`.
fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    edit(ctx, "set", args, |_, words| {
        let map = parse_all(words)?;
        one_mapping_per_host_port(&map)?;
        Ok(map)
    })
}

/// A host port answers for one mapping: two would be two servers on one port.
fn one_mapping_per_host_port(map: &[Mapping]) -> Result<()> {
    for (i, mapping) in map.iter().enumerate() {
        if let Some(other) = map[..i].iter().find(|m| m.host_port == mapping.host_port) {
            bail!(
                "Port mapping {mapping} conflicts with {other}: host port {} is already mapped",
                mapping.host_port
            );
        }
    }
    Ok(())
}

/// `ports:remove APP HOST-PORT|MAPPING...`: a bare host port (or `scheme:host-port`)
/// removes every mapping of that host port.
fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    edit(ctx, "remove", args, |mut map, words| {
        for word in words {
            let parts: Vec<&str> = word.split(':').collect();
            match parts[..] {
                [host] | [_, host] => {
                    let Some(host) = port(host) else {
                        bail!("Invalid host port {word:?}");
                    };
                    map.retain(|m| m.host_port != host);
                }
                _ => {
                    let mapping = parse_mapping(word)?;
                    map.retain(|m| *m != mapping);
                }
            }
        }
        Ok(map)
    })
}

fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("ports:clear", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    store(ctx, app.as_str(), MAP, &[])?;
    ctx.trigger("post-proxy-ports-update")
        .args([app.as_str(), "clear"])
        .stream()
}

/// `ports-clear APP`: the set map goes, silently.
fn clear_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("ports-clear", args)?;
    store(ctx, app, MAP, &[])
}

fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppListing = parse("ports:list", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let map = effective(ctx, app.as_str())?;
    if cmd.json() {
        let json: Vec<serde_json::Value> = map
            .iter()
            .map(|m| {
                serde_json::json!({
                    "scheme": m.scheme,
                    "host_port": m.host_port,
                    "container_port": m.container_port,
                })
            })
            .collect();
        log::data(&serde_json::to_string(&json)?);
        return Ok(());
    }
    log::info1(&format!("Port mappings for {app}"));
    log::info1(&format!(
        "{:<18} {:<25} {}",
        "scheme", "host port", "container port"
    ));
    for m in &map {
        log::data(&format!(
            "{:<25} {:<25} {}",
            m.scheme, m.host_port, m.container_port
        ));
    }
    Ok(())
}

fn joined(map: &[Mapping]) -> String {
    map.iter()
        .map(Mapping::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    dokku_core::report::print_for_apps(&request, &ctx.roots, "ports", |app| {
        let app = app.as_str();
        let as_json = |map: Vec<Mapping>| {
            serde_json::Value::Array(
                map.iter()
                    .map(|m| {
                        serde_json::json!({
                            "scheme": m.scheme,
                            "host_port": m.host_port,
                            "container_port": m.container_port,
                        })
                    })
                    .collect(),
            )
            .to_string()
        };
        // Until a build detects one, the detected map is the default, as Dokku reports it.
        let detected = match stored(ctx, app, DETECTED)? {
            map if map.is_empty() => vec![parse_mapping(DEFAULT_MAP)?],
            map => map,
        };
        Ok(Report::new(app, "ports")
            .row("ports-map", joined(&stored(ctx, app, MAP)?))
            .row("ports-map-detected", joined(&detected))
            .row("ports-map-json", as_json(stored(ctx, app, MAP)?))
            .row("ports-map-detected-json", as_json(detected)))
    })
}

/// `post-certs-update APP`: with a certificate, each `http:80:X` gains its `https:443:X`
/// in the app's map, unless some mapping already serves 443 (Dokku's rule).
fn add_https_443(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("post-certs-update", args)?;
    let mut map = effective(ctx, app)?;
    if map
        .iter()
        .any(|m| m.scheme == "https" && m.host_port == 443)
    {
        return Ok(());
    }
    let twins: Vec<Mapping> = map
        .iter()
        .filter(|m| m.scheme == "http" && m.host_port == 80)
        .map(|m| Mapping {
            scheme: "https".into(),
            host_port: 443,
            container_port: m.container_port,
        })
        .take(1)
        .collect();
    if twins.is_empty() {
        return Ok(());
    }
    map.extend(twins);
    store(ctx, app, MAP, &map)
}

/// `post-certs-remove APP`: the `https:443` mappings go with the certificate.
fn drop_https_443(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("post-certs-remove", args)?;
    let map = stored(ctx, app, MAP)?;
    let kept: Vec<Mapping> = map
        .iter()
        .filter(|m| !(m.scheme == "https" && m.host_port == 443))
        .cloned()
        .collect();
    if kept.len() == map.len() {
        return Ok(());
    }
    store(ctx, app, MAP, &kept)
}

/// `ports-get APP`: the effective map, a mapping per line.
fn get(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    for mapping in effective(ctx, app)? {
        log::data(&mapping.to_string());
    }
    Ok(())
}

/// `ports-set-detected APP MAPPING...` (or one argument of space-separated mappings): what
/// the builder found. A malformed one is skipped with a warning: the build stands.
fn set_detected(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let mut map = Vec::new();
    for word in args[1..].iter().flat_map(|a| a.split_whitespace()) {
        match parse_mapping(word) {
            Ok(mapping) if !map.contains(&mapping) => map.push(mapping),
            Ok(_) => {}
            Err(err) => log::warn(&format!("{err:#}")),
        }
    }
    store(ctx, app, DETECTED, &map)
}

fn copy(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).copy_trigger(args)
}

fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).delete_trigger(args)
}
