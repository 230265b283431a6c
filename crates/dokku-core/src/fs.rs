//! Files that never tear: atomic writes, and the per-app lock.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::env;
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

/// Appends `line` and a newline to the file at `path` in one write, so that lines from
/// processes logging to one file at once stay whole; best effort (for measurement logs).
pub fn append_line(path: &str, line: &str) {
    use std::io::Write;
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
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

/// `root/rel` when it exists inside `root` with no link on the way (a pushed tree may
/// hold links pointing anywhere on the host); `None` otherwise.
pub fn inside_tree(root: &Path, rel: &str) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            std::path::Component::Normal(name) => path.push(name),
            std::path::Component::CurDir => continue,
            _ => return None,
        }
        if fs::symlink_metadata(&path).ok()?.file_type().is_symlink() {
            return None;
        }
    }
    (path != root).then_some(path)
}

/// True when `path` is a regular file (after links) with an execute bit.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // A lock file is never a link: one planted by another user is refused, not followed.
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// True while `file` is still the file at `path`: a lock taken on a file that was then
/// deleted (an app's destroy removes its lock files) guards nothing.
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::symlink_metadata(path)) {
        (Ok(held), Ok(now)) => held.dev() == now.dev() && held.ino() == now.ino(),
        _ => false,
    }
}

/// Opens and locks `path` with `lock` (which may block), retrying when the file was
/// replaced or removed while this process waited for it.
fn lock_path(path: &Path, lock: impl Fn(&File) -> io::Result<()>) -> Result<File> {
    loop {
        let file = open_lock_file(path)?;
        lock(&file).with_context(|| format!("locking {}", path.display()))?;
        if still_at(&file, path) {
            return Ok(file);
        }
    }
}

/// Removes the temp files that a killed [`write_atomic`] of `path` left behind. Call it
/// while holding the lock that guards `path`'s writers: then none of them is live.
pub fn remove_stale_temps(path: &Path) -> Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(());
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            remove_file_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

/// A blocking `flock` on `path`, held for the value's lifetime: guards a short
/// read-modify-write of one file (an app's ENV) without the app's deploy lock.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn wait(path: &Path) -> Result<FileLock> {
        Ok(FileLock {
            _file: lock_path(path, File::lock)?,
        })
    }

    /// The lock if no one holds it, else `None` at once (a service already running).
    pub fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        match lock_path(path, |file: &File| match file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(std::io::Error::from(std::io::ErrorKind::WouldBlock))
            }
            Err(std::fs::TryLockError::Error(err)) => Err(err),
        }) {
            Ok(file) => Ok(Some(FileLock { _file: file })),
            Err(err)
                if err.chain().any(|e| {
                    e.downcast_ref::<std::io::Error>()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::WouldBlock)
                }) =>
            {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// A shared lock: any number of holders, none while an exclusive one is held.
    pub fn shared(path: &Path) -> Result<FileLock> {
        Ok(FileLock {
            _file: lock_path(path, File::lock_shared)?,
        })
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

/// An app's deploy lock: `flock` on `$DOKKU_LIB_ROOT/data/apps/<app>/.deploy.flock`, held
/// for the lifetime of the value. The kernel releases it if the process dies, so it never
/// goes stale. The holder's children (the pipeline's triggers, git's hook) may run under
/// it: after [`AppLock::share_with_children`], [`env::DOKKU_DEPLOY_LOCKED`] tells them
/// their parent holds it.
#[derive(Debug)]
pub struct AppLock {
    /// `None` when a parent process holds the lock for this one.
    file: Option<File>,
    shared_with_children: bool,
}

impl AppLock {
    pub fn path_for(lib_root: &Path, app: &str) -> PathBuf {
        lib_root.join("data/apps").join(app).join(".deploy.flock")
    }

    /// True when this process runs inside a deploy of `app` that its parent holds.
    fn inherited(lib_root: &Path, app: &str) -> bool {
        env::var(env::DOKKU_DEPLOY_LOCKED).as_deref() == Some(app)
            && AppLock::is_held(lib_root, app)
    }

    pub fn acquire(lib_root: &Path, app: &str, mode: LockMode) -> Result<AppLock> {
        if AppLock::inherited(lib_root, app) {
            return Ok(AppLock {
                file: None,
                shared_with_children: false,
            });
        }
        let path = AppLock::path_for(lib_root, app);
        let file = match try_lock_path(&path)? {
            Some(file) => file,
            None if mode == LockMode::Exclusive => {
                return Err(Error::Locked(format!(
                    "{app} is currently being deployed or changed by another command; try again when it finishes"
                ))
                .into());
            }
            None => {
                crate::log::info1_quiet(&format!(
                    "{app} currently has a deploy lock in place. Waiting..."
                ));
                lock_path(&path, File::lock)?
            }
        };
        file.set_len(0)?;
        (&file).write_all(format!("{}\n", std::process::id()).as_bytes())?;
        Ok(AppLock {
            file: Some(file),
            shared_with_children: false,
        })
    }

    /// Lets the processes this one starts from now on (a deploy's triggers and hooks) run
    /// under this lock instead of being refused by it. Call it while single-threaded.
    pub fn share_with_children(&mut self, app: &str) {
        if self.file.is_some() {
            env::set_early(env::DOKKU_DEPLOY_LOCKED, app);
            self.shared_with_children = true;
        }
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
        if let Some(file) = &self.file {
            let _ = file.set_len(0);
        }
        if self.shared_with_children {
            env::remove_early(env::DOKKU_DEPLOY_LOCKED);
        }
    }
}

/// Like [`lock_path`] without waiting: `None` when another process holds the lock.
fn try_lock_path(path: &Path) -> Result<Option<File>> {
    loop {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) if still_at(&file, path) => return Ok(Some(file)),
            Ok(()) => continue,
            Err(fs::TryLockError::WouldBlock) => return Ok(None),
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()));
            }
        }
    }
}

