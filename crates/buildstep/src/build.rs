//! `/build`: the app in the app path is compiled by its buildpacks into a slug in place.
//!
//! In herokuish's order: the source is copied to the build path; `BUILDPACK_URL` (from the
//! environment or the app's `.env`, or the one line of a `.buildpacks` file) names a
//! buildpack to fetch, a `.buildpacks` file of several lines names buildpacks to run in
//! turn (each one's `export` file reaching the next), and otherwise the first installed
//! buildpack whose `bin/detect` claims the app builds it. `bin/compile BUILD CACHE ENV`
//! runs as the app's user with its output indented; `bin/release` gives the config
//! variables (written to `.profile.d`) and the default process types (added to the
//! Procfile when the app has none). The build path then replaces the app path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::Exit;
use crate::buildpacks::{self, CUSTOM_DIR, MULTI_DIR, Source};
use crate::out;
use crate::paths::{Paths, var};
use crate::release::Release;
use crate::user::{Account, DEFAULT_USER};

/// The variables every buildpack process gets on top of this process's own.
type Env = BTreeMap<String, String>;

/// What builds the app.
enum Plan {
    /// One buildpack, installed or fetched, with the name its detect gave.
    Single { dir: PathBuf, name: String },
    /// The buildpacks a `.buildpacks` file lists, in order.
    Multi(Vec<String>),
}

pub fn build(paths: &Paths) -> Result<()> {
    let account = build_account();
    let mut env = setup(paths, &account)?;
    let plan = select(paths, &paths.build, &env)?;
    let release = match plan {
        Plan::Single { dir, name } => {
            out::title(&format!("{name} app detected"));
            compile(paths, &account, &dir, &env)?;
            release_of(paths, &account, &dir, &env)?.map(|text| (text, name))
        }
        Plan::Multi(urls) => {
            out::title("Multipack app detected");
            multi(paths, &account, &urls, &mut env)?
        }
    };
    if let Some((text, _)) = &release {
        write_release(paths, text)?;
    }
    install_slug(paths)?;
    discover_process_types(paths, release.as_ref())
}

/// `herokuish buildpack detect [DIR]`: the buildpack that would build DIR.
pub fn detect_only(paths: &Paths, dir: Option<&str>) -> Result<()> {
    let dir = dir.map_or_else(|| paths.app.clone(), PathBuf::from);
    let env = dotenv(&dir)?;
    match select(paths, &dir, &env)? {
        Plan::Single { name, .. } => out::title(&format!("{name} app detected")),
        Plan::Multi(_) => out::title("Multipack app detected"),
    }
    Ok(())
}

/// The account buildpacks run as: `USER`, else herokuish's user, else this process's.
fn build_account() -> Option<Account> {
    let name = var("USER").unwrap_or_else(|| DEFAULT_USER.into());
    Account::named(&name).ok()
}

/// Copies the source to the build path and gathers the build's environment.
fn setup(paths: &Paths, account: &Option<Account>) -> Result<Env> {
    if dir_has_entries(&paths.import) {
        copy_contents(&paths.import, &paths.app)?;
    }
    if paths.build.exists() {
        std::fs::remove_dir_all(&paths.build)?;
    }
    std::fs::create_dir_all(&paths.build)?;
    copy_contents(&paths.app, &paths.build)?;
    for dir in [&paths.cache, &paths.env] {
        std::fs::create_dir_all(dir)?;
    }
    if let Some(account) = account {
        for dir in [
            &paths.app,
            &paths.build,
            &paths.cache,
            &paths.env,
            &paths.buildpacks,
        ] {
            account.take(dir)?;
        }
    }
    let mut env = Env::new();
    env.insert("APP_DIR".into(), paths.app.display().to_string());
    env.insert("HOME".into(), paths.app.display().to_string());
    env.insert("REQUEST_ID".into(), request_id());
    for (key, default) in [("CURL_CONNECT_TIMEOUT", "30"), ("CURL_TIMEOUT", "180")] {
        env.insert(key.into(), var(key).unwrap_or_else(|| default.into()));
    }
    env.extend(dotenv(&paths.app)?);
    Ok(env)
}

fn request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("build-{:x}{:x}", std::process::id(), nanos)
}

/// The variables the app's `.env` exports, as bash reads it (how `BUILDPACK_URL` and the
/// app's config reach the build).
fn dotenv(app: &Path) -> Result<Env> {
    let file = app.join(".env");
    if !file.is_file() {
        return Ok(Env::new());
    }
    let before = shell_env(&[], None)?;
    let after = shell_env(&[], Some(&file))?;
    Ok(after
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v))
        .collect())
}

