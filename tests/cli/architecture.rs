use std::collections::BTreeSet;

use dokku_test_support::workspace_root;

/// Plugins cooperate only through triggers: no plugin crate may depend on another.
#[test]
fn plugin_crates_depend_only_on_core() {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let shared: BTreeSet<&str> = ["dokku-core", "dokku-test-support"].into();
    let plugin_crates: BTreeSet<&str> = packages
        .iter()
        .filter_map(|p| p["name"].as_str())
        .filter(|n| {
            n.starts_with("dokku-")
                && !shared.contains(n)
                && !["dokku-tests", "dokku-bench", "dokku-root-helper"].contains(n)
        })
        .collect();
    assert!(plugin_crates.contains("dokku-apps"), "{plugin_crates:?}");
    for package in packages {
        let name = package["name"].as_str().unwrap();
        if !plugin_crates.contains(name) {
            continue;
        }
        for dep in package["dependencies"].as_array().unwrap() {
            let dep = dep["name"].as_str().unwrap();
            assert!(
                !plugin_crates.contains(dep),
                "{name} depends on plugin crate {dep}: use a trigger"
            );
        }
    }
}

/// Every file in the suite is compiled: an unlisted `mod` would silently test nothing.
#[test]
fn every_test_file_is_listed() {
    let dir = workspace_root().join("tests/cli");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(module) = name.strip_suffix(".rs").filter(|m| *m != "main") {
            assert!(
                main.contains(&format!("mod {module};")),
                "tests/cli/{name} is not listed in main.rs"
            );
        }
    }
}

/// Every core plugin's `plugin.toml` lists exactly the commands and triggers its binary
/// answers: an entry point missing from the manifest would never be linked, and one the
/// binary does not know would fail when run.
#[test]
fn manifests_list_what_each_binary_answers() {
    let plugins = workspace_root().join("plugins");
    let mut checked = 0;
    for entry in std::fs::read_dir(&plugins).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dokku_core::manifest::Manifest::read(&dir).unwrap();
        let Some(entrypoints) = manifest.entrypoints else {
            continue;
        };
        let out = std::process::Command::new(dokku_test_support::binary(&entrypoints.binary))
            .arg(dokku_core::entry::ENTRYPOINTS_FLAG)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", entrypoints.binary);
        let answered: BTreeSet<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let listed: BTreeSet<String> = entrypoints
            .subcommands
            .iter()
            .map(|s| format!("subcommand {s}"))
            .chain(entrypoints.triggers.iter().map(|t| format!("trigger {t}")))
            .collect();
        assert_eq!(listed, answered, "{}", dir.join("plugin.toml").display());
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} plugins checked");
}
