//! The dispatcher's index: which plugin directory answers a command prefix or a bare word,
//! which commands only root may run, and which plugins answer `user-auth` (the trigger the
//! dispatcher fires before every command) and for which callers, compiled from every
//! enabled plugin's [`Answers`] whenever the set of enabled plugins changes. The dispatcher
//! reads this one file and knows no plugin by name.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;

use anyhow::{Context, Result, bail};

use super::answers::{Answers, DeclaredBuildFile};
use crate::env::Roots;

/// `$PLUGIN_PATH/dispatch.index`.
pub const INDEX_FILE: &str = "dispatch.index";

/// The trigger the dispatcher fires itself, before every command.
pub const USER_AUTH: &str = "user-auth";

/// The trigger that hands the plugins a build's extracted tree (`APP DIR REV`).
const CORE_POST_EXTRACT: &str = "core-post-extract";
/// The trigger that hands third-party plugins a build's extracted tree (`APP DIR [REV]`).
const POST_EXTRACT: &str = "post-extract";
/// The trigger fired before a build is released (`BUILDER APP IMAGE`).
const PRE_RELEASE_BUILDER: &str = "pre-release-builder";
/// The trigger fired once a build is released (`BUILDER APP IMAGE`).
const POST_RELEASE_BUILDER: &str = "post-release-builder";

/// A larger index than this is not one we wrote.
const MAX_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// Command prefix -> plugin directory, for prefixes that are not a directory's own name.
    prefixes: BTreeMap<String, String>,
    /// Bare command -> plugin directory.
    words: BTreeMap<String, String>,
    /// Full commands (`prefix:sub`) only root may run.
    root_only: BTreeSet<String>,
    /// Plugin directory -> the key name prefix its `user-auth` concerns (empty: everyone).
    user_auth: BTreeMap<String, String>,
    /// (plugin directory, trigger) -> the property namespace (and key) without which an
    /// app gets nothing from that trigger.
    app_scoped: BTreeMap<(String, String), (String, Option<String>)>,
    /// (plugin directory, trigger) -> (argument index, value): the trigger concerns only
    /// calls with that value there.
    concerns: BTreeMap<(String, String), (usize, String)>,
    /// Plugin directory -> the files it keeps with each build.
    build_files: BTreeMap<String, Vec<DeclaredBuildFile>>,
    /// False when a plugin was enabled or disabled after the index was written (by hand,
    /// not through the plugin tree): then nothing may be skipped.
    current: bool,
}

impl Index {
    /// The index of the plugins enabled now; two plugins claiming one prefix or word, or
    /// a plugin claiming another's name, is an error that names both.
    pub fn compile(roots: &Roots) -> Result<Index> {
        let enabled = crate::trigger::enabled_plugins(roots);
        let mut index = Index::default();
        for dir in &enabled {
            let path = roots.plugin_enabled().join(dir);
            if !path.is_dir() {
                continue;
            }
            let answers = Answers::of_installed(&path)
                .with_context(|| format!("reading what plugin {dir} answers"))?;
            let mut prefixes: Vec<&str> = vec![dir];
            for prefix in answers.prefixes.iter().filter(|p| *p != dir) {
                if enabled.contains(prefix) {
                    bail!("Plugin {dir} answers {prefix}:*, which is plugin {prefix}'s");
                }
                claim(&mut index.prefixes, prefix, dir, "commands")?;
                prefixes.push(prefix);
            }
            for word in &answers.words {
                if word != dir && enabled.contains(word) {
                    bail!("Plugin {dir} answers the command {word}, which is plugin {word}'s");
                }
                claim(&mut index.words, word, dir, "the command")?;
            }
            for sub in &answers.root_only {
                for prefix in &prefixes {
                    index.root_only.insert(format!("{prefix}:{sub}"));
                }
            }
            for (trigger, namespace, key) in &answers.app_scoped {
                index.app_scoped.insert(
                    (dir.clone(), trigger.clone()),
                    (namespace.clone(), key.clone()),
                );
            }
            for (trigger, arg, value) in &answers.concerns {
                index
                    .concerns
                    .insert((dir.clone(), trigger.clone()), (*arg, value.clone()));
            }
            if !answers.build_files.is_empty() {
                index
                    .build_files
                    .insert(dir.clone(), answers.build_files.clone());
            }
            if crate::fs::is_executable(&path.join(USER_AUTH)) {
                let guard = answers.guards.iter().find(|(t, _)| t == USER_AUTH);
                let prefix = guard.map(|(_, p)| p.clone()).unwrap_or_default();
                index.user_auth.insert(dir.clone(), prefix);
            }
        }
        index.current = true;
        Ok(index)
    }

