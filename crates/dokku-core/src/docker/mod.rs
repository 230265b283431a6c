//! The docker engine: its CLI, the binary named by `DOCKER_BIN` (default `docker`), always
//! an argv vector through [`Cmd`], for builds and anything a user would run; and the few
//! image questions every plugin asks, answered through the engine's API ([`engine`]).

pub mod engine;
pub mod options;

use anyhow::{Result, bail};

use crate::cmd::Cmd;
use crate::env;

/// Every image of an app lives in this repository: `dokku/<app>`.
pub fn app_repo(app: &str) -> String {
    format!("dokku/{app}")
}

/// The label every image built for an app carries, and the builder that made it.
pub const APP_LABEL: &str = "com.dokku.app-name";
/// What a container of an app is for: `deploy`, `run`, `cron`, `task`.
pub const CONTAINER_TYPE_LABEL: &str = "com.dokku.container-type";
pub const BUILDER_LABEL: &str = "com.dokku.builder-type";

/// The herokuish builder image: `DOKKU_IMAGE` (install.sh names the one this host has),
/// else Dokku's.
pub fn herokuish_image() -> String {
    crate::env::var("DOKKU_IMAGE").unwrap_or_else(|| "gliderlabs/herokuish:latest-24".into())
}

/// `dokku/<app>:<tag>`.
pub fn app_image(app: &str, tag: &str) -> String {
    format!("{}:{tag}", app_repo(app))
}

/// `docker ARGS...` with the configured client, found on `PATH` now: the environment
/// given to the client (an app's config) never chooses which program runs.
pub fn docker() -> Cmd {
    let bin = env::var("DOCKER_BIN").unwrap_or_else(|| "docker".into());
    if bin.contains('/') {
        return Cmd::new(bin);
    }
    let found = crate::cmd::find_program(&bin);
    Cmd::new(found.map_or(std::ffi::OsString::from(bin), |p| p.into_os_string()))
}

/// An image reference as it may appear in an API path: docker's own characters only.
fn image_path(image: &str) -> Result<&str> {
    let plain = !image.is_empty()
        && !image.starts_with(['-', '/'])
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if !plain {
        bail!("Invalid docker image {image:?}");
    }
    Ok(image)
}

/// The image's description (`docker image inspect`), or None when there is no such image.
pub fn inspect(image: &str) -> Result<Option<serde_json::Value>> {
    let reply = engine::request("GET", &format!("/images/{}/json", image_path(image)?))?;
    if reply.status == 404 {
        return Ok(None);
    }
    Ok(Some(reply.ok(&format!("inspecting {image}"))?.json()?))
}

/// The image's id, or None when there is no such image.
pub fn image_id(image: &str) -> Result<Option<String>> {
    Ok(inspect(image)?.and_then(|v| v["Id"].as_str().map(String::from)))
}

pub fn image_exists(image: &str) -> Result<bool> {
    Ok(inspect(image)?.is_some())
}

/// One label of an image; None when the image or the label is missing.
pub fn image_label(image: &str, label: &str) -> Result<Option<String>> {
    Ok(inspect(image)?
        .and_then(|v| v["Config"]["Labels"][label].as_str().map(String::from))
        .filter(|v| !v.is_empty()))
}

/// The ports an image declares with `EXPOSE` (`5000/tcp`, `53/udp`), sorted.
pub fn exposed_ports(image: &str) -> Result<Vec<String>> {
    let Some(description) = inspect(image)? else {
        bail!("No such image: {image}");
    };
    let mut ports: Vec<String> = description["Config"]["ExposedPorts"]
        .as_object()
        .map(|ports| ports.keys().cloned().collect())
        .unwrap_or_default();
    ports.sort();
    Ok(ports)
}

