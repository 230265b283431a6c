//! Bind mounts (`/host:/container[:options]`), shared by the storage and volume plugins:
//! what a host path may be, and the docker arguments a mount becomes.

use std::path::{Component, Path, PathBuf};

use anyhow::{Result, bail};

use crate::env::Roots;

/// Host directories that are never mounted into an app (nor any directory holding them):
/// the system's configuration, programs and libraries, pseudo filesystems, runtime sockets
/// (docker's among them), root's home, and docker's own state.
const FORBIDDEN: &[&str] = &[
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/lib/docker",
    "/var/run",
];

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
    crate::docker::filter_args(&docker_args(mounts))
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
/// `$DOKKU_LIB_ROOT` but the data plugins keep for apps. The rules apply to the path as
/// written and to where it leads once links are resolved (docker follows them), and they
/// are checked again each time the mount reaches docker.
pub fn host_path(path: &str, roots: &Roots) -> Result<PathBuf> {
    let host = normalise(path, "host")?;
    check_host(&host, &host, roots, false)?;
    check_host(&host, &resolve(&host), roots, true)?;
    Ok(host)
}

fn check_host(shown: &Path, host: &Path, roots: &Roots, canonical: bool) -> Result<()> {
    let refuse = || {
        bail!(
            "Refusing to mount {}: it holds the host's own files",
            shown.display()
        )
    };
    if host == Path::new("/") {
        return refuse();
    }
    for system in FORBIDDEN.iter().map(Path::new) {
        if host.starts_with(system) || system.starts_with(host) {
            return refuse();
        }
    }
    let root = |p: &Path| -> Result<PathBuf> {
        let p = normalise(&p.to_string_lossy(), "host")?;
        Ok(if canonical { resolve(&p) } else { p })
    };
    let dokku_root = root(&roots.dokku_root)?;
    if host.starts_with(&dokku_root) || dokku_root.starts_with(host) {
        return refuse();
    }
    let lib_root = root(&roots.lib_root)?;
    let app_data = ["data/storage", "data/volume"]
        .iter()
        .any(|d| host.starts_with(lib_root.join(d)) && host != lib_root.join(d));
    if (host.starts_with(&lib_root) && !app_data) || lib_root.starts_with(host) {
        return refuse();
    }
    Ok(())
}

/// `path` with every link resolved: the deepest part that exists, canonicalised, then the
/// rest as written (docker creates missing directories).
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return rest.iter().rev().fold(canonical, |p, part| p.join(part));
        }
        match (
            existing.file_name().map(ToOwned::to_owned),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
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
            "/var/run/docker.sock:/var/run/docker.sock",
            "/run:/data",
            "/usr:/data",
            "/bin:/data",
            "/lib:/data",
            "/root/.ssh:/data",
            "/srv/a\nb:/data",
            "",
        ] {
            assert!(Mount::parse(bad, &roots()).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn links_are_judged_by_where_they_lead() {
        let dir = tempfile::tempdir().unwrap();
        let mut roots = Roots::under(dir.path());
        roots.dokku_root = dir.path().join("home");
        let storage = roots.lib_root.join("data/storage");
        std::fs::create_dir_all(&storage).unwrap();
        std::fs::create_dir_all(&roots.dokku_root).unwrap();
        std::os::unix::fs::symlink("/etc", storage.join("etc-link")).unwrap();
        std::os::unix::fs::symlink(&roots.dokku_root, storage.join("home-link")).unwrap();
        for bad in ["etc-link", "etc-link/ssl", "home-link/.ssh"] {
            let spec = format!("{}/{bad}:/data", storage.display());
            assert!(Mount::parse(&spec, &roots).is_err(), "{spec} accepted");
        }
        std::fs::create_dir_all(storage.join("real")).unwrap();
        let ok = format!("{}/real/new:/data", storage.display());
        assert!(Mount::parse(&ok, &roots).is_ok());
    }
}
