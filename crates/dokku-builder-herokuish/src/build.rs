//! `builder-build herokuish APP DIR`.
//!
//! The source goes into an image of the builder by an image build (so docker's layer cache
//! keeps an unchanged source free), the app's config is added for the build (`/tmp/env`,
//! one file per variable, and `/app/.env`), then `/build` runs in a container of that
//! image with the app's cache volume at `/cache`. The container is committed as the build,
//! with its configuration as it ran (`/build`, the app's `USER`, `CACHE_PATH`) and the
//! build's labels.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use dokku_core::build_files::BUILD_TAG_ENV;
use dokku_core::docker::{self, APP_LABEL, BUILDER_LABEL};
use dokku_core::entry::{Ctx, exactly};
use dokku_core::log;

use crate::BUILDER;

/// The account a buildpack app runs as, unless its config sets `DOKKU_APP_USER`.
pub const DEFAULT_USER: &str = "herokuishuser";

/// The source, copied in as the app's user, and the entry point's user made ready.
const COPY_SOURCE: &str = "ARG APP_IMAGE
FROM $APP_IMAGE
ARG DOKKU_APP_USER=herokuishuser
ARG TRACE
RUN TRACE=$TRACE USER=$DOKKU_APP_USER /exec true
COPY --chown=$DOKKU_APP_USER . /app
WORKDIR /app
ENV HEROKUISH_DISABLE_CHOWN=true
";

/// The tag this build goes into: the pipeline's, else `latest` (a caller from Dokku).
pub fn build_image(app: &str) -> String {
    let tag = dokku_core::env::var(BUILD_TAG_ENV).unwrap_or_else(|| "latest".into());
    docker::app_image(app, &tag)
}

/// The labels of the build stage, as `--label=` words.
pub fn labels(app: &str, stage: &str) -> Vec<String> {
    label_pairs(app, stage)
        .into_iter()
        .map(|(k, v)| {
            if v.is_empty() {
                format!("--label={k}")
            } else {
                format!("--label={k}={v}")
            }
        })
        .collect()
}

fn label_pairs(app: &str, stage: &str) -> Vec<(String, String)> {
    let mut pairs = vec![
        ("org.label-schema.schema-version".into(), "1.0".into()),
        ("org.label-schema.vendor".into(), "dokku".into()),
        ("com.dokku.image-stage".into(), stage.to_string()),
        (APP_LABEL.into(), app.to_string()),
        ("dokku".into(), String::new()),
    ];
    if stage == "build" {
        pairs.push((BUILDER_LABEL.into(), BUILDER.into()));
    }
    pairs
}

/// The user the app runs as (`DOKKU_APP_USER`).
pub fn app_user(config: &BTreeMap<String, String>) -> String {
    config
        .get("DOKKU_APP_USER")
        .filter(|u| !u.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_USER.into())
}

/// The builder image: the buildpacks plugin's stack for the app, else `DOKKU_IMAGE`, else
/// Dokku's; then a plugin may provide another (`builder-dokku-image`).
fn builder_image(ctx: &Ctx, app: &str, dir: &str) -> Result<String> {
    let stack = first_line(
        &ctx.trigger("buildpack-stack-name")
            .arg(app)
            .output_string()?,
    );
    let image = match &stack {
        Some(stack) => {
            log::info1(&format!("Building {app} from {stack}"));
            stack.clone()
        }
        None => {
            log::info1(&format!("Building {app} from herokuish"));
            docker::herokuish_image()
        }
    };
    ctx.trigger("builder-create-dokku-image")
        .args([BUILDER, app, dir, &image])
        .stream()?;
    let swapped = ctx
        .trigger("builder-dokku-image")
        .args([BUILDER, app, dir, &image])
        .output_string()?;
    Ok(first_line(&swapped).unwrap_or(image))
}

fn first_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(String::from)
}

