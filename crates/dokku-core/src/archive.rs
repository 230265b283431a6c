//! Archives users upload (`git:from-archive`, a tar for `certs:add`, plugins' own archives
//! through the `common/archive-functions` helpers) are extracted only after every entry
//! was checked: no absolute path, no `..`, no link leading outside the extraction
//! directory, and within the size and entry-count limits (`git:set --global
//! archive-max-size|archive-max-files`). Nothing an archive names can make the extractor
//! write outside its directory, and after extraction every symlink is checked again.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::env::Roots;
use crate::property::{GLOBAL, Properties};

/// The formats an uploaded archive may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tar,
    TarGz,
    Zip,
}

impl Kind {
    pub fn parse(name: &str) -> Result<Kind> {
        match name {
            "tar" => Ok(Kind::Tar),
            "tar.gz" => Ok(Kind::TarGz),
            "zip" => Ok(Kind::Zip),
            _ => bail!("Unsupported archive type {name:?}: tar, tar.gz or zip"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Tar => "tar",
            Kind::TarGz => "tar.gz",
            Kind::Zip => "zip",
        }
    }
}

/// The largest archive (bytes) and the most entries one may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_size: u64,
    pub max_files: u64,
}

pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
pub const DEFAULT_MAX_FILES: u64 = 10_000;

impl Limits {
    /// The limits the git plugin's global properties set, else the defaults (as Dokku,
    /// which keeps them with git's properties).
    pub fn configured(roots: &Roots) -> Result<Limits> {
        let props = Properties::new(roots, "git");
        let read = |key: &str, default: u64| -> Result<u64> {
            match props.get(GLOBAL, key)?.filter(|v| !v.is_empty()) {
                Some(value) => value
                    .parse()
                    .with_context(|| format!("the git property {key} is not a number: {value:?}")),
                None => Ok(default),
            }
        };
        Ok(Limits {
            max_size: read("archive-max-size", DEFAULT_MAX_SIZE)?,
            max_files: read("archive-max-files", DEFAULT_MAX_FILES)?,
        })
    }
}

/// Writes an audit line for a refused or suspicious archive on stderr, in the form
/// Dokku's archive helpers use, so one log search finds both.
pub fn security_event(event: &str, kind: &str, source: &str, details: &str) {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    crate::log::record(&format!(
        "[archive-security] timestamp={} user={user} event={event} archive_type={kind} source={source} details={details}",
        crate::time::rfc3339(crate::time::now().as_secs())
    ));
}

fn refuse(event: &str, kind: Kind, source: &Path, details: &str, message: String) -> anyhow::Error {
    security_event(event, kind.name(), &source.display().to_string(), details);
    anyhow::anyhow!(message)
}

/// The size and entry-count limits.
pub fn check_limits(archive: &Path, kind: Kind, limits: &Limits) -> Result<()> {
    let size = std::fs::metadata(archive)
        .with_context(|| format!("reading {}", archive.display()))?
        .len();
    if size > limits.max_size {
        return Err(refuse(
            "rejected_archive_too_large",
            kind,
            archive,
            &format!("size={size} max={}", limits.max_size),
            format!(
                "Archive exceeds maximum allowed size of {} bytes",
                limits.max_size
            ),
        ));
    }
    let count = entries(archive, kind)?.len() as u64;
    if count > limits.max_files {
        return Err(refuse(
            "rejected_archive_too_many_files",
            kind,
            archive,
            &format!("count={count} max={}", limits.max_files),
            format!(
                "Archive contains {count} entries which exceeds the maximum of {}",
                limits.max_files
            ),
        ));
    }
    Ok(())
}

/// One entry as the checks see it: its path, and where a link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: String,
    link: Option<String>,
}

fn entries(archive: &Path, kind: Kind) -> Result<Vec<Entry>> {
    match kind {
        Kind::Zip => zip_entries(archive),
        Kind::Tar | Kind::TarGz => {
            let mut tar = tar::Archive::new(open(archive, kind)?);
            let mut found = Vec::new();
            for entry in tar.entries().context("The archive could not be read")? {
                let entry = entry.context("The archive could not be read")?;
                let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let kind = entry.header().entry_type();
                let link = if kind.is_symlink() || kind.is_hard_link() {
                    entry
                        .link_name_bytes()
                        .map(|l| String::from_utf8_lossy(&l).into_owned())
                } else {
                    None
                };
                found.push(Entry { path, link });
            }
            Ok(found)
        }
    }
}

