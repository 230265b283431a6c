//! Who a process acts as, and the few things root does in trees the dokku user owns.
//!
//! The dokku user (`DOKKU_SYSTEM_USER`) owns every tree that holds app state (`$DOKKU_ROOT`,
//! `$DOKKU_LIB_ROOT/data`, `$DOKKU_LIB_ROOT/config`). Root never works in those trees as
//! root: it switches to the dokku user first ([`drop_to_system_user`]), so a link or a file
//! the dokku user planted can do no more than the dokku user could already do. What root
//! does for the dokku user (the root helper) walks from `/` without following any link
//! ([`open_dir_nofollow`], [`open_dir_at_nofollow`]) and acts on what it opened, never on a
//! path.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::User;

use crate::env::{self, Roots};

/// The binary that performs root actions for the dokku user, through a sudoers rule that
/// install.sh writes; it sits beside the dispatcher.
pub const ROOT_HELPER: &str = "dokku-root-helper";

/// The root helper next to the dispatcher (`DOKKU_BIN`'s directory), else found by name.
pub fn root_helper_path() -> std::path::PathBuf {
    env::var(env::DOKKU_BIN)
        .map(std::path::PathBuf::from)
        .and_then(|bin| bin.parent().map(|d| d.join(ROOT_HELPER)))
        .unwrap_or_else(|| std::path::PathBuf::from(ROOT_HELPER))
}

/// `sudo -n -- <root helper> ACTION`: how the dokku user asks root for one of the helper's
/// actions (install.sh allows exactly that helper in sudoers).
pub fn root_helper(action: &str) -> crate::cmd::Cmd {
    crate::cmd::Cmd::new("sudo")
        .args(["-n", "--"])
        .arg(root_helper_path())
        .arg(action)
}

/// The dokku system user, when the account exists on this host.
pub fn system_user(roots: &Roots) -> Option<User> {
    User::from_name(&roots.system_user).ok().flatten()
}

/// True when this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Root, or the owner of the plugin tree (a hermetic install in a temp dir); never the
/// dokku user, which is who every SSH key acts as. Root's commands see `SSH_USER=root`.
pub fn require_root(roots: &Roots) -> Result<()> {
    let uid = nix::unistd::geteuid().as_raw();
    let owns_tree = || std::fs::metadata(&roots.plugin_path).is_ok_and(|m| m.uid() == uid);
    let is_system_user = || system_user(roots).is_some_and(|u| u.uid.as_raw() == uid);
    if uid == 0 || (owns_tree() && !is_system_user()) {
        if env::var(env::SSH_USER).is_none() {
            env::set_early(env::SSH_USER, "root");
        }
        return Ok(());
    }
    bail!("This command must be run as root")
}

/// Switches a root process to the dokku user when that user owns `$DOKKU_ROOT` (an
/// installed host; a hermetic host in a temp dir has no such user and stays as it is).
/// Returns the user switched to. Call it before any thread starts: it sets `HOME`/`USER`.
pub fn drop_to_system_user(roots: &Roots) -> Result<Option<User>> {
    // Stat first: the passwd lookup happens only when a switch may be due.
    let owner = std::fs::metadata(&roots.dokku_root).map(|m| m.uid()).ok();
    if !is_root() || owner.is_none_or(|uid| uid == 0) {
        return Ok(None);
    }
    let Some(user) = system_user(roots) else {
        return Ok(None);
    };
    if owner != Some(user.uid.as_raw()) {
        return Ok(None);
    }
    let name = std::ffi::CString::new(user.name.clone())?;
    nix::unistd::initgroups(&name, user.gid).context("initgroups")?;
    nix::unistd::setgid(user.gid).context("setgid")?;
    nix::unistd::setuid(user.uid).context("setuid")?;
    env::set_early("HOME", &user.dir.to_string_lossy());
    env::set_early("USER", &user.name);
    // Root's working directory may be closed to the dokku user (root's home, a private
    // temp dir): the programs this process starts (git among them) need one they can use.
    if nix::unistd::access(".", nix::unistd::AccessFlags::X_OK).is_err() {
        std::env::set_current_dir(&user.dir)
            .with_context(|| format!("changing to {}", user.dir.display()))?;
    }
    Ok(Some(user))
}

/// Opens a directory by an absolute path, one component at a time from `/`, refusing a
/// symlink at every step: the result is the directory the path names on disk, never
/// somewhere a link points.
pub fn open_dir_nofollow(path: &Path) -> Result<File> {
    if !path.is_absolute() {
        bail!("{} is not an absolute path", path.display());
    }
    let flags = dir_flags();
    let mut dir = open_at(None, Path::new("/"), flags)?;
    for component in path.components() {
        match component {
            Component::RootDir => {}
            Component::Normal(name) => {
                dir = open_at(Some(&dir), Path::new(name), flags).with_context(|| {
                    format!(
                        "{} is not a directory reached without links",
                        path.display()
                    )
                })?;
            }
            _ => bail!("{} is not a plain path", path.display()),
        }
    }
    Ok(dir)
}

