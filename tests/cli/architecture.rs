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

/// Every core plugin's `plugin.toml` names its binary and nothing more: installing asks
/// the binary what it answers, so no list is kept twice. And the dispatcher names none of
/// the plugins, prefixes or words they answer: routing comes from the index.
#[test]
fn plugins_say_what_they_answer_and_the_dispatcher_names_none() {
    let plugins = workspace_root().join("plugins");
    let dispatcher: String = ["main.rs", "help.rs"]
        .iter()
        .map(|f| {
            let text =
                std::fs::read_to_string(workspace_root().join("crates/dokku/src").join(f)).unwrap();
            // The unit tests build a plugin tree of their own.
            text.split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let mut checked = 0;
    for entry in std::fs::read_dir(&plugins).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dokku_core::manifest::Manifest::read(&dir).unwrap();
        let entrypoints = manifest
            .entrypoints
            .expect("a core plugin names its binary");
        assert!(
            entrypoints.subcommands.is_empty() && entrypoints.triggers.is_empty(),
            "{}: the binary says what it answers",
            dir.join("plugin.toml").display()
        );
        let out = std::process::Command::new(dokku_test_support::binary(&entrypoints.binary))
            .arg(dokku_core::entry::ENTRYPOINTS_FLAG)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", entrypoints.binary);
        let answers =
            dokku_core::plugins::Answers::parse(&String::from_utf8(out.stdout).unwrap()).unwrap();
        assert!(
            !answers.subcommands.is_empty()
                || !answers.triggers.is_empty()
                || !answers.helpers.is_empty()
        );
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for routed in std::iter::once(&name)
            .chain(&answers.prefixes)
            .chain(&answers.words)
        {
            assert!(
                !dispatcher.contains(&format!("\"{routed}\"")),
                "the dispatcher names {routed}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} plugins checked");
}
