//! The swarm itself: this host's engine as its manager (`initialize`), other hosts'
//! engines joined to it (`cluster:add`), listed and removed. The manager knows every node
//! but not how to reach their engines, which deploys need to hand them images and `enter`
//! to reach their containers: `data/scheduler-swarm/.nodes` keeps, for each node added
//! here, `<node id> <engine address>` (`ssh://user@host[:port]`, as docker's client takes
//! it, or `unix:///path` for an engine on this host).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::cmd::Cmd;
use dokku_core::docker::{self, engine};
use dokku_core::entry::{Ctx, parse};
use dokku_core::log;
use serde_json::Value;

/// The overlay network every app service joins, unless the `network` setting names
/// another.
pub const NETWORK: &str = "dokku-swarm";

fn nodes_file(ctx: &Ctx) -> std::path::PathBuf {
    ctx.roots
        .data_dir(crate::SETTINGS.namespace, "")
        .join(".nodes")
}

/// The engine addresses of the nodes added here, by node id.
pub fn engines(ctx: &Ctx) -> Result<BTreeMap<String, String>> {
    let text = dokku_core::fs::read_optional(&nodes_file(ctx))?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|line| {
            let (id, address) = line.split_once(' ')?;
            Some((id.to_string(), address.to_string()))
        })
        .collect())
}

fn write_engines(ctx: &Ctx, engines: &BTreeMap<String, String>) -> Result<()> {
    let text: String = engines
        .iter()
        .map(|(id, address)| format!("{id} {address}\n"))
        .collect();
    let path = nodes_file(ctx);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    dokku_core::fs::write_atomic(&path, text.as_bytes(), 0o600)
}

/// An engine address docker's client may be pointed at: `ssh://[user@]host[:port]` or
/// `unix:///absolute/path`, nothing a shell or ssh would read as an option.
pub fn check_engine_address(address: &str) -> Result<()> {
    let plain = |text: &str| {
        !text.is_empty()
            && !text.starts_with('-')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._@:[]/".contains(c))
    };
    let ok = match (
        address.strip_prefix("ssh://"),
        address.strip_prefix("unix://"),
    ) {
        (Some(target), _) => plain(target) && !target.contains('/'),
        (_, Some(path)) => path.starts_with('/') && plain(path) && !path.contains(".."),
        _ => false,
    };
    if !ok {
        bail!("Invalid node address {address:?}: use ssh://user@host[:port] or unix:///path");
    }
    Ok(())
}

/// `docker` against another engine.
pub fn docker_at(address: &str) -> Cmd {
    docker::docker().args(["--host", address])
}

/// The swarm state of the engine at `address` (`inactive`, `active`, ...) and its node id.
/// An engine docker cannot reach is an error saying why: docker's own client reports it
/// either by failing or, older ones, in `ServerErrors` with the rest of `info` empty.
fn swarm_state_at(address: &str) -> Result<(String, String)> {
    const UNREACHABLE: &str = "unreachable: ";
    let info = docker_at(address)
        .args([
            "info",
            "--format",
            "{{if .ServerErrors}}unreachable: {{join .ServerErrors \"; \"}}\
             {{else}}{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}{{end}}",
        ])
        .output()
        .with_context(|| format!("reaching the docker engine at {address}"))?
        .stdout_trimmed();
    if let Some(why) = info.strip_prefix(UNREACHABLE) {
        bail!("reaching the docker engine at {address}: {why}");
    }
    let (state, id) = info.split_once(' ').unwrap_or((info.as_str(), ""));
    Ok((state.to_string(), id.to_string()))
}

/// The swarm state of this host's engine (`docker info`'s `Swarm`).
fn swarm_info() -> Result<Value> {
    let info = engine::request("GET", "/info")?
        .ok("asking the docker engine")?
        .json()?;
    Ok(info["Swarm"].clone())
}

/// Fails unless this host's engine manages a swarm.
pub fn require_manager() -> Result<Value> {
    let swarm = swarm_info()?;
    if swarm["ControlAvailable"].as_bool() != Some(true) {
        bail!(
            "This host's docker engine does not manage a swarm: run scheduler-swarm:initialize first"
        );
    }
    Ok(swarm)
}

