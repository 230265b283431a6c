use std::path::{Path, PathBuf};

use dokku_test_support::TestHost;

use crate::stderr;

/// What a crafted archive holds: files (path, contents) and symlinks (path, target), the
/// paths written into the headers as they are, however hostile.
pub(crate) struct Crafted<'a> {
    pub links: &'a [(&'a str, &'a str)],
    pub files: &'a [(&'a str, &'a str)],
}

impl Crafted<'_> {
    /// The tar, gzipped by `gzip` when `gz`.
    pub(crate) fn write(&self, path: &Path, gz: bool) -> PathBuf {
        let mut builder = tar::Builder::new(Vec::new());
        let mut append = |name: &str, kind: tar::EntryType, target: &str, body: &str| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(kind);
            header.set_size(body.len() as u64);
            header.set_mode(if kind.is_symlink() { 0o777 } else { 0o644 });
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            gnu.linkname[..target.len()].copy_from_slice(target.as_bytes());
            header.set_cksum();
            builder.append(&header, body.as_bytes()).unwrap();
        };
        for (name, target) in self.links {
            append(name, tar::EntryType::Symlink, target, "");
        }
        for (name, body) in self.files {
            append(name, tar::EntryType::Regular, "", body);
        }
        std::fs::write(path, builder.into_inner().unwrap()).unwrap();
        if gz {
            let zipped = std::process::Command::new("gzip")
                .args(["-f", "-k"])
                .arg(path)
                .status()
                .unwrap();
            assert!(zipped.success());
            return path.with_extension("tar.gz");
        }
        path.to_path_buf()
    }
}

fn from_archive(host: &TestHost, archive: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["git:from-archive"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["demo", "--"]);
    host.dokku(args)
        .write_stdin(std::fs::read(archive).unwrap())
        .output()
        .unwrap()
}

#[test]
fn uploaded_archives_leading_out_of_their_directory_are_refused_before_anything_is_written() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let outside = host.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let canary = outside.join("canary.txt");
    let absolute = outside.to_str().unwrap();
    let absolute_file = format!("{}", canary.display());
    let cases: [(Crafted, bool, &str); 5] = [
        (
            Crafted {
                links: &[("pwn", absolute)],
                files: &[("pwn/canary.txt", "x"), ("README.md", "#\n")],
            },
            false,
            "Archive contains symlinks with absolute targets",
        ),
        (
            Crafted {
                links: &[("pwn", absolute)],
                files: &[("pwn/canary.txt", "x")],
            },
            true,
            "Archive contains symlinks with absolute targets",
        ),
        (
            Crafted {
                links: &[("pwn", "../../../../outside")],
                files: &[("pwn/canary.txt", "x")],
            },
            false,
            "Archive contains symlinks pointing outside extraction directory",
        ),
        (
            Crafted {
                links: &[],
                files: &[(&absolute_file, "x")],
            },
            false,
            "Archive contains entries with absolute paths",
        ),
        (
            Crafted {
                links: &[],
                files: &[("../../../../outside/canary.txt", "x")],
            },
            false,
            "Archive contains entries with parent directory traversal",
        ),
    ];
    for (n, (crafted, gz, message)) in cases.iter().enumerate() {
        let archive = crafted.write(&host.path().join(format!("evil{n}.tar")), *gz);
        let extra: &[&str] = if *gz {
            &["--archive-type", "tar.gz"]
        } else {
            &[]
        };
        let out = from_archive(&host, &archive, extra);
        assert!(!out.status.success(), "{message}: {}", host.render(&out));
        assert!(stderr(&out).contains(message), "{}", host.render(&out));
        assert!(
            stderr(&out).contains("[archive-security]"),
            "no audit line: {}",
            host.render(&out)
        );
        assert!(!canary.exists(), "{message}: the archive wrote outside");
        assert_eq!(
            host.ok(["git:report", "demo", "--git-sha"]),
            "\n",
            "{message}: something was deployed"
        );
    }

    // A tar for certs:add is checked the same way, before its two files are read.
    let certs = Crafted {
        links: &[("pwn", absolute)],
        files: &[
            ("pwn/canary.txt", "x"),
            ("server.crt", "c"),
            ("server.key", "k"),
        ],
    }
    .write(&host.path().join("certs.tar"), false);
    let out = host
        .dokku(["certs:add", "demo"])
        .write_stdin(std::fs::read(&certs).unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Archive contains symlinks with absolute targets"),
        "{}",
        host.render(&out)
    );
    assert!(!canary.exists());
}

#[test]
fn archive_limits_are_global_git_settings() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(
        host.ok(["git:report", "--global", "--git-global-archive-max-size"]),
        "\n"
    );
    assert_eq!(
        host.ok(["git:report", "--global", "--git-computed-archive-max-size"]),
        "1073741824\n"
    );
    assert_eq!(
        host.ok(["git:report", "demo", "--git-computed-archive-max-files"]),
        "10000\n"
    );
    let safe = Crafted {
        links: &[],
        files: &[("README.md", "a"), ("Procfile", "b"), ("app.py", "c")],
    }
    .write(&host.path().join("safe.tar"), false);

    host.ok(["git:set", "--global", "archive-max-size", "1"]);
    let out = from_archive(&host, &safe, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Archive exceeds maximum allowed size of 1 bytes"),
        "{}",
        host.render(&out)
    );
    // An empty value unsets, as a missing one does.
    host.ok(["git:set", "--global", "archive-max-size", ""]);
    assert_eq!(
        host.ok(["git:report", "--global", "--git-computed-archive-max-size"]),
        "1073741824\n"
    );

    host.ok(["git:set", "--global", "archive-max-files", "2"]);
    let out = from_archive(&host, &safe, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Archive contains 3 entries which exceeds the maximum of 2"),
        "{}",
        host.render(&out)
    );
    assert_eq!(
        host.ok(["git:report", "--global", "--git-global-archive-max-files"]),
        "2\n"
    );
    host.ok(["git:set", "--global", "archive-max-files"]);

    for bad in [
        ["--global", "archive-max-size", "lots"],
        ["demo", "archive-max-size", "5"],
    ] {
        let mut args = vec!["git:set"];
        args.extend(bad);
        let out = host.run(args);
        assert!(!out.status.success());
        assert_eq!(stderr(&out).lines().count(), 1, "{}", host.render(&out));
    }
}