/// The tar stream of `archive`; gzip is recognised by its magic whatever the kind says,
/// as GNU tar does.
fn open(archive: &Path, kind: Kind) -> Result<Box<dyn Read>> {
    use std::io::BufRead;
    let mut file = BufReader::new(
        File::open(archive).with_context(|| format!("opening {}", archive.display()))?,
    );
    let gzipped = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzipped || kind == Kind::TarGz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// A zip's entry names, as `unzip` lists them (links are checked once extracted).
fn zip_entries(archive: &Path) -> Result<Vec<Entry>> {
    let out = crate::cmd::Cmd::new("unzip")
        .arg("-Z1")
        .arg(archive)
        .output()
        .map_err(|e| anyhow::anyhow!("The archive could not be read: {e:#}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|path| Entry {
            path: path.to_string(),
            link: None,
        })
        .collect())
}

fn has_parent(path: &str) -> bool {
    path.split('/').any(|part| part == "..")
}

/// The path checks: no entry may be absolute or climb with `..`, and no link may lead
/// to an absolute target or climb.
pub fn validate_entries(archive: &Path, kind: Kind) -> Result<()> {
    let entries = entries(archive, kind)?;
    if kind == Kind::Zip {
        if entries
            .iter()
            .any(|e| e.path.starts_with('/') || has_parent(&e.path))
        {
            return Err(refuse(
                "rejected_unsafe_zip_path",
                kind,
                archive,
                "absolute or traversal path detected",
                "Archive contains entries with unsafe paths".into(),
            ));
        }
        return Ok(());
    }
    if entries.iter().any(|e| e.path.starts_with('/')) {
        return Err(refuse(
            "rejected_absolute_path",
            kind,
            archive,
            "absolute path detected",
            "Archive contains entries with absolute paths".into(),
        ));
    }
    if entries.iter().any(|e| has_parent(&e.path)) {
        return Err(refuse(
            "rejected_path_traversal",
            kind,
            archive,
            "parent directory traversal detected",
            "Archive contains entries with parent directory traversal".into(),
        ));
    }
    for target in entries.iter().filter_map(|e| e.link.as_deref()) {
        if target.starts_with('/') {
            return Err(refuse(
                "rejected_unsafe_symlink",
                kind,
                archive,
                &format!("absolute symlink target={target}"),
                "Archive contains symlinks with absolute targets".into(),
            ));
        }
        if has_parent(target) {
            return Err(refuse(
                "rejected_unsafe_symlink",
                kind,
                archive,
                &format!("traversal symlink target={target}"),
                "Archive contains symlinks pointing outside extraction directory".into(),
            ));
        }
    }
    Ok(())
}

/// Every symlink under `dir` resolves inside it.
pub fn validate_extracted_symlinks(dir: &Path) -> Result<()> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    for entry in walkdir::WalkDir::new(&root).follow_links(false) {
        let entry = entry?;
        if !entry.path_is_symlink() {
            continue;
        }
        let target = resolve(entry.path());
        if !target.as_deref().is_some_and(|t| t.starts_with(&root)) {
            let shown = target.map(|t| t.display().to_string()).unwrap_or_default();
            security_event(
                "rejected_extracted_symlink",
                "post_extraction",
                &entry.path().display().to_string(),
                &format!("target={shown} dir={}", root.display()),
            );
            bail!("Archive contains symlinks pointing outside extraction directory");
        }
    }
    Ok(())
}

/// Where a link leads, as `readlink -f` says: fully resolved, or for a dangling link its
/// resolved directory joined with the missing name.
fn resolve(link: &Path) -> Option<PathBuf> {
    if let Ok(target) = link.canonicalize() {
        return Some(target);
    }
    let target = std::fs::read_link(link).ok()?;
    let joined = link.parent()?.join(target);
    let parent = joined.parent()?.canonicalize().ok()?;
    match joined.components().next_back()? {
        Component::Normal(name) => Some(parent.join(name)),
        _ => None,
    }
}

