//! An app's site: what nginx needs to serve it (domains, ports, live web containers,
//! certificates, settings) gathered from the other plugins, the template it is rendered
//! from (the app's own `nginx.conf.sigil`, kept with each build, or the built-in one), and
//! the rendered config.

use anyhow::{Context, Result};
use dokku_core::entry::{Ctx, exactly};

use crate::config;
use crate::settings::{DIRECTIVES, Place, SETTINGS, plain};
use crate::swap::{check_only, vetted};
use crate::template;

pub(crate) fn conf_path(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.app_dir(app).join("nginx.conf")
}

/// Whether this plugin routes to the app: its proxy is enabled and is nginx.
pub(crate) fn routes(ctx: &Ctx, app: &str) -> Result<bool> {
    if !dokku_core::ask::proxy_enabled(ctx, app)? {
        return Ok(false);
    }
    let kind = ctx.trigger("proxy-type").arg(app).output_string()?;
    Ok(matches!(kind.trim(), "" | "nginx"))
}

/// The app's site, from the other plugins' answers.
pub(crate) fn site(ctx: &Ctx, app: &str) -> Result<config::Site> {
    let mappings = dokku_core::port_map::of_app(ctx, app)?
        .into_iter()
        .map(|m| (m.scheme, m.host_port, m.container_port))
        .collect();
    // An app served by something else on this host (`network:set APP static-web-listener
    // IP:PORT`) is routed there instead of to containers.
    let static_listener = ctx
        .trigger("network-get-property")
        .args([app, "static-web-listener"])
        .output_string()?;
    let static_ip = static_listener
        .trim()
        .rsplit_once(':')
        .map(|(ip, _)| ip.trim_matches(['[', ']']).to_string())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    let web = match static_ip {
        Some(ip) => vec![config::at_address(&ip)],
        None => dokku_core::ask::app_containers(ctx, app)?
            .into_iter()
            .filter(|c| c.kind() == "web")
            .filter(|c| c.ip.parse::<std::net::IpAddr>().is_ok())
            .collect(),
    };
    let domains = ctx
        .trigger("domains-list")
        .arg(app)
        .output_lines()?
        .into_iter()
        .filter(|d| plain(d))
        .collect();
    let setting = |key: &str| SETTINGS.computed(ctx, app, key);
    Ok(config::Site {
        app: app.to_string(),
        mappings,
        domains,
        web,
        bind_address: setting("bind-address-ipv4")?,
        bind_address_v6: {
            let props = SETTINGS.properties(ctx);
            let set = |slot: &str| -> Result<Option<String>> {
                Ok(props
                    .get(slot, "bind-address-ipv6")?
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty()))
            };
            match set(app)? {
                Some(v6) => Some(v6),
                None => set(dokku_core::property::GLOBAL)?,
            }
        },
        client_max_body_size: setting("client-max-body-size")?,
        proxy_read_timeout: setting("proxy-read-timeout")?,
        access_log: log_file(ctx, app, "access")?,
        error_log: log_file(ctx, app, "error")?,
        includes: ctx
            .roots
            .app_dir(app)
            .join("nginx.conf.d")
            .display()
            .to_string(),
        tls: ctx
            .trigger("certs-paths")
            .arg(app)
            .output_string()?
            .split_once(' ')
            .map(|(crt, key)| (crt.trim().to_string(), key.trim().to_string()))
            .filter(|(crt, key)| plain(crt) && plain(key)),
        hsts: setting("hsts")? == "true",
        hsts_include_subdomains: setting("hsts-include-subdomains")? == "true",
        hsts_preload: setting("hsts-preload")? == "true",
        hsts_max_age: setting("hsts-max-age")?,
        extra_lines: ctx.trigger("nginx-config").arg(app).output_lines()?,
        server_directives: changed_directives(ctx, app, Place::Server)?,
        proxy_directives: changed_directives(ctx, app, Place::Proxy)?,
        forwarded: [
            setting("x-forwarded-for-value")?,
            setting("x-forwarded-port-value")?,
            setting("x-forwarded-proto-value")?,
        ],
        forwarded_ssl: setting("x-forwarded-ssl")?,
        access_log_format: setting("access-log-format")?,
        keepalive: setting("proxy-keepalive")?,
    })
}

/// `name value;` for each directive setting of `place` whose value differs from its
/// default (the directive is the key with underscores; `underscore-in-headers` is nginx's
/// `underscores_in_headers`).
pub(crate) fn changed_directives(ctx: &Ctx, app: &str, place: Place) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let keys = DIRECTIVES.iter().filter(|(_, _, p)| *p == place);
    for (key, _, _) in keys {
        let value = SETTINGS.computed(ctx, app, key)?;
        let default = SETTINGS
            .table
            .iter()
            .find(|s| s.key == *key)
            .map_or("", |s| s.default);
        if value != default {
            let name = match *key {
                "underscore-in-headers" => "underscores_in_headers".to_string(),
                key => key.replace('-', "_"),
            };
            lines.push(format!("{name} {value};"));
        }
    }
    Ok(lines)
}