/// The contents of the regular file `rel` under the directory `base`, every component
/// opened without following a link (so a link the dokku user planted is refused, never
/// followed by root); larger than `limit` bytes is refused. `Ok(None)` when it is absent.
/// With `owner`, `base` must belong to that uid.
pub fn read_file_nofollow(
    base: &Path,
    rel: &Path,
    limit: u64,
    owner: Option<u32>,
) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut dir = open_dir_nofollow(base)?;
    if let Some(owner) = owner
        && dir.metadata()?.uid() != owner
    {
        bail!("{} does not belong to the calling user", base.display());
    }
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(anyhow::anyhow!(
                "{} is not a plain relative path",
                rel.display()
            )),
        })
        .collect::<Result<_>>()?;
    let Some((file, dirs)) = parts.split_last() else {
        bail!("no file named");
    };
    for name in dirs {
        dir = match open_at(Some(&dir), Path::new(name), dir_flags()) {
            Ok(next) => next,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => {
                return Err(err.context(format!("{} is not reached without links", rel.display())));
            }
        };
    }
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
    let file = match open_at(Some(&dir), Path::new(file), flags) {
        Ok(file) => file,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err.context(format!("{} is not a plain file", rel.display()))),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("{} is not a plain file", rel.display());
    }
    if meta.len() > limit {
        bail!("{} is larger than {limit} bytes", rel.display());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// The names in the directory `rel` under `base` (reached without links), sorted; empty
/// when it is absent.
pub fn list_dir_nofollow(base: &Path, rel: &Path) -> Result<Vec<String>> {
    let path = base.join(rel);
    let dir = match open_dir_nofollow(&path) {
        Ok(dir) => dir,
        Err(err) if is_not_found(&err) => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    use std::os::fd::AsRawFd;
    // The directory that was opened, listed through its descriptor.
    let mut names = std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

fn is_not_found(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<nix::Error>() == Some(&nix::Error::ENOENT))
}

/// A directory, never through a link in its last component.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

fn open_at(dir: Option<&File>, name: &Path, flags: OFlag) -> Result<File> {
    openat_owned(dir, name, flags, Mode::empty())
        .with_context(|| format!("opening {}", name.display()))
}

#[allow(unsafe_code)]
fn openat_owned(dir: Option<&File>, name: &Path, flags: OFlag, mode: Mode) -> nix::Result<File> {
    use std::os::fd::AsRawFd;
    let fd = nix::fcntl::openat(dir.map(|d| d.as_raw_fd()), name, flags, mode)?;
    // SAFETY: openat just returned this descriptor; nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Makes the file `name` in the open directory `parent` (mode `mode`), never through a
/// link; `None` when something of that name is there already.
pub fn create_file_at(parent: &File, name: &str, mode: u32) -> Result<Option<File>> {
    let flags =
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat_owned(
        Some(parent),
        Path::new(name),
        flags,
        Mode::from_bits_truncate(mode),
    ) {
        Ok(file) => Ok(Some(file)),
        Err(nix::errno::Errno::EEXIST) => Ok(None),
        Err(err) => Err(err).with_context(|| format!("creating {name}")),
    }
}

/// The directory `name` (one component) in the open directory `parent`, never through a
/// link: what a walk from a directory opened by [`open_dir_nofollow`] goes on with.
pub fn open_dir_at_nofollow(parent: &File, name: &str) -> Result<File> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        bail!("{name:?} is not one path component");
    }
    open_at(Some(parent), Path::new(name), dir_flags())
}

/// The names in the open directory `dir` (not `.` and `..`).
fn names_in(dir: &File) -> Result<Vec<std::ffi::OsString>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let mut listing = nix::dir::Dir::openat(
        Some(dir.as_raw_fd()),
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("listing a directory")?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let name = entry
            .context("listing a directory")?
            .file_name()
            .to_bytes()
            .to_vec();
        if name != b"." && name != b".." {
            names.push(std::ffi::OsStr::from_bytes(&name).to_os_string());
        }
    }
    Ok(names)
}

/// Whether `name` in `dir` is a directory itself (a link to one is not).
fn is_dir_at(dir: &File, name: &std::ffi::OsStr) -> Result<bool> {
    use nix::fcntl::AtFlags;
    use std::os::fd::AsRawFd;
    let stat = nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        Path::new(name),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .with_context(|| format!("reading {name:?}"))?;
    Ok(stat.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR)
}

