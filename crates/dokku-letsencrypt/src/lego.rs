//! lego and its state: where it keeps an app's account and certificates, the environment
//! and arguments it runs with, obtaining a certificate, and reading what is served.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use dokku_core::cmd::Cmd;
use dokku_core::entry::Ctx;
use dokku_core::log;

use crate::settings::{CREDENTIAL_PREFIX, PRODUCTION, SETTINGS, STAGING, credential_name};

/// The environment lego runs with: a fixed PATH, the host's trust and proxy settings
/// (root's defaults file, never an admin's), and the provider's credentials.
pub(crate) fn lego_env(cmd: Cmd) -> Cmd {
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
pub(crate) fn credentials(ctx: &Ctx, app: &str) -> Result<Vec<(String, String)>> {
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

pub(crate) fn app_dir(ctx: &Ctx, app: &str) -> PathBuf {
    ctx.roots.data_dir(SETTINGS.namespace, app)
}

pub(crate) fn global_dir(ctx: &Ctx) -> PathBuf {
    ctx.roots.lib_root.join("data/letsencrypt/--global")
}

pub(crate) fn webroot(ctx: &Ctx, app: &str) -> PathBuf {
    app_dir(ctx, app).join("webroot")
}

pub(crate) fn lego_dir(ctx: &Ctx, app: &str) -> PathBuf {
    app_dir(ctx, app).join("lego")
}

/// The ACME directory URL the app uses.
pub(crate) fn directory_url(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(match SETTINGS.computed(ctx, app, "server")?.as_str() {
        "default" | "" => PRODUCTION.to_string(),
        "staging" => STAGING.to_string(),
        url => url.to_string(),
    })
}

/// The app's domains a certificate can name (not `_`, nginx's catch-all).
pub(crate) fn domains(ctx: &Ctx, app: &str) -> Result<Vec<String>> {
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
pub(crate) fn lego_files(ctx: &Ctx, app: &str, domain: &str) -> (PathBuf, PathBuf) {
    let dir = lego_dir(ctx, app).join("certificates");
    let name = domain.replace('*', "_");
    (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    )
}

/// The certificate the app serves now (`certs-paths`), if any.
pub(crate) fn served_certificate(ctx: &Ctx, app: &str) -> Result<Option<PathBuf>> {
    let paths = ctx.trigger("certs-paths").arg(app).output_string()?;
    Ok(certificate_of(&paths))
}

/// The certificate file of a `certs-paths` answer (`CRT KEY`), when it exists.
pub(crate) fn certificate_of(paths: &str) -> Option<PathBuf> {
    paths
        .split_whitespace()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// True when the app serves the certificate lego obtained for it.
pub(crate) fn is_active(ctx: &Ctx, app: &str) -> Result<bool> {
    serves_ours(ctx, app, served_certificate(ctx, app)?.as_deref())
}

/// True when `served` is the certificate lego obtained for the app.
pub(crate) fn serves_ours(ctx: &Ctx, app: &str, served: Option<&std::path::Path>) -> Result<bool> {
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
pub(crate) fn expiry(ctx: &Ctx, app: &str) -> Result<Option<u64>> {
    match served_certificate(ctx, app)? {
        Some(crt) => expiry_of(&crt),
        None => Ok(None),
    }
}

/// When the certificate in `crt` expires, in seconds since the epoch.
pub(crate) fn expiry_of(crt: &std::path::Path) -> Result<Option<u64>> {
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

pub(crate) fn grace_period(ctx: &Ctx, app: &str) -> Result<u64> {
    Ok(SETTINGS
        .computed(ctx, app, "graceperiod")?
        .parse()
        .unwrap_or(2_592_000))
}

/// When the app's letsencrypt certificate expires (seconds since the epoch), and the
/// seconds until then and until its grace period starts (negative: renew now).
pub(crate) struct Timing {
    pub(crate) expires: u64,
    pub(crate) to_expiry: i64,
    pub(crate) to_renewal: i64,
}

/// The app's [`Timing`]; `None` without a letsencrypt certificate.
pub(crate) fn timing(ctx: &Ctx, app: &str) -> Result<Option<Timing>> {
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
pub(crate) fn format_span(seconds: i64) -> String {
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

/// Gets a certificate for the app's domains and installs it, unless the one it has is
/// still outside its grace period (and `force` is off).
pub(crate) fn obtain(ctx: &Ctx, app: &str, force: bool) -> Result<()> {
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

pub(crate) fn set_mode(path: &std::path::Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// lego with the app's account and state: `--path`, `--server`, `--email`, the terms
/// accepted, and the app's `lego-args`, in a clean environment ([`lego_env`]). lego reads
/// `LEGO_CA_CERTIFICATES` (the defaults file may set it) to trust a private ACME server.
pub(crate) fn lego(ctx: &Ctx, app: &str, email: &str, url: &str) -> Result<Cmd> {
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
pub(crate) fn run_lego(cmd: Cmd, what: &str) -> Result<()> {
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

pub(crate) fn autorenew_marker(ctx: &Ctx) -> PathBuf {
    global_dir(ctx).join("autorenew")
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
}
