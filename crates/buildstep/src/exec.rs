//! `/exec CMD...`: a command in the app's environment, as herokuish runs it: as the app's
//! user (`USER`, else the owner of the app), in the app with `HOME` there, with every
//! config file of the env dir exported and the profile scripts sourced
//! (`/etc/profile.d/*.sh`, the app's `.profile.d/*.sh`, then its `.profile`), the words
//! expanded by the shell.

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};

use crate::paths::{Paths, var};
use crate::user::Account;

/// Sources the profile scripts, then runs the arguments as one shell-expanded command line.
const PROFILE_THEN_EXEC: &str = r#"for file in /etc/profile.d/*.sh "$HOME"/.profile.d/*.sh; do
  if [[ -f $file ]]; then source "$file"; fi
done
if [[ -f $HOME/.profile ]]; then source "$HOME/.profile"; fi
exec $(eval echo "$@")"#;

/// The config the env dir holds: one file per variable, named for it.
pub fn env_dir_vars(paths: &Paths) -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(&paths.env) else {
        return Vec::new();
    };
    let mut vars: Vec<(String, String)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let value = std::fs::read_to_string(e.path()).ok()?;
            valid.then_some((name, value))
        })
        .collect();
    vars.sort();
    vars
}

/// The account the app runs as.
pub fn app_account(paths: &Paths) -> Result<Account> {
    match var("USER").map(|name| Account::named(&name)) {
        Some(Ok(account)) => Ok(account),
        _ => Account::owner_of(&paths.app),
    }
}

pub fn exec(paths: &Paths, args: &[String]) -> Result<()> {
    let account = app_account(paths)?;
    if var("HEROKUISH_DISABLE_CHOWN").as_deref() != Some("true") {
        account.take(&paths.app)?;
    }
    let mut command = Command::new("bash");
    command
        .args(["-c", PROFILE_THEN_EXEC, "bash"])
        .args(args)
        .current_dir(&paths.app)
        .env("HOME", &paths.app)
        .envs(env_dir_vars(paths));
    if var("HEROKUISH_SETUIDGUID").as_deref() != Some("false") {
        account.become_it()?;
    }
    Err(command.exec()).context("starting bash")
}
