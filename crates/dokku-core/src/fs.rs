//! Files that never tear: atomic writes, and the per-app lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::Error;

/// Writes `contents` to `path` so readers see the old file or the new one, never a mix:
/// a temp file in the same directory, fsync, rename, then fsync of the directory.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    write_atomic_owned(path, contents, mode, None)
}

/// [`write_atomic`], with the new file given to `owner` (uid, gid) before it appears: a
/// file root writes for the dokku user (`authorized_keys`) is never briefly root's.
pub fn write_atomic_owned(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut tmp = tempfile_in(dir, &name)?;
    let result = (|| -> io::Result<()> {
        tmp.1.write_all(contents)?;
        tmp.1.set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&tmp.1, Some(uid), Some(gid))?;
        }
        tmp.1.sync_all()?;
        fs::rename(&tmp.0, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp.0);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

fn tempfile_in(dir: &Path, name: &str) -> Result<(PathBuf, File)> {
    let pid = std::process::id();
    for attempt in 0u32..1000 {
        let tmp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("creating a temp file in {}", dir.display()));
            }
        }
    }
    anyhow::bail!("could not create a temp file in {}", dir.display())
}

/// Reads a file to a string, `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Removes a directory tree; a missing one is fine.
pub fn remove_dir_all_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Removes a file; a missing one is fine.
pub fn remove_file_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// Copies a directory tree, keeping modes and symlinks (a plugin's entry points are links).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let rel = entry.path().strip_prefix(from)?;
        let dest = to.join(rel);
        let kind = entry.file_type();
        if kind.is_dir() {
            fs::create_dir_all(&dest).with_context(|| format!("creating {}", dest.display()))?;
        } else if kind.is_symlink() {
            let target = fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(&target, &dest)
                .with_context(|| format!("linking {}", dest.display()))?;
        } else {
            fs::copy(entry.path(), &dest).with_context(|| {
                format!("copying {} to {}", entry.path().display(), dest.display())
            })?;
        }
    }
    Ok(())
}

/// True when `path` is a regular file (after links) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// A blocking `flock` on `path`, held for the value's lifetime: guards a short
/// read-modify-write of one file (an app's ENV) without the app's deploy lock.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn wait(path: &Path) -> Result<FileLock> {
        let file = open_lock_file(path)?;
        file.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(FileLock { _file: file })
    }
}

/// How a lock is taken when someone else holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Fail at once with a clear message (git pushes: the pusher retries).
    Exclusive,
    /// Say so and wait for the holder to finish.
    Wait,
}

/// An app's lock: `flock` on `$DOKKU_LIB_ROOT/data/apps/<app>/.deploy.flock`, held for the
/// lifetime of the value. The kernel releases it if the process dies, so it never goes stale.
#[derive(Debug)]
pub struct AppLock {
    file: File,
}

impl AppLock {
    pub fn path_for(lib_root: &Path, app: &str) -> PathBuf {
        lib_root.join("data/apps").join(app).join(".deploy.flock")
    }

    pub fn acquire(lib_root: &Path, app: &str, mode: LockMode) -> Result<AppLock> {
        let path = AppLock::path_for(lib_root, app);
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => match mode {
                LockMode::Exclusive => {
                    return Err(Error::Locked(format!(
                        "{app} is currently being deployed or changed by another command; try again when it finishes"
                    ))
                    .into());
                }
                LockMode::Wait => {
                    crate::log::info1_quiet(&format!(
                        "{app} currently has a deploy lock in place. Waiting..."
                    ));
                    file.lock()
                        .with_context(|| format!("locking {}", path.display()))?;
                }
            },
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
        let lock = AppLock { file };
        lock.file.set_len(0)?;
        (&lock.file).write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(lock)
    }

    /// `apps:lock`'s marker: while it exists, deploys are refused.
    pub fn marker_path(lib_root: &Path, app: &str) -> PathBuf {
        lib_root.join("data/apps").join(app).join(".deploy.lock")
    }

    /// Takes the lock for a deploy: refused while `apps:lock` is in place, and at once if
    /// another deploy holds it (a pusher retries; two builds never interleave).
    pub fn for_deploy(lib_root: &Path, app: &str) -> Result<AppLock> {
        if AppLock::marker_path(lib_root, app).exists() {
            return Err(Error::Locked(format!(
                "{app} is locked for deploys; run `dokku apps:unlock {app}` to release it"
            ))
            .into());
        }
        AppLock::acquire(lib_root, app, LockMode::Exclusive)
    }

    /// True while some process holds the app's lock.
    pub fn is_held(lib_root: &Path, app: &str) -> bool {
        let path = AppLock::path_for(lib_root, app);
        let Ok(file) = File::open(&path) else {
            return false;
        };
        match file.try_lock_shared() {
            Ok(()) => false,
            Err(fs::TryLockError::WouldBlock) => true,
            Err(fs::TryLockError::Error(_)) => false,
        }
    }
}

impl Drop for AppLock {
    fn drop(&mut self) {
        // The holder's PID is only meaningful while held; the kernel drops the flock itself.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_whole_file_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/ENV");
        write_atomic(&path, b"A=1\n", 0o600).unwrap();
        write_atomic(&path, b"B=2\n", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "B=2\n");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files are left behind");
    }

    #[test]
    fn exclusive_lock_refuses_a_second_holder_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = AppLock::acquire(dir.path(), "demo", LockMode::Exclusive).unwrap();
        assert!(AppLock::is_held(dir.path(), "demo"));
        let second = AppLock::acquire(dir.path(), "demo", LockMode::Exclusive).unwrap_err();
        assert!(matches!(
            second.downcast_ref::<Error>(),
            Some(Error::Locked(_))
        ));
        drop(first);
        assert!(!AppLock::is_held(dir.path(), "demo"));
        AppLock::acquire(dir.path(), "demo", LockMode::Exclusive).unwrap();
    }

    #[test]
    fn deploys_are_refused_while_apps_lock_marker_exists() {
        let dir = tempfile::tempdir().unwrap();
        let marker = AppLock::marker_path(dir.path(), "demo");
        write_atomic(&marker, b"apps:lock\n", 0o644).unwrap();
        let err = AppLock::for_deploy(dir.path(), "demo").unwrap_err();
        assert!(
            matches!(err.downcast_ref::<Error>(), Some(Error::Locked(m)) if m.contains("apps:unlock demo"))
        );
        fs::remove_file(&marker).unwrap();
        let held = AppLock::for_deploy(dir.path(), "demo").unwrap();
        assert!(
            AppLock::for_deploy(dir.path(), "demo").is_err(),
            "a second deploy must not start"
        );
        drop(held);
        AppLock::for_deploy(dir.path(), "demo").unwrap();
    }

    #[test]
    fn copy_tree_keeps_links_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("subcommands")).unwrap();
        write_atomic(&src.join("commands"), b"#!/bin/sh\n", 0o755).unwrap();
        std::os::unix::fs::symlink("../commands", src.join("subcommands/world")).unwrap();
        copy_tree(&src, &dir.path().join("dst")).unwrap();
        assert!(is_executable(&dir.path().join("dst/commands")));
        assert_eq!(
            fs::read_link(dir.path().join("dst/subcommands/world")).unwrap(),
            Path::new("../commands")
        );
    }
}
