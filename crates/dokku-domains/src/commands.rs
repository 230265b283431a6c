//! `domains:*` commands and the triggers the proxy and other plugins call.

use anyhow::{Result, bail};
use clap::Parser;
use dokku_core::app::Target;
use dokku_core::entry::Ctx;
use dokku_core::entry::parse;
use dokku_core::property::GLOBAL;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::trigger::Trigger;
use dokku_core::{Error, log};

use crate::hostname;
use crate::store::Domains;

#[derive(Parser)]
struct Words {
    #[arg(long)]
    global: bool,
    /// `<app> <domain>...`, or `<domain>...` with --global.
    #[arg(value_name = "APP")]
    words: Vec<String>,
}

/// `(slot, rest)`: `--global` or a verified app, then the remaining words.
fn target(
    domains: &Domains,
    name: &str,
    args: &[String],
    global: bool,
) -> Result<(String, Vec<String>)> {
    let cmd: Words = parse(name, args)?;
    let (target, rest) = Target::parse(&domains.roots, global || cmd.global, &cmd.words)?;
    Ok((target.slot().to_string(), rest.to_vec()))
}

/// Validates every domain before anything changes; an app may not take another app's.
fn validated(domains: &Domains, slot: &str, words: &[String]) -> Result<Vec<String>> {
    if words.is_empty() {
        bail!("Please specify a domain name");
    }
    let mut out: Vec<String> = Vec::new();
    for word in words {
        let domain = if slot == GLOBAL {
            hostname::parse_global(word)?
        } else {
            hostname::parse(word)?
        };
        if slot != GLOBAL
            && let Some(owner) = domains.owner(&domain, slot)?
        {
            bail!("The domain {domain} is already used by the app {owner}");
        }
        if !out.contains(&domain) {
            out.push(domain);
        }
    }
    Ok(out)
}

fn subject(slot: &str) -> &str {
    if slot == GLOBAL {
        "global domains"
    } else {
        slot
    }
}

fn updated(domains: &Domains, slot: &str, action: &str, changed: &[String]) -> Result<()> {
    Trigger::with_roots("post-domains-update", domains.roots.clone())
        .args([slot, action])
        .args(changed)
        .stream()
}

fn add_to(ctx: &Ctx, args: &[String], global: bool) -> Result<()> {
    let domains = Domains::new(ctx);
    let (slot, words) = target(&domains, "domains:add", args, global)?;
    let _lock = domains.lock(&slot)?;
    let wanted = validated(&domains, &slot, &words)?;
    let mut current = domains.list(&slot)?;
    let mut added = Vec::new();
    for domain in wanted {
        if current.contains(&domain) {
            log::info1_quiet(&format!(
                "Skipping: {domain} already added to {}",
                subject(&slot)
            ));
        } else {
            log::info1_quiet(&format!("Added {domain} to {}", subject(&slot)));
            current.push(domain.clone());
            added.push(domain);
        }
    }
    domains.write(&slot, &current)?;
    if slot != GLOBAL && !domains.vhost_enabled(&slot)? {
        domains.set_vhost_enabled(&slot, true)?;
    }
    if added.is_empty() {
        return Ok(());
    }
    updated(&domains, &slot, "add", &added)
}