/// `docker image tag SOURCE TARGET`.
pub fn tag(source: &str, target: &str) -> Result<()> {
    let (repo, tag) = match target.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (target, "latest"),
    };
    engine::request(
        "POST",
        &format!(
            "/images/{}/tag?repo={}&tag={}",
            image_path(source)?,
            engine::encode(repo),
            engine::encode(tag)
        ),
    )?
    .ok(&format!("tagging {source} as {target}"))?;
    Ok(())
}

/// Removes a tag (the image goes with its last tag unless a container uses it).
pub fn untag(image: &str) -> Result<()> {
    engine::request(
        "DELETE",
        &format!("/images/{}?noprune=1", image_path(image)?),
    )?
    .ok(&format!("removing {image}"))?;
    Ok(())
}

/// `GET /images/json` with these filters: every image's description.
fn list_images(filters: serde_json::Value) -> Result<Vec<serde_json::Value>> {
    let reply = engine::request(
        "GET",
        &format!(
            "/images/json?filters={}",
            engine::encode(&filters.to_string())
        ),
    )?
    .ok("listing images")?;
    Ok(reply.json()?.as_array().cloned().unwrap_or_default())
}

/// The tags of a repository, as `(tag, image id)`.
pub fn repo_tags(repo: &str) -> Result<Vec<(String, String)>> {
    let prefix = format!("{repo}:");
    let images = list_images(serde_json::json!({ "reference": [repo] }))?;
    let mut tags = Vec::new();
    for image in &images {
        let id = image["Id"].as_str().unwrap_or_default();
        for name in image["RepoTags"].as_array().into_iter().flatten() {
            if let Some(tag) = name.as_str().and_then(|n| n.strip_prefix(&prefix)) {
                tags.push((tag.to_string(), id.to_string()));
            }
        }
    }
    Ok(tags)
}

/// Ids of the images carrying every one of these `key=value` labels.
pub fn images_labelled(labels: &[String]) -> Result<Vec<String>> {
    let images = list_images(serde_json::json!({ "label": labels }))?;
    Ok(images
        .iter()
        .filter_map(|image| image["Id"].as_str().map(String::from))
        .collect())
}

/// Ids of the untagged images carrying every one of these `key=value` labels.
pub fn dangling_images_labelled(labels: &[String]) -> Result<Vec<String>> {
    let images = list_images(serde_json::json!({ "label": labels, "dangling": ["true"] }))?;
    Ok(images
        .iter()
        .filter_map(|image| image["Id"].as_str().map(String::from))
        .collect())
}

/// Ids of the containers that have stopped (exited or dead) and carry every one of these
/// `key=value` labels.
pub fn stopped_containers_labelled(labels: &[String]) -> Result<Vec<String>> {
    let filters = serde_json::json!({ "label": labels, "status": ["exited", "dead"] });
    let reply = engine::request(
        "GET",
        &format!(
            "/containers/json?all=1&filters={}",
            engine::encode(&filters.to_string())
        ),
    )?
    .ok("listing containers")?;
    Ok(reply
        .json()?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["Id"].as_str().map(String::from))
        .collect())
}

/// Removes the stopped containers and the untagged images carrying every one of these
/// labels (Dokku's docker cleanup), each as far as the engine lets it.
pub fn clean_up(labels: &[String]) -> Result<()> {
    for id in stopped_containers_labelled(labels)? {
        let _ = remove_container(&id);
    }
    for id in dangling_images_labelled(labels)? {
        let _ = untag(&id);
    }
    Ok(())
}

/// `docker container rm ID` of a stopped container.
pub fn remove_container(id: &str) -> Result<()> {
    engine::request("DELETE", &format!("/containers/{}", image_path(id)?))?
        .ok(&format!("removing container {id}"))?;
    Ok(())
}

/// A `docker-args-*` filter trigger's body: the arguments on stdin (without a final
/// newline), then `extra` (which starts with a space when non-empty).
pub fn filter_args(extra: &str) -> Result<()> {
    use std::io::Read;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let mut out = input.trim_end_matches('\n').to_string();
    out.push_str(extra);
    crate::log::raw(out.as_bytes());
    Ok(())
}

