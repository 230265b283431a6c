//! `network:*` commands.

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::docker::engine;
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;
use serde_json::{Value, json};

use crate::settings::{SETTINGS, network_name};

/// The label `network:create` puts on the networks it makes.
const MANAGED_LABEL: &str = "com.dokku.network-name";

/// Every docker network, by name, in the shape `network:list --format json` shows.
fn networks() -> Result<Vec<Value>> {
    let listed = engine::request("GET", "/networks")?
        .ok("listing docker networks")?
        .json()?;
    let mut networks: Vec<Value> = listed
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let labels = n["Labels"].as_object().cloned().unwrap_or_default();
            json!({
                "CreatedAt": n["Created"],
                "DokkuManaged": labels.contains_key(MANAGED_LABEL),
                "Driver": n["Driver"],
                "ID": n["Id"],
                "Internal": n["Internal"],
                "IPv6": n["EnableIPv6"],
                "Labels": labels,
                "Name": n["Name"],
                "Scope": n["Scope"],
            })
        })
        .collect();
    networks.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
    Ok(networks)
}

pub(crate) fn find(name: &str) -> Result<Option<Value>> {
    Ok(networks()?.into_iter().find(|n| n["Name"] == name))
}

#[derive(Parser)]
struct Named {
    #[arg(value_name = "NETWORK")]
    name: Option<String>,
}

fn named(command: &str, args: &[String]) -> Result<String> {
    let cmd: Named = parse(command, args)?;
    let Some(name) = cmd.name else {
        bail!("No network name specified");
    };
    network_name(&name)?;
    Ok(name)
}

/// `network:create NETWORK`: an attachable bridge network, labelled as dokku's.
pub fn create(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let name = named("network:create", args)?;
    log::info1_quiet(&format!("Creating network {name}"));
    dokku_core::docker::docker()
        .args(["network", "create", "--attachable", "--label"])
        .arg(format!("{MANAGED_LABEL}={name}"))
        .arg(&name)
        .output()
        .context("Unable to create network")?;
    Ok(())
}

/// `network:destroy NETWORK`: refused by docker while a container uses it.
pub fn destroy(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let name = named("network:destroy", args)?;
    if find(&name)?.is_none() {
        bail!("Network {name} does not exist");
    }
    log::confirm_destructive(&format!("network {name}"), &name)?;
    log::info1_quiet(&format!("Destroying network {name}"));
    dokku_core::docker::docker()
        .args(["network", "rm", &name])
        .output()
        .context("Unable to destroy network")?;
    Ok(())
}

/// `network:exists NETWORK`.
pub fn exists(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let name = named("network:exists", args)?;
    if find(&name)?.is_none() {
        bail!("Network does not exist");
    }
    log::info1_quiet("Network exists");
    Ok(())
}

#[derive(Parser)]
struct Info {
    #[arg(value_name = "NETWORK")]
    name: Option<String>,
    #[arg(long, default_value = "text")]
    format: String,
}

