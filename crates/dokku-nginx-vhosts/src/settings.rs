//! `nginx:set` properties: the settings table, the nginx directives some of them become,
//! and the checks every value passes before nginx reads it.

use anyhow::{Result, bail};
use dokku_core::settings::{Scope, Setting, Settings};

use crate::policy;
use crate::swap::log_dir;

pub const SETTINGS: Settings = Settings {
    namespace: "nginx",
    table: &[
        Setting {
            key: "access-log-path",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: log_path,
        },
        Setting {
            key: "bind-address-ipv4",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: ipv4,
        },
        Setting {
            key: "bind-address-ipv6",
            scope: Scope::AppOrGlobal,
            default: "::",
            validate: ipv6,
        },
        Setting {
            key: "client-max-body-size",
            scope: Scope::AppOrGlobal,
            default: "1m",
            validate: size,
        },
        Setting {
            key: "error-log-path",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: log_path,
        },
        Setting {
            key: "hsts",
            scope: Scope::AppOrGlobal,
            default: "true",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "hsts-include-subdomains",
            scope: Scope::AppOrGlobal,
            default: "true",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "hsts-max-age",
            scope: Scope::AppOrGlobal,
            default: "15724800",
            validate: dokku_core::settings::seconds::<9_999_999_999>,
        },
        Setting {
            key: "hsts-preload",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: dokku_core::settings::boolean,
        },
        Setting {
            key: "proxy-read-timeout",
            scope: Scope::AppOrGlobal,
            default: "60s",
            validate: duration,
        },
        Setting {
            key: "nginx-conf-sigil-path",
            scope: Scope::AppOrGlobal,
            default: "nginx.conf.sigil",
            validate: dokku_core::settings::relative_path,
        },
        Setting {
            key: "disable-custom-config",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: dokku_core::settings::boolean,
        },
        directive_setting("access-log-format", ""),
        directive_setting("client-body-timeout", "60s"),
        directive_setting("client-header-timeout", "60s"),
        directive_setting("keepalive-timeout", "75s"),
        directive_setting("lingering-timeout", "5s"),
        directive_setting("proxy-buffer-size", "4k"),
        directive_setting("proxy-buffering", "on"),
        directive_setting("proxy-buffers", "8 4k"),
        directive_setting("proxy-busy-buffers-size", "8k"),
        directive_setting("proxy-connect-timeout", "60s"),
        directive_setting("proxy-keepalive", ""),
        directive_setting("proxy-send-timeout", "60s"),
        directive_setting("send-timeout", "60s"),
        directive_setting("underscore-in-headers", "off"),
        directive_setting("x-forwarded-for-value", "$remote_addr"),
        directive_setting("x-forwarded-port-value", "$server_port"),
        directive_setting("x-forwarded-proto-value", "$scheme"),
        directive_setting("x-forwarded-ssl", ""),
    ],
};

/// Settings that are nginx directives' values, with the variable an app's template reads
/// each as. Their defaults are Dokku's; the built-in config writes a directive only when
/// its setting differs from the default (nginx's own default is the same or close), except
/// the `X-Forwarded-*` headers, which it always sends.
pub(crate) const DIRECTIVES: &[(&str, &str, Place)] = &[
    ("access-log-format", "NGINX_ACCESS_LOG_FORMAT", Place::Own),
    ("client-body-timeout", "CLIENT_BODY_TIMEOUT", Place::Server),
    (
        "client-header-timeout",
        "CLIENT_HEADER_TIMEOUT",
        Place::Server,
    ),
    ("keepalive-timeout", "KEEPALIVE_TIMEOUT", Place::Server),
    ("lingering-timeout", "LINGERING_TIMEOUT", Place::Server),
    ("proxy-buffer-size", "PROXY_BUFFER_SIZE", Place::Proxy),
    ("proxy-buffering", "PROXY_BUFFERING", Place::Proxy),
    ("proxy-buffers", "PROXY_BUFFERS", Place::Proxy),
    (
        "proxy-busy-buffers-size",
        "PROXY_BUSY_BUFFERS_SIZE",
        Place::Proxy,
    ),
    (
        "proxy-connect-timeout",
        "PROXY_CONNECT_TIMEOUT",
        Place::Proxy,
    ),
    ("proxy-keepalive", "PROXY_KEEPALIVE", Place::Own),
    ("proxy-send-timeout", "PROXY_SEND_TIMEOUT", Place::Proxy),
    ("send-timeout", "SEND_TIMEOUT", Place::Server),
    (
        "underscore-in-headers",
        "NGINX_UNDERSCORE_IN_HEADERS",
        Place::Server,
    ),
    ("x-forwarded-for-value", "PROXY_X_FORWARDED_FOR", Place::Own),
    (
        "x-forwarded-port-value",
        "PROXY_X_FORWARDED_PORT",
        Place::Own,
    ),
    (
        "x-forwarded-proto-value",
        "PROXY_X_FORWARDED_PROTO",
        Place::Own,
    ),
    ("x-forwarded-ssl", "PROXY_X_FORWARDED_SSL", Place::Own),
];

/// Where the built-in config writes a directive setting.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Place {
    /// In each server block, when set away from its default.
    Server,
    /// In each proxied location, when set away from its default.
    Proxy,
    /// A line of its own making (a header, the upstream's keepalive, the log format).
    Own,
}

pub(crate) const fn directive_setting(key: &'static str, default: &'static str) -> Setting {
    Setting {
        key,
        scope: Scope::AppOrGlobal,
        default,
        validate: nginx_value,
    }
}

/// A value nginx takes as one or a few words: no quotes, braces, semicolons or newlines.
pub(crate) fn nginx_value(value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "$_.:/- ".contains(c));
    if !ok {
        bail!("Invalid value {value:?}: nginx words only (no quotes, braces or semicolons)");
    }
    Ok(())
}

/// Words nginx takes as they are: no spaces, quotes, braces or semicolons.
pub(crate) fn plain(value: &str) -> bool {
    !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
}

/// `off`, `/dev/stdout`, `/dev/stderr`, or a file directly in nginx's log directory:
/// root's nginx creates it.
pub(crate) fn log_path(value: &str) -> Result<()> {
    let dir = log_dir();
    if !(policy::is_output(value) || policy::log_file_allowed(&dir, value)) {
        bail!(
            "Invalid log path {value:?}: a file directly in {} (nginx's log directory), /dev/stdout, /dev/stderr or off",
            dir.display()
        );
    }
    Ok(())
}

pub(crate) fn ipv4(value: &str) -> Result<()> {
    if value.parse::<std::net::Ipv4Addr>().is_err() {
        bail!("Invalid IPv4 address {value:?}");
    }
    Ok(())
}

pub(crate) fn ipv6(value: &str) -> Result<()> {
    if value.parse::<std::net::Ipv6Addr>().is_err() {
        bail!("Invalid IPv6 address {value:?}");
    }
    Ok(())
}

/// `10m`, `512k`, `0`.
pub(crate) fn size(value: &str) -> Result<()> {
    let digits = value.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.len() + 1 < value.len()
    {
        bail!("Invalid size {value:?}: a number with an optional k, m or g");
    }
    Ok(())
}

/// `60s`, `2m`, `90`.
pub(crate) fn duration(value: &str) -> Result<()> {
    let digits = value.trim_end_matches(['s', 'm', 'h']);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || digits.len() + 1 < value.len()
    {
        bail!("Invalid duration {value:?}: a number of seconds, or with s, m or h");
    }
    Ok(())
}
