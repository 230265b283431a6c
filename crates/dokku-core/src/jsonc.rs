//! JSON as Dokku reads an app.json: it may carry `//` and `/* */` comments and trailing
//! commas. [`to_json`] makes plain JSON of it.

use anyhow::{Result, bail};

/// The text without its comments and trailing commas; strings are left as they are.
pub fn to_json(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push_str(&text[start..i]);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let Some(end) = text[i + 2..].find("*/") else {
                    bail!("Invalid app.json: a comment is not closed");
                };
                i += end + 4;
                out.push(' ');
                continue;
            }
            b',' => {
                let rest = strip_comments_ahead(&text[i + 1..]);
                if rest.starts_with('}') || rest.starts_with(']') {
                    i += 1;
                    continue;
                }
            }
            _ => {}
        }
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    Ok(out)
}

/// What follows, past blanks and comments.
fn strip_comments_ahead(mut rest: &str) -> &str {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_trailing_commas_go_and_strings_stay() {
        let text = r#"{
  // the sample's scripts
  "scripts": {
    "dokku": {
      "predeploy": "touch /app/predeploy.test // not a comment", /* block */
    },
  },
  "url": "http://x/*y*/",
  "list": [1, 2, /* three */ ],
  "quote": "a \"// b\""
}"#;
        let json: serde_json::Value = serde_json::from_str(&to_json(text).unwrap()).unwrap();
        assert_eq!(
            json["scripts"]["dokku"]["predeploy"],
            "touch /app/predeploy.test // not a comment"
        );
        assert_eq!(json["url"], "http://x/*y*/");
        assert_eq!(json["list"], serde_json::json!([1, 2]));
        assert_eq!(json["quote"], "a \"// b\"");
        assert!(to_json("{ /* open").is_err());
    }
}
