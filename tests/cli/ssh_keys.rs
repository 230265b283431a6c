use std::process::Command;

use dokku_test_support::TestHost;
use insta::assert_snapshot;

use crate::stderr;

fn keypair(host: &TestHost, name: &str) -> (std::path::PathBuf, String) {
    let path = host.path().join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = path.with_extension("pub");
    let text = std::fs::read_to_string(&public).unwrap();
    (public, text)
}

fn authorized_keys(host: &TestHost) -> String {
    std::fs::read_to_string(host.roots.dokku_root.join(".ssh/authorized_keys")).unwrap_or_default()
}

#[test]
fn add_list_remove() {
    let host = TestHost::new();
    let (file, text) = keypair(&host, "alice");
    let added = host.ok(["ssh-keys:add", "alice", file.to_str().unwrap()]);
    assert!(added.starts_with("SHA256:"), "{added}");
    let fingerprint = added.trim().to_string();
    let (_, bob) = keypair(&host, "bob");
    host.dokku(["ssh-keys:add", "bob"])
        .write_stdin(bob.clone())
        .assert()
        .success();
    let line = authorized_keys(&host).lines().next().unwrap().to_string();
    let dokku = dokku_test_support::binary("dokku");
    assert_eq!(
        line,
        format!(
            "command=\"FINGERPRINT={fingerprint} NAME=\\\"alice\\\" {}\",no-agent-forwarding,no-user-rc,no-X11-forwarding,no-port-forwarding {}",
            dokku.display(),
            text.trim()
        )
    );
    let listed = host.ok(["ssh-keys:list"]);
    assert_eq!(listed.lines().count(), 2);
    assert!(listed.starts_with(&format!(
        "{fingerprint} NAME=\"alice\" SSHCOMMAND_ALLOWED_KEYS=\"no-agent-forwarding"
    )));
    let json: serde_json::Value =
        serde_json::from_str(&host.ok(["ssh-keys:list", "--format", "json"])).unwrap();
    assert_eq!(json[1]["name"], "bob");
    assert_eq!(json[1]["public-key"], bob.trim());

    host.ok(["ssh-keys:remove", "bob"]);
    // A name no key has lists nothing and says nothing, and fails, as grep does.
    let nobody = host.run(["ssh-keys:list", "bob"]);
    assert_eq!(nobody.status.code(), Some(1), "{}", host.render(&nobody));
    assert!(nobody.stdout.is_empty() && nobody.stderr.is_empty());
    host.ok(["ssh-keys:remove", "--fingerprint", &fingerprint]);
    assert_eq!(authorized_keys(&host), "");
    let none = host.run(["ssh-keys:list"]);
    assert_eq!(stderr(&none), " !     No public keys found.\n");
}

#[test]
fn bad_keys_and_duplicates_are_refused_and_change_nothing() {
    let host = TestHost::new();
    let (file, text) = keypair(&host, "alice");
    host.ok(["ssh-keys:add", "alice", file.to_str().unwrap()]);
    let private = std::fs::read_to_string(host.path().join("alice")).unwrap();
    let (_, other) = keypair(&host, "other");
    let before = host.state();
    for (name, input) in [
        ("dup-key", text.as_str()),
        ("alice", other.as_str()),
        ("priv", private.as_str()),
        ("garbage", "not a key at all\n"),
        ("empty", ""),
        ("two", &format!("{text}{other}")),
        ("opts", &format!("command=\"id\" {other}")),
        ("bad name", other.as_str()),
        ("x\"y", other.as_str()),
        ("deploy:x", other.as_str()),
    ] {
        let out = host
            .dokku(["ssh-keys:add", name])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{name:?} accepted");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{name}: {err:?}");
        assert!(err.starts_with(" !     "), "{name}: {err:?}");
    }
    assert_eq!(host.state(), before, "a refused key changed state");
    let dup = host
        .dokku(["ssh-keys:add", "dup"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_snapshot!("duplicate_key", host.render(&dup));
    let private = host
        .dokku(["ssh-keys:add", "priv"])
        .write_stdin(private)
        .output()
        .unwrap();
    assert_snapshot!("private_key", host.render(&private));
    // Removing what is not there changes nothing and is no error, as in Dokku.
    let before = host.state();
    let missing = host.run(["ssh-keys:remove", "nobody"]);
    assert!(missing.status.success(), "{}", host.render(&missing));
    assert_eq!(stderr(&missing), " !     No ssh key found for nobody\n");
    assert_eq!(host.state(), before);
}

#[test]
fn a_broken_authorized_keys_file_is_refused_not_rewritten() {
    let host = TestHost::new();
    let (alice, _) = keypair(&host, "alice");
    host.ok(["ssh-keys:add", "alice", alice.to_str().unwrap()]);
    let (_, key) = keypair(&host, "bob");
    let file = host.roots.dokku_root.join(".ssh/authorized_keys");
    let mut text = authorized_keys(&host);
    text.push_str("invalid\n");
    std::fs::write(&file, &text).unwrap();
    let add = host
        .dokku(["ssh-keys:add", "bob"])
        .write_stdin(key)
        .output()
        .unwrap();
    assert!(!add.status.success(), "{}", host.render(&add));
    assert!(
        stderr(&add).contains("line 2 is not a public key"),
        "{}",
        host.render(&add)
    );
    assert!(!host.run(["ssh-keys:list"]).status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}
