//! Buildpack URLs as Dokku accepts them: `owner/name` for a buildpack on GitHub
//! (`https://github.com/owner/heroku-buildpack-name.git`, `heroku-community` meaning
//! `heroku`), or a git or tarball URL, with an optional `#ref`.

use anyhow::{Result, bail};

pub fn normalize(text: &str) -> Result<String> {
    let text = text.trim();
    let (url, reference) = match text.split_once('#') {
        Some((url, reference)) => (url, Some(reference)),
        None => (text, None),
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    let url = match url.split_once('/') {
        Some((owner, name)) if word(owner) && word(name) && !url.contains(':') => {
            let owner = if owner == "heroku-community" {
                "heroku"
            } else {
                owner
            };
            format!("https://github.com/{owner}/heroku-buildpack-{name}.git")
        }
        _ => {
            let remote = ["http://", "https://", "git://", "ssh://", "file://", "git@"]
                .iter()
                .any(|p| url.starts_with(p));
            let plain = url.chars().all(|c| c.is_ascii_graphic());
            if !remote || !plain || url.len() > 2048 {
                bail!("Invalid buildpack specified");
            }
            url.to_string()
        }
    };
    match reference {
        Some(r) if !r.is_empty() && r.chars().all(|c| c.is_ascii_graphic()) => {
            Ok(format!("{url}#{r}"))
        }
        Some(_) => bail!("Invalid buildpack specified"),
        None => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_expand_and_urls_are_checked() {
        assert_eq!(
            normalize("heroku/python").unwrap(),
            "https://github.com/heroku/heroku-buildpack-python.git"
        );
        assert_eq!(
            normalize("heroku-community/apt").unwrap(),
            "https://github.com/heroku/heroku-buildpack-apt.git"
        );
        assert_eq!(
            normalize("https://github.com/dokku/buildpack-null.git#v3").unwrap(),
            "https://github.com/dokku/buildpack-null.git#v3"
        );
        assert_eq!(normalize("file:///srv/bp").unwrap(), "file:///srv/bp");
        for bad in [
            "",
            "python",
            "ftp://x/y",
            "https://x/y z",
            "a/b/c",
            "https://x#",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }
}
