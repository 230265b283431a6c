//! Port mappings, `scheme:host-port:container-port` (`http:80:5000`): what the ports
//! plugin stores and answers through `ports-get`, and what the scheduler, the proxies and
//! the ports plugin itself read, parsed once here.

use anyhow::{Result, bail};

use crate::entry::Ctx;

const SCHEMES: [&str; 5] = ["http", "https", "grpc", "grpcs", "udp"];

/// One mapping: `http:80:5000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub scheme: String,
    pub host_port: u16,
    pub container_port: u16,
}

impl std::fmt::Display for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.scheme, self.host_port, self.container_port
        )
    }
}

/// A port from 1 to 65535.
pub fn port(text: &str) -> Option<u16> {
    text.parse().ok().filter(|p| *p > 0)
}

/// `scheme:host-port:container-port`, checked.
pub fn parse(text: &str) -> Result<Mapping> {
    let parts: Vec<&str> = text.split(':').collect();
    if let [scheme, host, container] = parts[..]
        && SCHEMES.contains(&scheme)
        && let (Some(host_port), Some(container_port)) = (port(host), port(container))
    {
        return Ok(Mapping {
            scheme: scheme.to_string(),
            host_port,
            container_port,
        });
    }
    bail!(
        "Invalid port mapping {text:?}: use scheme:host-port:container-port with a scheme of {} and ports 1 to 65535",
        SCHEMES.join(", ")
    )
}

/// The app's effective mappings ([`crate::ask::ports`]); lines that are not mappings are
/// skipped.
pub fn of_app(ctx: &Ctx, app: &str) -> Result<Vec<Mapping>> {
    Ok(crate::ask::ports(ctx, app)?
        .lines()
        .filter_map(|line| parse(line.trim()).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_checked() {
        let m = parse("http:80:5000").expect("valid");
        assert_eq!(
            (m.scheme.as_str(), m.host_port, m.container_port),
            ("http", 80, 5000)
        );
        assert_eq!(m.to_string(), "http:80:5000");
        for good in ["https:443:5000", "udp:53:53", "grpc:50051:50051"] {
            assert!(parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "http:80",
            "tcp:80:5000",
            "http:0:5000",
            "http:80:70000",
            "http:80:5000:1",
            "http:x:5000",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
