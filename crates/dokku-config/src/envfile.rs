//! The ENV file: Dokku 0.38's dotenv lines (`KEY="escaped"`, sorted), and the older
//! formats it replaced (`export KEY='value'` from the bash plugin, dokku-alt's unquoted
//! `export KEY=value`), which are read so they can be migrated without loss.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

/// Variables by key; `BTreeMap` keeps every output sorted.
pub type Env = BTreeMap<String, String>;

/// `[A-Za-z_][A-Za-z0-9_]*`, the keys a shell and docker accept.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The file's text: sorted `KEY="value"` lines. Unlike Dokku (godotenv), numeric-looking
/// values are quoted too, so `007` stays `007`.
pub fn serialize(env: &Env) -> String {
    let mut lines: Vec<String> = env
        .iter()
        .map(|(key, value)| format!("{key}=\"{}\"", escape(value)))
        .collect();
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' | '"' | '!' | '$' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// What a file held: its variables, and keys that were skipped because they are invalid.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub env: Env,
    pub invalid_keys: Vec<String>,
}

/// Reads any of the three formats. A syntax error (an unterminated quote, say) is an
/// error naming the line: the caller must not rewrite a file it could not read.
pub fn parse(text: &str) -> Result<Parsed> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut parsed = Parsed::default();
    while let Some((key, value)) = parser.entry(&parsed.env)? {
        if valid_key(&key) {
            parsed.env.insert(key, value);
        } else {
            parsed.invalid_keys.push(key);
        }
    }
    Ok(parsed)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.bump();
        }
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn error<T>(&self, what: &str) -> Result<T> {
        bail!("line {}: {what}", self.line)
    }

    /// The next `KEY=value`, skipping blank lines and comments; `None` at the end.
    fn entry(&mut self, earlier: &Env) -> Result<Option<(String, String)>> {
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => self.skip_line(),
                Some(_) => break,
            }
        }
        let mut key = self.word();
        if key == "export" && matches!(self.peek(), Some(' ' | '\t')) {
            self.skip_blanks();
            key = self.word();
        }
        self.skip_blanks();
        match self.bump() {
            Some('=' | ':') => {}
            _ => return self.error(&format!("expected KEY=value after {key:?}")),
        }
        self.skip_blanks();
        let value = self.value(earlier)?;
        self.skip_blanks();
        match self.peek() {
            None => {}
            Some('\n') => {
                self.bump();
            }
            Some('\r') if self.chars.get(self.pos + 1) == Some(&'\n') => {
                self.bump();
                self.bump();
            }
            Some('#') => self.skip_line(),
            Some(c) => return self.error(&format!("unexpected {c:?} after the value of {key}")),
        }
        Ok(Some((key, value)))
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == '=' || c == ':' {
                break;
            }
            word.push(c);
            self.bump();
        }
        word
    }

    /// A value: quoted segments (concatenated the way a shell does, which is how the bash
    /// plugin wrote `'\''`), or an unquoted rest of line up to a ` #` comment.
    fn value(&mut self, earlier: &Env) -> Result<String> {
        let mut out = String::new();
        match self.peek() {
            Some('\'' | '"') => {}
            _ => return Ok(self.unquoted(earlier)),
        }
        loop {
            match self.peek() {
                Some('\'') => {
                    self.bump();
                    self.single_quoted(&mut out)?;
                }
                Some('"') => {
                    self.bump();
                    self.double_quoted(&mut out, earlier)?;
                }
                Some('\\') => {
                    self.bump();
                    match self.bump() {
                        Some(c) => out.push(c),
                        None => return self.error("a backslash ends the file"),
                    }
                }
                Some(c) if !c.is_whitespace() && c != '#' => {
                    out.push(c);
                    self.bump();
                }
                _ => return Ok(out),
            }
        }
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<()> {
        let start = self.line;
        loop {
            match self.bump() {
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
                None => bail!("line {start}: unterminated single quote"),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String, earlier: &Env) -> Result<()> {
        let start = self.line;
        loop {
            match self.bump() {
                Some('"') => return Ok(()),
                Some('\\') => match self.bump() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some(c) => out.push(c),
                    None => bail!("line {start}: unterminated double quote"),
                },
                Some('$') => self.expand(out, earlier),
                Some(c) => out.push(c),
                None => bail!("line {start}: unterminated double quote"),
            }
        }
    }

    fn unquoted(&mut self, earlier: &Env) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' || (c == '\r' && self.chars.get(self.pos + 1) == Some(&'\n')) {
                break;
            }
            if c == '#' && out.ends_with([' ', '\t']) {
                break;
            }
            self.bump();
            match c {
                '\\' if self.peek() == Some('$') => {
                    self.bump();
                    out.push('$');
                }
                '$' => self.expand(&mut out, earlier),
                _ => out.push(c),
            }
        }
        out.trim_end().to_string()
    }

    /// godotenv's `$NAME` / `${NAME}`: a key defined earlier in the same file, else empty.
    /// A `$` not followed by a name stays literal.
    fn expand(&mut self, out: &mut String, earlier: &Env) {
        let braced = self.peek() == Some('{');
        let start = self.pos + usize::from(braced);
        let mut end = start;
        while self
            .chars
            .get(end)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            end += 1;
        }
        let closed = !braced || self.chars.get(end) == Some(&'}');
        let name: String = self.chars[start..end].iter().collect();
        if !valid_key(&name) || !closed {
            out.push('$');
            return;
        }
        self.pos = end + usize::from(braced);
        out.push_str(earlier.get(&name).map(String::as_str).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn writes_dokku_038_lines() {
        let e = env(&[
            ("PIN", "007"),
            ("MSG", "line one\nline two"),
            ("Z", "a\"b\\c$d!e`f\rg"),
            ("PORT", "5000"),
        ]);
        assert_eq!(
            serialize(&e),
            "MSG=\"line one\\nline two\"\nPIN=\"007\"\nPORT=\"5000\"\nZ=\"a\\\"b\\\\c\\$d\\!e\\`f\\rg\"\n"
        );
        assert_eq!(serialize(&Env::new()), "");
    }

    #[test]
    fn reads_what_dokku_wrote() {
        let text = "DATABASE_URL=\"postgres://u:p@db:5432/app\"\nMSG=\"line one\\nline two\"\nNO_VHOST=0\nPRICE=\"\\$5\"\nWORKERS=4\n";
        assert_eq!(
            parse(text).unwrap().env,
            env(&[
                ("DATABASE_URL", "postgres://u:p@db:5432/app"),
                ("MSG", "line one\nline two"),
                ("NO_VHOST", "0"),
                ("PRICE", "$5"),
                ("WORKERS", "4"),
            ])
        );
    }

    #[test]
    fn reads_the_bash_plugin_and_dokku_alt_formats() {
        let bash = "export A='it'\\''s'\nexport B='two\nlines'\nexport C='$HOME `x`'\n";
        assert_eq!(
            parse(bash).unwrap().env,
            env(&[("A", "it's"), ("B", "two\nlines"), ("C", "$HOME `x`")])
        );
        let alt = "export global_test=true\nexport URL=http://x/?a=b&c=d\n";
        assert_eq!(
            parse(alt).unwrap().env,
            env(&[("URL", "http://x/?a=b&c=d"), ("global_test", "true")])
        );
    }

    #[test]
    fn comments_blank_lines_colons_and_expansion() {
        let text = "# a comment\n\nHOST=db\nURL=\"pg://${HOST}:5432\"\nRAW=x # trailing\nY: 'lit $HOST'\nCOST=$5 and $\n";
        assert_eq!(
            parse(text).unwrap().env,
            env(&[
                ("COST", "$5 and $"),
                ("HOST", "db"),
                ("RAW", "x"),
                ("URL", "pg://db:5432"),
                ("Y", "lit $HOST"),
            ])
        );
    }

    #[test]
    fn invalid_keys_are_reported_and_syntax_errors_refused() {
        let parsed = parse("1BAD=x\nGOOD=y\nBAD-KEY=z\n").unwrap();
        assert_eq!(parsed.env, env(&[("GOOD", "y")]));
        assert_eq!(parsed.invalid_keys, vec!["1BAD", "BAD-KEY"]);
        let err = parse("A=1\nB='open\n").unwrap_err().to_string();
        assert_eq!(err, "line 2: unterminated single quote");
        assert!(parse("JUSTAWORD\n").is_err());
    }

    #[test]
    fn keys() {
        for ok in ["A", "_", "a_1", "DATABASE_URL"] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "A=B", "É", "A.B"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn a_100_kb_value_round_trips() {
        let big: String = (0..100 * 1024)
            .map(|i| ['a', '"', '$', '\n', 'é', '\\', '`', '!', '\''][i % 9])
            .collect();
        let e = env(&[("BIG", &big)]);
        assert_eq!(parse(&serialize(&e)).unwrap().env, e);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_values_round_trip_byte_for_byte(
            e in proptest::collection::btree_map("[A-Za-z_][A-Za-z0-9_]{0,12}", "\\PC*|[\\x01-\\x7f]*|[0-9+-]{1,8}", 0..8)
        ) {
            let text = serialize(&e);
            prop_assert_eq!(parse(&text).unwrap().env, e.clone());
            prop_assert_eq!(serialize(&parse(&text).unwrap().env), text);
        }
    }
}