/// `docker image build` of a one-file Dockerfile (`dockerfile`) on `context`, tagged
/// `image`; its output is shown only when it fails.
pub fn build_layer(
    app: &str,
    stage: &str,
    dockerfile: &str,
    context: &Path,
    build_args: &[(&str, &str)],
    image: &str,
) -> Result<()> {
    // BuildKit reads the whole directory the Dockerfile is in: a directory of its own.
    let dir = tempfile::Builder::new()
        .prefix("dokku-herokuish-")
        .tempdir()?;
    let file = dir.path().join("Dockerfile");
    dokku_core::fs::write_atomic(&file, dockerfile.as_bytes(), 0o644)?;
    let mut cmd = docker::image_build()?.args(labels(app, stage));
    for (key, value) in build_args {
        cmd = cmd.arg("--build-arg").arg(format!("{key}={value}"));
    }
    let out = cmd
        .arg("--file")
        .arg(&file)
        .args(["--tag", image, "."])
        .dir(context)
        .output_unchecked()?;
    if out.code != 0 {
        for line in String::from_utf8_lossy(&out.stderr).lines().rev().take(8) {
            log::warn(line);
        }
        bail!("docker image build failed (exit {})", out.code);
    }
    Ok(())
}

/// `builder-build BUILDER APP DIR`.
pub fn build(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [builder, app, dir] = exactly::<3>("builder-build", args)?;
    if builder != BUILDER {
        return Ok(());
    }
    let work = Path::new(dir);
    let source_image = builder_image(ctx, app, dir)?;
    // The builder image copies the whole tree: an app's .dockerignore is for Dockerfile
    // builds, as in Dokku.
    dokku_core::fs::remove_file_if_exists(&work.join(".dockerignore"))?;
    let config = dokku_core::ask::app_config(ctx, app)?;
    let user = app_user(&config);
    let trace = dokku_core::env::var("DOKKU_TRACE").unwrap_or_default();
    let image = build_image(app);
    build_layer(
        app,
        "build",
        COPY_SOURCE,
        work,
        &[
            ("APP_IMAGE", &source_image),
            ("DOKKU_APP_USER", &user),
            ("TRACE", &trace),
        ],
        &image,
    )
    .inspect_err(|_| log::warn("Failure extracting app code"))?;

    ctx.trigger("pre-build-buildpack")
        .args([app, dir])
        .stream_deprecated("pre-build")?;
    ctx.trigger("pre-build")
        .args([BUILDER, app, dir])
        .stream()?;
    let build_env = add_build_env(ctx, app, work)?;

    let filter = |name: &str| ctx.trigger(name).args([app, BUILDER]).stdin(Vec::new());
    let phase = docker::options::Phase::Build;
    let mut options = filter("docker-args-build").output_docker_args(app, phase)?;
    options.push(format!("--env=USER={user}"));
    if !trace.is_empty() {
        options.extend(["--env=TRACE=true".into(), "--env=BUILDPACK_XTRACE=1".into()]);
    }
    options.extend(filter("docker-args-process-build").output_docker_args(app, phase)?);

    let fetched = fetch_buildpacks(ctx, app, work)?;
    if let Some(dir) = &fetched {
        options.push("--volume".into());
        options.push(format!("{}:{FETCHED_MOUNT}:ro", dir.path().display()));
        options.push(format!("--env=BUILDSTEP_FETCHED={FETCHED_MOUNT}"));
    }
    let container = run_build(ctx, app, &image, &options, &build_env, &user)?;
    let committed = commit(app, &container, &image);
    let _ = docker::force_remove_container(&container);
    committed?;

    // The web process on the proxy's port for the app (80 unless set), as Dokku maps it.
    let port = ctx
        .trigger("ports-get-property")
        .args([app, "proxy-port"])
        .output_string()?;
    let port = Some(port.trim()).filter(|p| !p.is_empty()).unwrap_or("80");
    ctx.trigger("ports-set-detected")
        .args([app, &format!("http:{port}:5000")])
        .stream()?;
    ctx.trigger("post-build-buildpack")
        .args([app, dir])
        .stream_deprecated("post-build")?;
    ctx.trigger("post-build").args([BUILDER, app, dir]).stream()
}

