//! The `letsencrypt` plugin: a certificate for an app's domains from an ACME server (Let's
//! Encrypt unless `server` says otherwise), obtained and renewed by Debian's `lego`, the
//! client Dokku's own letsencrypt plugin runs, and installed through the certs plugin
//! (`certs-set`), whose `post-certs-update` makes nginx serve it.
//!
//! The HTTP-01 challenge is answered by nginx itself: while the app has letsencrypt
//! state, its server blocks carry (through `nginx-config`) a location for
//! `/.well-known/acme-challenge/` rooted in the app's webroot, where lego writes the
//! token. Nothing listens besides nginx, and renewals need no change to nginx.
//!
//! State: `data/letsencrypt/<app>/` (0755: nginx reads `webroot/`), lego's account and
//! certificates in its `lego/` (0700), and `data/letsencrypt/--global/autorenew` when the
//! renewal cron job is on (the cron plugin asks `cron-entries`).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::AppName;
use dokku_core::cmd::Cmd;
use dokku_core::entry::{AppsOrAll, Command, Ctx, Hooks, Plugin, TriggerEntry, exactly, parse};
use dokku_core::log;
use dokku_core::settings::{Scope, Setting, Settings};

const PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
const STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
/// Thirty days: a certificate closer than this to its expiry is renewed.
const DEFAULT_GRACE_PERIOD: &str = "2592000";

pub const SETTINGS: Settings = Settings {
    namespace: "letsencrypt",
    table: &[
        Setting {
            key: "dns-provider",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: provider,
        },
        Setting {
            key: "email",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: email,
        },
        Setting {
            key: "graceperiod",
            scope: Scope::AppOrGlobal,
            default: DEFAULT_GRACE_PERIOD,
            validate: dokku_core::settings::seconds::<{ u64::MAX }>,
        },
        Setting {
            key: "lego-args",
            scope: Scope::AppOrGlobal,
            default: "",
            validate: lego_args,
        },
        Setting {
            key: "server",
            scope: Scope::AppOrGlobal,
            default: "default",
            validate: server,
        },
    ],
};

pub const PLUGIN: Plugin = Plugin {
    name: "letsencrypt",
    description: "Manage Let's Encrypt certificates for an app",
    default_command: Some("list"),
    commands: &[
        Command {
            name: "active",
            args: "<app>",
            help: "Print whether the app serves a certificate this plugin obtained",
            run: active,
        },
        Command {
            name: "auto-renew",
            args: "[<app>]",
            help: "Renew the certificates that are within their grace period of expiry",
            run: auto_renew,
        },
        Command {
            name: "cron-job",
            args: "[--add|--remove]",
            help: "Add, remove or show the daily auto-renew cron job",
            run: cron_job,
        },
        Command {
            name: "disable",
            args: "<app>",
            help: "Remove the app's certificate and letsencrypt state",
            run: disable,
        },
        Command {
            name: "enable",
            args: "<app>|--all [--force]",
            help: "Obtain (or renew) a certificate for the app's domains",
            run: enable,
        },
        Command {
            name: "list",
            args: "",
            help: "List the apps with a letsencrypt certificate and their expiry",
            run: list,
        },
        Command {
            name: "revoke",
            args: "<app>",
            help: "Revoke the app's certificate at the ACME server and remove it",
            run: revoke,
        },
        Command {
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a letsencrypt property (email, server, graceperiod, dns-provider-*, ...)",
            run: set_property,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "cron-entries",
            run: cron_entries,
        },
        TriggerEntry {
            name: "nginx-config",
            run: nginx_config,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: rename,
        },
    ],
    settings: Some(&SETTINGS),
    hooks: Hooks {
        report_rows: Some(report_rows),
        ..Hooks::NONE
    },
    ..Plugin::DEFAULTS
};

fn provider(value: &str) -> Result<()> {
    if value.is_empty()
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("Invalid DNS provider {value:?}: a lego provider name such as cloudflare");
    }
    if value == "exec" {
        bail!(
            "The exec DNS provider runs a program of the caller's choosing: use a provider with an API (httpreq for your own)"
        );
    }
    Ok(())
}

