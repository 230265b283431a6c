//! The shape of the names an admin gives things other than apps (keys, volumes, storage
//! directories): one word that no shell, path or option reads as more.

/// Starts with a letter or digit, then letters, digits and the `extra` characters, at most
/// `max` bytes.
pub fn is_plain(name: &str, extra: &[char], max: usize) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        && name.len() <= max
}

/// A key's name (`ssh-keys:add NAME`, `deploy:allow --name NAME`): letters, digits and
/// `-_.@`, at most 64 bytes.
pub fn is_key_name(name: &str) -> bool {
    is_plain(name, &['-', '_', '.', '@'], 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_one_word() {
        for ok in ["a", "ci-bot@example.com", "key_1.2"] {
            assert!(is_key_name(ok), "{ok}");
        }
        for bad in ["", "-x", ".x", "a b", "a/b", "a;b", &"a".repeat(65)] {
            assert!(!is_key_name(bad), "{bad:?}");
        }
        assert!(!is_plain("a@b", &['-'], 64));
        assert!(is_plain(&"a".repeat(128), &[], 128));
    }
}
