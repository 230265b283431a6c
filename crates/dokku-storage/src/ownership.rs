//! App storage given away to the user an app's processes run as: the one thing root does
//! for the storage plugin (`storage:ensure-directory --chown`), through the root helper
//! when the dokku user asks.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use dokku_core::privilege::{open_dir_at_nofollow, open_dir_nofollow};

/// Whether `uid` may own app storage given away by the dokku user: Dokku's `--chown`
/// choices (heroku 1000, paketo 2000, herokuish 32767) and any other uid from 1000 up,
/// never a system account (root included) nor -1, which chown reads as "unchanged".
pub fn app_uid(uid: u32) -> bool {
    (1000..u32::MAX).contains(&uid)
}

/// Names `storage:ensure-directory` accepts: one path component, nothing a shell or a path
/// could read as more.
pub fn valid_storage_name(name: &str) -> bool {
    dokku_core::name::is_plain(name, &['-', '_', '.'], 128)
}

/// `$LIB_ROOT/data/storage` and the directory NAME in it, every component opened without
/// following links. When `caller` is given (the dokku user, asking through sudo), `data`
/// and `data/storage` must belong to the caller and the directory to the caller or to an
/// app's user ([`app_uid`]): the caller acts only where Dokku keeps app storage, on what
/// it owns or gave away.
fn open_storage(
    lib_root: &Path,
    name: &str,
    caller: Option<u32>,
) -> Result<(std::fs::File, Option<std::fs::File>)> {
    if !valid_storage_name(name) {
        bail!("Invalid storage directory name {name:?}");
    }
    let root = open_dir_nofollow(lib_root)?;
    let data = open_dir_at_nofollow(&root, "data")?;
    let storage = open_dir_at_nofollow(&data, "storage")?;
    if let Some(caller) = caller {
        for (what, file) in [("data", &data), ("data/storage", &storage)] {
            if file.metadata()?.uid() != caller {
                bail!("{what} does not belong to the calling user");
            }
        }
    }
    let dir = match open_dir_at_nofollow(&storage, name) {
        Ok(dir) => Some(dir),
        Err(_) => {
            use std::os::fd::AsRawFd;
            let present = nix::sys::stat::fstatat(
                Some(storage.as_raw_fd()),
                name,
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .is_ok();
            if present {
                bail!("{name} exists but is not a directory");
            }
            None
        }
    };
    if let (Some(caller), Some(dir)) = (caller, &dir) {
        let owner = dir.metadata()?.uid();
        if owner != caller && !app_uid(owner) {
            bail!("{name} does not belong to the calling user or an app's user");
        }
    }
    Ok((storage, dir))
}

/// Gives `$LIB_ROOT/data/storage/NAME` and everything in it to `uid:uid`, never through a
/// link ([`dokku_core::privilege::chown_tree`]). Through sudo (`caller`), only to an app's
/// user, never to a system account.
pub fn chown_storage_directory(
    lib_root: &Path,
    name: &str,
    uid: u32,
    caller: Option<u32>,
) -> Result<()> {
    if caller.is_some() && !app_uid(uid) {
        bail!("Invalid uid {uid}: storage goes to an app's user (1000 or above)");
    }
    let (_, dir) = open_storage(lib_root, name, caller)?;
    let dir = dir.with_context(|| format!("{name} is not a directory in the storage path"))?;
    dokku_core::privilege::chown_tree(&dir, uid, uid)
        .with_context(|| format!("changing the owner of {name}"))
}

/// Sets the mode bits of `$LIB_ROOT/data/storage/NAME` itself (not its contents).
pub fn chmod_storage_directory(
    lib_root: &Path,
    name: &str,
    mode: u32,
    caller: Option<u32>,
) -> Result<()> {
    if mode > 0o7777 {
        bail!("Invalid mode {mode:o}");
    }
    let (_, dir) = open_storage(lib_root, name, caller)?;
    let dir = dir.with_context(|| format!("{name} is not a directory in the storage path"))?;
    use std::os::unix::fs::PermissionsExt;
    dir.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("changing the mode of {name}"))
}

/// Removes `$LIB_ROOT/data/storage/NAME` and everything in it; nothing to do when it is
/// absent, refused when it is not a directory.
pub fn destroy_storage_directory(lib_root: &Path, name: &str, caller: Option<u32>) -> Result<()> {
    let path = lib_root.join("data/storage").join(name);
    if valid_storage_name(name)
        && std::fs::symlink_metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return Ok(());
    }
    let (storage, dir) = open_storage(lib_root, name, caller)?;
    if dir.is_none() {
        return Ok(());
    }
    dokku_core::privilege::remove_tree_at(&storage, std::ffi::OsStr::new(name))
        .with_context(|| format!("removing {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_names_are_one_plain_component() {
        for ok in ["app", "my-app_data.1"] {
            assert!(valid_storage_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "-x",
            ".hidden",
            "a b",
            &"a".repeat(129),
        ] {
            assert!(!valid_storage_name(bad), "{bad:?}");
        }
    }
}