fn email(value: &str) -> Result<()> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
    };
    match value.split_once('@') {
        Some((user, domain)) if plain(user) && plain(domain) && domain.contains('.') => Ok(()),
        _ => bail!("Invalid email address {value:?}"),
    }
}

fn lego_args(value: &str) -> Result<()> {
    let words = shell_words::split(value)
        .map_err(|_| anyhow::anyhow!("Invalid lego arguments {value:?}: unbalanced quotes"))?;
    // These are the plugin's to choose: another path or webroot would put state where
    // nothing looks for it.
    if let Some(word) = words.iter().find(|w| {
        [
            "--path",
            "--http.webroot",
            "--server",
            "--email",
            "--domains",
            "-d",
        ]
        .iter()
        .any(|owned| w.as_str() == *owned || w.starts_with(&format!("{owned}=")))
    }) {
        bail!("Invalid lego arguments: {word} is set by the plugin");
    }
    Ok(())
}

fn server(value: &str) -> Result<()> {
    let url = value.starts_with("https://") || value.starts_with("http://");
    if !(matches!(value, "default" | "staging") || url) || value.contains(char::is_whitespace) {
        bail!("Invalid server {value:?}: default, staging or an ACME directory URL");
    }
    Ok(())
}

/// The prefix of the keys that hold a DNS provider's credentials: `dns-provider-NAME VALUE`
/// reaches lego as the environment variable `NAME`.
const CREDENTIAL_PREFIX: &str = "dns-provider-";

/// `letsencrypt:set`: the settings table's keys, and a DNS provider's credentials.
fn set_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: dokku_core::settings::SetArgs = parse("letsencrypt:set", args)?;
    let (target, rest) = dokku_core::app::Target::parse(&ctx.roots, cmd.global, &cmd.rest)?;
    let Some((key, value)) = rest.split_first() else {
        bail!("No property specified");
    };
    let Some(name) = key.strip_prefix(CREDENTIAL_PREFIX) else {
        return SETTINGS.set(ctx, cmd.global, &cmd.rest).map(|_| ());
    };
    credential_name(name)?;
    let props = SETTINGS.properties(ctx);
    match value {
        [] => {
            log::info2_quiet(&format!("Unsetting {key}"));
            props.delete(target.slot(), key)
        }
        [value] if !value.contains(['\n', '\0']) => {
            log::info2_quiet(&format!("Setting {key}"));
            props.set(target.slot(), key, value)
        }
        [_] => bail!("Invalid value for {key}: one line"),
        [_, extra, ..] => bail!("Unexpected argument {extra:?}"),
    }
}

/// Names no credential has: ones that tell a program where to load code or files from,
/// or change how lego itself or its runtime behave.
const NOT_CREDENTIALS: &[&str] = &[
    "ALL_PROXY",
    "BASH_",
    "DOCKER_",
    "DOKKU_",
    "EXEC_",
    "GCONV_",
    "GIT_",
    "GO",
    "HOME",
    "HOSTALIASES",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "LANG",
    "LC_",
    "LD_",
    "LEGO_",
    "LOCALDOMAIN",
    "MALLOC_",
    "NLSPATH",
    "NO_PROXY",
    "PATH",
    "PERL",
    "PYTHON",
    "RES_OPTIONS",
    "SHELL",
    "SSH_",
    "SSL_",
    "SUDO_",
    "TMP",
    "TZ",
    "XDG_",
];

/// A provider credential's name: `PROVIDER_SOMETHING` in capitals, never a name that
/// steers lego or the loader ([`NOT_CREDENTIALS`]).
fn credential_name(name: &str) -> Result<()> {
    let shaped = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.contains('_')
        && !name.ends_with('_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !shaped {
        bail!("Invalid credential name {name:?}: a provider's variable such as CF_DNS_API_TOKEN");
    }
    if let Some(prefix) = NOT_CREDENTIALS.iter().find(|p| name.starts_with(*p)) {
        bail!("{name} is not a DNS provider's credential (names starting {prefix} steer programs)");
    }
    Ok(())
}