#[derive(Parser)]
struct Initialize {
    /// The address other nodes reach this one at.
    #[arg(long = "advertise-addr")]
    advertise_addr: Option<String>,
}

/// `scheduler-swarm:initialize [--advertise-addr ADDRESS]`.
pub fn initialize(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Initialize = parse("scheduler-swarm:initialize", args)?;
    if let Some(address) = &cmd.advertise_addr
        && address.parse::<std::net::IpAddr>().is_err()
    {
        bail!("Invalid advertise address {address:?}: an IP address");
    }
    let swarm = swarm_info()?;
    if swarm["ControlAvailable"].as_bool() == Some(true) {
        log::info1("This host's docker engine already manages a swarm");
    } else if swarm["LocalNodeState"].as_str() == Some("active") {
        bail!("This host's docker engine is a worker of another swarm: leave it first");
    } else {
        log::info1("Initializing a swarm on this host's docker engine");
        docker::docker()
            .args(["swarm", "init"])
            .args(
                cmd.advertise_addr
                    .iter()
                    .flat_map(|a| ["--advertise-addr", a.as_str()]),
            )
            .output()
            .context("docker swarm init")?;
    }
    let network = crate::SETTINGS.computed(ctx, "", "network")?;
    let exists = engine::request("GET", &format!("/networks/{}", engine::encode(&network)))?;
    if exists.status == 404 {
        log::verbose(&format!("Creating the overlay network {network}"));
        docker::docker()
            .args(["network", "create", "--driver", "overlay", "--attachable"])
            .arg(&network)
            .output()
            .with_context(|| format!("creating the network {network}"))?;
    }
    log::verbose(&format!(
        "Node {} manages the swarm",
        swarm_info()?["NodeID"].as_str().unwrap_or_default()
    ));
    Ok(())
}

#[derive(Parser)]
struct Add {
    #[arg(long, default_value = "worker", value_parser = ["worker", "manager"])]
    role: String,
    #[arg(value_name = "ADDRESS")]
    address: String,
}

/// `scheduler-swarm:cluster:add [--role worker|manager] ADDRESS`: the engine at ADDRESS
/// joins the swarm this host manages.
pub fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Add = parse("scheduler-swarm:cluster:add", args)?;
    check_engine_address(&cmd.address)?;
    let swarm = require_manager()?;
    let manager = swarm["RemoteManagers"]
        .as_array()
        .and_then(|m| m.first())
        .and_then(|m| m["Addr"].as_str())
        .context("the swarm has no manager address")?
        .to_string();
    let token = docker::docker()
        .args(["swarm", "join-token", "--quiet", &cmd.role])
        .output()?
        .stdout_trimmed();
    log::info1(&format!(
        "Joining {} to the swarm as a {}",
        cmd.address, cmd.role
    ));
    let (state, _) = swarm_state_at(&cmd.address)?;
    if state != "active" {
        docker_at(&cmd.address)
            .args(["swarm", "join", "--token", &token, &manager])
            .output()
            .with_context(|| format!("joining {} to the swarm", cmd.address))?;
    }
    let (_, id) = swarm_state_at(&cmd.address)?;
    if engine::request("GET", &format!("/nodes/{}", engine::encode(&id)))?.status == 404 {
        bail!("{} is in another swarm", cmd.address);
    }
    let mut known = engines(ctx)?;
    known.insert(id.clone(), cmd.address.clone());
    write_engines(ctx, &known)?;
    log::verbose(&format!("Node {id} joined"));
    Ok(())
}

/// The swarm's nodes, as the manager describes them.
pub fn nodes() -> Result<Vec<Value>> {
    let reply = engine::request("GET", "/nodes")?.ok("listing the swarm's nodes")?;
    Ok(reply.json()?.as_array().cloned().unwrap_or_default())
}

/// The address each node is reached at, by node id.
pub fn node_addresses() -> Result<BTreeMap<String, String>> {
    addresses(|_| true)
}