/// Global curl timeouts for buildpacks that download (set once, as Dokku does), then the
/// app's merged config for the build (the source's own `.env` first in `/app/.env`).
fn add_build_env(ctx: &Ctx, app: &str, work: &Path) -> Result<BuildEnv> {
    const TIMEOUTS: [(&str, &str); 2] = [("CURL_CONNECT_TIMEOUT", "90"), ("CURL_TIMEOUT", "600")];
    let calls: Vec<Vec<String>> = TIMEOUTS
        .iter()
        .map(|(key, _)| vec![key.to_string()])
        .collect();
    let globals = ctx.trigger("config-get-global").output_each(&calls)?;
    let missing: Vec<(&str, &str)> = TIMEOUTS
        .iter()
        .zip(&globals)
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(pair, _)| *pair)
        .collect();
    let mut config = merged_config(ctx, app)?;
    if !missing.is_empty() {
        ctx.trigger("config-set")
            .args(["--global", "--no-restart"])
            .args(missing.iter().map(|(key, value)| format!("{key}={value}")))
            .stream()?;
        for (key, value) in missing {
            config
                .entry(key.to_string())
                .or_insert_with(|| value.to_string());
        }
    }
    log::info1("Adding BUILD_ENV to build environment...");
    let mut dotenv = dokku_core::fs::inside_tree(work, ".env")
        .filter(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .unwrap_or_default()
        .trim_end_matches('\n')
        .to_string();
    if !dotenv.is_empty() {
        dotenv.push('\n');
    }
    for (key, value) in &config {
        dotenv.push_str(&format!("{key}=\"{}\"\n", double_quoted(value)));
    }
    Ok(BuildEnv {
        vars: config,
        dotenv,
    })
}

/// The app's config for the build, copied into the build container before it starts:
/// `/tmp/env/KEY`, one file per variable, and `/app/.env`, which the build reads.
struct BuildEnv {
    vars: BTreeMap<String, String>,
    dotenv: String,
}

impl BuildEnv {
    /// The files as a tar archive to unpack at `/`, owned by the app's user (`uid`, `gid`).
    fn archive(&self, uid: u64, gid: u64) -> Result<Vec<u8>> {
        let mtime = dokku_core::time::now().as_secs();
        let mut archive = tar::Builder::new(Vec::new());
        let mut add = |path: &str, mode: u32, kind: tar::EntryType, data: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(uid);
            header.set_gid(gid);
            header.set_mtime(mtime);
            header.set_size(data.len() as u64);
            archive.append_data(&mut header, path, data)
        };
        add("tmp/env/", 0o755, tar::EntryType::Directory, b"")?;
        for (key, value) in &self.vars {
            add(
                &format!("tmp/env/{key}"),
                0o600,
                tar::EntryType::Regular,
                value.as_bytes(),
            )?;
        }
        add(
            "app/.env",
            0o600,
            tar::EntryType::Regular,
            self.dotenv.as_bytes(),
        )?;
        Ok(archive.into_inner()?)
    }

    /// Copies the files into the created build container, owned by `user` as the builder
    /// image knows that account.
    fn copy_into(&self, container: &str, user: &str) -> Result<()> {
        let passwd = docker::read_container_file(container, "/etc/passwd")?.unwrap_or_default();
        let passwd = String::from_utf8_lossy(&passwd);
        let (uid, gid) = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&user))
            .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
            .with_context(|| format!("the builder image has no user {user}"))?;
        docker::put_archive(container, "/", self.archive(uid, gid)?)
    }
}

