//! `config:*` commands and the triggers other plugins call. Flags are matched as whole
//! words anywhere (as Dokku users type them); everything else is positional, so a value
//! such as `OPTS=--verbose` is never mistaken for a flag.

use anyhow::{Result, bail};
use base64::Engine;
use dokku_core::app;
use dokku_core::entry::Ctx;
use dokku_core::env::Roots;
use dokku_core::property::GLOBAL;
use dokku_core::trigger::Trigger;
use dokku_core::{Error, log};

use crate::envfile::{self, Env};
use crate::export;
use crate::store::{Store, Target};

struct Args {
    flags: Vec<String>,
    format: Option<String>,
    positional: Vec<String>,
}

impl Args {
    /// Splits `args` into the `allowed` flags, `--format` (when allowed) and positionals.
    fn parse(command: &str, args: &[String], allowed: &[&str]) -> Result<Args> {
        let mut out = Args {
            flags: Vec::new(),
            format: None,
            positional: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let takes_format = allowed.contains(&"--format");
            if takes_format && arg == "--format" {
                match it.next() {
                    Some(value) => out.format = Some(value.clone()),
                    None => bail!("--format requires a value: {}", export::FORMATS.join("|")),
                }
            } else if let Some(value) = arg.strip_prefix("--format=").filter(|_| takes_format) {
                out.format = Some(value.to_string());
            } else if allowed.contains(&arg.as_str()) {
                out.flags.push(arg.clone());
            } else if arg.starts_with("--") && !arg.contains('=') {
                bail!("{command}: unknown flag {arg}");
            } else {
                out.positional.push(arg.clone());
            }
        }
        Ok(out)
    }

    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The target: `--global` (flag or first word), else the first positional, an
    /// existing app; the positionals that follow it stay.
    fn target(&mut self, roots: &Roots) -> Result<Target> {
        let (target, rest) = Target::parse(roots, self.has(GLOBAL), &self.positional)?;
        self.positional = rest.to_vec();
        Ok(target)
    }
}

fn context(ctx: &Ctx) -> (Roots, Store) {
    (ctx.roots.clone(), Store::new(ctx.roots.clone()))
}

fn load(store: &Store, target: &Target, merged: bool) -> Result<Env> {
    if merged {
        store.load_merged(target)
    } else {
        store.load(target)
    }
}

fn no_extra(command: &str, args: &Args) -> Result<()> {
    match args.positional.first() {
        Some(extra) => bail!("{command}: unexpected argument '{extra}'"),
        None => Ok(()),
    }
}

/// `config` and `config:show`: a heading, then the pretty listing.
/// `config/config_sub ACTION ARGS...`, which Dokku's bash `config/functions` run: each
/// action is the command of that name, with the same flags and output.
pub fn config_sub(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some((action, rest)) = args.split_first() else {
        bail!("config_sub: missing action");
    };
    let command: fn(&Ctx, &[String]) -> Result<()> = match action.as_str() {
        "clear" => clear,
        "export" => export,
        "get" => get,
        "keys" => keys,
        "set" => set,
        "show" => show,
        "unset" => unset,
        other => bail!("config_sub: '{other}' is not supported"),
    };
    command(ctx, &dokku_core::entry::strip_global_flags(rest))
}