/// The environment bash has after sourcing `script` (with `set -a`, so plain assignments
/// are exported too) on top of `env`.
fn shell_env(env: &[(String, String)], script: Option<&Path>) -> Result<Env> {
    let source = match script {
        Some(_) => r#"set -a; source "$1" >/dev/null 2>&1; set +a; env -0"#,
        None => "env -0",
    };
    let output = Command::new("bash")
        .args(["-c", source, "bash"])
        .args(script)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("starting bash")?;
    let mut vars = Env::new();
    for entry in output.stdout.split(|b| *b == 0) {
        let entry = String::from_utf8_lossy(entry);
        if let Some((key, value)) = entry.split_once('=')
            && !matches!(key, "_" | "SHLVL" | "PWD" | "OLDPWD")
        {
            vars.insert(key.to_string(), value.to_string());
        }
    }
    Ok(vars)
}

/// The non-blank, non-comment lines of the tree's `.buildpacks`.
fn buildpacks_file(tree: &Path) -> Vec<String> {
    std::fs::read_to_string(tree.join(".buildpacks"))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn select(paths: &Paths, tree: &Path, env: &Env) -> Result<Plan> {
    let listed = buildpacks_file(tree);
    let url = env
        .get("BUILDPACK_URL")
        .cloned()
        .filter(|u| !u.is_empty())
        .or_else(|| var("BUILDPACK_URL"))
        .or_else(|| (listed.len() == 1).then(|| listed[0].clone()));
    if let Some(url) = url {
        out::title(&format!("Fetching custom buildpack {url}"));
        let dir = paths.buildpacks.join(CUSTOM_DIR);
        let source = match Source::parse(&url) {
            Ok(source) => source,
            Err(err) => {
                out::error(&err.to_string());
                return Err(Exit(1).into());
            }
        };
        if source.fetch(&dir).is_err() {
            out::title(&format!("Unable to fetch custom buildpack from {url}"));
            return Err(Exit(1).into());
        }
        // The buildpack asked for builds the app whatever its detect says; only the name
        // it prints is used.
        let detected = Command::new(dir.join("bin/detect"))
            .arg(tree)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let stdout = detected.map(|o| o.stdout).unwrap_or_default();
        let name = buildpacks::detected_name(&stdout, &dir);
        return Ok(Plan::Single { dir, name });
    }
    if listed.len() > 1 {
        return Ok(Plan::Multi(listed));
    }
    let mut matched: Vec<(PathBuf, String)> = Vec::new();
    for pack in buildpacks::installed(paths)? {
        if let Some(name) = buildpacks::detect(&pack.dir, tree) {
            matched.push((pack.dir, name));
        }
    }
    match matched.len() {
        0 => {
            let tried: Vec<String> = buildpacks::installed(paths)?
                .into_iter()
                .map(|p| p.name)
                .collect();
            out::title("Unable to select a buildpack");
            if !tried.is_empty() {
                out::body(&format!("Tried: {}", tried.join(", ")));
            }
            Err(Exit(1).into())
        }
        n => {
            if n > 1 {
                out::title(
                    "Warning: Multiple default buildpacks reported the ability to handle this app. The first buildpack in the list below will be used.",
                );
                let names: Vec<&str> = matched.iter().map(|(_, n)| n.as_str()).collect();
                out::body(&format!("Detected buildpacks: {}", names.join(" ")));
            }
            let (dir, name) = matched.swap_remove(0);
            Ok(Plan::Single { dir, name })
        }
    }
}

/// A buildpack process in the build path, as the app's user, with the build's variables.
fn buildpack_command(
    paths: &Paths,
    account: &Option<Account>,
    program: &Path,
    env: &Env,
) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(&paths.build)
        .envs(env)
        .stdin(Stdio::null());
    if let Some(account) = account {
        account.apply(&mut command);
    }
    command
}

/// `bin/compile BUILD CACHE ENV`, its output indented as it comes.
fn compile(paths: &Paths, account: &Option<Account>, dir: &Path, env: &Env) -> Result<()> {
    let mut command = buildpack_command(paths, account, &dir.join("bin/compile"), env);
    command.arg(&paths.build).arg(&paths.cache).arg(&paths.env);
    let (reader, writer) = std::io::pipe()?;
    command.stdout(writer.try_clone()?).stderr(writer);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", dir.join("bin/compile").display()))?;
    drop(command);
    out::indent_stream(reader);
    let status = child.wait()?;
    if !status.success() {
        out::error("Failed to compile app");
        return Err(Exit(status.code().unwrap_or(1)).into());
    }
    Ok(())
}