/// Checks `archive` and extracts it into `dest` (which must exist), dropping the first
/// `strip` path components of each entry as `tar --strip-components` does.
pub fn extract(
    archive: &Path,
    dest: &Path,
    kind: Kind,
    strip: usize,
    limits: &Limits,
) -> Result<()> {
    check_limits(archive, kind, limits)?;
    validate_entries(archive, kind)?;
    match (kind, strip) {
        (Kind::Zip, 0) => unzip(archive, dest)?,
        (Kind::Zip, _) => bail!("Zip archives cannot drop leading path components"),
        (_, 0) => untar(archive, kind, dest)?,
        _ => {
            let staging = tempfile::Builder::new()
                .prefix(".archive-")
                .tempdir_in(dest)
                .context("making a staging directory")?;
            untar(archive, kind, staging.path())?;
            validate_extracted_symlinks(staging.path())?;
            move_level(staging.path(), dest, strip + 1)?;
        }
    }
    validate_extracted_symlinks(dest)
}

fn untar(archive: &Path, kind: Kind, dest: &Path) -> Result<()> {
    let mut tar = tar::Archive::new(open(archive, kind)?);
    tar.set_preserve_ownerships(false);
    tar.set_preserve_permissions(false);
    tar.set_unpack_xattrs(false);
    tar.set_overwrite(true);
    for entry in tar.entries().context("The archive could not be read")? {
        let mut entry = entry.context("The archive could not be read")?;
        let kind = entry.header().entry_type();
        // Devices and fifos are no part of an app's tree.
        if !(kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_hard_link()) {
            continue;
        }
        // unpack_in refuses any path that would land outside `dest`, also through a
        // symlink an earlier entry made.
        let inside = entry
            .unpack_in(dest)
            .map_err(|e| anyhow::anyhow!("The archive could not be extracted: {e}"))?;
        if !inside {
            bail!("Archive contains entries with parent directory traversal");
        }
    }
    Ok(())
}

fn unzip(archive: &Path, dest: &Path) -> Result<()> {
    crate::cmd::Cmd::new("unzip")
        .args(["-q", "-o"])
        .arg(archive)
        .arg("-d")
        .arg(dest)
        .output()
        .map_err(|e| anyhow::anyhow!("The archive could not be extracted: {e:#}"))?;
    Ok(())
}

