//! A swarm of docker engines on this machine (`tests/swarm-rig`): each in a network
//! namespace of its own on a private bridge, this host on it too. Stopped and removed when
//! dropped. Needs root.

use std::collections::BTreeMap;
use std::process::Command;

pub struct SwarmRig {
    pub name: String,
    values: BTreeMap<String, String>,
}

impl SwarmRig {
    /// `nodes` engines, in no swarm yet; named after `prefix` and this process.
    pub fn up(prefix: &str, nodes: u32) -> Result<SwarmRig, String> {
        let id = std::process::id();
        let name = format!("{prefix}{}", id % 100_000);
        let net = (id % 200 + 20).to_string();
        let out = Command::new(crate::workspace_root().join("tests/swarm-rig"))
            .args(["up", &name, &net, &nodes.to_string()])
            .output()
            .map_err(|e| format!("tests/swarm-rig: {e}"))?;
        let rig = SwarmRig {
            name,
            values: String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        if !out.status.success() {
            return Err(format!(
                "tests/swarm-rig could not start {nodes} docker engines (it needs root, iproute2, \
                 util-linux and docker.io):\n{}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(rig)
    }

    /// One of the rig's `KEY=VALUE` answers (`RIG_HOST_ADDR`, `RIG_NODE2_NS`, ...).
    pub fn value(&self, key: &str) -> &str {
        self.values
            .get(key)
            .unwrap_or_else(|| panic!("the rig says nothing of {key}"))
    }

    /// `unix://` and the socket of a node's engine.
    pub fn socket(&self, node: u32) -> String {
        format!("unix://{}", self.value(&format!("RIG_NODE{node}_SOCKET")))
    }

    /// A node's address on the rig.
    pub fn addr(&self, node: u32) -> &str {
        self.value(&format!("RIG_NODE{node}_ADDR"))
    }
}

impl Drop for SwarmRig {
    fn drop(&mut self) {
        let _ = Command::new(crate::workspace_root().join("tests/swarm-rig"))
            .args(["down", &self.name])
            .output();
    }
}
