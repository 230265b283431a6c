//! How an app's containers join networks: docker arguments at creation, a join before
//! they start, a join after the deploy.

use anyhow::{Result, bail};
use dokku_core::Error;
use dokku_core::docker;
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::settings::SETTINGS;

fn computed(ctx: &Ctx, app: &str, key: &str) -> Result<String> {
    SETTINGS.computed(ctx, app, key)
}

/// The networks a comma-separated property names.
fn network_list(value: &str) -> Vec<&str> {
    value.split(',').filter(|n| !n.is_empty()).collect()
}

/// `docker-args-process-deploy APP IMAGE_SOURCE_TYPE TAG PROC INDEX`: the initial network
/// (`--network=NAME`), and with `bind-all-interfaces`, each web port published on every
/// interface (`-p PORT`, a port docker picks).
pub fn deploy_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let mut extra = String::new();
    let initial = computed(ctx, app, "initial-network")?;
    if !initial.is_empty() {
        extra.push_str(&format!(" --network={initial}"));
    }
    if args.get(3).is_some_and(|p| p == "web")
        && computed(ctx, app, "bind-all-interfaces")? == "true"
    {
        let mut published: Vec<String> = Vec::new();
        for mapping in dokku_core::ask::ports(ctx, app)?.split_whitespace() {
            let parts: Vec<&str> = mapping.split(':').collect();
            if let [scheme, _, container] = parts[..]
                && scheme != "udp"
                && container.parse::<u16>().is_ok()
                && !published.iter().any(|p| p == container)
            {
                published.push(container.to_string());
            }
        }
        for port in published {
            extra.push_str(&format!(" -p {port}"));
        }
    }
    docker::filter_args(&extra)
}

/// `docker-args-run APP TAG`: one-off containers start on the initial network too.
pub fn run_args(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let initial = computed(ctx, app, "initial-network")?;
    let extra = if initial.is_empty() {
        String::new()
    } else {
        format!(" --network={initial}")
    };
    docker::filter_args(&extra)
}

/// Joins the container to `network` unless it is on it already; a deploy's containers
/// are known there as `APP.PROC[.TLD]` and `HOSTNAME.APP.PROC[.TLD]`.
fn join(ctx: &Ctx, id: &str, network: &str, app: &str, process: Option<&str>) -> Result<()> {
    let Some(container) = docker::container_inspect(id)? else {
        bail!("container {id} is gone");
    };
    if container["NetworkSettings"]["Networks"]
        .get(network)
        .is_some()
    {
        return Ok(());
    }
    let mut cmd = docker::docker().args(["network", "connect"]);
    if let Some(process) = process {
        let tld = computed(ctx, app, "tld")?;
        let mut alias = format!("{app}.{process}");
        if !tld.is_empty() {
            alias = format!("{alias}.{tld}");
        }
        cmd = cmd.args(["--alias", &alias]);
        if let Some(hostname) = container["Config"]["Hostname"].as_str() {
            cmd = cmd.args(["--alias".to_string(), format!("{hostname}.{alias}")]);
        }
    }
    cmd.args([network, id])
        .output()
        .map(drop)
        .map_err(|err| anyhow::anyhow!("Unable to attach container to network: {err:#}"))
}

fn require_network(network: &str) -> Result<()> {
    if crate::commands::find(network)?.is_none() {
        bail!("Network {network} does not exist");
    }
    Ok(())
}

/// `post-container-create TYPE ID APP PHASE [PROC]`: an app container joins the app's
/// `attach-post-create` networks before it starts.
pub fn attach_post_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(kind), Some(id), Some(app), Some(phase)) =
        (args.first(), args.get(1), args.get(2), args.get(3))
    else {
        bail!("post-container-create: expected TYPE ID APP PHASE [PROC]");
    };
    if kind != "app" {
        return Ok(());
    }
    let networks = computed(ctx, app, "attach-post-create")?;
    let process = args
        .get(4)
        .filter(|_| phase == "deploy")
        .map(String::as_str);
    for network in network_list(&networks) {
        require_network(network)?;
        join(ctx, id, network, app, process)?;
    }
    Ok(())
}

/// `core-post-deploy APP ...`: the app's running containers join its
/// `attach-post-deploy` networks.
pub fn attach_post_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let networks = computed(ctx, app, "attach-post-deploy")?;
    if networks.is_empty() {
        return Ok(());
    }
    let containers = dokku_core::ask::app_containers(ctx, app)?;
    for network in network_list(&networks) {
        log::info1_quiet(&format!("Associating app with network {network}"));
        require_network(network)?;
        // A container that is not running has no address, and nothing to join.
        for container in containers.iter().filter(|c| !c.ip.is_empty()) {
            join(ctx, &container.id, network, app, Some(container.kind()))?;
        }
    }
    Ok(())
}

/// `network-get-property APP KEY`: a property's computed value.
pub fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("network-get-property", args)?;
    let known = [
        "attach-post-create",
        "attach-post-deploy",
        "bind-all-interfaces",
        "initial-network",
        "static-web-listener",
        "tld",
    ];
    if !known.contains(&key.as_str()) {
        bail!("Invalid network property specified: {key}");
    }
    log::data(&computed(ctx, app, key)?);
    Ok(())
}