    /// Compiles the index and replaces the file when that changes it, or when the set of
    /// enabled plugins changed after it was written.
    pub fn write(roots: &Roots) -> Result<()> {
        let text = Index::compile(roots)?.render();
        let path = roots.plugin_path.join(INDEX_FILE);
        let unchanged = crate::fs::read_optional(&path)?.as_deref() == Some(text.as_str());
        if unchanged && written_after_enabled(roots, &path) {
            return Ok(());
        }
        crate::fs::write_atomic(&path, text.as_bytes(), 0o644)
    }

    /// The index on disk; none when there is no file, or when it is a link or anyone but
    /// the plugin tree's owner could have written it.
    pub fn read(roots: &Roots) -> Index {
        Index::read_checked(roots).unwrap_or_default()
    }

    fn read_checked(roots: &Roots) -> Option<Index> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let owner = std::fs::metadata(&roots.plugin_path).ok()?.uid();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(roots.plugin_path.join(INDEX_FILE))
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.uid() != owner || meta.mode() & 0o022 != 0 {
            return None;
        }
        let mut text = String::new();
        file.by_ref()
            .take(MAX_BYTES)
            .read_to_string(&mut text)
            .ok()?;
        let mut index = Index::parse(&text);
        index.current = written_after_enabled(roots, &roots.plugin_path.join(INDEX_FILE));
        Some(index)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (prefix, dir) in &self.prefixes {
            out.push_str(&format!("prefix {prefix} {dir}\n"));
        }
        for (word, dir) in &self.words {
            out.push_str(&format!("word {word} {dir}\n"));
        }
        for command in &self.root_only {
            out.push_str(&format!("root-only {command}\n"));
        }
        for ((dir, trigger), (namespace, key)) in &self.app_scoped {
            let key = key.as_deref().unwrap_or("");
            out.push_str(format!("app-scoped {dir} {trigger} {namespace} {key}").trim_end());
            out.push('\n');
        }
        for ((dir, trigger), (arg, value)) in &self.concerns {
            out.push_str(&format!("concerns {dir} {trigger} {arg} {value}\n"));
        }
        for (dir, files) in &self.build_files {
            for file in files {
                out.push_str(&format!("build-file {dir} {}\n", file.render()));
            }
        }
        for (dir, prefix) in &self.user_auth {
            out.push_str(format!("{USER_AUTH} {dir} {prefix}").trim_end());
            out.push('\n');
        }
        out
    }

    fn parse(text: &str) -> Index {
        let mut index = Index::default();
        for line in text.lines() {
            if let Some((dir, file)) = line
                .strip_prefix("build-file ")
                .and_then(|rest| rest.split_once(' '))
            {
                if let Ok(file) = DeclaredBuildFile::parse(file) {
                    index.build_files.entry(dir.into()).or_default().push(file);
                }
                continue;
            }
            let words: Vec<&str> = line.split(' ').collect();
            match words[..] {
                ["prefix", prefix, dir] => {
                    index.prefixes.insert(prefix.into(), dir.into());
                }
                ["word", word, dir] => {
                    index.words.insert(word.into(), dir.into());
                }
                ["root-only", command] => {
                    index.root_only.insert(command.into());
                }
                ["app-scoped", dir, trigger, namespace] => {
                    index
                        .app_scoped
                        .insert((dir.into(), trigger.into()), (namespace.into(), None));
                }
                ["app-scoped", dir, trigger, namespace, key] => {
                    index.app_scoped.insert(
                        (dir.into(), trigger.into()),
                        (namespace.into(), Some(key.into())),
                    );
                }
                ["concerns", dir, trigger, arg, value] => {
                    if let Ok(arg) = arg.parse() {
                        index
                            .concerns
                            .insert((dir.into(), trigger.into()), (arg, value.into()));
                    }
                }
                [USER_AUTH, dir] => {
                    index.user_auth.insert(dir.into(), String::new());
                }
                [USER_AUTH, dir, prefix] => {
                    index.user_auth.insert(dir.into(), prefix.into());
                }
                _ => {}
            }
        }
        index
    }

    /// The plugin directory that answers a command with this prefix (`nginx` ->
    /// `nginx-vhosts`), or a bare word (`url`); by default the directory of the same name.
    pub fn plugin_dir<'a>(&'a self, prefix: &'a str, bare: bool) -> &'a str {
        let word = bare.then(|| self.words.get(prefix)).flatten();
        word.or_else(|| self.prefixes.get(prefix))
            .map_or(prefix, String::as_str)
    }

    pub fn is_root_only(&self, command: &str) -> bool {
        self.root_only.contains(command)
    }

    /// Whether the plugin in `dir` may be left out of `trigger` fired with `args`: the
    /// index is current and what the plugin declared for the trigger says it has nothing
    /// for these arguments (every declaration that applies says so). `passes_nothing` is
    /// true when the trigger gives the implementers empty stdin (an app-scoped filter left
    /// out has nothing to pass on); `build_tag` is the build under way, if any.
    pub fn skips(
        &self,
        roots: &Roots,
        dir: &str,
        trigger: &str,
        args: &[&str],
        passes_nothing: bool,
        build_tag: Option<&str>,
    ) -> bool {
        if !self.current {
            return false;
        }
        let key = (dir.to_string(), trigger.to_string());
        if let Some((arg, value)) = self.concerns.get(&key)
            && args.get(*arg) != Some(&value.as_str())
        {
            return true;
        }
        let app_named = |i: usize| {
            args.get(i)
                .copied()
                .filter(|app| crate::app::AppName::parse(app).is_ok())
        };
        // `post-container-create TYPE ID APP PHASE ...` names its app third,
        // `post-release-builder BUILDER APP IMAGE` second.
        let app_arg = match trigger {
            "post-container-create" => 2,
            "post-release-builder" => 1,
            _ => 0,
        };
        let scoped = self.app_scoped.get(&key).map(|(namespace, key)| {
            let Some(app) = app_named(app_arg).filter(|_| passes_nothing) else {
                return false;
            };
            let config = roots.config_dir().join(namespace);
            let has = |slot: &str| match key {
                Some(key) => config.join(slot).join(key).exists(),
                None => config.join(slot).exists(),
            };
            !has(app) && !has(crate::property::GLOBAL)
        });
        let files = self
            .build_files
            .get(dir)
            .and_then(|files| match (trigger, args) {
                (CORE_POST_EXTRACT | POST_EXTRACT, [_, tree, ..]) => {
                    Some(app_named(0).is_some_and(|app| {
                        !crate::build_files::from_image(roots, app)
                            && files.iter().all(|file| {
                                let path =
                                    std::path::Path::new(tree).join(file.path_in_tree(roots, app));
                                path.symlink_metadata().is_err()
                            })
                    }))
                }
                (PRE_RELEASE_BUILDER | POST_RELEASE_BUILDER, [_, _, _]) => {
                    Some(app_named(1).is_some_and(|app| {
                        files.iter().all(|file| {
                            !crate::build_files::kept_or_adopted(
                                roots, &file.data, app, &file.name, build_tag,
                            )
                        })
                    }))
                }
                _ => None,
            });
        match (scoped, files) {
            (None, None) => false,
            (scoped, files) => scoped.unwrap_or(true) && files.unwrap_or(true),
        }
    }

    /// Whether `user-auth` must be fired for a caller with this SSH key name: unless the
    /// index is current and every plugin that answers it concerns other key names only.
    pub fn user_auth_concerns(&self, key_name: &str) -> bool {
        !self.current
            || self
                .user_auth
                .values()
                .any(|prefix| key_name.starts_with(prefix.as_str()))
    }
}

