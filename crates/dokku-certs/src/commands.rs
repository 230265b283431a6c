//! The `certs:*` commands.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::archive;
use dokku_core::cmd::Cmd;
use dokku_core::entry::{Ctx, exactly, parse};
use dokku_core::log;
use dokku_core::report::{Report, ReportRequest};

use crate::der;

pub(crate) fn tls_dir(ctx: &Ctx, app: &str) -> PathBuf {
    ctx.roots.app_dir(app).join("tls")
}

pub(crate) fn crt_path(ctx: &Ctx, app: &str) -> PathBuf {
    tls_dir(ctx, app).join("server.crt")
}

pub(crate) fn key_path(ctx: &Ctx, app: &str) -> PathBuf {
    tls_dir(ctx, app).join("server.key")
}

pub(crate) fn has_cert(ctx: &Ctx, app: &str) -> bool {
    crt_path(ctx, app).is_file() && key_path(ctx, app).is_file()
}

pub(crate) fn openssl() -> Result<Cmd> {
    let bin = dokku_core::cmd::find_program("openssl")
        .context("openssl is not installed (apt-get install openssl)")?;
    Ok(Cmd::new(bin))
}

/// openssl's answer to `args` reading `input` on stdin, or its first error line.
pub(crate) fn openssl_with(args: &[&str], input: &[u8], what: &str) -> Result<String> {
    let out = openssl()?
        .args(args)
        .stdin_bytes(input)
        .output_unchecked()?;
    if out.code != 0 {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{what}: {}",
            stderr.lines().next().unwrap_or("openssl failed")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The public key of a PEM certificate and of a PEM private key must be the same.
pub(crate) fn check_pair(crt: &[u8], key: &[u8]) -> Result<()> {
    let cert = der::first_certificate(crt)
        .map_err(|_| anyhow::anyhow!("The certificate is not a PEM certificate"))?;
    let from_crt = der::public_key_info(&cert)
        .map_err(|_| anyhow::anyhow!("The certificate is not a PEM certificate"))?;
    let out = openssl()?
        .args(["pkey", "-pubout", "-outform", "DER", "-passin", "pass:"])
        .stdin_bytes(key)
        .output_unchecked()?;
    if out.code != 0 {
        bail!("The key is not an unencrypted PEM private key");
    }
    if from_crt != out.stdout.as_slice() {
        bail!("The key does not match the certificate");
    }
    Ok(())
}

/// Stores a checked pair and tells the proxy.
pub(crate) fn install(ctx: &Ctx, app: &str, crt: &[u8], key: &[u8]) -> Result<()> {
    check_pair(crt, key)?;
    let dir = tls_dir(ctx, app);
    std::fs::create_dir_all(&dir)?;
    dokku_core::fs::write_atomic(&key_path(ctx, app), key, 0o600)?;
    dokku_core::fs::write_atomic(&crt_path(ctx, app), crt, 0o644)?;
    ctx.trigger("post-certs-update").arg(app).stream()
}

/// At most 1 MiB from a file the caller named.
pub(crate) fn read_small(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        bail!("{} is not a certificate or key file", path.display());
    }
    Ok(std::fs::read(path)?)
}

/// `server.crt` and `server.key` from a tar on stdin, extracted as any uploaded archive is
/// (every entry checked first, within the archive limits).
pub(crate) fn from_tar(ctx: &Ctx) -> Result<(Vec<u8>, Vec<u8>)> {
    use std::io::Read;
    let limits = archive::Limits::configured(&ctx.roots)?;
    let scratch = tempfile::tempdir()?;
    let tar = scratch.path().join("certs.tar");
    let mut file = std::fs::File::create(&tar)?;
    let size = std::io::copy(&mut std::io::stdin().take(limits.max_size + 1), &mut file)?;
    if size == 0 {
        bail!("Give a certificate and a key file, or a tar of server.crt and server.key on stdin");
    }
    let extracted = scratch.path().join("extracted");
    std::fs::create_dir(&extracted)?;
    archive::extract(&tar, &extracted, archive::Kind::Tar, 0, &limits)?;
    let file = |name: &str| -> Result<Vec<u8>> {
        let path = dokku_core::fs::inside_tree(&extracted, name)
            .context("the tar must hold server.crt and server.key as plain files")?;
        read_small(&path)
    };
    Ok((file("server.crt")?, file("server.key")?))
}

#[derive(Parser)]
pub(crate) struct Add {
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "CRT")]
    crt: Option<PathBuf>,
    #[arg(value_name = "KEY")]
    key: Option<PathBuf>,
}

/// `certs:add|update APP [CRT KEY]`.
pub(crate) fn add(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Add = parse("certs:add", args)?;
    let app = dokku_core::app::verify(&ctx.roots, &cmd.app)?;
    let (crt, key) = match (cmd.crt, cmd.key) {
        (Some(crt), Some(key)) => (read_small(&crt)?, read_small(&key)?),
        (None, None) => from_tar(ctx)?,
        _ => bail!("Give both a certificate file and a key file"),
    };
    log::info1(&format!("Adding a certificate to {app}"));
    install(ctx, app.as_str(), &crt, &key)
}