/// The environment lego runs with: a fixed PATH, the host's trust and proxy settings
/// (root's defaults file, never an admin's), and the provider's credentials.
fn lego_env(cmd: Cmd) -> Cmd {
    let mut cmd = cmd.env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin");
    for name in [
        "LEGO_CA_CERTIFICATES",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        if let Some(value) = dokku_core::env::var(name) {
            cmd = cmd.env(name, value);
        }
    }
    cmd
}

/// The DNS provider's credentials for the app: global ones, then the app's own; a stored
/// name that is no credential (written before these rules) is left out.
fn credentials(ctx: &Ctx, app: &str) -> Result<Vec<(String, String)>> {
    let props = SETTINGS.properties(ctx);
    let mut found = std::collections::BTreeMap::new();
    for slot in [dokku_core::property::GLOBAL, app] {
        for (key, value) in props.all(slot)? {
            if let Some(name) = key.strip_prefix(CREDENTIAL_PREFIX)
                && credential_name(name).is_ok()
            {
                found.insert(name.to_string(), value);
            }
        }
    }
    Ok(found.into_iter().collect())
}

fn app_dir(ctx: &Ctx, app: &str) -> PathBuf {
    ctx.roots.data_dir(SETTINGS.namespace, app)
}

fn global_dir(ctx: &Ctx) -> PathBuf {
    ctx.roots.lib_root.join("data/letsencrypt/--global")
}

fn webroot(ctx: &Ctx, app: &str) -> PathBuf {
    app_dir(ctx, app).join("webroot")
}

fn lego_dir(ctx: &Ctx, app: &str) -> PathBuf {
    app_dir(ctx, app).join("lego")
}

/// The ACME directory URL the app uses.
fn directory_url(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(match SETTINGS.computed(ctx, app, "server")?.as_str() {
        "default" | "" => PRODUCTION.to_string(),
        "staging" => STAGING.to_string(),
        url => url.to_string(),
    })
}

/// The app's domains a certificate can name (not `_`, nginx's catch-all).
fn domains(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
    Ok(ctx
        .trigger("domains-list")
        .arg(app)
        .output_lines()?
        .into_iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty() && d != "_")
        .collect())
}

