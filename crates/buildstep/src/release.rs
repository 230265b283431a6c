//! What a buildpack's `bin/release` prints: YAML with `config_vars` and
//! `default_process_types` maps (and `addons`, which nothing here uses). Only that shape is
//! read: top-level keys, each with a map of plain or quoted scalars one level in.

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Release {
    pub config_vars: Vec<(String, String)>,
    pub default_process_types: Vec<(String, String)>,
}

impl Release {
    pub fn parse(text: &str) -> Release {
        let mut release = Release::default();
        let mut section = String::new();
        for raw in text.lines() {
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
                continue;
            }
            let nested = raw.starts_with(' ') || raw.starts_with('\t');
            let Some((key, value)) = split_pair(trimmed) else {
                continue;
            };
            if !nested {
                section = key;
                if let Some(inline) = value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                    for pair in inline.split(',') {
                        if let Some((k, v)) = split_pair(pair.trim()) {
                            release.push(&section, k, scalar(&v));
                        }
                    }
                }
                continue;
            }
            release.push(&section, key, scalar(&value));
        }
        release
    }

    fn push(&mut self, section: &str, key: String, value: String) {
        match section {
            "config_vars" => self.config_vars.push((key, value)),
            "default_process_types" => self.default_process_types.push((key, value)),
            _ => {}
        }
    }
}

/// `key: value` (the key may be quoted); the value is what follows the first `: `.
fn split_pair(text: &str) -> Option<(String, String)> {
    let (key, value) = match text.find(": ") {
        Some(at) => (&text[..at], &text[at + 2..]),
        None => (text.strip_suffix(':')?, ""),
    };
    let key = scalar(key.trim());
    (!key.is_empty()).then(|| (key, value.trim().to_string()))
}

/// A YAML scalar: `"..."` with backslash escapes, `'...'` with `''` for a quote, or plain.
fn scalar(text: &str) -> String {
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        }
        return out;
    }
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_yaml_gives_config_vars_and_process_types() {
        let text = "---\naddons: []\nconfig_vars:\n  PATH: \"/app/bin:$PATH\"\n  \
                    LANG: 'en_US.UTF-8'\n  QUOTE: \"say \\\"hi\\\"\"\n\
                    default_process_types:\n  web: python3 -m http.server $PORT\n  \
                    worker: ./worker --queue=a:b\n";
        let release = Release::parse(text);
        assert_eq!(
            release.config_vars,
            vec![
                ("PATH".into(), "/app/bin:$PATH".into()),
                ("LANG".into(), "en_US.UTF-8".into()),
                ("QUOTE".into(), "say \"hi\"".into()),
            ]
        );
        assert_eq!(
            release.default_process_types,
            vec![
                ("web".into(), "python3 -m http.server $PORT".into()),
                ("worker".into(), "./worker --queue=a:b".into()),
            ]
        );
    }

    #[test]
    fn inline_and_empty_maps() {
        let release = Release::parse("--- {}\n");
        assert_eq!(release, Release::default());
        let release = Release::parse("default_process_types: {web: bin/web}\nconfig_vars: {}\n");
        assert_eq!(
            release.default_process_types,
            vec![("web".into(), "bin/web".into())]
        );
    }
}