/// The lock on an app's existence (`data/apps/.locks/<app>`, outside the app's own data,
/// which its destroy removes while holding this lock). Create, destroy and
/// rename hold it exclusively; every per-app write holds it shared and checks under it
/// that the app still exists, so no write lands after a destroy (where it would seed a
/// later app of the same name). Children of the exclusive holder (the triggers of create
/// and destroy) run under it: [`env::DOKKU_APP_LOCKED`] tells them. Create and destroy run
/// in single-threaded plugin processes, where setting it is sound.
#[derive(Debug)]
pub struct AppPresence {
    /// The lock file and its lock; `None` when a parent process holds the lock.
    lock: Option<(PathBuf, FileLock)>,
    exclusive: bool,
}

impl AppPresence {
    fn path(lib_root: &Path, app: &str) -> PathBuf {
        lib_root.join("data/apps/.locks").join(app)
    }

    /// Ends a destroy: the lock file goes, while still held. A process that was waiting
    /// for it then takes a new one and finds no app.
    pub fn remove_file(&self) -> Result<()> {
        match &self.lock {
            Some((path, _)) => remove_file_if_exists(path),
            None => Ok(()),
        }
    }

    fn held_by_parent(app: &str) -> bool {
        env::var(env::DOKKU_APP_LOCKED).as_deref() == Some(app)
    }

    pub fn exclusive(lib_root: &Path, app: &str) -> Result<AppPresence> {
        AppPresence::take(lib_root, app, true)
    }

    pub fn shared(lib_root: &Path, app: &str) -> Result<AppPresence> {
        AppPresence::take(lib_root, app, false)
    }

    fn take(lib_root: &Path, app: &str, exclusive: bool) -> Result<AppPresence> {
        if AppPresence::held_by_parent(app) {
            return Ok(AppPresence {
                lock: None,
                exclusive: false,
            });
        }
        let path = AppPresence::path(lib_root, app);
        let lock = if exclusive {
            let lock = FileLock::wait(&path)?;
            env::set_early(env::DOKKU_APP_LOCKED, app);
            lock
        } else {
            FileLock::shared(&path)?
        };
        Ok(AppPresence {
            lock: Some((path, lock)),
            exclusive,
        })
    }
}

impl Drop for AppPresence {
    fn drop(&mut self) {
        if self.lock.is_some() && self.exclusive {
            env::remove_early(env::DOKKU_APP_LOCKED);
        }
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
    fn inside_tree_refuses_links_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("web/src")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("web", dir.path().join("alias")).unwrap();
        assert_eq!(
            inside_tree(dir.path(), "web/src"),
            Some(dir.path().join("web/src"))
        );
        for bad in [
            "out",
            "out/passwd",
            "alias/src",
            "../x",
            "/etc",
            "missing",
            ".",
        ] {
            assert_eq!(inside_tree(dir.path(), bad), None, "{bad}");
        }
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
