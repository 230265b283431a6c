//! Procfiles, read as Dokku reads them: `name: command` lines, blank lines and `#` or `//`
//! comment lines skipped, an inline comment (` #...` or ` //...`) cut from the command.
//! Names are `[A-Za-z0-9_-]`, at most 63 characters, each used once. A line that breaks a
//! rule is an error naming its line number.

use anyhow::{Result, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    pub command: String,
}

/// The processes, sorted by name.
pub fn parse(text: &str) -> Result<Vec<Process>> {
    let mut processes: Vec<Process> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let Some((name, command)) = line
            .split_once(':')
            .filter(|(name, command)| valid_name(name) && !command.trim().is_empty())
        else {
            bail!("Invalid Procfile: invalid line in procfile, line {number}");
        };
        if name.len() > 63 {
            bail!("Invalid Procfile: process name over 63 characters, line {number}");
        }
        if processes.iter().any(|p| p.name == name) {
            bail!("Invalid Procfile: process names must be unique, line {number}");
        }
        let command = without_inline_comment(command.trim()).trim();
        if command.starts_with('#') || command.starts_with("//") {
            bail!("Invalid Procfile: comment specified in place of command, line {number}");
        }
        if command.is_empty() {
            bail!("Invalid Procfile: no command specified, line {number}");
        }
        processes.push(Process {
            name: name.to_string(),
            command: command.to_string(),
        });
    }
    if processes.is_empty() {
        bail!("Invalid Procfile: no entries found in Procfile");
    }
    processes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(processes)
}

/// A command with its `$NAME` and `${NAME}` references replaced from `lookup` (unknown
/// names become empty), as Dokku expands a Procfile command before it runs.
pub fn expand(command: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    expand_with(command, |name| Some(lookup(name).unwrap_or_default()))
}

/// [`expand`], but a name `lookup` does not know stays as written (`$DYNO`, for the
/// scheduler to fill in later).
pub fn expand_known(command: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    expand_with(command, lookup)
}

fn expand_with(command: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = command;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() || consumed == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[at..at + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Cuts the command at its last whitespace-led `#` comment with text after it, else at its
/// last such `//` comment.
fn without_inline_comment(command: &str) -> &str {
    let last = |marker: &str| {
        command
            .char_indices()
            .filter(|(at, c)| {
                let rest = &command[at + c.len_utf8()..];
                c.is_whitespace() && rest.starts_with(marker) && rest.len() > marker.len()
            })
            .map(|(at, _)| at)
            .next_back()
    };
    match last("#").or_else(|| last("//")) {
        Some(at) => &command[..at],
        None => command,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_commands(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.command))
            .collect()
    }

    #[test]
    fn reads_processes_comments_and_blank_lines() {
        let text = "# the app\n\nweb: python3 -m http.server $PORT   # serve\n\
                    worker:bin/work --queue=a#b\n  // old style\nclock_1: bin/clock // tick\n";
        assert_eq!(
            names_and_commands(text),
            [
                ("clock_1".into(), "bin/clock".into()),
                ("web".into(), "python3 -m http.server $PORT".into()),
                ("worker".into(), "bin/work --queue=a#b".into()),
            ]
        );
    }

    #[test]
    fn expands_variables_as_dokku_does() {
        let lookup = |name: &str| match name {
            "PORT" => Some("5000".to_string()),
            "A_B" => Some("x".to_string()),
            _ => None,
        };
        assert_eq!(
            expand("serve --port $PORT ${A_B}y $MISSING $ 5$", lookup),
            "serve --port 5000 xy  $ 5$"
        );
        assert_eq!(
            expand_known("serve --port $PORT ${A_B}y $DYNO ${DYNO}", lookup),
            "serve --port 5000 xy $DYNO ${DYNO}"
        );
    }

    #[test]
    fn malformed_lines_name_their_line() {
        for (text, message) in [
            (
                "web: a\nnot a process\n",
                "invalid line in procfile, line 2",
            ),
            ("web a b\n", "invalid line in procfile, line 1"),
            ("we.b: a\n", "invalid line in procfile, line 1"),
            ("web:\n", "invalid line in procfile, line 1"),
            ("web: a\nweb: b\n", "process names must be unique, line 2"),
            (
                "web: # only a comment\n",
                "comment specified in place of command, line 1",
            ),
            ("# nothing\n", "no entries found in Procfile"),
            (
                &format!("{}: a\n", "p".repeat(64)),
                "process name over 63 characters, line 1",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.ends_with(message), "{text:?}: {err}");
        }
    }
}
