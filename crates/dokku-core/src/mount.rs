//! Bind mounts (`/host:/container[:options]`), shared by the storage and volume plugins:
//! what a host path may be, and the docker arguments a mount becomes.

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};

use crate::env::Roots;

/// Host directories that are never mounted into an app (nor any directory holding them):
/// the system's configuration and pseudo filesystems, and docker's own state.
const FORBIDDEN: &[&str] = &["/etc", "/proc", "/sys", "/dev", "/boot", "/var/lib/docker"];

/// Options docker accepts on `-v`.
const OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "z",
    "Z",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "nocopy",
    "consistent",
    "cached",
    "delegated",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: PathBuf,
    pub container: PathBuf,
    pub options: Option<String>,
}

impl Mount {
    /// Parses `/host:/container[:options]`, normalising both paths and refusing what must
    /// never be mounted.
    pub fn parse(spec: &str, roots: &Roots) -> Result<Mount> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (host, container, options) = match parts.as_slice() {
            [host, container] => (*host, *container, None),
            [host, container, options] => (*host, *container, Some(*options)),
            _ => bail!("Invalid mount {spec:?}: expected /host/path:/container/path[:ro]"),
        };
        let host = host_path(host, roots)?;
        let container = container_path(container)?;
        if let Some(options) = options {
            for option in options.split(',') {
                if !OPTIONS.contains(&option) {
                    bail!(
                        "Invalid mount option {option:?} (one of {})",
                        OPTIONS.join(", ")
                    );
                }
            }
        }
        Ok(Mount {
            host,
            container,
            options: options.map(String::from),
        })
    }

    /// The stored `/host:/container[:options]` form.
    pub fn spec(&self) -> String {
        let mut spec = format!("{}:{}", self.host.display(), self.container.display());
        if let Some(options) = &self.options {
            spec.push(':');
            spec.push_str(options);
        }
        spec
    }

    /// `-v '/host:/container'`, quoted for the shell-words splitting that docker-args
    /// consumers do.
    pub fn docker_args(&self) -> String {
        format!("-v {}", shell_words::quote(&self.spec()))
    }
}

/// ` -v a:b -v c:d`: each mount with a leading space, Dokku's docker-args convention.
pub fn docker_args(mounts: &[Mount]) -> String {
    mounts
        .iter()
        .map(|m| format!(" {}", m.docker_args()))
        .collect()
}

/// A `docker-args-*` trigger's body: the arguments on stdin (without a final newline),
/// then this plugin's mounts.
pub fn filter_docker_args(mounts: &[Mount]) -> anyhow::Result<()> {
    use std::io::Read;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let mut out = input.trim_end_matches('\n').to_string();
    out.push_str(&docker_args(mounts));
    crate::log::raw(out.as_bytes());
    Ok(())
}

/// An absolute path in normal form: no `.` or empty components, no trailing slash;
/// `..`, relative paths, colons and control characters are refused.
fn normalise(path: &str, what: &str) -> Result<PathBuf> {
    if !path.starts_with('/') {
        bail!("The {what} path {path:?} must be absolute");
    }
    if path.chars().any(|c| c.is_control() || c == ':') {
        bail!("The {what} path {path:?} contains a colon or a control character");
    }
    let mut out = PathBuf::from("/");
    for component in Path::new(path).components() {
        match component {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(part) => out.push(part),
            Component::ParentDir | Component::Prefix(_) => {
                bail!("The {what} path {path:?} must not contain \"..\"")
            }
        }
    }
    Ok(out)
}

/// A host directory that may be mounted. Refused: `/`, system directories (and any
/// directory that contains one), `$DOKKU_ROOT` (keys and repositories) and anything of
/// `$DOKKU_LIB_ROOT` but the data plugins keep for apps.
pub fn host_path(path: &str, roots: &Roots) -> Result<PathBuf> {
    let host = normalise(path, "host")?;
    let refuse = || {
        bail!(
            "Refusing to mount {}: it holds the host's own files",
            host.display()
        )
    };
    if host == Path::new("/") {
        return refuse();
    }
    for system in FORBIDDEN.iter().map(Path::new) {
        if host.starts_with(system) || system.starts_with(&host) {
            return refuse();
        }
    }
    let dokku_root = normalise(&roots.dokku_root.to_string_lossy(), "host")?;
    if host.starts_with(&dokku_root) || dokku_root.starts_with(&host) {
        return refuse();
    }
    let lib_root = normalise(&roots.lib_root.to_string_lossy(), "host")?;
    let app_data = ["data/storage", "data/volumes"]
        .iter()
        .any(|d| host.starts_with(lib_root.join(d)) && host != lib_root.join(d));
    if (host.starts_with(&lib_root) && !app_data) || lib_root.starts_with(&host) {
        return refuse();
    }
    Ok(host)
}

/// A path inside the container: absolute, normal, not `/`.
pub fn container_path(path: &str) -> Result<PathBuf> {
    let container = normalise(path, "container")?;
    if container == Path::new("/") {
        bail!("Refusing to mount over the container's root directory");
    }
    Ok(container)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        let mut roots = Roots::under(Path::new("/tmp/host"));
        roots.dokku_root = PathBuf::from("/home/dokku");
        roots.lib_root = PathBuf::from("/var/lib/dokku");
        roots
    }

    #[test]
    fn parses_and_normalises() {
        let m = Mount::parse("/srv/data//uploads/./:/app/uploads/:ro", &roots()).unwrap();
        assert_eq!(m.spec(), "/srv/data/uploads:/app/uploads:ro");
        assert_eq!(m.docker_args(), "-v /srv/data/uploads:/app/uploads:ro");
        let spaced = Mount::parse("/srv/my data:/data", &roots()).unwrap();
        assert_eq!(spaced.docker_args(), "-v '/srv/my data:/data'");
        let storage = Mount::parse("/var/lib/dokku/data/storage/app:/data", &roots()).unwrap();
        assert_eq!(storage.host, Path::new("/var/lib/dokku/data/storage/app"));
    }

    #[test]
    fn refuses_what_must_not_be_mounted() {
        for bad in [
            "/:/data",
            "/etc:/data",
            "/etc/ssl:/data",
            "/var:/data",
            "/var/lib/docker:/data",
            "/var/lib/docker/volumes/x:/data",
            "/home:/data",
            "/home/dokku:/data",
            "/home/dokku/.ssh:/data",
            "/var/lib/dokku:/data",
            "/var/lib/dokku/config:/data",
            "/var/lib/dokku/data/storage:/data",
            "/proc/self:/data",
            "/srv/../etc:/data",
            "relative/path:/data",
            "./data:/data",
            "data:/data",
            "/srv/a:relative",
            "/srv/a:/",
            "/srv/a:/app/../x",
            "/srv/a",
            "/srv/a:/b:/c:ro",
            "/srv/a:/b:bogus",
            "/srv/a\nb:/data",
            "",
        ] {
            assert!(Mount::parse(bad, &roots()).is_err(), "{bad:?} accepted");
        }
    }
}