fn remove_from(ctx: &Ctx, args: &[String], global: bool) -> Result<()> {
    let domains = Domains::new(ctx);
    let (slot, words) = target(&domains, "domains:remove", args, global)?;
    if words.is_empty() {
        bail!("Please specify a domain name");
    }
    let _lock = domains.lock(&slot)?;
    let mut current = domains.list(&slot)?;
    let mut removed = Vec::new();
    for word in &words {
        let domain = word.to_ascii_lowercase();
        if let Some(at) = current.iter().position(|d| *d == domain) {
            current.remove(at);
            log::info1_quiet(&format!("Removed {domain} from {}", subject(&slot)));
            removed.push(domain);
        } else {
            log::info1_quiet(&format!(
                "Skipping: {domain} is not a domain of {}",
                subject(&slot)
            ));
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    domains.write(&slot, &current)?;
    updated(&domains, &slot, "remove", &removed)
}

fn set_on(ctx: &Ctx, args: &[String], global: bool) -> Result<()> {
    let domains = Domains::new(ctx);
    let (slot, words) = target(&domains, "domains:set", args, global)?;
    let _lock = domains.lock(&slot)?;
    let wanted = validated(&domains, &slot, &words)?;
    domains.write(&slot, &wanted)?;
    log::info1_quiet(&format!("Set {} for {}", wanted.join(" "), subject(&slot)));
    if slot != GLOBAL && !domains.vhost_enabled(&slot)? {
        domains.set_vhost_enabled(&slot, true)?;
    }
    updated(&domains, &slot, "set", &wanted)
}

fn clear_on(ctx: &Ctx, args: &[String], global: bool) -> Result<()> {
    let domains = Domains::new(ctx);
    let (slot, words) = target(&domains, "domains:clear", args, global)?;
    if let Some(extra) = words.first() {
        bail!("domains:clear: unexpected argument '{extra}'");
    }
    let _lock = domains.lock(&slot)?;
    domains.write(&slot, &[])?;
    log::info1_quiet(&format!("Cleared domains in {}", subject(&slot)));
    updated(&domains, &slot, "clear", &[])
}

pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    add_to(ctx, args, false)
}
pub fn add_global(ctx: &Ctx, args: &[String]) -> Result<()> {
    add_to(ctx, args, true)
}
pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    remove_from(ctx, args, false)
}
pub fn remove_global(ctx: &Ctx, args: &[String]) -> Result<()> {
    remove_from(ctx, args, true)
}
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_on(ctx, args, false)
}
pub fn set_global(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_on(ctx, args, true)
}
pub fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    clear_on(ctx, args, false)
}
pub fn clear_global(ctx: &Ctx, args: &[String]) -> Result<()> {
    clear_on(ctx, args, true)
}

/// An app command with no further words: `(domains, app)`.
fn app_only(ctx: &Ctx, name: &str, args: &[String]) -> Result<(Domains, String)> {
    let domains = Domains::new(ctx);
    let (slot, words) = target(&domains, name, args, false)?;
    if slot == GLOBAL {
        bail!("{name} works on one app, not --global");
    }
    if let Some(extra) = words.first() {
        bail!("{name}: unexpected argument '{extra}'");
    }
    Ok((domains, slot))
}

/// `domains:reset APP`: back to the default vhosts.
pub fn reset(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (domains, app) = app_only(ctx, "domains:reset", args)?;
    let _lock = domains.lock(&app)?;
    let defaults = domains.defaults(&app)?;
    domains.write(&app, &defaults)?;
    log::info1_quiet(&format!("Reset domains of {app}"));
    updated(&domains, &app, "reset", &defaults)
}

/// `domains:enable APP`: vhosts on; an app with none gets the defaults.
pub fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (domains, app) = app_only(ctx, "domains:enable", args)?;
    let _lock = domains.lock(&app)?;
    if domains.vhost_enabled(&app)? && !domains.list(&app)?.is_empty() {
        log::info1_quiet(&format!("Domains are already enabled for {app}"));
        return Ok(());
    }
    log::info1_quiet(&format!("Enabling domains for {app}"));
    if domains.list(&app)?.is_empty() {
        domains.write(&app, &domains.defaults(&app)?)?;
    }
    domains.set_vhost_enabled(&app, true)?;
    updated(&domains, &app, "enable", &domains.list(&app)?)
}

/// `domains:disable APP`: vhosts off (the app is reached by port); the list is kept for
/// a later enable.
pub fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (domains, app) = app_only(ctx, "domains:disable", args)?;
    if !domains.vhost_enabled(&app)? {
        log::info1_quiet(&format!("Domains are already disabled for {app}"));
        return Ok(());
    }
    log::info1_quiet(&format!("Disabling domains for {app}"));
    domains.set_vhost_enabled(&app, false)?;
    updated(&domains, &app, "disable", &[])
}

fn global_rows(domains: &Domains, report: Report) -> Result<Report> {
    let global = domains.list(GLOBAL)?;
    Ok(report
        .row("domains-global-enabled", (!global.is_empty()).to_string())
        .row("domains-global-vhosts", global.join(" ")))
}