/// lego's files for the certificate of `domain` (a wildcard's `*` is `_` in file names).
fn lego_files(ctx: &Ctx, app: &str, domain: &str) -> (PathBuf, PathBuf) {
    let dir = lego_dir(ctx, app).join("certificates");
    let name = domain.replace('*', "_");
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// The certificate the app serves now (`certs-paths`), if any.
fn served_certificate(ctx: &Ctx, app: &str) -> Result<Option<PathBuf>> {
    let paths = ctx.trigger("certs-paths").arg(app).output_string()?;
    Ok(certificate_of(&paths))
}

/// The certificate file of a `certs-paths` answer (`CRT KEY`), when it exists.
fn certificate_of(paths: &str) -> Option<PathBuf> {
    paths
        .split_whitespace()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// True when the app serves the certificate lego obtained for it.
fn is_active(ctx: &Ctx, app: &str) -> Result<bool> {
    serves_ours(ctx, app, served_certificate(ctx, app)?.as_deref())
}

/// True when `served` is the certificate lego obtained for the app.
fn serves_ours(ctx: &Ctx, app: &str, served: Option<&std::path::Path>) -> Result<bool> {
    let Some(served) = served else {
        return Ok(false);
    };
    let Some(first) = domains(ctx, app)?.into_iter().next() else {
        return Ok(false);
    };
    let (crt, _) = lego_files(ctx, app, &first);
    Ok(match dokku_core::fs::read_optional(&crt)? {
        Some(ours) => std::fs::read_to_string(served)? == ours,
        None => false,
    })
}

/// When the served certificate expires, in seconds since the epoch.
fn expiry(ctx: &Ctx, app: &str) -> Result<Option<u64>> {
    match served_certificate(ctx, app)? {
        Some(crt) => expiry_of(&crt),
        None => Ok(None),
    }
}

/// When the certificate in `crt` expires, in seconds since the epoch.
fn expiry_of(crt: &std::path::Path) -> Result<Option<u64>> {
    let openssl = dokku_core::cmd::find_program("openssl")
        .context("openssl is not installed (apt-get install openssl)")?;
    let out = Cmd::new(openssl)
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(crt)
        .output_unchecked()?;
    let text = out.stdout_str();
    Ok(text
        .trim()
        .strip_prefix("notAfter=")
        .and_then(dokku_core::time::parse_utc))
}

fn grace_period(ctx: &Ctx, app: &str) -> Result<u64> {
    Ok(SETTINGS
        .computed(ctx, app, "graceperiod")?
        .parse()
        .unwrap_or(2_592_000))
}

/// When the app's letsencrypt certificate expires (seconds since the epoch), and the
/// seconds until then and until its grace period starts (negative: renew now).
struct Timing {
    expires: u64,
    to_expiry: i64,
    to_renewal: i64,
}

/// The app's [`Timing`]; `None` without a letsencrypt certificate.
fn timing(ctx: &Ctx, app: &str) -> Result<Option<Timing>> {
    if !is_active(ctx, app)? {
        return Ok(None);
    }
    let Some(expires) = expiry(ctx, app)? else {
        return Ok(None);
    };
    let to_expiry = expires as i64 - dokku_core::time::now().as_secs() as i64;
    Ok(Some(Timing {
        expires,
        to_expiry,
        to_renewal: to_expiry - grace_period(ctx, app)? as i64,
    }))
}

/// `12d, 3h, 4m, 5s`, or with ` ago` for a time past.
fn format_span(seconds: i64) -> String {
    let mut left = seconds.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    let text = if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(", ")
    };
    if seconds < 0 {
        format!("{text} ago")
    } else {
        text
    }
}

#[derive(Parser)]
struct Enable {
    #[command(flatten)]
    target: AppsOrAll,
    /// Ask for a new certificate even when the current one is still valid.
    #[arg(long, short)]
    force: bool,
}

fn enable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Enable = parse("letsencrypt:enable", args)?;
    let apps = cmd.target.apps(ctx, "letsencrypt:enable")?;
    let mut failed = Vec::new();
    for app in &apps {
        if let Err(err) = obtain(ctx, app, cmd.force) {
            if apps.len() == 1 {
                return Err(err);
            }
            log::warn(&format!("{app}: {err:#}"));
            failed.push(app.clone());
        }
    }
    if !failed.is_empty() {
        bail!("No certificate for {}", failed.join(", "));
    }
    Ok(())
}

