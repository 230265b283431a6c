//! Buildpacks: the installed ones (directories under the buildpack path, tried in the order
//! of their names, `00_buildpack-multi` first), and ones fetched for one build from a URL
//! (git, with an optional `#ref`; a tarball; or a directory the host already fetched).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Result, bail};

use crate::Exit;
use crate::out;
use crate::paths::Paths;

/// Where a buildpack named by URL is put for the build.
pub const CUSTOM_DIR: &str = "custom";
/// Where the buildpacks of a `.buildpacks` list are put for the build.
pub const MULTI_DIR: &str = "multi";

#[derive(Debug, Clone)]
pub struct Installed {
    /// The directory's name without its order prefix (`buildpack-null`).
    pub name: String,
    pub dir: PathBuf,
}

/// The installed buildpacks in the order they are tried.
pub fn installed(paths: &Paths) -> Result<Vec<Installed>> {
    let Ok(entries) = std::fs::read_dir(&paths.buildpacks) else {
        return Ok(Vec::new());
    };
    let mut dirs: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("bin/detect").is_file())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| name != CUSTOM_DIR && name != MULTI_DIR)
        .collect();
    dirs.sort();
    Ok(dirs
        .into_iter()
        .map(|(dir_name, dir)| Installed {
            name: strip_order(&dir_name).to_string(),
            dir,
        })
        .collect())
}

/// `00_buildpack-multi` -> `buildpack-multi`.
fn strip_order(dir_name: &str) -> &str {
    match dir_name.split_once('_') {
        Some((order, rest)) if !order.is_empty() && order.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => dir_name,
    }
}

/// A buildpack's version: its `VERSION` file, else what git says of its checkout.
fn version(dir: &Path) -> String {
    if let Ok(text) = std::fs::read_to_string(dir.join("VERSION")) {
        return text.trim().to_string();
    }
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["describe", "--tags", "--always"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// `herokuish version`.
pub fn print_version(paths: &Paths) {
    out::line(&format!("herokuish: {}", crate::VERSION));
    out::line("buildpacks:");
    for pack in installed(paths).unwrap_or_default() {
        out::line(&format!("  {:<26} {}", pack.name, version(&pack.dir)));
    }
}

/// Runs `bin/detect BUILD` quietly: the buildpack's name when it claims the app.
pub fn detect(buildpack: &Path, build: &Path) -> Option<String> {
    let output = Command::new(buildpack.join("bin/detect"))
        .arg(build)
        .current_dir(build)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| detected_name(&output.stdout, buildpack))
}

/// What `bin/detect` printed, or the buildpack's directory name when it printed nothing.
pub fn detected_name(stdout: &[u8], buildpack: &Path) -> String {
    let text = String::from_utf8_lossy(stdout);
    match text.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(name) => name.to_string(),
        None => buildpack
            .file_name()
            .map(|n| strip_order(&n.to_string_lossy()).to_string())
            .unwrap_or_default(),
    }
}

/// How a buildpack URL is fetched.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// A directory on this machine (the host fetched it and handed it in).
    Local(PathBuf),
    Tarball(String),
    Git {
        url: String,
        reference: Option<String>,
    },
}

impl Source {
    /// `URL[#REF]`, refused with herokuish's message when it is none of the known forms.
    /// A URL the host already fetched (`BUILDSTEP_FETCHED`: a directory of clones and a
    /// `map` of `URL<tab>clone` lines) is that clone.
    pub fn parse(text: &str) -> Result<Source> {
        if let Some(dir) = fetched_by_host(text) {
            return Ok(Source::Local(dir));
        }
        let (url, reference) = match text.split_once('#') {
            Some((url, reference)) if !reference.is_empty() => (url, Some(reference.to_string())),
            Some((url, _)) => (url, None),
            None => (text, None),
        };
        if url.starts_with('/') && Path::new(url).is_dir() {
            return Ok(Source::Local(PathBuf::from(url)));
        }
        let remote = ["http://", "https://", "git://", "ssh://", "file://", "git@"]
            .iter()
            .any(|p| url.starts_with(p));
        if !remote {
            bail!("Invalid buildpack URL: '{text}'");
        }
        let tarball = [".tgz", ".tar.gz", ".tbz", ".tar"]
            .iter()
            .any(|s| url.ends_with(s));
        if tarball && (url.starts_with("http://") || url.starts_with("https://")) {
            return Ok(Source::Tarball(url.to_string()));
        }
        Ok(Source::Git {
            url: url.to_string(),
            reference,
        })
    }