fn app_report(domains: &Domains, app: &str, vhost_enabled: bool) -> Result<Report> {
    let report = Report::new(app, "domains")
        .row("domains-app-enabled", vhost_enabled.to_string())
        .row("domains-app-vhosts", domains.list(app)?.join(" "));
    global_rows(domains, report)
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    let domains = Domains::new(ctx);
    if request.app.as_deref() == Some(GLOBAL) {
        return global_rows(&domains, Report::new("global", "domains"))?.print(&request);
    }
    dokku_core::report::print_for_apps_prepared(
        &request,
        &domains.roots,
        "domains",
        |apps| {
            let names: Vec<&str> = apps.iter().map(|a| a.as_str()).collect();
            let enabled = domains.vhosts_enabled(&names)?;
            Ok(names
                .into_iter()
                .map(String::from)
                .zip(enabled)
                .collect::<std::collections::BTreeMap<_, _>>())
        },
        |app, enabled| {
            let vhost_enabled = enabled.get(app.as_str()).copied().unwrap_or(true);
            app_report(&domains, app.as_str(), vhost_enabled)
        },
    )
}

fn first(args: &[String]) -> Result<&str> {
    args.first()
        .map(String::as_str)
        .ok_or_else(|| Error::MissingApp.into())
}

/// `post-create APP`: the default vhosts, or vhosts off (`NO_VHOST=1`) when the global
/// domain is none or an IP address. An unset `NO_VHOST` means enabled, so apps on a host
/// with a global domain carry no extra variable.
pub fn post_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let domains = Domains::new(ctx);
    let app = first(args)?;
    let _lock = domains.lock(app)?;
    let defaults = domains.defaults(app)?;
    domains.write(app, &defaults)?;
    if defaults.is_empty() {
        domains.set_vhost_enabled(app, false)?;
    }
    Ok(())
}

/// `post-app-rename-setup OLD NEW`: the domains move, and `<old>.<global>` defaults
/// become `<new>.<global>`. A clone keeps its own defaults: a domain has one app.
pub fn post_app_rename_setup(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    let domains = Domains::new(ctx);
    let _lock = domains.lock(new)?;
    let old_defaults = domains.defaults(old)?;
    let new_defaults = domains.defaults(new)?;
    let moved: Vec<String> = domains
        .list(old)?
        .into_iter()
        .map(|d| match old_defaults.iter().position(|o| *o == d) {
            Some(i) => new_defaults[i].clone(),
            None => d,
        })
        .collect();
    domains.write(new, &moved)?;
    domains.write(old, &[])
}

/// `domains-list APP`: the vhosts, one per line, when vhosts are enabled.
pub fn domains_list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let domains = Domains::new(ctx);
    let app = first(args)?;
    if domains.vhost_enabled(app)? {
        for domain in domains.list(app)? {
            log::data(&domain);
        }
    }
    Ok(())
}

/// `core-post-deploy APP ...`: an app served by nginx under an IP address, on a host whose
/// nginx still has its stock default site, may be answered by that site instead: say so,
/// as Dokku does.
pub fn warn_ip_domains(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = first(args)?;
    if !std::path::Path::new(STOCK_NGINX_SITE).exists() {
        return Ok(());
    }
    let proxy = ctx.trigger("proxy-type").arg(app).output_string()?;
    if !matches!(proxy.trim(), "" | "nginx") {
        return Ok(());
    }
    let domains = Domains::new(ctx);
    let mut names = domains.list(app)?;
    names.extend(domains.list(GLOBAL)?);
    if let Some(family) = ip_family(&names) {
        log::warn(&format!(
            "Detected {family} domain name with nginx proxy enabled."
        ));
        log::warn("Ensure the default nginx site is removed before continuing.");
    }
    Ok(())
}