/// Gets a certificate for the app's domains and installs it, unless the one it has is
/// still outside its grace period (and `force` is off).
fn obtain(ctx: &Ctx, app: &str, force: bool) -> Result<()> {
    let domains = domains(ctx, app)?;
    if domains.is_empty() {
        bail!("No domains detected for {app}: add one with domains:add");
    }
    let email = SETTINGS.computed(ctx, app, "email")?;
    if email.is_empty() {
        bail!(
            "Cannot request a certificate without an e-mail address: dokku letsencrypt:set {app} email <e-mail>"
        );
    }
    log::info2(&format!("Enabling letsencrypt for {app}"));
    if !force
        && let Some(Timing { to_renewal, .. }) = timing(ctx, app)?
        && to_renewal > 0
    {
        log::info1(&format!(
            "The certificate of {app} is still valid, {} before renewal; --force asks for a new one",
            format_span(to_renewal)
        ));
        return Ok(());
    }
    let dns_provider = SETTINGS.computed(ctx, app, "dns-provider")?;
    if dns_provider.is_empty()
        && dokku_core::fs::read_optional(&ctx.roots.app_dir(app).join("nginx.conf"))?.is_none()
    {
        bail!(
            "{app} has no nginx site to answer the ACME challenge: deploy it with the nginx proxy and an http port first"
        );
    }
    let dir = app_dir(ctx, app);
    std::fs::create_dir_all(&dir)?;
    let _lock = dokku_core::fs::FileLock::wait(&dir.join(".lock"))?;
    set_mode(&dir, 0o755)?;
    std::fs::create_dir_all(webroot(ctx, app))?;
    set_mode(&webroot(ctx, app), 0o755)?;
    std::fs::create_dir_all(lego_dir(ctx, app))?;
    set_mode(&lego_dir(ctx, app), 0o700)?;
    if dns_provider.is_empty() {
        // The challenge location goes into the app's server blocks before lego asks (the
        // reload is complete when the trigger returns).
        ctx.trigger("proxy-build-config").arg(app).stream()?;
    }
    let url = directory_url(ctx, app)?;
    let challenge = if dns_provider.is_empty() {
        "HTTP-01"
    } else {
        "DNS-01"
    };
    log::info1(&format!(
        "Getting a certificate for {app} from {url} via {challenge}"
    ));
    for domain in &domains {
        log::verbose(&format!("- Domain '{domain}'"));
    }
    let mut lego = lego(ctx, app, &email, &url)?;
    if dns_provider.is_empty() {
        lego = lego
            .arg("--http")
            .arg("--http.webroot")
            .arg(webroot(ctx, app));
    } else {
        lego = lego.args(["--dns", &dns_provider]);
        for (name, value) in credentials(ctx, app)? {
            lego = lego.env(name, value);
        }
    }
    for domain in &domains {
        lego = lego.args(["--domains", domain]);
    }
    run_lego(lego.arg("run"), "obtaining a certificate")?;
    let (crt, key) = lego_files(ctx, app, &domains[0]);
    log::info1("Installing the certificate");
    ctx.trigger("certs-set")
        .arg(app)
        .arg(&crt)
        .arg(&key)
        .stream()?;
    log::info1("Done");
    Ok(())
}

