//! The triggers the ports plugin answers.

use anyhow::Result;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;
use dokku_core::port_map::parse as parse_mapping;

use crate::DETECTED;
use crate::MAP;
use crate::effective;
use crate::properties;
use crate::store;

/// `ports-clear APP`: the set map goes, silently.
pub(crate) fn clear_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("ports-clear", args)?;
    store(ctx, app, MAP, &[])
}

/// `ports-get APP`: the effective map, a mapping per line.
pub(crate) fn get(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    for mapping in effective(ctx, app)? {
        log::data(&mapping.to_string());
    }
    Ok(())
}

/// `ports-get-property APP proxy-port|proxy-ssl-port`: the host port a builder maps the
/// web process to, as Dokku's builders ask for it: the proxy's global port, `80` / `443`
/// when it has none. (An app's own `proxy-port` is the port it answers on without vhosts,
/// which the effective map applies by itself.)
pub(crate) fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_app, key] = exactly::<2>("ports-get-property", args)?;
    let standard = match key.as_str() {
        "proxy-port" => "80",
        "proxy-ssl-port" => "443",
        _ => anyhow::bail!("ports-get-property: no property {key:?}"),
    };
    let port = dokku_core::property::Properties::new(&ctx.roots, "proxy")
        .get(dokku_core::property::GLOBAL, key)?
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| standard.to_string());
    log::data(&port);
    Ok(())
}

/// `ports-set-detected APP MAPPING...` (or one argument of space-separated mappings): what
/// the builder found. A malformed one is skipped with a warning: the build stands.
pub(crate) fn set_detected(ctx: &Ctx, args: &[String]) -> Result<()> {
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

pub(crate) fn copy(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).copy_trigger(args)
}

pub(crate) fn post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    properties(ctx).delete_trigger(args)
}