/// The app's config text: from a template when it has one, else built in, judged by the
/// app's rules ([`vetted`]); the built-in 502 one while no web container runs.
pub(crate) fn render_site(
    ctx: &Ctx,
    site: &config::Site,
    template: Option<&(String, &str)>,
) -> Result<String> {
    let text = match template {
        _ if site.web.is_empty() => config::render(site),
        // A plugin's template may read the host as sigil lets it; one from the app's
        // repository is text only.
        Some((text, source)) => template::render(
            text,
            &template_vars(ctx, site)?,
            &dokku_core::ask::app_config(ctx, &site.app)?,
            if *source == "plugin-supplied" {
                sigil::Access::Host
            } else {
                sigil::Access::Text
            },
        )?,
        None => config::render(site),
    };
    vetted(ctx, site, &text)
}

/// Where the app's template files live (`data/nginx-vhosts/<app>/`).
pub(crate) fn files_dir(ctx: &Ctx, app: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(FILES, app)
}

pub(crate) const FILES: &str = "nginx-vhosts";

pub(crate) const TEMPLATE: &str = "nginx.conf.sigil";

/// The app's template and whose it is: a plugin's (`nginx-app-template-source APP
/// app-config`), else the one its repository shipped (unless `disable-custom-config`);
/// `None` for the built-in config.
pub(crate) fn template_source(ctx: &Ctx, app: &str) -> Result<Option<(String, &'static str)>> {
    let from_plugin = ctx
        .trigger("nginx-app-template-source")
        .args([app, "app-config"])
        .output_string()?;
    let from_plugin = from_plugin.trim();
    if !from_plugin.is_empty() {
        let text = std::fs::read_to_string(from_plugin)
            .with_context(|| format!("reading the template {from_plugin}"))?;
        return Ok(Some((text, "plugin-supplied")));
    }
    if SETTINGS.computed(ctx, app, "disable-custom-config")? == "true" {
        return Ok(None);
    }
    Ok(
        dokku_core::fs::read_optional(&files_dir(ctx, app).join(TEMPLATE))?
            .map(|text| (text, "app-supplied")),
    )
}

