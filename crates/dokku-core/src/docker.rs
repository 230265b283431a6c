//! The docker engine's CLI: the binary named by `DOCKER_BIN` (default `docker`), with the
//! few image questions every plugin asks. Always an argv vector through [`Cmd`].

use anyhow::Result;

use crate::cmd::Cmd;
use crate::env;

/// Every image of an app lives in this repository: `dokku/<app>`.
pub fn app_repo(app: &str) -> String {
    format!("dokku/{app}")
}

/// `dokku/<app>:<tag>`.
pub fn app_image(app: &str, tag: &str) -> String {
    format!("{}:{tag}", app_repo(app))
}

/// `docker ARGS...` with the configured client.
pub fn docker() -> Cmd {
    Cmd::new(env::var("DOCKER_BIN").unwrap_or_else(|| "docker".into()))
}

/// The image's id, or None when there is no such image.
pub fn image_id(image: &str) -> Result<Option<String>> {
    let out = docker()
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output_unchecked()?;
    Ok((out.code == 0).then(|| out.stdout_trimmed()))
}

pub fn image_exists(image: &str) -> Result<bool> {
    Ok(image_id(image)?.is_some())
}

/// One label of an image; None when the image or the label is missing.
pub fn image_label(image: &str, label: &str) -> Result<Option<String>> {
    let format = format!("{{{{ index .Config.Labels {label:?} }}}}");
    let out = docker()
        .args(["image", "inspect", "--format", &format, image])
        .output_unchecked()?;
    let value = out.stdout_trimmed();
    Ok((out.code == 0 && !value.is_empty() && value != "<no value>").then_some(value))
}

/// The ports an image declares with `EXPOSE` (`5000/tcp`, `53/udp`), sorted.
pub fn exposed_ports(image: &str) -> Result<Vec<String>> {
    let out = docker()
        .args([
            "image",
            "inspect",
            "--format",
            "{{range $port, $_ := .Config.ExposedPorts}}{{$port}} {{end}}",
            image,
        ])
        .output()?;
    let mut ports: Vec<String> = out
        .stdout_str()
        .split_whitespace()
        .map(String::from)
        .collect();
    ports.sort();
    Ok(ports)
}

pub fn tag(source: &str, target: &str) -> Result<()> {
    docker().args(["image", "tag", source, target]).output()?;
    Ok(())
}

/// Removes a tag (the image goes with its last tag unless a container uses it).
pub fn untag(image: &str) -> Result<()> {
    docker()
        .args(["image", "rm", "--no-prune", image])
        .output()?;
    Ok(())
}

/// The tags of a repository, as `(tag, image id)`.
pub fn repo_tags(repo: &str) -> Result<Vec<(String, String)>> {
    let out = docker()
        .args([
            "image",
            "ls",
            "--no-trunc",
            "--format",
            "{{.Tag}} {{.ID}}",
            repo,
        ])
        .output()?;
    Ok(out
        .stdout_str()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(tag, _)| *tag != "<none>")
        .map(|(t, id)| (t.to_string(), id.to_string()))
        .collect())
}

/// Ids of the images carrying every one of these `key=value` labels.
pub fn images_labelled(labels: &[String]) -> Result<Vec<String>> {
    let mut cmd = docker().args(["image", "ls", "--quiet", "--no-trunc"]);
    for label in labels {
        cmd = cmd.arg("--filter").arg(format!("label={label}"));
    }
    let out = cmd.output()?;
    let mut ids: Vec<String> = out.stdout_str().lines().map(String::from).collect();
    ids.dedup();
    Ok(ids)
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