/// `certs:generate APP DOMAIN`: a self-signed certificate for DOMAIN, valid a year.
pub(crate) fn generate(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, domain] = exactly::<2>("certs:generate", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '*');
    if !valid {
        bail!("Invalid domain {domain:?}");
    }
    let dir = tempfile::tempdir()?;
    let (crt, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let out = openssl()?
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
        ])
        .arg("-subj")
        .arg(format!("/CN={domain}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{domain}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output_unchecked()?;
    if out.code != 0 {
        bail!(
            "openssl could not make a certificate: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    log::info1(&format!(
        "Generating a self-signed certificate for {domain}"
    ));
    install(
        ctx,
        app.as_str(),
        &std::fs::read(&crt)?,
        &std::fs::read(&key)?,
    )
}

pub(crate) fn remove(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("certs:remove", args)?;
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    if !has_cert(ctx, app.as_str()) {
        bail!("{app} has no certificate");
    }
    log::info1(&format!("Removing the certificate of {app}"));
    uninstall(ctx, app.as_str())
}

pub(crate) fn uninstall(ctx: &Ctx, app: &str) -> Result<()> {
    dokku_core::fs::remove_dir_all_if_exists(&tls_dir(ctx, app))?;
    ctx.trigger("post-certs-remove").arg(app).stream()
}

pub(crate) fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (app, which) = match args {
        [app] => (app, None),
        [app, which] => (app, Some(which.as_str())),
        _ => bail!("certs:show takes an app and crt or key"),
    };
    let app = dokku_core::app::verify(&ctx.roots, app)?;
    let path = match which {
        Some("crt") => crt_path(ctx, app.as_str()),
        Some("key") => key_path(ctx, app.as_str()),
        _ => bail!("Please specify either 'key' or 'crt'"),
    };
    match dokku_core::fs::read_optional(&path)? {
        Some(text) => log::raw(text.as_bytes()),
        None => bail!("{app} has no certificate"),
    }
    Ok(())
}

/// One `openssl x509` reading of the certificate at `crt`.
pub(crate) fn x509(crt: &Path, args: &[&str]) -> Result<String> {
    let path = crt.display().to_string();
    let mut all = vec!["x509", "-noout", "-in", path.as_str()];
    all.extend_from_slice(args);
    openssl_with(&all, b"", "The certificate cannot be read")
}

/// The `ssl-*` rows of an app with a certificate, as Dokku reports them: its subject
/// (`C=US; O=Example; CN=example.com`), the host names it covers (CN and SANs, sorted), its
/// issuer, validity and whether a system CA vouches for it.
pub(crate) fn describe(crt: &Path) -> Result<Vec<(&'static str, String)>> {
    let text = x509(crt, &["-text"])?;
    let field = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim_start_matches([' ', ':']).trim().to_string())
            .unwrap_or_default()
    };
    let subject = x509(crt, &["-subject", "-nameopt", "compat"])?;
    let subject = subject
        .trim()
        .trim_start_matches("subject=")
        .trim()
        .trim_start_matches('/')
        .replace('/', "; ");
    let rfc2253 = x509(crt, &["-subject", "-nameopt", "RFC2253"])?;
    let mut hostnames: Vec<String> = rfc2253
        .trim()
        .trim_start_matches("subject=")
        .split([',', '/'])
        .filter_map(|rdn| rdn.split_once('='))
        .filter(|(key, _)| key.trim() == "CN")
        .map(|(_, value)| value.trim().to_string())
        .collect();
    let sans = text
        .lines()
        .skip_while(|l| !l.contains("X509v3 Subject Alternative Name"))
        .nth(1)
        .unwrap_or_default();
    for name in sans.split(',') {
        let name = name.trim().trim_start_matches("DNS:").trim();
        if !name.is_empty() && !name.contains(':') {
            hostnames.push(name.to_string());
        }
    }
    hostnames.sort();
    hostnames.dedup();
    let verified = openssl()?
        .args(["verify", "-purpose", "sslserver"])
        .arg(crt)
        .output_unchecked()?
        .code
        == 0;
    Ok(vec![
        ("ssl-expires-at", field("Not After")),
        ("ssl-hostnames", hostnames.join(" ")),
        ("ssl-issuer", field("Issuer:")),
        ("ssl-starts-at", field("Not Before")),
        ("ssl-subject", subject),
        (
            "ssl-verified",
            if verified {
                "verified by a certificate authority"
            } else {
                "self signed"
            }
            .into(),
        ),
    ])
}

/// `certs:report [APP|--global] [--format json] [--ssl-<flag>]`, Dokku's `ssl` report:
/// there are no global values.
pub(crate) fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    if request.app.as_deref() == Some(dokku_core::property::GLOBAL) {
        return Report::new("global", "ssl").print(&request);
    }
    dokku_core::report::print_for_apps(&request, &ctx.roots, "ssl", |app| {
        let app = app.as_str();
        let enabled = has_cert(ctx, app);
        let described = if enabled {
            describe(&crt_path(ctx, app))?
        } else {
            [
                "ssl-expires-at",
                "ssl-hostnames",
                "ssl-issuer",
                "ssl-starts-at",
                "ssl-subject",
                "ssl-verified",
            ]
            .into_iter()
            .map(|key| (key, String::new()))
            .collect()
        };
        let mut report = Report::new(app, "ssl")
            .row("ssl-dir", tls_dir(ctx, app).display().to_string())
            .row("ssl-enabled", enabled.to_string());
        for (key, value) in described {
            report = report.row(key, value);
        }
        Ok(report)
    })
}