/// True when the file at `path` was written no earlier than the last change to the set of
/// enabled plugins.
fn written_after_enabled(roots: &Roots, path: &std::path::Path) -> bool {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified());
    match (modified(path), modified(&roots.plugin_enabled())) {
        (Ok(index), Ok(enabled)) => index >= enabled,
        _ => false,
    }
}

fn claim(map: &mut BTreeMap<String, String>, name: &str, dir: &str, what: &str) -> Result<()> {
    match map.get(name) {
        Some(other) if other != dir => {
            bail!("Plugins {other} and {dir} both answer {what} {name}")
        }
        _ => {
            map.insert(name.to_string(), dir.to_string());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::fs::write_atomic;

    fn plugin(roots: &Roots, dir: &str, answers: &str) {
        let path = roots.plugin_available().join(dir);
        write_atomic(
            &path.join(super::super::answers::ANSWERS_FILE),
            answers.as_bytes(),
            0o644,
        )
        .unwrap();
        super::super::enable(roots, dir).unwrap();
    }

    #[test]
    fn compiles_what_enabled_plugins_answer() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(
            &roots,
            "nginx-vhosts",
            "prefix nginx-vhosts\nprefix nginx\nsubcommand set\n",
        );
        plugin(&roots, "deploy-keys", "prefix deploy\nroot-only add\n");
        plugin(&roots, "00_dokku-standard", "word url\n");
        let index = Index::read(&roots);
        assert_eq!(index.plugin_dir("nginx", false), "nginx-vhosts");
        assert_eq!(index.plugin_dir("apps", false), "apps");
        assert_eq!(index.plugin_dir("url", true), "00_dokku-standard");
        assert_eq!(index.plugin_dir("url", false), "url");
        assert!(index.is_root_only("deploy:add") && index.is_root_only("deploy-keys:add"));
        assert!(!index.is_root_only("deploy:list"));
        super::super::disable(&roots, "deploy-keys").unwrap();
        assert!(!Index::read(&roots).is_root_only("deploy:add"));
    }

    #[test]
    fn a_plugin_may_not_take_another_ones_commands() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(&roots, "apps", "prefix apps\n");
        plugin(&roots, "nginx-vhosts", "prefix nginx\n");
        for (name, answers) in [
            ("sneaky", "prefix apps\n"),
            ("other", "prefix nginx\n"),
            ("bare", "word apps\n"),
        ] {
            let path = roots.plugin_available().join(name);
            write_atomic(&path.join(".entrypoints"), answers.as_bytes(), 0o644).unwrap();
            let err = super::super::enable(&roots, name).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
            assert!(!super::super::is_enabled(&roots, name));
        }
        assert_eq!(
            Index::read(&roots).plugin_dir("nginx", false),
            "nginx-vhosts"
        );
    }

    #[test]
    fn user_auth_is_skipped_only_for_callers_no_plugin_concerns() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let auth = |name: &str, answers: &str| {
            let path = roots.plugin_available().join(name);
            write_atomic(&path.join(USER_AUTH), b"#!/bin/sh\nexit 0\n", 0o755).unwrap();
            write_atomic(&path.join(".entrypoints"), answers.as_bytes(), 0o644).unwrap();
            super::super::enable(&roots, name).unwrap();
        };
        // No index yet: nothing is known, so nothing is skipped.
        assert!(Index::read(&roots).user_auth_concerns("admin"));
        auth(
            "deploy-keys",
            "trigger user-auth\nguard user-auth deploy:\n",
        );
        let index = Index::read(&roots);
        assert!(!index.user_auth_concerns("admin"));
        assert!(index.user_auth_concerns("deploy:SHA256:x"));
        auth("acl", "trigger user-auth\n");
        assert!(Index::read(&roots).user_auth_concerns("admin"));
        super::super::disable(&roots, "acl").unwrap();
        assert!(!Index::read(&roots).user_auth_concerns("admin"));
        // A plugin linked by hand, behind the tree's back: nothing is skipped.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::os::unix::fs::symlink(
            roots.plugin_available().join("acl"),
            roots.plugin_enabled().join("acl"),
        )
        .unwrap();
        assert!(Index::read(&roots).user_auth_concerns("admin"));
    }

    #[test]
    fn an_app_scoped_trigger_is_left_out_only_for_apps_without_its_properties() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(&roots, "storage", "app-scoped docker-args-deploy storage\n");
        let index = Index::read(&roots);
        let skips = |index: &Index, dir: &str, trigger: &str, app: &str, stdin: bool| {
            index.skips(&roots, dir, trigger, &[app, "x"], !stdin, None)
        };
        assert!(skips(
            &index,
            "storage",
            "docker-args-deploy",
            "plain",
            false
        ));
        assert!(!skips(
            &index,
            "storage",
            "docker-args-deploy",
            "plain",
            true
        ));
        assert!(!skips(&index, "storage", "docker-args-run", "plain", false));
        assert!(!skips(
            &index,
            "other",
            "docker-args-deploy",
            "plain",
            false
        ));
        assert!(!skips(
            &index,
            "storage",
            "docker-args-deploy",
            "../x",
            false
        ));
        std::fs::create_dir_all(roots.config_dir().join("storage/mounted")).unwrap();
        assert!(!skips(
            &index,
            "storage",
            "docker-args-deploy",
            "mounted",
            false
        ));
        let stale = Index::default();
        assert!(!skips(
            &stale,
            "storage",
            "docker-args-deploy",
            "plain",
            false
        ));
        std::fs::create_dir_all(roots.config_dir().join("storage/--global")).unwrap();
        assert!(!skips(
            &index,
            "storage",
            "docker-args-deploy",
            "plain",
            false
        ));

        plugin(
            &roots,
            "builder",
            "app-scoped core-post-extract builder build-dir\n",
        );
        let index = Index::read(&roots);
        let props = crate::property::Properties::new(&roots, "builder");
        props.set("plain", "detected", "dockerfile").unwrap();
        assert!(skips(
            &index,
            "builder",
            "core-post-extract",
            "plain",
            false
        ));
        props
            .set(crate::property::GLOBAL, "build-dir", "app")
            .unwrap();
        assert!(!skips(
            &index,
            "builder",
            "core-post-extract",
            "plain",
            false
        ));

        // `post-container-create TYPE ID APP PHASE` names its app third.
        plugin(
            &roots,
            "network",
            "app-scoped post-container-create network attach-post-create\n",
        );
        let index = Index::read(&roots);
        let created = |app: &str| {
            index.skips(
                &roots,
                "network",
                "post-container-create",
                &["app", "abc123", app, "deploy"],
                true,
                None,
            )
        };
        assert!(created("plain"));
        crate::property::Properties::new(&roots, "network")
            .set("joined", "attach-post-create", "net")
            .unwrap();
        assert!(!created("joined"));
    }

    #[test]
    fn a_plugin_is_left_out_of_a_build_only_when_it_has_no_build_file_there() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(
            &roots,
            "ps",
            "trigger core-post-extract\nbuild-file ps Procfile ps procfile-path\n",
        );
        let index = Index::read(&roots);
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let tree = tree.to_str().unwrap();
        let extract = |index: &Index| {
            index.skips(
                &roots,
                "ps",
                "core-post-extract",
                &["web", tree, "rev"],
                false,
                None,
            )
        };
        let release = |index: &Index, tag: Option<&str>| {
            let skips = |trigger| {
                index.skips(
                    &roots,
                    "ps",
                    trigger,
                    &["dockerfile", "web", "img"],
                    false,
                    tag,
                )
            };
            assert_eq!(skips("pre-release-builder"), skips("post-release-builder"));
            skips("post-release-builder")
        };
        assert!(extract(&index));
        write_atomic(&Path::new(tree).join("Procfile"), b"web: x\n", 0o644).unwrap();
        assert!(!extract(&index));
        // A configured path is where the file is looked for; a link there is the
        // plugin's to refuse.
        crate::property::Properties::new(&roots, "ps")
            .set("web", "procfile-path", "deploy/Procfile")
            .unwrap();
        assert!(extract(&index));
        std::fs::create_dir_all(Path::new(tree).join("deploy")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", Path::new(tree).join("deploy/Procfile")).unwrap();
        assert!(!extract(&index));

        assert!(release(&index, Some("build-2")));
        let kept = roots.data_dir("ps", "web").join("builds/build-2/Procfile");
        write_atomic(&kept, b"web: x\n", 0o600).unwrap();
        assert!(!release(&index, Some("build-2")));
        assert!(release(&index, Some("build-3")));
        assert!(release(&index, None));
        write_atomic(
            &roots.data_dir("ps", "web").join("Procfile"),
            b"web: x\n",
            0o600,
        )
        .unwrap();
        assert!(!release(&index, Some("build-3")));
        assert!(!Index::default().skips(
            &roots,
            "ps",
            "core-post-extract",
            &["web", "/nowhere", "rev"],
            false,
            None
        ));
    }

    #[test]
    fn a_trigger_for_another_builder_or_with_nothing_declared_there_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(
            &roots,
            "builder-dockerfile",
            "trigger builder-build\nconcerns builder-build 0 dockerfile\n",
        );
        plugin(
            &roots,
            "buildpacks",
            "app-scoped post-extract buildpacks buildpacks\nbuild-file app-json app.json\n",
        );
        let index = Index::read(&roots);
        let build = |builder: &str| {
            index.skips(
                &roots,
                "builder-dockerfile",
                "builder-build",
                &[builder, "web", "/t"],
                false,
                None,
            )
        };
        assert!(!build("dockerfile"));
        assert!(build("herokuish"));
        assert!(!index.skips(
            &roots,
            "builder-dockerfile",
            "builder-release",
            &["herokuish"],
            false,
            None
        ));

        let tree = dir.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        let extract = || {
            index.skips(
                &roots,
                "buildpacks",
                "post-extract",
                &["web", tree.to_str().unwrap(), "rev"],
                true,
                None,
            )
        };
        assert!(extract());
        // Either the app's list or the tree's app.json is enough to be asked.
        write_atomic(&tree.join("app.json"), b"{}", 0o644).unwrap();
        assert!(!extract());
        std::fs::remove_file(tree.join("app.json")).unwrap();
        crate::property::Properties::new(&roots, "buildpacks")
            .set("web", "buildpacks", "https://example.com/bp.git")
            .unwrap();
        assert!(!extract());
    }

    #[test]
    fn an_index_someone_else_could_write_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        plugin(&roots, "deploy-keys", "prefix deploy\nroot-only add\n");
        let path = roots.plugin_path.join(INDEX_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(Index::read(&roots), Index::default());
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        assert_eq!(Index::read(&roots), Index::default());
    }
}