/// The app's config merged over the global one, with valid names only (each becomes a
/// file name and a shell variable).
fn merged_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    Ok(dokku_core::ask::app_config(ctx, app)?
        .into_iter()
        .filter(|(key, _)| {
            !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .collect())
}

/// A value for `KEY="..."` that bash reads back unchanged.
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether the host clones `url` for a build: a git URL (not a tarball). A `file://` URL
/// reads this machine's own repositories (another app's among them), so only the app's
/// config, which an admin sets, may name one; the source (`.env`, `.buildpacks`), which a
/// deploy key pushes, may not.
fn host_fetches(url: &str, from_config: bool) -> bool {
    let base = url.split('#').next().unwrap_or_default();
    let tarball = [".tgz", ".tar.gz", ".tbz", ".tar"]
        .iter()
        .any(|s| base.ends_with(s));
    let remote = ["https://", "http://", "git://", "ssh://", "git@"]
        .iter()
        .any(|p| base.starts_with(p));
    !tarball && (remote || (from_config && base.starts_with("file://")))
}

/// Where the buildpacks fetched on the host are in the build container.
const FETCHED_MOUNT: &str = "/tmp/buildpacks-fetched";

/// The buildpacks the build asks for by git URL (`BUILDPACK_URL` in the config or the
/// source's `.env`, the lines of `.buildpacks`), cloned here on the host, so the build
/// container needs neither the network nor credentials: a directory of clones (`00`,
/// `01`, ...) and a `map` of `URL<tab>clone` lines, which the image's herokuish reads.
fn fetch_buildpacks(ctx: &Ctx, app: &str, work: &Path) -> Result<Option<tempfile::TempDir>> {
    let mut urls: Vec<String> = Vec::new();
    let config_url = dokku_core::ask::config_value(ctx, app, "BUILDPACK_URL")?;
    let read = |name: &str| {
        dokku_core::fs::inside_tree(work, name)
            .filter(|p| p.is_file())
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    };
    let dotenv_url = read(".env").lines().find_map(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let value = line.strip_prefix("BUILDPACK_URL=")?.trim();
        Some(value.trim_matches(|c| c == '"' || c == '\'').to_string())
    });
    let listed = read(".buildpacks");
    let from_source = dotenv_url.into_iter().chain(
        listed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from),
    );
    urls.extend(std::iter::once(config_url).filter(|u| host_fetches(u, true)));
    urls.extend(from_source.filter(|u| host_fetches(u, false)));
    urls.dedup();
    if urls.is_empty() {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix("dokku-buildpacks-")
        .tempdir()?;
    let mut map = String::new();
    for (i, url) in urls.iter().enumerate() {
        let name = format!("{i:02}");
        let dest = dir.path().join(&name);
        let (repo, reference) = match url.split_once('#') {
            Some((repo, reference)) => (repo, Some(reference)),
            None => (url.as_str(), None),
        };
        log::info1(&format!("Fetching buildpack {url}"));
        let git = dokku_core::cmd::git;
        let shallow = reference.is_some_and(|r| {
            git()
                .args(["clone", "--quiet", "--depth", "1", "--branch", r, repo])
                .arg(&dest)
                .output()
                .is_ok()
        });
        let cloned = shallow
            || (git()
                .args(["clone", "--quiet", repo])
                .arg(&dest)
                .output()
                .is_ok()
                && reference.is_none_or(|r| {
                    git()
                        .arg("-C")
                        .arg(&dest)
                        .args(["checkout", "--quiet", r])
                        .output()
                        .is_ok()
                }));
        if !cloned {
            log::warn(&format!("Unable to fetch buildpack from {url}"));
            bail!(dokku_core::Error::Exit(1));
        }
        map.push_str(&format!("{url}\t{name}\n"));
    }
    dokku_core::fs::write_atomic(&dir.path().join("map"), map.as_bytes(), 0o644)?;
    // The build runs as the app's user, who must read the clones.
    let readable = dokku_core::cmd::Cmd::new("chmod")
        .args(["-R", "a+rX"])
        .arg(dir.path())
        .output();
    readable.context("making the fetched buildpacks readable")?;
    Ok(Some(dir))
}

/// The name of the app's build cache volume.
pub fn cache_volume(app: &str) -> String {
    format!("cache-{app}")
}

/// The app's cache volume, labelled for the app and this builder (made again when a
/// volume of that name is not the app's).
fn ensure_cache(app: &str) -> Result<()> {
    let volume = cache_volume(app);
    let labelled = |labels: &serde_json::Map<String, serde_json::Value>| {
        labels.get(APP_LABEL).and_then(|v| v.as_str()) == Some(app)
            && labels.get(BUILDER_LABEL).and_then(|v| v.as_str()) == Some(BUILDER)
    };
    match docker::volume_labels(&volume)? {
        Some(labels) if labelled(&labels) => return Ok(()),
        Some(_) => {
            let _ = docker::docker()
                .args(["volume", "rm", &volume])
                .output_unchecked();
        }
        None => {}
    }
    docker::docker()
        .args(["volume", "create"])
        .args([
            "--label=org.label-schema.schema-version=1.0",
            "--label=org.label-schema.vendor=dokku",
        ])
        .arg(format!("--label={APP_LABEL}={app}"))
        .arg(format!("--label={BUILDER_LABEL}={BUILDER}"))
        .arg(&volume)
        .output()
        .with_context(|| format!("creating the cache volume {volume}"))?;
    Ok(())
}