/// Moves what lies `depth` levels down in `from` into `dest`, merging directories.
fn move_level(from: &Path, dest: &Path, depth: usize) -> Result<()> {
    for entry in walkdir::WalkDir::new(from)
        .min_depth(depth)
        .max_depth(depth)
        .follow_links(false)
    {
        let entry = entry?;
        let target = dest.join(entry.file_name());
        if target.is_dir() && !target.is_symlink() && entry.file_type().is_dir() {
            move_level(entry.path(), &target, 1)?;
        } else {
            std::fs::rename(entry.path(), &target)
                .with_context(|| format!("moving {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_size: DEFAULT_MAX_SIZE,
        max_files: DEFAULT_MAX_FILES,
    };

    /// A tar with `files` (path, contents) and `links` (path, target) written raw, so
    /// the paths may be anything an attacker writes.
    fn tar_with(dir: &Path, files: &[(&str, &str)], links: &[(&str, &str)]) -> PathBuf {
        let path = tempfile::Builder::new()
            .suffix(".tar")
            .tempfile_in(dir)
            .expect("archive")
            .into_temp_path()
            .keep()
            .expect("keep");
        let mut builder = tar::Builder::new(File::create(&path).expect("create"));
        for (name, target) in links {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            raw_name(&mut header, name);
            header.as_gnu_mut().expect("gnu").linkname[..target.len()]
                .copy_from_slice(target.as_bytes());
            header.set_cksum();
            builder.append(&header, std::io::empty()).expect("link");
        }
        for (name, body) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            raw_name(&mut header, name);
            header.set_cksum();
            builder.append(&header, body.as_bytes()).expect("file");
        }
        builder.finish().expect("finish");
        path
    }

    fn raw_name(header: &mut tar::Header, name: &str) {
        let gnu = header.as_gnu_mut().expect("gnu");
        gnu.name = [0; 100];
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    }

    fn refused(archive: &Path, dest: &Path) -> String {
        format!(
            "{:#}",
            extract(archive, dest, Kind::Tar, 0, &LIMITS).expect_err("refused")
        )
    }

    #[test]
    fn a_plain_tree_is_extracted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = tar_with(
            dir.path(),
            &[("app/README.md", "hi\n"), ("app/web/Procfile", "web: x\n")],
            &[("app/link", "web/Procfile")],
        );
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).expect("dest");
        extract(&archive, &dest, Kind::Tar, 0, &LIMITS).expect("extract");
        assert_eq!(
            std::fs::read_to_string(dest.join("app/link")).expect("read"),
            "web: x\n"
        );
    }

    #[test]
    fn leading_components_are_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = tar_with(
            dir.path(),
            &[("top/README.md", "hi\n"), ("top/web/Procfile", "web: x\n")],
            &[],
        );
        let dest = dir.path().join("out");
        std::fs::create_dir(&dest).expect("dest");
        extract(&archive, &dest, Kind::Tar, 1, &LIMITS).expect("extract");
        assert!(dest.join("README.md").is_file());
        assert!(dest.join("web/Procfile").is_file());
        let left: Vec<_> = std::fs::read_dir(&dest)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }

    #[test]
    fn links_and_paths_leading_out_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let canary = dir.path().join("outside");
        std::fs::create_dir(&canary).expect("outside");
        let cases = [
            (
                tar_with(
                    dir.path(),
                    &[("pwn/canary", "x")],
                    &[("pwn", canary.to_str().expect("utf8"))],
                ),
                "symlinks with absolute targets",
            ),
            (
                tar_with(dir.path(), &[("pwn/canary", "x")], &[("pwn", "../outside")]),
                "symlinks pointing outside extraction directory",
            ),
            (
                tar_with(dir.path(), &[("../outside/canary", "x")], &[]),
                "entries with parent directory traversal",
            ),
            (
                tar_with(
                    dir.path(),
                    &[(&format!("{}/canary", canary.display()), "x")],
                    &[],
                ),
                "entries with absolute paths",
            ),
        ];
        for (archive, message) in cases {
            let dest = tempfile::tempdir_in(dir.path()).expect("dest");
            let error = refused(&archive, dest.path());
            assert!(error.contains(message), "{error}");
            assert!(
                !canary.join("canary").exists(),
                "{message}: written outside"
            );
            assert_eq!(std::fs::read_dir(dest.path()).expect("list").count(), 0);
        }
    }

    #[test]
    fn the_limits_are_enforced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = tar_with(dir.path(), &[("a", "1"), ("b", "2"), ("c", "3")], &[]);
        let small = Limits {
            max_size: 1,
            max_files: DEFAULT_MAX_FILES,
        };
        let error = check_limits(&archive, Kind::Tar, &small).expect_err("size");
        assert_eq!(
            error.to_string(),
            "Archive exceeds maximum allowed size of 1 bytes"
        );
        let few = Limits {
            max_size: DEFAULT_MAX_SIZE,
            max_files: 2,
        };
        let error = check_limits(&archive, Kind::Tar, &few).expect_err("files");
        assert_eq!(
            error.to_string(),
            "Archive contains 3 entries which exceeds the maximum of 2"
        );
    }

    #[test]
    fn an_extracted_link_out_of_the_tree_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tree = dir.path().join("tree");
        std::fs::create_dir(&tree).expect("tree");
        std::os::unix::fs::symlink(dir.path(), tree.join("up")).expect("link");
        let error = validate_extracted_symlinks(&tree).expect_err("outside");
        assert!(error.to_string().contains("outside extraction directory"));
        std::fs::remove_file(tree.join("up")).expect("rm");
        std::os::unix::fs::symlink("missing", tree.join("dangling")).expect("link");
        validate_extracted_symlinks(&tree).expect("a dangling link inside is fine");
    }
}