/// `IPv4` when one of the names is an IPv4 address, else `IPv6` when one is an IPv6 one.
fn ip_family(names: &[String]) -> Option<&'static str> {
    let addresses: Vec<std::net::IpAddr> = names.iter().filter_map(|n| n.parse().ok()).collect();
    if addresses.iter().any(|a| a.is_ipv4()) {
        Some("IPv4")
    } else if addresses.iter().any(|a| a.is_ipv6()) {
        Some("IPv6")
    } else {
        None
    }
}

/// The site Debian's nginx package enables.
const STOCK_NGINX_SITE: &str = "/etc/nginx/sites-enabled/default";

/// `domains-urls APP [url|urls]`: the URLs the app answers on (`url`: the first): each
/// vhost on each http port mapping, and https ones first when the app has a certificate
/// (an `http:80` mapping then also answers on 443, as the proxy serves it). An app
/// without vhosts answers on the host itself: each global domain (IP addresses
/// included), else the host's name, as Dokku lists it.
pub fn domains_urls(ctx: &Ctx, args: &[String]) -> Result<()> {
    let domains = Domains::new(ctx);
    let app = first(args)?;
    let only_first = args.get(1).map(String::as_str) == Some("url");
    let hosts = match domains.vhost_enabled(app)? {
        true => domains.list(app)?,
        false => match domains.list(GLOBAL)? {
            globals if globals.is_empty() => vec![host_name()],
            globals => globals,
        },
    };
    let tls = ctx.trigger("certs-exists").arg(app).output_string()?.trim() == "true";
    let urls: Vec<String> = hosts
        .iter()
        .flat_map(|domain| {
            listeners(ctx, app, tls)
                .unwrap_or_default()
                .into_iter()
                .map(move |(scheme, port)| match (scheme, port) {
                    ("http", 80) | ("https", 443) => format!("{scheme}://{domain}"),
                    _ => format!("{scheme}://{domain}:{port}"),
                })
        })
        .collect();
    for url in urls.iter().take(if only_first { 1 } else { urls.len() }) {
        log::data(url);
    }
    Ok(())
}

/// This host's name as `hostname -f` gives it (its own name when that does not resolve).
fn host_name() -> String {
    dokku_core::cmd::Cmd::new("hostname")
        .arg("-f")
        .output()
        .map(|out| out.stdout_trimmed())
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into())
}

/// The schemes and host ports the proxy serves the app on, https first.
fn listeners(ctx: &Ctx, app: &str, tls: bool) -> Result<Vec<(&'static str, u16)>> {
    let mappings = dokku_core::port_map::of_app(ctx, app)?;
    let mut served: Vec<(&'static str, u16)> = Vec::new();
    for mapping in &mappings {
        let entry = match mapping.scheme.as_str() {
            "http" => ("http", mapping.host_port),
            "https" if tls => ("https", mapping.host_port),
            _ => continue,
        };
        let twin = (tls && entry == ("http", 80)).then_some(("https", 443));
        for listener in twin.into_iter().chain([entry]) {
            if !served.contains(&listener) {
                served.push(listener);
            }
        }
    }
    if served.is_empty() {
        served.push(("http", 80));
    }
    served.sort_by_key(|(scheme, _)| *scheme != "https");
    Ok(served)
}

/// `domains-vhost-enabled APP`: exit status only.
pub fn domains_vhost_enabled(ctx: &Ctx, args: &[String]) -> Result<()> {
    if Domains::new(ctx).vhost_enabled(first(args)?)? {
        Ok(())
    } else {
        Err(Error::Exit(1).into())
    }
}

/// `report APP`: this plugin's section of `dokku report`.
pub fn report_trigger(ctx: &Ctx, args: &[String]) -> Result<()> {
    let domains = Domains::new(ctx);
    let app = first(args)?;
    app_report(&domains, app, domains.vhost_enabled(app)?)?.print(&ReportRequest::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_domains_are_told_apart_from_names() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(ip_family(&names(&["app.dokku.me", "dokku.me"])), None);
        assert_eq!(
            ip_family(&names(&["app.dokku.me", "127.0.0.1"])),
            Some("IPv4")
        );
        assert_eq!(ip_family(&names(&["::1"])), Some("IPv6"));
        assert_eq!(ip_family(&names(&["::1", "10.0.0.2"])), Some("IPv4"));
    }
}