/// The variables Dokku gives an app's template.
pub(crate) fn template_vars(
    ctx: &Ctx,
    site: &config::Site,
) -> Result<std::collections::BTreeMap<String, String>> {
    let app = site.app.as_str();
    let mappings = config::served(site);
    let join = |items: Vec<String>| items.join(" ");
    let first_port = |scheme: &str| {
        mappings
            .iter()
            .find(|(s, _, _)| s == scheme)
            .map_or(String::new(), |(_, host, _)| host.to_string())
    };
    let mut upstream_ports: Vec<u16> = mappings.iter().map(|(_, _, c)| *c).collect();
    upstream_ports.sort_unstable();
    upstream_ports.dedup();
    let listen_port = upstream_ports.first().copied().unwrap_or(5000);
    let listeners = join(
        site.web
            .iter()
            .map(|container| container.address(listen_port))
            .collect(),
    );
    let tls = site.tls.is_some();
    let names = join(site.domains.clone());
    let mut vars: std::collections::BTreeMap<String, String> = [
        ("APP", app.to_string()),
        ("DOKKU_ROOT", ctx.roots.dokku_root.display().to_string()),
        ("DOKKU_LIB_ROOT", ctx.roots.lib_root.display().to_string()),
        ("NOSSL_SERVER_NAME", names.clone()),
        ("SSL_SERVER_NAME", if tls { names } else { String::new() }),
        ("SSL_INUSE", if tls { "true".into() } else { String::new() }),
        (
            "APP_SSL_PATH",
            ctx.roots.app_dir(app).join("tls").display().to_string(),
        ),
        (
            "PROXY_PORT_MAP",
            join(
                mappings
                    .iter()
                    .map(|(s, h, c)| format!("{s}:{h}:{c}"))
                    .collect(),
            ),
        ),
        (
            "PROXY_UPSTREAM_PORTS",
            join(upstream_ports.iter().map(u16::to_string).collect()),
        ),
        ("PROXY_PORT", first_port("http")),
        ("PROXY_SSL_PORT", first_port("https")),
        ("NGINX_PORT", first_port("http")),
        ("NGINX_SSL_PORT", first_port("https")),
        ("DOKKU_APP_WEB_LISTENERS", listeners.clone()),
        ("DOKKU_APP_LISTENERS", listeners),
        ("HTTP2_SUPPORTED", "true".into()),
        // `http2 on;` needs nginx 1.25.1; Debian 12 ships 1.22.
        ("HTTP2_DIRECTIVE_SUPPORTED", "false".into()),
        ("HTTP2_PUSH_SUPPORTED", "false".into()),
        ("GRPC_SUPPORTED", "true".into()),
        ("TLS13_SUPPORTED", "true".into()),
        ("SPDY_SUPPORTED", String::new()),
        ("NGINX_ACCESS_LOG_PATH", site.access_log.clone()),
        ("NGINX_ERROR_LOG_PATH", site.error_log.clone()),
        ("NGINX_BIND_ADDRESS_IP4", site.bind_address.clone()),
        (
            "NGINX_BIND_ADDRESS_IP6",
            SETTINGS.computed(ctx, app, "bind-address-ipv6")?,
        ),
        (
            "CLIENT_MAX_BODY_SIZE",
            if site.client_max_body_size.is_empty() {
                "1m".into()
            } else {
                site.client_max_body_size.clone()
            },
        ),
        ("PROXY_READ_TIMEOUT", site.proxy_read_timeout.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (key, var, _) in DIRECTIVES {
        vars.insert(var.to_string(), SETTINGS.computed(ctx, app, key)?);
    }
    // The other process types' containers, `DOKKU_APP_<TYPE>_LISTENERS` (`ip:port` each),
    // for templates that route to them too.
    let mut others: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for container in dokku_core::ask::app_containers(ctx, app)? {
        if container.kind() == "web" || container.ip.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        let name = container.kind().to_ascii_uppercase().replace('-', "_");
        others
            .entry(format!("DOKKU_APP_{name}_LISTENERS"))
            .or_default()
            .push(container.address(listen_port));
    }
    for (key, listeners) in others {
        vars.insert(key, listeners.join(" "));
    }
    Ok(vars)
}

/// `core-post-extract APP DIR REV`: the repository's template (`nginx-conf-sigil-path`)
/// is kept with the build; one that does not parse fails the build.
pub(crate) fn keep_template(ctx: &Ctx, args: &[String]) -> Result<()> {
    dokku_core::build_files::keep_build_file(
        ctx,
        args,
        FILES,
        |app| {
            Ok((
                SETTINGS.computed(ctx, app, "nginx-conf-sigil-path")?,
                TEMPLATE.into(),
            ))
        },
        TEMPLATE,
        |text| template::check(text).map(|()| text.to_string()),
    )?;
    pre_validate(ctx, &args[0])
}

/// Before anything is built, the build's own template is rendered for the app (a stand-in
/// container where none runs yet) and nginx checks the result, so a template nginx would
/// refuse fails the deploy at once rather than after the build, as in Dokku.
fn pre_validate(ctx: &Ctx, app: &str) -> Result<()> {
    let Some(build) = dokku_core::build_files::BuildFiles::current(&ctx.roots, FILES, app) else {
        return Ok(());
    };
    let Some(text) = build.get(TEMPLATE)? else {
        return Ok(());
    };
    if !routes(ctx, app)? || SETTINGS.computed(ctx, app, "disable-custom-config")? == "true" {
        return Ok(());
    }
    dokku_core::log::info1("Pre-validating custom nginx.conf.sigil");
    let mut site = site(ctx, app)?;
    if site.web.is_empty() {
        site.web.push(config::at_address("127.0.0.1"));
    }
    let checked =
        render_site(ctx, &site, Some(&(text, "app-supplied"))).and_then(|rendered| match rendered
            .is_empty()
        {
            true => Ok(()),
            false => check_only(ctx, app, &rendered),
        });
    if let Err(err) = checked {
        dokku_core::log::warn(&format!("{err:#}"));
        anyhow::bail!("Custom nginx.conf.sigil failed nginx -t validation");
    }
    Ok(())
}

/// `post-release-builder BUILDER APP IMAGE`: before the release replaces anything, the
/// build's template is rendered for the app as it runs now and nginx checks the result;
/// a config nginx refuses fails the deploy while the old release keeps serving. Then the
/// build's template (or none) becomes the app's.
pub(crate) fn adopt_template(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, _image] = exactly::<3>("post-release-builder", args)?;
    let Some(build) = dokku_core::build_files::BuildFiles::current(&ctx.roots, FILES, app) else {
        return Ok(());
    };
    if let Some(text) = build.get(TEMPLATE)?
        && routes(ctx, app)?
        && SETTINGS.computed(ctx, app, "disable-custom-config")? != "true"
    {
        let site = site(ctx, app)?;
        let rendered = render_site(ctx, &site, Some(&(text, "app-supplied")))?;
        if !rendered.is_empty() {
            check_only(ctx, app, &rendered)?;
        }
    }
    dokku_core::build_files::adopt_build_file(&ctx.roots, FILES, app, TEMPLATE)?;
    Ok(())
}

/// The path of the app's `kind` (`access` or `error`) log.
pub(crate) fn log_file(ctx: &Ctx, app: &str, kind: &str) -> Result<String> {
    let set = SETTINGS.computed(ctx, app, &format!("{kind}-log-path"))?;
    if !set.is_empty() {
        return Ok(set);
    }
    let dir =
        dokku_core::env::var("DOKKU_NGINX_LOG_DIR").unwrap_or_else(|| "/var/log/nginx".into());
    Ok(format!("{dir}/{app}-{kind}.log"))
}
