//! The `ports` plugin: how an app's web process is reached, as `scheme:host-port:container-
//! port` mappings (Dokku's `ports:*`). The effective map (`ports-get`) is the one set with
//! `ports:add|set`, else the one the builder detected (`ports-set-detected`, from the
//! Dockerfile's `EXPOSE`), else `http:80:5000` (an app without vhosts answers on a port of its
//! own instead of 80). Proxies read it; the scheduler takes the web
//! process's `PORT` from its first TCP mapping. Every change fires
//! `post-proxy-ports-update APP ACTION`.

mod commands;
mod triggers;

use anyhow::Result;
use dokku_core::entry::{Command, Ctx, Plugin, TriggerEntry, exactly};
use dokku_core::port_map::{Mapping, parse as parse_mapping};
use dokku_core::property::Properties;

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
            run: commands::add,
        },
        Command {
            name: "clear",
            args: "<app>",
            help: "Clear all port mappings for an app",
            run: commands::clear,
        },
        Command {
            name: "list",
            args: "<app> [--format stdout|json]",
            help: "List port mappings for an app",
            run: commands::list,
        },
        Command {
            name: "remove",
            args: "<app> <host-port>|<scheme>:<host-port>:<container-port>...",
            help: "Remove specific port mappings from an app",
            run: commands::remove,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a ports report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "set",
            args: "<app> <scheme>:<host-port>:<container-port>...",
            help: "Set port mappings for an app",
            run: commands::set,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "ports-clear",
            run: triggers::clear_trigger,
        },
        TriggerEntry {
            name: "ports-get",
            run: triggers::get,
        },
        TriggerEntry {
            name: "ports-get-property",
            run: triggers::get_property,
        },
        TriggerEntry {
            name: "ports-set-detected",
            run: triggers::set_detected,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: triggers::copy,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: triggers::copy,
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
            run: triggers::post_delete,
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

/// The effective map: set, else detected, else the default. An app without vhosts (no
/// name of its own to share port 80 by) whose map was not set answers on a host port of
/// its own instead of 80 and 443: its `proxy-port` / `proxy-ssl-port`, picked among the
/// free ones the first time and kept, as Dokku does.
fn effective(ctx: &Ctx, app: &str) -> Result<Vec<Mapping>> {
    let set = stored(ctx, app, MAP)?;
    if !set.is_empty() {
        return Ok(set);
    }
    let mut map = detected(ctx, app)?;
    if dokku_core::ask::config_value(ctx, app, "NO_VHOST")?.trim() == "1" {
        for (standard, key) in [(80, "proxy-port"), (443, "proxy-ssl-port")] {
            if map.iter().any(|m| m.host_port == standard) {
                let port = own_port(ctx, app, key)?;
                for mapping in map.iter_mut().filter(|m| m.host_port == standard) {
                    mapping.host_port = port;
                }
            }
        }
    }
    Ok(map)
}

/// The detected map (or the default one), as an app with a certificate serves it: each
/// `http:80` mapping gains its `https` twin on the proxy's ssl port (443 unless set), or,
/// without one, every http mapping becomes https (Dokku's rule).
pub(crate) fn detected(ctx: &Ctx, app: &str) -> Result<Vec<Mapping>> {
    let mut map = stored(ctx, app, DETECTED)?;
    if map.is_empty() {
        map.push(default_mapping(ctx)?);
    }
    if ctx.trigger("certs-exists").arg(app).output_string()?.trim() != "true" {
        return Ok(map);
    }
    let ssl_port = Properties::new(&ctx.roots, "proxy")
        .get(dokku_core::property::GLOBAL, "proxy-ssl-port")?
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
        .unwrap_or(443);
    let twins: Vec<Mapping> = map
        .iter()
        .filter(|m| m.scheme == "http" && m.host_port == 80)
        .map(|m| Mapping {
            scheme: "https".into(),
            host_port: ssl_port,
            container_port: m.container_port,
        })
        .collect();
    if twins.is_empty() {
        for mapping in map.iter_mut().filter(|m| m.scheme == "http") {
            mapping.scheme = "https".into();
        }
    }
    for twin in twins {
        if !map.contains(&twin) {
            map.push(twin);
        }
    }
    Ok(map)
}

/// The mapping of an app nothing was detected for: `http:80:5000`, or on the proxy's
/// global `proxy-port` when that is set, as in Dokku. (An app's own `proxy-port` is the
/// port it answers on without vhosts: see [`effective`].)
pub(crate) fn default_mapping(ctx: &Ctx) -> Result<Mapping> {
    let mut default = parse_mapping(DEFAULT_MAP)?;
    let port = Properties::new(&ctx.roots, "proxy")
        .get(dokku_core::property::GLOBAL, "proxy-port")?
        .unwrap_or_default();
    if let Some(port) = port.trim().parse::<u16>().ok().filter(|p| *p > 0) {
        default.host_port = port;
    }
    Ok(default)
}

/// The app's own host port kept in the proxy's property `key`, picked now when it has
/// none: one the kernel hands out as free.
fn own_port(ctx: &Ctx, app: &str, key: &str) -> Result<u16> {
    let props = Properties::new(&ctx.roots, "proxy");
    if let Some(port) = props
        .get(app, key)?
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
    {
        return Ok(port);
    }
    let port = std::net::TcpListener::bind(("0.0.0.0", 0))?
        .local_addr()?
        .port();
    props.set(app, key, &port.to_string())?;
    Ok(port)
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

/// `post-certs-update APP`: with a certificate, each `http:80:X` of the app's own map
/// gains its `https:443:X`, unless some mapping already serves 443 (Dokku's rule; a map
/// that was never set follows the certificate by itself, see [`detected`]).
fn add_https_443(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("post-certs-update", args)?;
    let mut map = stored(ctx, app, MAP)?;
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
        .collect();
    if twins.is_empty() {
        return Ok(());
    }
    for twin in twins {
        if !map.contains(&twin) {
            map.push(twin);
        }
    }
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
