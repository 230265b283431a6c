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
            let plain = url.chars().all(|c| c.is_ascii_graphic()) && url.len() <= 2048;
            if !plain || !(names_a_repository(url) || url.starts_with("file:///")) {
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

/// `scheme://host/owner/...` or `git@host:owner/...`: a host, then a path of at least an
/// owner and a name.
fn names_a_repository(url: &str) -> bool {
    let rest = ["http://", "https://", "git://", "ssh://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .and_then(|rest| rest.split_once('/'))
        .or_else(|| {
            url.strip_prefix("git@")
                .and_then(|rest| rest.split_once(':'))
        });
    let Some((host, path)) = rest else {
        return false;
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    !host.is_empty() && segments.len() >= 2
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
        assert!(normalize("git@github.com:dokku/buildpack-null.git").is_ok());
        for bad in [
            "",
            "python",
            "ftp://x/y",
            "https://x/y z",
            "a/b/c",
            "https://x#",
            "http://nodejs",
            "/nodejs",
            "https://example.com/bp",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }
}