/// `network:info NETWORK [--format text|json]`.
pub fn info(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Info = parse("network:info", args)?;
    let Some(name) = cmd.name else {
        bail!("No network name specified");
    };
    if cmd.format != "json" && cmd.format != "text" {
        bail!("Invalid format specified, use either text or json");
    }
    let Some(network) = find(&name)? else {
        bail!("Network does not exist");
    };
    if cmd.format == "json" {
        log::data(&network.to_string());
        return Ok(());
    }
    log::info2_quiet(&format!("{name} network information"));
    for (label, key) in [
        ("ID:", "ID"),
        ("Name:", "Name"),
        ("Driver:", "Driver"),
        ("Scope:", "Scope"),
        ("Dokku managed:", "DokkuManaged"),
    ] {
        let value = match &network[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        log::verbose(&format!("{label:<16}{value}"));
    }
    Ok(())
}

#[derive(Parser)]
struct List {
    #[arg(long, default_value = "text")]
    format: String,
    #[arg(long = "dokku-managed")]
    dokku_managed: bool,
}

/// `network:list [--format text|json] [--dokku-managed]`.
pub fn list(_ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("network:list", args)?;
    let networks: Vec<Value> = networks()?
        .into_iter()
        .filter(|n| !cmd.dokku_managed || n["DokkuManaged"] == true)
        .collect();
    if cmd.format == "json" {
        log::data(&Value::Array(networks).to_string());
        return Ok(());
    }
    log::info2_quiet("Networks");
    for network in networks {
        log::data(network["Name"].as_str().unwrap_or_default());
    }
    Ok(())
}

#[derive(Parser)]
struct Rebuild {
    #[arg(value_name = "APP")]
    app: String,
}

/// The app's routing follows its containers' addresses again.
fn rebuild_app(ctx: &Ctx, app: &str) -> Result<()> {
    log::info1(&format!(
        "Ensuring network configuration is in sync for {app}"
    ));
    ctx.trigger("proxy-build-config").arg(app).stream()
}

/// `network:rebuild APP`.
pub fn rebuild(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Rebuild = parse("network:rebuild", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    rebuild_app(ctx, app.as_str())
}

/// `network:rebuildall`.
pub fn rebuild_all(ctx: &Ctx, _args: &[String]) -> Result<()> {
    let apps = dokku_core::app::list(&ctx.roots)?;
    if apps.is_empty() {
        log::warn("You haven't deployed any applications yet");
    }
    for app in apps {
        rebuild_app(ctx, app.as_str())?;
    }
    Ok(())
}

/// `network:set [<app>|--global] KEY [VALUE...]`: several networks for an attach key are
/// one comma-separated value; a network cannot be both an app's attach-post-create and
/// its attach-post-deploy.
#[derive(Parser)]
struct Set {
    #[arg(long)]
    global: bool,
    /// `<app> <key> [<value>...]`, or `<key> [<value>...]` with --global.
    #[arg(num_args = 0.., allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Set = parse("network:set", args)?;
    let (target, rest) = dokku_core::app::Target::parse(&ctx.roots, cmd.global, &cmd.rest)?;
    let mut words = vec![target.slot().to_string()];
    match rest {
        [] => {}
        [key] => words.push(key.clone()),
        [key, values @ ..] => {
            words.push(key.clone());
            if values.len() > 1 && !key.starts_with("attach-") {
                bail!("Unexpected argument {:?}", values[1]);
            }
            let other = match key.as_str() {
                "attach-post-create" => Some("attach-post-deploy"),
                "attach-post-deploy" => Some("attach-post-create"),
                _ => None,
            };
            if let Some(other) = other {
                let taken = SETTINGS.computed(ctx, target.slot(), other)?;
                if let Some(name) = values
                    .iter()
                    .find(|v| !v.is_empty() && taken.split(',').any(|t| t == v.as_str()))
                {
                    bail!("Network name already associated with this app: {name}");
                }
            }
            words.push(values.join(","));
        }
    }
    SETTINGS.set(ctx, false, &words).map(drop)
}

/// `network:report` rows beyond the settings: the web listeners (`IP:PORT` of each web
/// container, or the static listener).
pub fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    apps.iter()
        .map(|app| {
            let listeners = web_listeners(ctx, app.as_str())?.join(" ");
            Ok(vec![("network-web-listeners".to_string(), listeners)])
        })
        .collect()
}

/// The web listeners of the app: its static listener, else each web container's address
/// and port, as the scheduler lists them.
pub fn web_listeners(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
    let props = SETTINGS.properties(ctx);
    if let Some(listener) = props
        .get(app, "static-web-listener")?
        .filter(|l| !l.is_empty())
    {
        return Ok(vec![listener]);
    }
    Ok(dokku_core::ask::app_containers(ctx, app)?
        .into_iter()
        .filter(|c| c.kind() == "web" && !c.ip.is_empty() && !c.port.is_empty())
        .map(|c| format!("{}:{}", c.ip, c.port))
        .collect())
}
