//! The `scheduler-swarm` plugin: an app's processes as Docker Swarm services across the
//! hosts of a swarm whose manager is this host's engine. Each deploy makes a new service
//! per process type (`<app>-<type>-<deploy id>`, Swarm's DNS round robin, no routing
//! mesh or virtual IPs), checks every task from this host, and only then puts it in the
//! place of the old one, which retires in the background, as docker-local does with
//! containers. Web tasks publish their port on a host port of their node; nginx on this
//! host reaches each at `node address:host port`.

mod cluster;
mod deploy;
mod logs;
mod retire;
mod run;
mod tasks;

use anyhow::{Result, bail};
use dokku_core::entry::{Command, Concerns, Plugin, TriggerEntry};
use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SCHEDULER: &str = "swarm";

pub const SETTINGS: Settings = Settings {
    namespace: "scheduler-swarm",
    table: &[
        Setting {
            key: "deploy-timeout",
            scope: Scope::AppOrGlobal,
            default: "300",
            validate: settings::seconds::<3600>,
        },
        Setting {
            key: "image-distribution",
            scope: Scope::AppOrGlobal,
            default: "load",
            validate: image_distribution,
        },
        Setting {
            key: "network",
            scope: Scope::GlobalOnly,
            default: cluster::NETWORK,
            validate: dokku_core::docker::network_name,
        },
    ],
};

/// How images reach the other nodes: `load` (`docker save | docker load` into each) or
/// `registry` (the registry plugin pushes each release; nodes pull it).
fn image_distribution(value: &str) -> Result<()> {
    if !matches!(value, "load" | "registry") {
        bail!("Invalid image-distribution {value:?}: use load or registry");
    }
    Ok(())
}

/// The scheduler triggers this plugin answers only for its own apps.
const OWN: &[&str] = &[
    "scheduler-app-containers",
    "scheduler-app-status",
    "scheduler-deploy",
    "scheduler-enter",
    "scheduler-inspect",
    "scheduler-is-deployed",
    "scheduler-logs",
    "scheduler-logs-failed",
    "scheduler-post-delete",
    "scheduler-pre-restore",
    "scheduler-proxy-config",
    "scheduler-proxy-logs",
    "scheduler-retire",
    "scheduler-run",
    "scheduler-run-list",
    "scheduler-run-logs",
    "scheduler-run-retire",
    "scheduler-run-stop",
    "scheduler-stop",
    "scheduler-uses-host-cron",
];

const fn concerns<const N: usize>(triggers: &[&'static str]) -> [Concerns; N] {
    let mut out = [Concerns {
        trigger: "",
        arg: 0,
        value: SCHEDULER,
    }; N];
    let mut i = 0;
    while i < N {
        out[i].trigger = triggers[i];
        i += 1;
    }
    out
}

const CONCERNS: [Concerns; OWN.len()] = concerns(OWN);

pub const PLUGIN: Plugin = Plugin {
    name: "scheduler-swarm",
    description: "Manage the Docker Swarm scheduler integration for an app",
    commands: &[
        Command {
            name: "initialize",
            args: "[--advertise-addr <address>]",
            help: "Makes this host's docker engine the manager of a new swarm",
            run: cluster::initialize,
        },
        Command {
            name: "cluster:add",
            args: "[--role worker|manager] <ssh://user@host[:port]|unix:///path>",
            help: "Joins the docker engine at an address to the swarm",
            run: cluster::add,
        },
        Command {
            name: "cluster:list",
            args: "[--format text|json]",
            help: "Lists the swarm's nodes",
            run: cluster::list,
        },
        Command {
            name: "reconcile",
            args: "[<app>]",
            help: "Routes an app (every swarm app) to its tasks as they run now",
            run: tasks::reconcile,
        },
        Command {
            name: "cluster:remove",
            args: "<node id|hostname>",
            help: "Removes a node from the swarm",
            run: cluster::remove,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "docker-args-run",
            run: run::run_args,
        },
        TriggerEntry {
            name: "scheduler-app-containers",
            run: tasks::app_containers,
        },
        TriggerEntry {
            name: "scheduler-app-status",
            run: tasks::app_status,
        },
        TriggerEntry {
            name: "scheduler-deploy",
            run: deploy::deploy,
        },
        TriggerEntry {
            name: "scheduler-enter",
            run: run::enter,
        },
        TriggerEntry {
            name: "scheduler-inspect",
            run: tasks::inspect,
        },
        TriggerEntry {
            name: "scheduler-is-deployed",
            run: tasks::is_deployed,
        },
        TriggerEntry {
            name: "scheduler-logs",
            run: logs::logs,
        },
        TriggerEntry {
            name: "scheduler-logs-failed",
            run: logs::failed,
        },
        TriggerEntry {
            name: "scheduler-post-delete",
            run: deploy::post_delete,
        },
        TriggerEntry {
            name: "scheduler-pre-restore",
            run: deploy::pre_restore,
        },
        TriggerEntry {
            name: "scheduler-proxy-config",
            run: run::proxy_config,
        },
        TriggerEntry {
            name: "scheduler-proxy-logs",
            run: run::proxy_logs,
        },
        TriggerEntry {
            name: "scheduler-retire",
            run: retire::retire,
        },
        TriggerEntry {
            name: "scheduler-run",
            run: run::run,
        },
        TriggerEntry {
            name: "scheduler-run-list",
            run: run::run_list,
        },
        TriggerEntry {
            name: "scheduler-run-logs",
            run: run::run_logs,
        },
        TriggerEntry {
            name: "scheduler-run-retire",
            run: run::run_retire,
        },
        TriggerEntry {
            name: "scheduler-run-stop",
            run: run::run_stop,
        },
        TriggerEntry {
            name: "scheduler-stop",
            run: deploy::stop,
        },
        TriggerEntry {
            name: "scheduler-uses-host-cron",
            run: run::uses_host_cron,
        },
    ],
    concerns: &CONCERNS,
    settings: Some(&SETTINGS),
    ..Plugin::DEFAULTS
};