/// `docker image build`, with BuildKit when the client has it (`--progress=plain` keeps
/// its output line by line). A client with BuildKit built in (18.09 to 22.x) needs
/// `DOCKER_BUILDKIT=1`; a newer one has it through its buildx plugin; without either the
/// classic builder runs. An operator's own `DOCKER_BUILDKIT` is respected.
pub fn image_build() -> Result<Cmd> {
    let build = docker().args(["image", "build"]);
    let buildkit = match env::var("DOCKER_BUILDKIT") {
        Some(value) => value == "1" || value == "true",
        None => client_has_buildkit()?,
    };
    Ok(if buildkit {
        build.env("DOCKER_BUILDKIT", "1").arg("--progress=plain")
    } else {
        build
    })
}

fn client_has_buildkit() -> Result<bool> {
    if docker()
        .args(["buildx", "version"])
        .output_unchecked()?
        .code
        == 0
    {
        return Ok(true);
    }
    let version = docker().arg("--version").output()?.stdout_trimmed();
    Ok(client_major(&version).is_some_and(|major| (19..23).contains(&major)))
}

/// `Docker version 20.10.24+dfsg1, build 297e128` -> 20.
fn client_major(version: &str) -> Option<u32> {
    version
        .split_whitespace()
        .nth(2)?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The containers carrying every one of these `key=value` labels, running or not (`all`),
/// as the engine describes them (`Id`, `Names`, `Labels`, `State`).
pub fn containers_labelled(labels: &[String], all: bool) -> Result<Vec<serde_json::Value>> {
    let filters = serde_json::json!({ "label": labels });
    let reply = engine::request(
        "GET",
        &format!(
            "/containers/json?all={}&filters={}",
            u8::from(all),
            engine::encode(&filters.to_string())
        ),
    )?
    .ok("listing containers")?;
    Ok(reply.json()?.as_array().cloned().unwrap_or_default())
}

/// Unpacks a tar archive into a container's file system under `path` (`docker container
/// cp`), the container created or running.
pub fn put_archive(id: &str, path: &str, archive: Vec<u8>) -> Result<()> {
    let path = format!(
        "/containers/{}/archive?path={}",
        image_path(id)?,
        engine::encode(path)
    );
    engine::request_tar("PUT", &path, archive)?.ok(&format!("copying files into {id}"))?;
    Ok(())
}

/// The contents of a file in a container's file system, or None when there is none.
pub fn read_container_file(id: &str, path: &str) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let reply = engine::request(
        "GET",
        &format!(
            "/containers/{}/archive?path={}",
            image_path(id)?,
            engine::encode(path)
        ),
    )?;
    if reply.status == 404 {
        return Ok(None);
    }
    let reply = reply.ok(&format!("reading {path} in {id}"))?;
    let mut archive = tar::Archive::new(reply.body.as_slice());
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            return Ok(Some(data));
        }
    }
    Ok(None)
}

/// The contents of a file in an image (a relative path is from the image's working
/// directory), or None when it has none: read from a container created for the purpose
/// and never started.
pub fn read_image_file(image: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let Some(info) = inspect(image)? else {
        return Ok(None);
    };
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        let dir = info["Config"]["WorkingDir"]
            .as_str()
            .filter(|d| !d.is_empty())
            .unwrap_or("/");
        format!("{}/{path}", dir.trim_end_matches('/'))
    };
    let created = docker()
        .args([
            "container",
            "create",
            "--label",
            "dokku",
            "--entrypoint",
            "/",
        ])
        .arg(image_path(image)?)
        .output()?
        .stdout_trimmed();
    let read = read_container_file(&created, &path);
    let _ = force_remove_container(&created);
    read
}

