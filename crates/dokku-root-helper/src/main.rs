//! `dokku-root-helper`: what the dokku user may ask root to do, and nothing else. install.sh
//! lets the dokku user run it through sudo (`/etc/sudoers.d/dokku-rs`); sudo clears the
//! environment, so it reads no variable but the `SUDO_UID` sudo itself sets, and it takes
//! every path from its arguments only after checking them.
//!
//! `dokku-root-helper storage-chown LIB_ROOT NAME UID`: gives `LIB_ROOT/data/storage/NAME`
//! to `UID:UID` (`storage:ensure-directory --chown`), see
//! [`dokku_core::privilege::chown_storage_directory`].

use std::path::Path;

use anyhow::{Result, bail};

fn main() {
    dokku_core::entry::exit(run().map(|()| 0))
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("arguments must be valid UTF-8"))?;
    if !dokku_core::privilege::is_root() {
        bail!("dokku-root-helper must run as root (through sudo)");
    }
    // Through sudo, the dokku user is the caller and may only give away what it owns.
    let caller = match dokku_core::env::var("SUDO_UID") {
        Some(uid) => Some(
            uid.parse::<u32>()
                .map_err(|_| anyhow::anyhow!("SUDO_UID is not a number"))?,
        ),
        None => None,
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["storage-chown", lib_root, name, uid] => {
            let uid: u32 = uid
                .parse()
                .map_err(|_| anyhow::anyhow!("Invalid uid {uid:?}"))?;
            dokku_core::privilege::chown_storage_directory(Path::new(lib_root), name, uid, caller)
        }
        _ => bail!("usage: dokku-root-helper storage-chown LIB_ROOT NAME UID"),
    }
}
