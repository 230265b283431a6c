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

/// Gives `$LIB_ROOT/data/storage/NAME` to `uid:uid`. Every component is opened without
/// following links and the chown is done on the open directory. When `caller` is given
/// (the dokku user, asking through sudo), `data`, `data/storage` and the directory itself
/// must belong to the caller (or the directory already to `uid`), and `uid` must be an
/// app user's ([`app_uid`]): the caller can only give away what it owns, in the place
/// Dokku keeps app storage, and never to a system account.
pub fn chown_storage_directory(
    lib_root: &Path,
    name: &str,
    uid: u32,
    caller: Option<u32>,
) -> Result<()> {
    if !valid_storage_name(name) {
        bail!("Invalid storage directory name {name:?}");
    }
    if caller.is_some() && !app_uid(uid) {
        bail!("Invalid uid {uid}: storage goes to an app's user (1000 or above)");
    }
    let root = open_dir_nofollow(lib_root)?;
    let data = open_dir_at_nofollow(&root, "data")?;
    let storage = open_dir_at_nofollow(&data, "storage")?;
    let dir = open_dir_at_nofollow(&storage, name)
        .with_context(|| format!("{name} is not a directory in the storage path"))?;
    if let Some(caller) = caller {
        for (what, file) in [("data", &data), ("data/storage", &storage)] {
            if file.metadata()?.uid() != caller {
                bail!("{what} does not belong to the calling user");
            }
        }
        let owner = dir.metadata()?.uid();
        if owner != caller && owner != uid {
            bail!("{name} does not belong to the calling user");
        }
    }
    std::os::unix::fs::fchown(&dir, Some(uid), Some(uid))
        .with_context(|| format!("changing the owner of {name}"))?;
    Ok(())
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