/// A volume's labels, or None when there is no volume of that name.
pub fn volume_labels(name: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let reply = engine::request("GET", &format!("/volumes/{}", engine::encode(name)))?;
    if reply.status == 404 {
        return Ok(None);
    }
    let info = reply.ok(&format!("inspecting volume {name}"))?.json()?;
    Ok(Some(
        info["Labels"].as_object().cloned().unwrap_or_default(),
    ))
}

/// A container's description (`docker container inspect`), or None when it is gone.
pub fn container_inspect(id: &str) -> Result<Option<serde_json::Value>> {
    let reply = engine::request("GET", &format!("/containers/{}/json", image_path(id)?))?;
    if reply.status == 404 {
        return Ok(None);
    }
    Ok(Some(
        reply.ok(&format!("inspecting container {id}"))?.json()?,
    ))
}

/// The app of the one-off container (a run or a cron task's run on this host's engine) or
/// Swarm job named exactly `name`, from its labels; None when no such one exists.
pub fn one_off_app(name: &str) -> Result<Option<String>> {
    let labels_of = |found: &serde_json::Value, labels: &serde_json::Value| {
        let named = found["Name"].as_str().map(|n| n.trim_start_matches('/')) == Some(name)
            || found["Spec"]["Name"].as_str() == Some(name);
        let one_off = matches!(labels[CONTAINER_TYPE_LABEL].as_str(), Some("run" | "cron"));
        labels[APP_LABEL]
            .as_str()
            .filter(|_| named && one_off)
            .map(String::from)
    };
    if let Some(container) = container_inspect(name)? {
        return Ok(labels_of(&container, &container["Config"]["Labels"]));
    }
    let reply = engine::request("GET", &format!("/services/{}", image_path(name)?))?;
    if matches!(reply.status, 404 | 503) {
        return Ok(None);
    }
    let service = reply.ok(&format!("inspecting service {name}"))?.json()?;
    Ok(labels_of(&service, &service["Spec"]["Labels"]))
}

/// A docker network's name: what `docker network create` takes.
pub fn network_name(value: &str) -> Result<()> {
    let mut chars = value.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        && value.len() <= 128;
    if !valid {
        anyhow::bail!("Invalid network name {value:?}: letters, digits, '_', '.' and '-'");
    }
    Ok(())
}

/// `docker inspect TASK` of a swarm task (the engine must be a swarm manager); None when
/// there is no such task or no swarm.
pub fn swarm_task(id: &str) -> Result<Option<serde_json::Value>> {
    let reply = engine::request("GET", &format!("/tasks/{}", image_path(id)?))?;
    if matches!(reply.status, 404 | 503) {
        return Ok(None);
    }
    Ok(Some(reply.ok(&format!("inspecting task {id}"))?.json()?))
}

/// The address a container is reached at, from its description: on the network it was
/// created on (`--network`, else docker's bridge), loopback on the host's network, None
/// when it has none (not running).
pub fn container_address(container: &serde_json::Value) -> Option<String> {
    let mode = container["HostConfig"]["NetworkMode"]
        .as_str()
        .unwrap_or("default");
    let settings = &container["NetworkSettings"];
    let address = match mode {
        "host" => return Some("127.0.0.1".to_string()),
        "default" | "bridge" => settings["IPAddress"]
            .as_str()
            .filter(|ip| !ip.is_empty())
            .or_else(|| settings["Networks"]["bridge"]["IPAddress"].as_str()),
        network => settings["Networks"][network]["IPAddress"].as_str(),
    };
    address
        .filter(|ip| !ip.is_empty())
        .map(String::from)
        .or_else(|| {
            settings["Networks"]
                .as_object()?
                .values()
                .find_map(|n| n["IPAddress"].as_str().filter(|ip| !ip.is_empty()))
                .map(String::from)
        })
}

/// Starts a created container.
pub fn start_container(id: &str) -> Result<()> {
    engine::request("POST", &format!("/containers/{}/start", image_path(id)?))?
        .ok(&format!("starting container {id}"))
        .map(drop)
}

