//! `registry:login`, `logout` and `report`, and the triggers that name and push an app's
//! images.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::docker;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;
use dokku_core::property::GLOBAL;
use dokku_core::report::{Report, ReportRequest};

use crate::settings::{
    SETTINGS, TAG_VERSION, image_repo_of, own_or_global, push_on_release, server_prefix,
};

/// Where an app's own registry credentials are kept (docker's `config.json`), beside its
/// registry properties; without them, the dokku user's `~/.docker` is used.
fn app_config_dir(ctx: &Ctx, app: &str) -> PathBuf {
    ctx.roots.config_dir().join("registry").join(app)
}

fn has_app_credentials(ctx: &Ctx, app: &str) -> bool {
    std::fs::read_to_string(app_config_dir(ctx, app).join("config.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|config| config["auths"].as_object().map(|auths| !auths.is_empty()))
        .unwrap_or(false)
}

/// Docker Hub's other names are docker's `docker.io`.
fn docker_server(server: &str) -> &str {
    match server {
        "hub.docker.com" | "docker.com" => "docker.io",
        other => other,
    }
}

#[derive(Parser)]
struct Login {
    #[arg(long)]
    global: bool,
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    #[arg(num_args = 0..=4)]
    words: Vec<String>,
}

/// `registry:login [--global|APP] [--password-stdin] SERVER USERNAME [PASSWORD]`: `docker
/// login`, for the host (the dokku user's docker config) or for one app (its own).
pub fn login(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Login = dokku_core::entry::parse("registry:login", args)?;
    let (global_count, app_count) = if cmd.password_stdin { (2, 3) } else { (3, 4) };
    let words = &cmd.words;
    let (app, rest) = if cmd.global {
        (None, &words[..])
    } else if words.len() == global_count {
        log::warn("Deprecated: please use --global flag for global registry login");
        (None, &words[..])
    } else if words.len() >= app_count {
        (Some(words[0].as_str()), &words[1..])
    } else {
        (None, &words[..])
    };
    let word = |i: usize| rest.get(i).map(String::as_str).unwrap_or("");
    let (server, username) = (word(0), word(1));
    let password = if cmd.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text.trim().to_string()
    } else {
        word(2).to_string()
    };
    if server.is_empty() {
        bail!("Missing server argument");
    }
    if username.is_empty() {
        bail!("Missing username argument");
    }
    if password.is_empty() {
        bail!("Missing password argument");
    }
    let server = docker_server(server);
    let mut docker_login = docker::docker()
        .args(["login", "--username", username, "--password-stdin", server])
        .stdin_bytes(format!("{password}\n"));
    if let Some(app) = app {
        let app = dokku_core::app::verify(&ctx.roots, app)?;
        let dir = app_config_dir(ctx, app.as_str());
        make_private_dir(&dir)?;
        docker_login = docker_login.env("DOCKER_CONFIG", &dir);
    }
    let out = docker_login.output_unchecked()?;
    if out.code != 0 {
        bail!(
            "Unable to run docker login: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    log::warn(&match app {
        Some(app) => format!("Login Succeeded for {app}"),
        None => "Login Succeeded for global registry".to_string(),
    });
    ctx.trigger("post-registry-login")
        .args([server, username])
        .env("DOCKER_REGISTRY_PASS", &password)
        .stream()
}

fn make_private_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

#[derive(Parser)]
struct Logout {
    #[arg(long)]
    global: bool,
    #[arg(num_args = 0..=2)]
    words: Vec<String>,
}

/// `registry:logout [--global|APP] SERVER`.
pub fn logout(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Logout = dokku_core::entry::parse("registry:logout", args)?;
    let (app, server) = match cmd.words.as_slice() {
        [server] => (None, server.as_str()),
        [app, server] if !cmd.global => (Some(app.as_str()), server.as_str()),
        _ => bail!("Missing server argument"),
    };
    let server = docker_server(server);
    let mut docker_logout = docker::docker().args(["logout", server]);
    if let Some(app) = app {
        let app = dokku_core::app::verify(&ctx.roots, app)?;
        let dir = app_config_dir(ctx, app.as_str());
        if !dir.join("config.json").exists() {
            bail!("No registry credentials found for app {app}");
        }
        docker_logout = docker_logout.env("DOCKER_CONFIG", &dir);
    }
    let out = docker_logout.output_unchecked()?;
    if out.code != 0 {
        bail!(
            "Unable to run docker logout: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `registry:report [APP|--global] [--format stdout|json] [--FLAG]`: each setting's own,
/// global and computed values, where the computed server is the prefix images get
/// (`ghcr.io/`, nothing for Docker Hub) and the computed image repo is the one the app's
/// images are named in.
pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    if request.app.as_deref() == Some(GLOBAL) {
        return report_of(ctx, GLOBAL)?.print(&request);
    }
    dokku_core::report::print_for_apps(&request, &ctx.roots, "registry", |app| {
        report_of(ctx, app.as_str())
    })
}

fn report_of(ctx: &Ctx, slot: &str) -> Result<Report> {
    let props = SETTINGS.properties(ctx);
    let get =
        |slot: &str, key: &str| -> Result<String> { Ok(props.get(slot, key)?.unwrap_or_default()) };
    let mut rows: Vec<(String, String)> = Vec::new();
    for key in [
        "image-repo-template",
        "push-extra-tags",
        "push-on-release",
        "server",
    ] {
        let computed = match key {
            "server" => server_prefix(ctx, slot)?,
            "push-on-release" => SETTINGS.computed(ctx, slot, key)?,
            _ => own_or_global(ctx, slot, key)?,
        };
        rows.push((format!("registry-computed-{key}"), computed));
        rows.push((format!("registry-global-{key}"), get(GLOBAL, key)?));
        if slot != GLOBAL {
            rows.push((format!("registry-{key}"), get(slot, key)?));
        }
    }
    if slot != GLOBAL {
        rows.push((
            "registry-computed-image-repo".into(),
            image_repo_of(ctx, slot)?,
        ));
        rows.push(("registry-image-repo".into(), get(slot, "image-repo")?));
        rows.push((
            "registry-tag-version".into(),
            get(slot, TAG_VERSION)?.trim().to_string(),
        ));
    }
    rows.sort();
    Ok(rows
        .into_iter()
        .fold(Report::new(slot, "registry"), |report, (k, v)| {
            report.row(&k, v)
        }))
}

/// `deployed-app-image-repo APP`: the repository the app's images are named in.
pub fn deployed_image_repo(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("deployed-app-image-repo", args)?;
    log::data(&image_repo_of(ctx, app)?);
    Ok(())
}

/// `deployed-app-image-tag APP`: the tag last pushed, when releases are pushed.
pub fn deployed_image_tag(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("deployed-app-image-tag", args)?;
    if push_on_release(ctx, app)? {
        let version = SETTINGS
            .properties(ctx)
            .get(app, TAG_VERSION)?
            .unwrap_or_default();
        let version = version.trim();
        log::data(if version.is_empty() { "1" } else { version });
    }
    Ok(())
}

/// `deployed-app-repository APP`: the registry server prefix.
pub fn deployed_repository(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = exactly::<1>("deployed-app-repository", args)?;
    log::data(&server_prefix(ctx, app)?);
    Ok(())
}

/// `post-release-builder BUILDER APP IMAGE`: the released image also gets the app's own
/// repository name (its tag, and `latest`); with `push-on-release`, it is tagged with the next version number
/// (and the extra tags) and pushed to the registry.
pub fn post_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, image] = exactly::<3>("post-release-builder", args)?;
    let repo = image_repo_of(ctx, app)?;
    let default_repo = docker::app_repo(app);
    let tag = image.rsplit_once(':').map_or("latest", |(_, tag)| tag);
    // The release becomes `latest` once deployed, as the app's own name shows.
    if repo != default_repo {
        docker::tag(image, &format!("{repo}:{tag}"))?;
        docker::tag(image, &format!("{repo}:latest"))?;
    }
    if !push_on_release(ctx, app)? {
        return Ok(());
    }
    log::info1("Pushing image to registry");
    let props = SETTINGS.properties(ctx);
    let last = props.get(app, TAG_VERSION)?.unwrap_or_default();
    let last: u64 = match last.trim() {
        "" => 0,
        text => text.parse().with_context(|| {
            format!("Unable to convert existing tag version ({text}) to integer")
        })?,
    };
    let version = last + 1;
    log::verbose_quiet(&format!("Bumping tag to {version}"));
    props.set(app, TAG_VERSION, &version.to_string())?;
    let server = server_prefix(ctx, app)?;
    let full = format!("{server}{repo}:{version}");
    log::verbose_quiet(&format!("Tagging {repo}:{version} in registry format"));
    docker::tag(image, &full)?;
    docker::tag(image, &format!("{repo}:{version}"))?;
    let extra = own_or_global(ctx, app, "push-extra-tags")?;
    for extra_tag in extra.split(',').filter(|t| !t.is_empty()) {
        let tagged = format!("{server}{repo}:{extra_tag}");
        log::verbose_quiet(&format!("Tagging {repo} as {extra_tag} in registry format"));
        docker::tag(image, &tagged)?;
        let pushed = push(ctx, app, &tagged);
        let _ = docker::untag(&tagged);
        pushed?;
    }
    push(ctx, app, &full)?;
    log::verbose_quiet(&format!("Image {full} pushed"));
    Ok(())
}

/// `docker image push`, with the app's own credentials when it has them.
fn push(ctx: &Ctx, app: &str, image: &str) -> Result<()> {
    log::verbose_quiet(&format!("Pushing {image}"));
    let mut cmd = docker::docker();
    if has_app_credentials(ctx, app) {
        cmd = cmd.arg("--config").arg(app_config_dir(ctx, app));
    }
    let code = cmd.args(["image", "push", image]).stream_lines("       ")?;
    if code != 0 {
        bail!("unable to push image {image}");
    }
    Ok(())
}

/// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`: the properties came along
/// (credentials too, kept private).
pub fn copied(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_old, new] = exactly::<2>("post-app-clone-setup", args)?;
    let dir = app_config_dir(ctx, new);
    if dir.join("config.json").exists() {
        make_private_dir(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("config.json"),
            std::fs::Permissions::from_mode(0o600),
        )?;
    }
    Ok(())
}

/// `post-app-rename-setup OLD NEW`: the old name's properties and credentials go.
pub fn renamed(ctx: &Ctx, args: &[String]) -> Result<()> {
    copied(ctx, args)?;
    let [old, _new] = exactly::<2>("post-app-rename-setup", args)?;
    SETTINGS.properties(ctx).destroy_app(old)
}