fn set_mode(path: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// lego with the app's account and state: `--path`, `--server`, `--email`, the terms
/// accepted, and the app's `lego-args`, in a clean environment ([`lego_env`]). lego reads
/// `LEGO_CA_CERTIFICATES` (the defaults file may set it) to trust a private ACME server.
fn lego(ctx: &Ctx, app: &str, email: &str, url: &str) -> Result<Cmd> {
    let bin = dokku_core::cmd::find_program("lego")
        .context("lego is not installed (apt-get install lego)")?;
    let extra = SETTINGS.computed(ctx, app, "lego-args")?;
    Ok(lego_env(Cmd::new(bin))
        .arg("--accept-tos")
        .arg("--path")
        .arg(lego_dir(ctx, app))
        .args(["--server", url, "--email", email])
        .args(shell_words::split(&extra)?))
}

/// Runs lego with its output under the step; its failure is the error, with a word on
/// rate limits when the server gave that reason.
fn run_lego(cmd: Cmd, what: &str) -> Result<()> {
    let lines = std::cell::RefCell::new(Vec::new());
    let code = cmd.stream_mapped(|line| {
        lines.borrow_mut().push(line.to_string());
        format!("       {line}")
    })?;
    if code != 0 {
        let lines = lines.into_inner();
        if lines
            .iter()
            .any(|l| l.contains("urn:ietf:params:acme:error:rateLimited") || l.contains("too many"))
        {
            log::warn(
                "The ACME server rate-limited this request: use `letsencrypt:set <app> server staging` while trying things out",
            );
        }
        bail!("lego failed {what} (exit {code})");
    }
    Ok(())
}

fn active(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:active", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    log::data(&is_active(ctx, app.as_str())?.to_string());
    Ok(())
}

fn disable(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:disable", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let app = app.as_str();
    log::info1(&format!("Disabling letsencrypt for {app}"));
    if is_active(ctx, app)? {
        log::verbose("Removing the certificate");
        ctx.trigger("certs-remove").arg(app).stream()?;
    }
    log::verbose("Removing the letsencrypt files");
    dokku_core::fs::remove_dir_all_if_exists(&app_dir(ctx, app))?;
    ctx.trigger("proxy-build-config").arg(app).stream()?;
    log::info1("Done");
    Ok(())
}

fn revoke(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("letsencrypt:revoke", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let app = app.as_str();
    if !is_active(ctx, app)? {
        bail!("{app} has no letsencrypt certificate");
    }
    let first = domains(ctx, app)?.remove(0);
    let email = SETTINGS.computed(ctx, app, "email")?;
    let url = directory_url(ctx, app)?;
    log::info2(&format!("Revoking the letsencrypt certificate of {app}"));
    let _lock = dokku_core::fs::FileLock::wait(&app_dir(ctx, app).join(".lock"))?;
    run_lego(
        lego(ctx, app, &email, &url)?
            .args(["--domains", &first])
            .arg("revoke"),
        "revoking the certificate",
    )?;
    log::info1("Certificate revoked");
    ctx.trigger("certs-remove").arg(app).stream()
}

fn auto_renew(ctx: &Ctx, args: &[String]) -> Result<()> {
    let apps = match args {
        [] => {
            log::info2("Auto-renewing all apps...");
            dokku_core::app::list(&ctx.roots)?
                .into_iter()
                .map(|a| a.to_string())
                .collect()
        }
        [app] => vec![dokku_core::app::verify(&ctx.roots, app)?.to_string()],
        [_, extra, ..] => bail!("Unexpected argument {extra:?}"),
    };
    let mut failed = Vec::new();
    for app in &apps {
        let Some(Timing { to_renewal, .. }) = timing(ctx, app)? else {
            if args.len() == 1 {
                log::info1(&format!("Letsencrypt is not enabled for {app}"));
            }
            continue;
        };
        if to_renewal > 0 {
            log::verbose(&format!(
                "{app} still has {} before renewal",
                format_span(to_renewal)
            ));
            continue;
        }
        log::info1(&format!("{app} needs renewal"));
        if let Err(err) = obtain(ctx, app, true) {
            log::warn(&format!("{app}: {err:#}"));
            failed.push(app.clone());
        }
    }
    if args.is_empty() {
        log::info2("Finished auto-renewal");
    }
    if !failed.is_empty() {
        bail!(
            "The certificates of {} could not be renewed",
            failed.join(", ")
        );
    }
    Ok(())
}

fn list(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [] = exactly::<0>("letsencrypt:list", args)?;
    let mut rows = Vec::new();
    for app in dokku_core::app::list(&ctx.roots)? {
        let Some(t) = timing(ctx, app.as_str())? else {
            continue;
        };
        rows.push((t.expires, app.to_string(), t.to_expiry, t.to_renewal));
    }
    rows.sort();
    log::info2_quiet(&format!(
        "{:<30} {:<25} {:<25} {}",
        "App name", "Certificate Expiry", "Time before expiry", "Time before renewal"
    ));
    for (expires, app, to_expiry, to_renewal) in rows {
        log::data(&format!(
            "{app:<30} {:<25} {:<25} {}",
            dokku_core::time::utc(expires),
            format_span(to_expiry),
            format_span(to_renewal)
        ));
    }
    Ok(())
}

fn autorenew_marker(ctx: &Ctx) -> PathBuf {
    global_dir(ctx).join("autorenew")
}

fn cron_job(ctx: &Ctx, args: &[String]) -> Result<()> {
    let marker = autorenew_marker(ctx);
    match args {
        [flag] if flag == "--add" => {
            std::fs::create_dir_all(global_dir(ctx))?;
            dokku_core::fs::write_atomic(&marker, b"", 0o644)?;
            ctx.trigger("cron-write").stream()?;
            log::info1("Added the auto-renew cron job to the dokku user's crontab");
        }
        [flag] if flag == "--remove" => {
            dokku_core::fs::remove_file_if_exists(&marker)?;
            ctx.trigger("cron-write").stream()?;
            log::info1("Removed the auto-renew cron job from the dokku user's crontab");
        }
        [] if marker.exists() => {
            log::info2_quiet("Auto-renew cron job is enabled");
            log::verbose("Run 'dokku letsencrypt:cron-job --remove' to disable it.");
        }
        [] => {
            log::info2_quiet("Auto-renew cron job is not enabled");
            log::verbose("Run 'dokku letsencrypt:cron-job --add' to enable it.");
        }
        [flag, ..] => {
            bail!("Invalid flag {flag:?}: give --add, --remove, or nothing to see the status")
        }
    }
    Ok(())
}

/// `cron-entries SCHEDULER`: the daily renewal, when the cron job is on.
fn cron_entries(ctx: &Ctx, _args: &[String]) -> Result<()> {
    if autorenew_marker(ctx).exists() {
        let dokku = dokku_core::env::dokku_bin();
        log::data(&format!(
            "24 6 * * *;{} letsencrypt:auto-renew;{}",
            shell_words::quote(&dokku),
            ctx.roots.logs_dir.join("letsencrypt.log").display()
        ));
    }
    Ok(())
}

/// `nginx-config APP`: while the app has letsencrypt state, nginx answers the HTTP-01
/// challenge from its webroot, ahead of the app and of the https redirect.
fn nginx_config(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("nginx-config", args)?;
    let root = app_dir(ctx, app).join("webroot");
    if root.is_dir() {
        log::data(&format!(
            "location ^~ /.well-known/acme-challenge/ {{ allow all; auth_basic off; default_type text/plain; root {}; }}",
            root.display()
        ));
    }
    Ok(())
}

/// `post-app-rename-setup OLD NEW`: lego's state goes with the app.
fn rename(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = exactly::<2>("post-app-rename-setup", args)?;
    let from = app_dir(ctx, old);
    if from.is_dir() {
        std::fs::rename(&from, app_dir(ctx, new))?;
    }
    Ok(())
}

/// `letsencrypt:report`'s rows beyond the settings: each certificate's state (the served
/// certificates asked of the certs plugin in one round).
fn report_rows(ctx: &Ctx, apps: &[AppName]) -> Result<Vec<Vec<(String, String)>>> {
    let calls: Vec<Vec<String>> = apps.iter().map(|a| vec![a.to_string()]).collect();
    let served = ctx.trigger("certs-paths").output_each(&calls)?;
    let autorenew = autorenew_marker(ctx).exists().to_string();
    apps.iter()
        .zip(served)
        .map(|(app, paths)| {
            let crt = certificate_of(&paths);
            let active = serves_ours(ctx, app.as_str(), crt.as_deref())?;
            let expiration = match (active, &crt) {
                (true, Some(crt)) => expiry_of(crt)?.map(|secs| secs.to_string()),
                _ => None,
            };
            Ok(vec![
                ("letsencrypt-active".into(), active.to_string()),
                ("letsencrypt-autorenew".into(), autorenew.clone()),
                (
                    "letsencrypt-expiration".into(),
                    expiration.unwrap_or_default(),
                ),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_as_dokku_writes_them() {
        assert_eq!(format_span(0), "0s");
        assert_eq!(format_span(90_061), "1d, 1h, 1m, 1s");
        assert_eq!(format_span(-3600), "1h ago");
        assert_eq!(format_span(2_592_000), "30d");
    }

    #[test]
    fn settings_refuse_what_lego_would_misread() {
        assert!(email("ops@example.com").is_ok());
        assert!(email("ops@localhost").is_err());
        assert!(email("a b@example.com").is_err());
        assert!(server("staging").is_ok());
        assert!(server("https://127.0.0.1:14000/dir").is_ok());
        assert!(server("ftp://x").is_err());
        assert!(lego_args("--key-type rsa2048").is_ok());
        assert!(lego_args("--path /tmp/x").is_err());
        assert!(lego_args("--server=https://evil").is_err());
        assert!(lego_args("'unbalanced").is_err());
        assert!(provider("cloudflare").is_ok());
        assert!(provider("cloud flare").is_err());
    }
}