/// Commits a container's file system as `image` (`repo:tag`), with `config` (an image's
/// `Config`) as the new image's configuration: what the container ran, and the
/// environment it ran with, stay out of the image.
pub fn commit_container(id: &str, image: &str, config: &serde_json::Value) -> Result<String> {
    let (repo, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
    let path = format!(
        "/commit?container={}&repo={}&tag={}",
        engine::encode(id),
        engine::encode(repo),
        engine::encode(tag)
    );
    let reply = engine::request_json("POST", &path, config)?.ok(&format!("committing {id}"))?;
    Ok(reply.json()?["Id"].as_str().unwrap_or_default().to_string())
}

/// Gives a container the variables in `env` (`--env KEY` each, the value through
/// docker's own environment, never its command line). Names docker's client itself reads
/// (`DOCKER_*`) go through a private env file instead, which must outlive the command.
pub fn pass_env(
    mut cmd: Cmd,
    env: &std::collections::BTreeMap<String, String>,
) -> Result<(Cmd, Option<tempfile::NamedTempFile>)> {
    let mut file_lines = String::new();
    for (key, value) in env {
        if key.starts_with("DOCKER_") && !value.contains('\n') {
            file_lines.push_str(&format!("{key}={value}\n"));
        } else {
            cmd = cmd.arg("--env").arg(key).env(key, value);
        }
    }
    if file_lines.is_empty() {
        return Ok((cmd, None));
    }
    let file = tempfile::NamedTempFile::new()?;
    crate::fs::write_atomic(file.path(), file_lines.as_bytes(), 0o600)?;
    Ok((cmd.arg("--env-file").arg(file.path()), Some(file)))
}

/// `docker container rename ID NAME`.
pub fn rename_container(id: &str, name: &str) -> Result<()> {
    engine::request(
        "POST",
        &format!(
            "/containers/{}/rename?name={}",
            image_path(id)?,
            engine::encode(name)
        ),
    )?
    .ok(&format!("renaming container {id} to {name}"))?;
    Ok(())
}

/// `docker container rm --force ID`: stopped first if it runs.
pub fn force_remove_container(id: &str) -> Result<()> {
    let reply = engine::request(
        "DELETE",
        &format!("/containers/{}?force=1", image_path(id)?),
    )?;
    if reply.status == 404 {
        return Ok(());
    }
    reply.ok(&format!("removing container {id}"))?;
    Ok(())
}

/// `docker container stop --time SECONDS ID`.
pub fn stop_container(id: &str, seconds: u32) -> Result<()> {
    let reply = engine::request(
        "POST",
        &format!("/containers/{}/stop?t={seconds}", image_path(id)?),
    )?;
    if matches!(reply.status, 304 | 404) {
        return Ok(());
    }
    reply.ok(&format!("stopping container {id}"))?;
    Ok(())
}

/// Tells a running container to shut down, as `docker stop` first does (its image's stop
/// signal, SIGTERM when it names none), without waiting for it or killing it; the engine
/// does not restart a container that exits on that signal. One not running is left be.
pub fn signal_stop(id: &str) -> Result<()> {
    let Some(container) = container_inspect(id)? else {
        return Ok(());
    };
    let signal = container["Config"]["StopSignal"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or("SIGTERM");
    let reply = engine::request(
        "POST",
        &format!(
            "/containers/{}/kill?signal={}",
            image_path(id)?,
            engine::encode(signal)
        ),
    )?;
    if matches!(reply.status, 404 | 409) {
        return Ok(());
    }
    reply.ok(&format!("signalling container {id} to stop"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_clients_major_version() {
        assert_eq!(
            client_major("Docker version 20.10.24+dfsg1, build 297e128"),
            Some(20)
        );
        assert_eq!(
            client_major("Docker version 28.2.2, build e6534b4"),
            Some(28)
        );
        assert_eq!(client_major("garbage"), None);
    }
}
