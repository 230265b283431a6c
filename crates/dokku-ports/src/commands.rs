//! The `ports:*` commands.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::entry::{AppListing, Ctx, exactly, parse};
use dokku_core::log;
use dokku_core::port_map::{Mapping, parse as parse_mapping, port};
use dokku_core::report::{Report, ReportRequest};

use crate::MAP;
use crate::effective;
use crate::store;
use crate::stored;

#[derive(Parser)]
pub(crate) struct Change {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "MAPPING", required = true)]
    mappings: Vec<String>,
}

/// Sets the app's map to what `change` makes of the effective one and the arguments, then
/// tells the proxy (`post-proxy-ports-update APP ACTION`).
pub(crate) fn edit(
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

pub(crate) fn parse_all(words: &[String]) -> Result<Vec<Mapping>> {
    words.iter().map(|w| parse_mapping(w)).collect()
}

/// `ports:add APP MAPPING...`: the map gains them (a detected map is kept and added to);
/// a mapping already there, or a host port already mapped, is refused.
pub(crate) fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
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
pub(crate) fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    edit(ctx, "set", args, |_, words| {
        let map = parse_all(words)?;
        one_mapping_per_host_port(&map)?;
        Ok(map)
    })
}

/// A host port answers for one mapping: two would be two servers on one port.
pub(crate) fn one_mapping_per_host_port(map: &[Mapping]) -> Result<()> {
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
pub(crate) fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
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

pub(crate) fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("ports:clear", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    store(ctx, app.as_str(), MAP, &[])?;
    ctx.trigger("post-proxy-ports-update")
        .args([app.as_str(), "clear"])
        .stream()
}

pub(crate) fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
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

pub(crate) fn joined(map: &[Mapping]) -> String {
    map.iter()
        .map(Mapping::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
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
        let detected = crate::detected(ctx, app)?;
        Ok(Report::new(app, "ports")
            .row("ports-map", joined(&stored(ctx, app, MAP)?))
            .row("ports-map-detected", joined(&detected))
            .row("ports-map-json", as_json(stored(ctx, app, MAP)?))
            .row("ports-map-detected-json", as_json(detected)))
    })
}
