//! The app's Procfile as herokuish reads it: the first line whose text before its first
//! `:` is the process type names the command (lines starting with `#` are skipped).

use anyhow::Result;

use crate::Exit;
use crate::out;
use crate::paths::Paths;

/// `(type, command)` for every entry, in order.
pub fn entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (kind, command) = l.split_once(':')?;
            let kind = kind.trim();
            (!kind.is_empty()).then(|| (kind.to_string(), command.trim().to_string()))
        })
        .collect()
}

pub fn command_for(text: &str, kind: &str) -> Option<String> {
    entries(text)
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, command)| command)
}

fn read(paths: &Paths) -> Option<String> {
    std::fs::read_to_string(paths.app.join("Procfile")).ok()
}

/// `/start TYPE`: the type's command, run as `/exec` runs a command.
pub fn start(paths: &Paths, args: &[String]) -> Result<()> {
    let kind = args.first().map(String::as_str).unwrap_or("web");
    let Some(command) = read(paths).and_then(|text| command_for(&text, kind)) else {
        out::error(&format!(
            "Proc entrypoint {kind} does not exist. Please check your Procfile"
        ));
        return Err(Exit(1).into());
    };
    crate::exec::exec(paths, &[command])
}

/// `herokuish procfile parse TYPE`.
pub fn print_command(paths: &Paths, kind: &str) -> Result<()> {
    match read(paths).and_then(|text| command_for(&text, kind)) {
        Some(command) => {
            out::line(&command);
            Ok(())
        }
        None => Err(Exit(1).into()),
    }
}

/// `herokuish procfile exist`.
pub fn exist(paths: &Paths) -> Result<()> {
    match read(paths) {
        Some(_) => Ok(()),
        None => Err(Exit(1).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_of_a_type_wins_and_comments_are_skipped() {
        let text = "# web: not this\nweb: python3 -u web.py\nworker:  ./work --a=b:c\nweb: later\n";
        assert_eq!(
            command_for(text, "web").as_deref(),
            Some("python3 -u web.py")
        );
        assert_eq!(
            command_for(text, "worker").as_deref(),
            Some("./work --a=b:c")
        );
        assert_eq!(command_for(text, "clock"), None);
        let kinds: Vec<String> = entries(text).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, ["web", "worker", "web"]);
    }
}