pub fn show(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse("config:show", args, &[GLOBAL, "--merged"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    no_extra("config:show", &args)?;
    let env = load(&store, &target, args.has("--merged"))?;
    match &target {
        Target::Global => log::info2_quiet("global env vars"),
        Target::App(app) => log::info2_quiet(&format!("{app} env vars")),
    }
    if !env.is_empty() {
        log::data(&export::render(&env, "pretty")?);
    }
    Ok(())
}

pub fn get(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse("config:get", args, &[GLOBAL, "--merged", "--quoted"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    let [key] = args.positional.as_slice() else {
        bail!("Expected: config:get [--quoted] <app>|--global KEY");
    };
    let env = load(&store, &target, args.has("--merged"))?;
    match env.get(key) {
        Some(value) if args.has("--quoted") => {
            log::data(&format!("'{}'", value.replace('\'', "'\\''")))
        }
        Some(value) => log::data(value),
        None => return Err(Error::Exit(1).into()),
    }
    Ok(())
}

pub fn keys(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse("config:keys", args, &[GLOBAL, "--merged"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    no_extra("config:keys", &args)?;
    for key in load(&store, &target, args.has("--merged"))?.keys() {
        log::data(key);
    }
    Ok(())
}

pub fn export(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse("config:export", args, &[GLOBAL, "--merged", "--format"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    no_extra("config:export", &args)?;
    let format = args.format.as_deref().unwrap_or("exports");
    let env = load(&store, &target, args.has("--merged"))?;
    let text = export::render(&env, format)?;
    if !text.is_empty() {
        log::data(&text);
    }
    Ok(())
}

/// `KEY=VALUE` pairs, checked before anything is written.
fn pairs(words: &[String], encoded: bool) -> Result<Vec<(String, String)>> {
    if words.is_empty() {
        bail!("At least one env pair must be given");
    }
    words
        .iter()
        .map(|word| {
            let Some((key, value)) = word.split_once('=') else {
                bail!("Invalid env pair: {word}");
            };
            let value = if encoded {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|e| anyhow::anyhow!("Invalid base64 value for {key}: {e}"))?;
                String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("The value of {key} is not valid UTF-8"))?
            } else {
                value.to_string()
            };
            checked(key, value)
        })
        .collect()
}

/// A variable any environment can hold: a shell's key, a value without NUL.
fn checked(key: &str, value: String) -> Result<(String, String)> {
    if !envfile::valid_key(key) {
        bail!("Invalid key name: '{key}' (keys match [A-Za-z_][A-Za-z0-9_]*)");
    }
    if value.contains('\0') {
        bail!("The value of {key} contains a NUL byte, which no environment can hold");
    }
    Ok((key.to_string(), value))
}

/// Whether a change is told to the user: the commands speak, the triggers other plugins
/// call do not (their caller has its own output).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Voice {
    Command,
    Trigger,
}

/// `config:set [--encoded] [--no-restart] APP|--global K=V...`.
pub fn set(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_vars(ctx, args, Voice::Command)
}

/// `config-set`: `config:set`'s arguments, and nothing printed.
pub fn trigger_set(ctx: &Ctx, args: &[String]) -> Result<()> {
    set_vars(ctx, args, Voice::Trigger)
}

fn set_vars(ctx: &Ctx, args: &[String], voice: Voice) -> Result<()> {
    let mut args = Args::parse("config:set", args, &[GLOBAL, "--encoded", "--no-restart"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    let pairs = pairs(&args.positional, args.has("--encoded"))?;
    if voice == Voice::Command && !dokku_core::env::quiet() {
        log::info1("Setting config vars");
        let rows: Vec<(String, String)> = pairs.clone();
        log::verbose(&log::columns(&rows).join("\n"));
    }
    let keys: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
    store.update(&target, |env| env.extend(pairs))?;
    after_change(&roots, &target, "set", &keys, args.has("--no-restart"))
}

/// `config:import [--replace] [--no-restart] [--format envfile|json] APP|--global FILE|-`:
/// the variables of a dotenv file (or a JSON object), or of stdin, set as `config:set`
/// sets them; with `--replace`, the only ones left. The file is read as the dokku user.
pub fn import(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse(
        "config:import",
        args,
        &[GLOBAL, "--replace", "--no-restart", "--format"],
    )?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    let [file] = args.positional.as_slice() else {
        bail!("Please specify a file to import, or - to read stdin");
    };
    let text = if file == "-" {
        log::info1_quiet("Reading config vars from stdin");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("Unable to read {file}: {e}"))?
    };
    let imported: Env = match args.format.as_deref().unwrap_or("envfile") {
        "envfile" => {
            let parsed = envfile::parse(&text)?;
            if let Some(key) = parsed.invalid_keys.first() {
                checked(key, String::new())?;
            }
            parsed.env
        }
        "json" => json_object(&text)?,
        other => bail!("Unknown format: {other}"),
    };
    let imported: Env = imported
        .into_iter()
        .map(|(key, value)| checked(&key, value))
        .collect::<Result<_>>()?;
    if imported.is_empty() {
        bail!("No config vars to set");
    }
    if !dokku_core::env::quiet() {
        log::info1("Setting config vars");
        let rows: Vec<(String, String)> = imported.clone().into_iter().collect();
        log::verbose(&log::columns(&rows).join("\n"));
    }
    let replace = args.has("--replace");
    let keys = store.update(&target, |env| {
        let mut keys: Vec<String> = imported.keys().cloned().collect();
        if replace {
            keys.extend(env.keys().filter(|k| !imported.contains_key(*k)).cloned());
            env.clear();
        }
        env.extend(imported);
        keys
    })?;
    after_change(&roots, &target, "set", &keys, args.has("--no-restart"))
}

/// A JSON object's members as variables: strings as they are, numbers and booleans as
/// written.
fn json_object(text: &str) -> Result<Env> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("Invalid JSON: {e}"))?;
    let Some(object) = value.as_object() else {
        bail!("Invalid JSON: expected an object of KEY: value");
    };
    object
        .iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(_) | serde_json::Value::Bool(_) => value.to_string(),
                _ => bail!("Invalid value for {key}: a string, number or boolean"),
            };
            Ok((key.clone(), text))
        })
        .collect()
}

/// `config:unset [--no-restart] APP|--global KEY...`.
pub fn unset(ctx: &Ctx, args: &[String]) -> Result<()> {
    unset_vars(ctx, args, Voice::Command)
}

/// `config-unset`: `config:unset`'s arguments, and nothing printed.
pub fn trigger_unset(ctx: &Ctx, args: &[String]) -> Result<()> {
    unset_vars(ctx, args, Voice::Trigger)
}

fn unset_vars(ctx: &Ctx, args: &[String], voice: Voice) -> Result<()> {
    let mut args = Args::parse("config:unset", args, &[GLOBAL, "--no-restart"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    if args.positional.is_empty() {
        bail!("At least one key must be given");
    }
    if let Some(bad) = args.positional.iter().find(|k| !envfile::valid_key(k)) {
        bail!("Invalid key name: '{bad}'");
    }
    let removed = store.update(&target, |env| {
        args.positional
            .iter()
            .map(|key| (key.clone(), env.remove(key).is_some()))
            .collect::<Vec<_>>()
    })?;
    for (key, was_set) in removed.iter().filter(|_| voice == Voice::Command) {
        if *was_set {
            log::info1_quiet(&format!("Unsetting {key}"));
        } else {
            log::info1_quiet(&format!("Skipping {key}, it is not set in the environment"));
        }
    }
    let keys: Vec<String> = removed
        .into_iter()
        .filter(|(_, was_set)| *was_set)
        .map(|(k, _)| k)
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    after_change(&roots, &target, "unset", &keys, args.has("--no-restart"))
}

pub fn clear(ctx: &Ctx, args: &[String]) -> Result<()> {
    let mut args = Args::parse("config:clear", args, &[GLOBAL, "--no-restart"])?;
    let (roots, store) = context(ctx);
    let target = args.target(&roots)?;
    no_extra("config:clear", &args)?;
    log::info1_quiet("Clearing config vars");
    let keys: Vec<String> = store.update(&target, |env| {
        let keys = env.keys().cloned().collect();
        env.clear();
        keys
    })?;
    after_change(&roots, &target, "clear", &keys, args.has("--no-restart"))
}

/// `post-config-update TARGET ACTION KEYS...`, then the restart: a deployed app (never
/// global) without `--no-restart` is released and deployed again (`release-and-deploy`).
/// The config change stands either way; a restart that fails (a deploy running, a check
/// failing) is the command's failure, since the containers do not have the new values.
fn after_change(
    roots: &Roots,
    target: &Target,
    action: &str,
    keys: &[String],
    no_restart: bool,
) -> Result<()> {
    Trigger::with_roots("post-config-update", roots.clone())
        .arg(target.slot())
        .arg(action)
        .args(keys)
        .stream()?;
    let Target::App(app) = target else {
        return Ok(());
    };
    let restart = Trigger::with_roots("release-and-deploy", roots.clone()).args([
        app.as_str(),
        "",
        "config-redeploy",
    ]);
    let ctx = Ctx {
        roots: roots.clone(),
    };
    if no_restart || !dokku_core::ask::was_deployed(&ctx, app.as_str())? {
        return Ok(());
    }
    log::info1_quiet(&format!("Restarting app {app}"));
    restart.stream().map_err(|err| {
        anyhow::anyhow!(
            "The config of {app} is saved but its containers do not have it: {err:#}. `dokku ps:restart {app}` applies it"
        )
    })
}

fn trigger_target(roots: &Roots, slot: &str) -> Result<Target> {
    if slot == GLOBAL {
        return Ok(Target::Global);
    }
    Ok(Target::App(app::verify(roots, slot)?))
}

/// `config-replace APP`: the app's own variables become exactly those of the JSON object
/// on stdin (a rollback restoring a release's config). Nothing restarts: the caller
/// deploys. Checked like `config:set` before anything is written.
pub fn trigger_replace(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = dokku_core::entry::exactly::<1>("config-replace", args)?;
    let (roots, store) = context(ctx);
    let target = Target::App(app::verify(&roots, app)?);
    let mut input = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
    let wanted: Env = serde_json::from_str(&input)
        .map_err(|e| anyhow::anyhow!("config-replace: expected a JSON object of strings: {e}"))?;
    if let Some(bad) = wanted.keys().find(|k| !envfile::valid_key(k)) {
        bail!("Invalid key name: '{bad}'");
    }
    if let Some((key, _)) = wanted.iter().find(|(_, v)| v.contains('\0')) {
        bail!("The value of {key} contains a NUL byte, which no environment can hold");
    }
    let changed: Vec<String> = store.update(&target, |env| {
        let changed = env
            .keys()
            .chain(wanted.keys())
            .filter(|k| env.get(*k) != wanted.get(*k))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>();
        *env = wanted;
        changed.into_iter().collect()
    })?;
    if changed.is_empty() {
        return Ok(());
    }
    Trigger::with_roots("post-config-update", roots)
        .arg(target.slot())
        .arg("replace")
        .args(&changed)
        .stream()
}

/// `config-get APP KEY`: the raw value, no newline; nothing when unset.
pub fn trigger_get(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("config-get", args)?;
    let (roots, store) = context(ctx);
    let env = store.load_merged(&trigger_target(&roots, app)?)?;
    log::raw(env.get(key).map(String::as_bytes).unwrap_or_default());
    Ok(())
}

/// `config-get-global KEY`.
pub fn trigger_get_global(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [key] = dokku_core::entry::exactly::<1>("config-get-global", args)?;
    let (_, store) = context(ctx);
    let env = store.load(&Target::Global)?;
    log::raw(env.get(key).map(String::as_bytes).unwrap_or_default());
    Ok(())
}

/// `config-export APP GLOBAL(true|false) MERGED(true|false) FORMAT`; the format
/// [`export::LAYERS`] answers the global and the app's own config at once.
pub fn trigger_export(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, global, merged, format] = dokku_core::entry::exactly::<4>("config-export", args)?;
    let (roots, store) = context(ctx);
    let target = if global == "true" {
        Target::Global
    } else {
        trigger_target(&roots, app)?
    };
    if format == export::LAYERS {
        let layers = serde_json::json!({
            "global": store.load(&Target::Global)?,
            "app": store.load(&target)?,
        });
        log::data(&layers.to_string());
        return Ok(());
    }
    let env = load(&store, &target, merged == "true")?;
    log::raw(export::render(&env, format)?.as_bytes());
    Ok(())
}

/// `install` and `config-migrate-env`: the global config's directory is made, and the
/// pre-0.38 ENV files of the host and every app are drained.
pub fn trigger_migrate(ctx: &Ctx, _args: &[String]) -> Result<()> {
    // The global config's directory is there from the start, the dokku user's, as Dokku
    // has it: tools that write its ENV as that user expect it.
    std::fs::create_dir_all(ctx.roots.lib_root.join("config").join(GLOBAL))?;
    let (_, store) = context(ctx);
    let apps = app::list(&ctx.roots)?.into_iter().map(Target::App);
    for target in std::iter::once(Target::Global).chain(apps) {
        if let Err(err) = store.migrate(&target) {
            log::warn(&format!("{err:#}"));
        }
    }
    Ok(())
}

/// `post-create APP`: a new app never had a pre-0.38 ENV file to drain, and is on record
/// as such (a file that appears later is not imported).
pub fn trigger_post_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = app::verify(&ctx.roots, args.first().ok_or(Error::MissingApp)?)?;
    context(ctx).1.migrate(&Target::App(app))
}

/// `post-delete APP [IMAGE_REPO]`.
pub fn trigger_post_delete(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    context(ctx).1.destroy(app)
}

/// `post-app-clone-setup OLD NEW` and `post-app-rename-setup OLD NEW`: the new app gets
/// the old one's variables (a rename's destroy then removes the old file).
pub fn trigger_copy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = dokku_core::entry::exactly::<2>("post-app-*-setup", args)?;
    context(ctx).1.copy(old, new)
}