/// Gives the open directory `dir` and everything under it to `uid:gid`, as `chown -R`
/// does, but never through a link: links themselves change owner, their targets do not,
/// and a directory swapped for a link mid-walk is refused when it is opened.
pub fn chown_tree(dir: &File, uid: u32, gid: u32) -> Result<()> {
    use nix::fcntl::AtFlags;
    use nix::unistd::{Gid, Uid};
    use std::os::fd::AsRawFd;
    std::os::unix::fs::fchown(dir, Some(uid), Some(gid)).context("changing an owner")?;
    for name in names_in(dir)? {
        if is_dir_at(dir, &name)? {
            chown_tree(
                &open_at(Some(dir), Path::new(&name), dir_flags())?,
                uid,
                gid,
            )?;
        } else {
            nix::unistd::fchownat(
                Some(dir.as_raw_fd()),
                Path::new(&name),
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .with_context(|| format!("changing the owner of {name:?}"))?;
        }
    }
    Ok(())
}

/// The directory `rel` (one component each) under the open directory `base`, each made
/// where missing (mode `mode`) and opened without following links. With `owner`, every
/// directory of `rel` is given to it: root laying out directories the dokku user writes.
pub fn make_dirs_at(
    base: &File,
    rel: &[&str],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<File> {
    use std::os::fd::AsRawFd;
    let mut dir = base.try_clone()?;
    for name in rel {
        match nix::sys::stat::mkdirat(
            Some(dir.as_raw_fd()),
            Path::new(name),
            Mode::from_bits_truncate(mode),
        ) {
            Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
            Err(err) => return Err(err).with_context(|| format!("creating {name}")),
        }
        dir = open_dir_at_nofollow(&dir, name)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&dir, Some(uid), Some(gid))
                .with_context(|| format!("changing the owner of {name}"))?;
        }
    }
    Ok(dir)
}

/// Removes the directory `name` of the open directory `parent` and everything under it,
/// as `rm -rf` does, but never through a link.
pub fn remove_tree_at(parent: &File, name: &std::ffi::OsStr) -> Result<()> {
    use nix::unistd::UnlinkatFlags;
    use std::os::fd::AsRawFd;
    let dir = open_at(Some(parent), Path::new(name), dir_flags())?;
    for child in names_in(&dir)? {
        if is_dir_at(&dir, &child)? {
            remove_tree_at(&dir, &child)?;
        } else {
            nix::unistd::unlinkat(
                Some(dir.as_raw_fd()),
                Path::new(&child),
                UnlinkatFlags::NoRemoveDir,
            )
            .with_context(|| format!("removing {child:?}"))?;
        }
    }
    nix::unistd::unlinkat(
        Some(parent.as_raw_fd()),
        Path::new(name),
        UnlinkatFlags::RemoveDir,
    )
    .with_context(|| format!("removing {name:?}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_file_at_makes_a_new_file_and_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let open = open_dir_nofollow(dir.path()).unwrap();
        assert!(create_file_at(&open, "new", 0o640).unwrap().is_some());
        assert!(create_file_at(&open, "new", 0o640).unwrap().is_none());
        let target = dir.path().join("target");
        std::os::unix::fs::symlink(&target, dir.path().join("link")).unwrap();
        assert!(create_file_at(&open, "link", 0o640).unwrap().is_none());
        assert!(!target.exists());
    }

    #[test]
    fn open_dir_nofollow_refuses_links_anywhere_in_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real/inner");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
        assert!(open_dir_nofollow(&real).is_ok());
        assert!(open_dir_nofollow(&dir.path().join("link")).is_err());
        assert!(open_dir_nofollow(&dir.path().join("link/inner")).is_err());
        assert!(open_dir_nofollow(Path::new("relative")).is_err());
    }

    #[test]
    fn make_dirs_at_makes_what_is_missing_and_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let base = open_dir_nofollow(dir.path()).unwrap();
        make_dirs_at(&base, &["a", "b"], 0o755, None).unwrap();
        make_dirs_at(&base, &["a", "b"], 0o755, None).unwrap();
        assert!(dir.path().join("a/b").is_dir());
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("link")).unwrap();
        assert!(make_dirs_at(&base, &["link", "c"], 0o755, None).is_err());
        assert!(!elsewhere.join("c").exists());
    }

    #[test]
    fn tree_walks_never_leave_the_tree_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/file"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/out")).unwrap();
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let root = open_dir_nofollow(dir.path()).unwrap();
        chown_tree(&open_dir_at_nofollow(&root, "tree").unwrap(), uid, gid).unwrap();
        remove_tree_at(&root, std::ffi::OsStr::new("tree")).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").exists(), "a link's target was removed");
        std::os::unix::fs::symlink(&outside, dir.path().join("link")).unwrap();
        assert!(remove_tree_at(&root, std::ffi::OsStr::new("link")).is_err());
        assert!(outside.join("keep").exists());
    }
}
