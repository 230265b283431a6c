//! The only module that prints user-facing lines (with `report`), in Dokku's style:
//! `-----> step`, `=====> heading`, seven-space detail, ` !     error` on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::cell::RefCell;
use std::io::{self, Write};

use crate::env;

thread_local! {
    /// Where stdout lines go while [`capture`] runs, instead of stdout.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Writes to stdout, or to the capture buffer while [`capture`] runs.
fn write_stdout(bytes: &[u8]) {
    let captured = CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buffer) => {
            buffer.extend_from_slice(bytes);
            true
        }
        None => false,
    });
    if !captured {
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(bytes);
        let _ = stdout.flush();
    }
}

/// Runs `work` with everything this module would print on stdout kept instead, and
/// returns it too: how one process answers a trigger for many calls ([`crate::entry`]).
/// Output of child processes that inherit stdout is not kept.
pub fn capture<T>(work: impl FnOnce() -> T) -> (T, Vec<u8>) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(Vec::new()));
    let result = work();
    let kept = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (result, kept.unwrap_or_default())
}

fn out(prefix: &str, text: &str) {
    let mut lines = String::new();
    for line in text.split('\n') {
        lines.push_str(prefix);
        lines.push_str(line);
        lines.push('\n');
    }
    write_stdout(lines.as_bytes());
}

/// `-----> text`
pub fn info1(text: &str) {
    out("-----> ", text);
}

/// `=====> text`
pub fn info2(text: &str) {
    out("=====> ", text);
}

/// Seven spaces, then text.
pub fn verbose(text: &str) {
    out("       ", text);
}

/// ` !     text` on stderr.
pub fn warn(text: &str) {
    let mut stderr = io::stderr().lock();
    for line in text.split('\n') {
        let _ = writeln!(stderr, " !     {line}");
    }
}

pub fn info1_quiet(text: &str) {
    if !env::quiet() {
        info1(text);
    }
}

pub fn info2_quiet(text: &str) {
    if !env::quiet() {
        info2(text);
    }
}

pub fn verbose_quiet(text: &str) {
    if !env::quiet() {
        verbose(text);
    }
}

/// Plain data on stdout (names, values): never suppressed by `--quiet`.
pub fn data(text: &str) {
    write_stdout(format!("{text}\n").as_bytes());
}

/// Raw bytes on stdout, as a trigger's captured output is passed on.
pub fn raw(bytes: &[u8]) {
    write_stdout(bytes);
}

/// A trace line on stderr when `DOKKU_TRACE` is on (like git's `trace: exec:`).
pub fn trace(text: &str) {
    if env::trace() {
        let _ = writeln!(io::stderr().lock(), "+ {text}");
    }
}

/// A line on stderr as it is, for records other tools parse (the archive audit lines).
pub fn record(text: &str) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// An interactive prompt on stderr with no newline.
pub fn prompt(text: &str) {
    let mut stderr = io::stderr().lock();
    let _ = write!(stderr, "{text}");
    let _ = stderr.flush();
}

/// Lines of `key: value` pairs with the values aligned one column after the longest key.
pub fn columns(rows: &[(String, String)]) -> Vec<String> {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        + 3;
    rows.iter()
        .map(|(k, v)| {
            format!("{:<width$}{v}", format!("{k}:"))
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Rows of cells in aligned columns two spaces apart (the first row is usually the
/// header); trailing blanks are dropped.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let width = cell.chars().count();
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width),
                None => widths.push(width),
            }
        }
    }
    rows.iter()
        .map(|row| {
            let line: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, cell)| format!("{cell:<width$}", width = widths[i]))
                .collect();
            line.join("  ").trim_end().to_string()
        })
        .collect()
}

/// Dokku's guard on destructive commands: the user types `name` to go on, unless
/// `--force` was given. `what` completes "This command will destroy ...".
pub fn confirm_destructive(what: &str, name: &str) -> anyhow::Result<()> {
    use std::io::BufRead;
    if env::force() {
        return Ok(());
    }
    warn("WARNING: Potentially Destructive Action");
    warn(&format!("This command will destroy {what}."));
    warn(&format!("To proceed, type \"{name}\""));
    prompt("\n> ");
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| anyhow::anyhow!("reading the confirmation: {e}"))?;
    if answer.trim() != name {
        anyhow::bail!("Confirmation did not match {name}. Aborted.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_what_would_be_printed() {
        let ((), kept) = capture(|| {
            info1("step");
            data("value");
            let ((), inner) = capture(|| data("inner"));
            assert_eq!(inner, b"inner\n");
        });
        assert_eq!(String::from_utf8(kept).unwrap(), "-----> step\nvalue\n");
    }

    #[test]
    fn columns_align_values() {
        let rows = vec![
            ("A".to_string(), "1".to_string()),
            ("LONG".into(), "2".into()),
        ];
        assert_eq!(columns(&rows), vec!["A:     1", "LONG:  2"]);
    }
}