/// `bin/release BUILD CACHE`'s YAML, when the buildpack has one.
fn release_of(
    paths: &Paths,
    account: &Option<Account>,
    dir: &Path,
    env: &Env,
) -> Result<Option<String>> {
    let program = dir.join("bin/release");
    if !program.is_file() {
        return Ok(None);
    }
    let mut command = buildpack_command(paths, account, &program, env);
    let output = command
        .arg(&paths.build)
        .arg(&paths.cache)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        bail!("{} failed", program.display());
    }
    Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// Runs every buildpack of the list that claims the app, in order: each one's `export`
/// file sets variables for the next. The release is the last one's.
fn multi(
    paths: &Paths,
    account: &Option<Account>,
    urls: &[String],
    env: &mut Env,
) -> Result<Option<(String, String)>> {
    let mut release = None;
    for (i, url) in urls.iter().enumerate() {
        out::line(&format!("=====> Downloading Buildpack: {url}"));
        let dir = paths.buildpacks.join(MULTI_DIR).join(format!("{i:02}"));
        let fetched = Source::parse(url).and_then(|source| source.fetch(&dir));
        if let Err(err) = fetched {
            out::error(&format!("{url}: {err:#}"));
            return Err(Exit(1).into());
        }
        if let Some(account) = account {
            account.take(&dir)?;
        }
        let Some(name) = buildpacks::detect(&dir, &paths.build) else {
            continue;
        };
        out::line(&format!("=====> Detected Framework: {name}"));
        compile(paths, account, &dir, env)?;
        if let Some(text) = release_of(paths, account, &dir, env)? {
            release = Some((text, name));
        }
        let export = dir.join("export");
        if export.is_file() {
            let pairs: Vec<(String, String)> =
                env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let before = shell_env(&pairs, None)?;
            let after = shell_env(&pairs, Some(&export))?;
            for (key, value) in after {
                if before.get(&key) != Some(&value) {
                    env.insert(key, value);
                }
            }
        }
    }
    Ok(Some(release.unwrap_or_else(|| {
        ("--- {}\n".to_string(), "Multipack".to_string())
    })))
}

/// Keeps the release as `.release` and its config variables in `.profile.d`.
fn write_release(paths: &Paths, text: &str) -> Result<()> {
    write(&paths.build.join(".release"), text)?;
    let release = Release::parse(text);
    if release.config_vars.is_empty() {
        return Ok(());
    }
    let profile = paths.build.join(".profile.d");
    std::fs::create_dir_all(&profile)?;
    let lines: String = release
        .config_vars
        .iter()
        .map(|(key, value)| {
            let value = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("export {key}=\"{value}\"\n")
        })
        .collect();
    write(&profile.join("00_config_vars.sh"), &lines)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The build path's contents become the app path's, dotfiles included.
fn install_slug(paths: &Paths) -> Result<()> {
    for entry in std::fs::read_dir(&paths.app)? {
        let path = entry?.path();
        if path.symlink_metadata()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    for entry in std::fs::read_dir(&paths.build)? {
        let entry = entry?;
        let target = paths.app.join(entry.file_name());
        if std::fs::rename(entry.path(), &target).is_err() {
            copy_contents_of(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Prints the app's process types; without a Procfile, the release's default types
/// become its Procfile.
fn discover_process_types(paths: &Paths, release: Option<&(String, String)>) -> Result<()> {
    out::title("Discovering process types");
    let procfile = paths.app.join("Procfile");
    if let Ok(text) = std::fs::read_to_string(&procfile) {
        let mut kinds: Vec<String> = crate::procfile::entries(&text)
            .into_iter()
            .map(|(kind, _)| kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        out::body(&format!("Procfile declares types -> {}", kinds.join(", ")));
        return Ok(());
    }
    let defaults = release
        .map(|(text, name)| (Release::parse(text).default_process_types, name))
        .filter(|(types, _)| !types.is_empty());
    let Some((types, name)) = defaults else {
        out::body("No process types found");
        return Ok(());
    };
    let lines: String = types
        .iter()
        .map(|(kind, command)| format!("{kind}: {command}\n"))
        .collect();
    write(&procfile, &lines)?;
    let kinds: Vec<&str> = types.iter().map(|(kind, _)| kind.as_str()).collect();
    out::body(&format!("Default types for {name} -> {}", kinds.join(", ")));
    Ok(())
}

fn dir_has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

/// `cp -a FROM/. TO`: everything in FROM, dotfiles included, links kept as links.
fn copy_contents(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    copy_contents_of(&from.join("."), to)
}

fn copy_contents_of(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-a").arg(from).arg(to).status()?;
    if !status.success() {
        bail!("copying {} to {} failed", from.display(), to.display());
    }
    Ok(())
}
