//! What may be a domain: RFC 1123 hostnames (labels of letters, digits and inner hyphens,
//! 63 characters each, 253 in all), optionally with nginx's leading `*.` or `.` wildcard
//! (a leading dot: the domain and every name under it), or nginx's catch-all `_`; IP
//! addresses only where the global domain is concerned.

use std::net::IpAddr;

use anyhow::{Result, bail};

const MAX_LEN: usize = 253;
const MAX_LABEL: usize = 63;

/// The domain in its stored (lowercase) form, or why it is not one.
pub fn parse(domain: &str) -> Result<String> {
    let lower = domain.to_ascii_lowercase();
    if lower.is_empty() {
        bail!("A domain cannot be empty");
    }
    if lower.len() > MAX_LEN {
        bail!("Invalid domain {domain:?}: longer than {MAX_LEN} characters");
    }
    if lower == "_" {
        return Ok(lower);
    }
    let rest = lower
        .strip_prefix("*.")
        .or_else(|| lower.strip_prefix('.'))
        .unwrap_or(&lower);
    if rest.is_empty() {
        bail!("Invalid domain {domain:?}: a wildcard needs a domain after \"*.\"");
    }
    for label in rest.split('.') {
        let ok = !label.is_empty()
            && label.len() <= MAX_LABEL
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            bail!(
                "Invalid domain {domain:?}: each dot-separated label must be 1-63 letters, digits or inner hyphens"
            );
        }
    }
    Ok(lower)
}

/// A global domain may also be an IP address (apps then get no default vhost).
pub fn parse_global(domain: &str) -> Result<String> {
    if domain.parse::<IpAddr>().is_ok() {
        return Ok(domain.to_string());
    }
    parse(domain)
}

pub fn is_ip(domain: &str) -> bool {
    domain.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hostnames_and_wildcards() {
        for ok in [
            "example.com",
            "a.b.c.example.co.uk",
            "localhost",
            "xn--bcher-kva.example",
            "*.example.com",
            ".example.com",
            "_",
            "1.2.3.4",
            "my-app-2.dokku.me",
        ] {
            assert_eq!(parse(ok).unwrap(), ok, "{ok}");
        }
        assert_eq!(parse("Example.COM").unwrap(), "example.com");
        let longest_label = "a".repeat(63);
        assert!(parse(&format!("{longest_label}.com")).is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = vec!["abcdefghi"; 26].join(".");
        for bad in [
            "",
            "-app.com",
            "app-.com",
            "a..b",
            "..example.com",
            ".*.example.com",
            "__",
            "example.com.",
            "exa mple.com",
            "ex_ample.com",
            "*.",
            "*",
            "a.*.com",
            "**.com",
            "example.com/path",
            "example.com:80",
            "$(id).com",
            "ünï.com",
            &long_label,
            &long_name,
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn globals_may_be_addresses() {
        assert_eq!(parse_global("10.0.0.1").unwrap(), "10.0.0.1");
        assert_eq!(parse_global("::1").unwrap(), "::1");
        assert!(is_ip("::1") && is_ip("127.0.0.1") && !is_ip("dokku.me"));
        assert!(parse_global("1.2.3.4.5.x_").is_err());
    }
}