/// Runs `/build` in a container of `image`, its output streamed: the container, once it
/// succeeded.
fn run_build(
    ctx: &Ctx,
    app: &str,
    image: &str,
    options: &[String],
    build_env: &BuildEnv,
    user: &str,
) -> Result<String> {
    ensure_cache(app)?;
    let name = format!(
        "{app}.build.{}",
        dokku_core::time::now().as_nanos() % 1_000_000_000_000
    );
    let created = docker::docker()
        .args(["container", "create", "--init", "--name", &name])
        .args(labels(app, "build"))
        .arg("--volume")
        .arg(format!("{}:/cache", cache_volume(app)))
        .arg("--env=CACHE_PATH=/cache")
        .args(options)
        .args([image, "/build"])
        .output()
        .inspect_err(|_| log::warn("Failure creating container during app build"))?;
    let id = created.stdout_trimmed();
    if let Err(err) = build_env.copy_into(&id, user) {
        let _ = docker::force_remove_container(&id);
        log::warn("Failure injecting BUILD_ENV into build environment");
        return Err(err);
    }
    log::verbose_quiet("BUILD_ENV added successfully");
    ctx.trigger("post-container-create")
        .args(["app", &id, app, "build"])
        .stdin(Vec::new())
        .stream()?;
    // A pusher who goes stops the push's processes (docker passes the signal on to the
    // build, through the container's init): this one lives on to remove the container.
    dokku_core::deploy_gate::hold_stop_requests();
    let ran = docker::docker()
        .args(["container", "start", "--attach", &id])
        .stream_lines("");
    let stopped = dokku_core::deploy_gate::check_stop();
    if stopped.is_err() || ran.is_err() {
        let _ = docker::force_remove_container(&id);
    }
    stopped?;
    let code = ran?;
    if code != 0 {
        let _ = docker::force_remove_container(&id);
        log::warn("Failure attaching to container during app build");
        bail!(dokku_core::Error::Exit(1));
    }
    Ok(id)
}

/// Commits the build container as `image`: its own configuration, with the build labels.
fn commit(app: &str, container: &str, image: &str) -> Result<()> {
    let info = docker::container_inspect(container)?
        .with_context(|| format!("the build container {container} went away"))?;
    let mut config = info["Config"].clone();
    let labels: serde_json::Map<String, serde_json::Value> = label_pairs(app, "build")
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    config["Labels"] = serde_json::Value::Object(labels);
    docker::commit_container(container, image, &config)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_values_read_back_unchanged() {
        assert_eq!(
            double_quoted(r#"a "b" $HOME `x` \n"#),
            r#"a \"b\" \$HOME \`x\` \\n"#
        );
    }

    #[test]
    fn only_the_config_may_name_a_local_repository_for_the_host_to_clone() {
        let local = "file:///home/dokku/other-app#main";
        assert!(host_fetches(local, true));
        assert!(!host_fetches(local, false));
        assert!(host_fetches(
            "https://github.com/dokku/buildpack-null.git#v3",
            false
        ));
        assert!(!host_fetches("https://example.com/bp.tgz", true));
        assert!(!host_fetches("/app/bp/local", false));
    }

    #[test]
    fn the_build_env_archive_holds_one_file_per_variable_and_the_dotenv_owned_by_the_user() {
        use std::io::Read;
        let env = BuildEnv {
            vars: [("A".to_string(), "1".to_string())].into(),
            dotenv: "A=\"1\"\n".into(),
        };
        let bytes = env.archive(32767, 32768).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            assert_eq!(
                (header.uid().unwrap(), header.gid().unwrap()),
                (32767, 32768)
            );
            let path = entry.path().unwrap().display().to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            seen.push((path, text));
        }
        assert_eq!(
            seen,
            [
                ("tmp/env/".to_string(), String::new()),
                ("tmp/env/A".to_string(), "1".to_string()),
                ("app/.env".to_string(), "A=\"1\"\n".to_string()),
            ]
        );
    }

    #[test]
    fn build_labels_name_the_builder() {
        let words = labels("web", "build");
        assert!(words.contains(&"--label=com.dokku.builder-type=herokuish".to_string()));
        assert!(words.contains(&"--label=dokku".to_string()));
        assert!(
            !labels("web", "release")
                .iter()
                .any(|l| l.contains("builder-type"))
        );
    }
}