/// The address of each node the manager hears from (its state `ready`), by node id: a
/// task on a node that went down may still be listed as running for a while.
pub fn ready_node_addresses() -> Result<BTreeMap<String, String>> {
    addresses(|n| n["Status"]["State"].as_str() == Some("ready"))
}

fn addresses(keep: impl Fn(&Value) -> bool) -> Result<BTreeMap<String, String>> {
    Ok(nodes()?
        .iter()
        .filter(|n| keep(n))
        .filter_map(|n| {
            Some((
                n["ID"].as_str()?.to_string(),
                n["Status"]["Addr"].as_str()?.to_string(),
            ))
        })
        .collect())
}

#[derive(Parser)]
struct List {
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

/// `scheduler-swarm:cluster:list [--format text|json]`.
pub fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: List = parse("scheduler-swarm:cluster:list", args)?;
    require_manager()?;
    let known = engines(ctx)?;
    let rows: Vec<Value> = nodes()?
        .iter()
        .map(|n| {
            let id = n["ID"].as_str().unwrap_or_default();
            serde_json::json!({
                "id": id,
                "hostname": n["Description"]["Hostname"],
                "address": n["Status"]["Addr"],
                "role": n["Spec"]["Role"],
                "state": n["Status"]["State"],
                "availability": n["Spec"]["Availability"],
                "engine": known.get(id).map_or("", String::as_str),
            })
        })
        .collect();
    if cmd.format == "json" {
        log::data(&Value::Array(rows).to_string());
        return Ok(());
    }
    log::info2_quiet("Swarm nodes");
    for row in rows {
        let field = |key: &str| row[key].as_str().unwrap_or_default().to_string();
        log::data(&format!(
            "{} {} {} {} {}",
            field("id"),
            field("hostname"),
            field("address"),
            field("role"),
            field("state")
        ));
    }
    Ok(())
}

#[derive(Parser)]
struct Remove {
    #[arg(value_name = "NODE")]
    node: String,
}

/// `scheduler-swarm:cluster:remove NODE`: a manager is demoted, the node's tasks move
/// elsewhere (drained), it leaves the swarm when this host can reach its engine, and the
/// manager forgets it.
pub fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Remove = parse("scheduler-swarm:cluster:remove", args)?;
    require_manager()?;
    let node = nodes()?
        .into_iter()
        .find(|n| {
            n["ID"].as_str() == Some(cmd.node.as_str())
                || n["Description"]["Hostname"].as_str() == Some(cmd.node.as_str())
        })
        .with_context(|| format!("No node {:?} in the swarm", cmd.node))?;
    let id = node["ID"].as_str().unwrap_or_default().to_string();
    if swarm_info()?["NodeID"].as_str() == Some(id.as_str()) {
        bail!("Node {id} is this host's engine, the swarm's manager");
    }
    log::info1(&format!("Removing node {id} from the swarm"));
    // The swarm refuses to remove a manager; as a worker it also stops counting toward
    // the managers' quorum before it goes.
    if node["Spec"]["Role"].as_str() == Some("manager") {
        docker::docker()
            .args(["node", "demote", &id])
            .output()
            .with_context(|| format!("demoting node {id}"))?;
    }
    docker::docker()
        .args(["node", "update", "--availability", "drain", &id])
        .output()?;
    let mut known = engines(ctx)?;
    if let Some(address) = known.remove(&id) {
        let _ = docker_at(&address)
            .args(["swarm", "leave", "--force"])
            .output();
    }
    docker::docker()
        .args(["node", "rm", "--force", &id])
        .output()?;
    write_engines(ctx, &known)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_addresses_are_ssh_or_unix_and_never_options() {
        for good in [
            "ssh://root@10.0.0.2",
            "ssh://deploy@node-2.example.com:2222",
            "ssh://node2",
            "unix:///run/swr-a/n2/d.sock",
        ] {
            assert!(check_engine_address(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "tcp://10.0.0.2:2375",
            "ssh://-oProxyCommand=x",
            "ssh://root@host/path",
            "ssh://root@host;reboot",
            "unix://relative/d.sock",
            "unix:///run/../etc/d.sock",
            "10.0.0.2",
        ] {
            assert!(check_engine_address(bad).is_err(), "{bad}");
        }
    }
}
