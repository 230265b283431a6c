//! The errors callers branch on, and the one place exit codes are chosen.

use std::io;

use crate::env::{APP_NOT_FOUND_EXIT, NOT_IMPLEMENTED_EXIT};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Please specify an app to run the command on")]
    MissingApp,
    #[error("App name '{name}' {reason}")]
    InvalidAppName { name: String, reason: String },
    #[error("App {0} does not exist")]
    AppNotFound(String),
    #[error("Name is already taken: {0}")]
    AppExists(String),
    #[error("{0}")]
    Locked(String),
    /// A trigger's executable failed. A built-in plugin has already told the user why; a
    /// third-party one is named, so that a broken plugin never fails pushes unexplained.
    #[error(
        "The {trigger} trigger of plugin {plugin} failed (exit {code}); `dokku plugin:disable {plugin}` turns the plugin off"
    )]
    TriggerFailed {
        trigger: String,
        plugin: String,
        code: i32,
        third_party: bool,
    },
    #[error("{program} failed ({status}){}", stderr_tail(.stderr))]
    CommandFailed {
        program: String,
        status: String,
        code: Option<i32>,
        stderr: String,
    },
    /// A child ran past its time limit and was killed.
    #[error("{program} did not finish within {seconds} s and was stopped")]
    TimedOut { program: String, seconds: u64 },
    /// Whoever read our output went away (a pusher disconnected); the work was stopped.
    #[error("the output was closed; stopped")]
    OutputClosed,
    /// `commands` protocol: "this command is not mine".
    #[error("not implemented")]
    NotImplemented,
    /// Exit with this code; the message, if any, was already printed.
    #[error("exit {0}")]
    Exit(i32),
}

fn stderr_tail(stderr: &str) -> String {
    let last: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    match last.len() {
        0 => String::new(),
        n => format!(": {}", last[n.saturating_sub(3)..].join(" / ")),
    }
}

impl Error {
    /// The exit code and whether a message still has to be printed.
    pub fn exit_code(&self) -> (i32, bool) {
        match self {
            Error::Exit(code) => (*code, false),
            Error::TriggerFailed {
                code, third_party, ..
            } => (*code, *third_party),
            Error::NotImplemented => (NOT_IMPLEMENTED_EXIT, false),
            Error::OutputClosed => (1, false),
            Error::AppNotFound(_) => (APP_NOT_FOUND_EXIT, true),
            _ => (1, true),
        }
    }
}

/// Maps any error reaching a binary's edge to (exit code, message to print).
pub fn classify(err: &anyhow::Error) -> (i32, Option<String>) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            let (code, print) = e.exit_code();
            // Context added on top of a typed error is still worth showing.
            let message = print.then(|| format!("{err:#}"));
            return (code, message);
        }
        if let Some(io) = cause.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::BrokenPipe
        {
            return (0, None);
        }
    }
    (1, Some(format!("{err:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn exit_codes_follow_dokku() {
        let not_found = anyhow::Error::from(Error::AppNotFound("demo".into()));
        assert_eq!(
            classify(&not_found),
            (20, Some("App demo does not exist".into()))
        );
        let silent = anyhow::Error::from(Error::Exit(3)).context("while doing x");
        assert_eq!(classify(&silent), (3, None));
        assert_eq!(classify(&Error::NotImplemented.into()), (10, None));
        let pipe: anyhow::Result<()> =
            Err(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert_eq!(classify(&pipe.unwrap_err()), (0, None));
        assert_eq!(
            classify(&anyhow::anyhow!("plain")),
            (1, Some("plain".into()))
        );
    }

    #[test]
    fn command_failed_shows_the_last_stderr_lines() {
        let e = Error::CommandFailed {
            program: "git".into(),
            status: "exit status: 128".into(),
            code: Some(128),
            stderr: "one\n\nfatal: two\n".into(),
        };
        assert_eq!(
            e.to_string(),
            "git failed (exit status: 128): one / fatal: two"
        );
    }
}
