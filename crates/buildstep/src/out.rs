//! herokuish's output: `-----> ` titles, buildpack output indented by seven spaces (lines of
//! its own that start with `--` or `==` are left as they are), ` !     ` errors on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, Write};

pub fn line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

pub fn title(text: &str) {
    line(&format!("-----> {text}"));
}

pub fn body(text: &str) {
    line(&indented(text));
}

pub fn error(text: &str) {
    eprintln!(" !     {text}");
}

/// One line of a buildpack's output as herokuish shows it: surrounding blanks go, and it
/// is indented unless it is a heading of its own.
pub fn indented(text: &str) -> String {
    let text = text.trim();
    if text.starts_with("--") || text.starts_with("==") {
        text.to_string()
    } else {
        format!("       {text}")
    }
}

/// Copies `reader`'s lines to stdout, indented, as they come.
pub fn indent_stream(reader: impl std::io::Read) {
    let reader = std::io::BufReader::new(reader);
    for text in reader.split(b'\n').map_while(Result::ok) {
        line(&indented(&String::from_utf8_lossy(&text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildpack_lines_are_indented_unless_headings() {
        assert_eq!(indented("  Installing x  "), "       Installing x");
        assert_eq!(indented("-----> Step"), "-----> Step");
        assert_eq!(indented("=====> Downloading"), "=====> Downloading");
        assert_eq!(indented(""), "       ");
    }
}