    /// Puts the buildpack in `dest` (replaced).
    pub fn fetch(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            std::fs::remove_dir_all(dest)?;
        }
        std::fs::create_dir_all(dest)?;
        let ok = match self {
            Source::Local(dir) => run_quiet(
                Command::new("cp")
                    .arg("-a")
                    .arg(format!("{}/.", dir.display()))
                    .arg(dest),
            ),
            Source::Tarball(url) => run_quiet(
                Command::new("bash")
                    .args([
                        "-c",
                        "set -o pipefail; curl -fsSL \"$1\" | tar -xz -C \"$2\"",
                    ])
                    .args(["bash", url])
                    .arg(dest),
            ),
            Source::Git { url, reference } => {
                std::fs::remove_dir(dest)?;
                let shallow = reference.as_ref().is_some_and(|r| {
                    run_quiet(
                        Command::new("git")
                            .args(["clone", "--quiet", "--depth", "1", "--branch", r, url])
                            .arg(dest),
                    )
                });
                shallow
                    || (run_quiet(
                        Command::new("git")
                            .args(["clone", "--quiet", url])
                            .arg(dest),
                    ) && reference.as_ref().is_none_or(|r| {
                        run_quiet(
                            Command::new("git")
                                .arg("-C")
                                .arg(dest)
                                .args(["checkout", "--quiet", r]),
                        )
                    }))
            }
        };
        if !ok {
            bail!("fetching the buildpack failed");
        }
        Ok(())
    }
}

/// The host's clone of `url`, when the host fetched it for this build.
fn fetched_by_host(url: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(crate::paths::var("BUILDSTEP_FETCHED")?);
    let map = std::fs::read_to_string(dir.join("map")).ok()?;
    map.lines().find_map(|line| {
        let (listed, name) = line.split_once('\t')?;
        let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
        (listed == url && plain).then(|| dir.join(name))
    })
}

fn run_quiet(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `herokuish buildpack install URL [REF] [NAME]`: installed after the others.
pub fn install(paths: &Paths, args: &[&str]) -> Result<()> {
    let [url, rest @ ..] = args else {
        out::error("Usage: herokuish buildpack install URL [REF] [NAME]");
        return Err(Exit(2).into());
    };
    let with_ref = match rest.first() {
        Some(reference) => format!("{url}#{reference}"),
        None => url.to_string(),
    };
    let source = Source::parse(&with_ref)?;
    let name = match rest.get(1) {
        Some(name) => name.to_string(),
        None => url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("buildpack")
            .trim_end_matches(".git")
            .to_string(),
    };
    let order = installed(paths)?.len();
    let dest = paths.buildpacks.join(format!("{order:02}_{name}"));
    out::title(&format!("Installing {name}"));
    source.fetch(&dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildpack_urls_are_git_tarballs_or_local_dirs() {
        assert_eq!(
            Source::parse("https://github.com/dokku/buildpack-null.git#v3").unwrap(),
            Source::Git {
                url: "https://github.com/dokku/buildpack-null.git".into(),
                reference: Some("v3".into())
            }
        );
        assert_eq!(
            Source::parse("https://example.com/bp.tgz").unwrap(),
            Source::Tarball("https://example.com/bp.tgz".into())
        );
        let dir = tempfile::tempdir().unwrap();
        let local = dir.path().display().to_string();
        assert_eq!(
            Source::parse(&local).unwrap(),
            Source::Local(dir.path().into())
        );
        let err = Source::parse("heroku/python").unwrap_err().to_string();
        assert_eq!(err, "Invalid buildpack URL: 'heroku/python'");
        assert!(Source::parse("/no/such/dir").is_err());
    }

    #[test]
    fn order_prefixes_are_not_part_of_names() {
        assert_eq!(strip_order("11_buildpack-null"), "buildpack-null");
        assert_eq!(strip_order("custom"), "custom");
        assert_eq!(strip_order("x_y"), "x_y");
    }
}
