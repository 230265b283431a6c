//! Typed questions to other plugins, asked through triggers: which scheduler runs an app,
//! whether it is deployed, what its config and app.json are. Many plugins ask them; the
//! answers come from whichever plugins implement the triggers, and inside a deploy from the
//! facts its owner gathered once.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::entry::Ctx;

/// Names the file of facts about the app a deploy is for, gathered once by the process
/// that owns the deploy ([`share_deploy_facts`]).
pub const DEPLOY_FACTS_ENV: &str = "DOKKU_DEPLOY_FACTS";

/// What every plugin a deploy starts would otherwise ask again and again. Nothing changes
/// them while the app's deploy lock is held, except what a build and its release bring
/// (the detected ports, the app.json a release adopts), which the deploy's owner updates
/// once the release has them ([`refresh_after_release`]).
#[derive(serde::Serialize, serde::Deserialize)]
struct DeployFacts {
    app: String,
    config: BTreeMap<String, String>,
    own_config: BTreeMap<String, String>,
    scheduler: String,
    app_json: Option<String>,
    /// Answers the first plugin to ask kept for the others ([`remembered`]), by question.
    #[serde(default)]
    answers: BTreeMap<String, String>,
}

/// The question whose answer a build can change: forgotten once the release is in.
const PORTS_QUESTION: &str = "ports-get";

/// The answer `ask` gives, kept in the deploy's facts under `question` for every later
/// asker in the deploy (the first asker pays for the trigger). Outside a deploy it is
/// asked each time. Only answers nothing in the deploy changes are kept this way.
fn remembered(app: &str, question: &str, ask: impl FnOnce() -> Result<String>) -> Result<String> {
    let facts_path = crate::env::var(DEPLOY_FACTS_ENV);
    let Some(mut facts) = deploy_facts(app) else {
        return ask();
    };
    if let Some(answer) = facts.answers.get(question) {
        return Ok(answer.clone());
    }
    let answer = ask()?;
    facts.answers.insert(question.to_string(), answer.clone());
    if let Some(path) = facts_path {
        write_facts(std::path::Path::new(&path), &facts)?;
    }
    Ok(answer)
}

fn write_facts(path: &std::path::Path, facts: &DeployFacts) -> Result<()> {
    crate::fs::write_atomic(path, &serde_json::to_vec(facts)?, 0o600)
}

/// Whether the app's proxy is enabled (`proxy-is-enabled`: anything but `false` is yes).
pub fn proxy_enabled(ctx: &Ctx, app: &str) -> Result<bool> {
    let answer = remembered(app, "proxy-is-enabled", || {
        ctx.trigger("proxy-is-enabled").arg(app).output_string()
    })?;
    Ok(answer.trim() != "false")
}

/// The app's port mappings as the ports plugin answers `ports-get`, a mapping per line.
pub fn ports(ctx: &Ctx, app: &str) -> Result<String> {
    remembered(app, PORTS_QUESTION, || {
        ctx.trigger("ports-get").arg(app).output_string()
    })
}

/// The global config and the app's own, as the config plugin answers them together.
#[derive(serde::Deserialize)]
struct ConfigLayers {
    global: BTreeMap<String, String>,
    app: BTreeMap<String, String>,
}

fn deploy_facts(app: &str) -> Option<DeployFacts> {
    let path = crate::env::var(DEPLOY_FACTS_ENV)?;
    let text = crate::fs::read_optional(std::path::Path::new(&path)).ok()??;
    let facts: DeployFacts = serde_json::from_str(&text).ok()?;
    (facts.app == app).then_some(facts)
}

/// Gathers the deploy's facts once for everything the deploy starts: this process and
/// its children read them through [`app_config`], [`config_value`], [`scheduler`] and
/// [`app_json`] instead of asking other plugins again. The file (readable by this user
/// only) goes when the returned handle is dropped. Call it first thing in a process that
/// owns a deploy, before any thread starts: it sets an environment variable.
pub fn share_deploy_facts(ctx: &Ctx, app: &str) -> Result<Option<tempfile::NamedTempFile>> {
    if deploy_facts(app).is_some() {
        return Ok(None);
    }
    let json = ctx
        .trigger("config-export")
        .args([app, "false", "false", "json-layers"])
        .output_string()?;
    let layers: ConfigLayers = match json.trim() {
        "" => ConfigLayers {
            global: BTreeMap::new(),
            app: BTreeMap::new(),
        },
        text => serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("reading the config of {app}: {e}"))?,
    };
    let mut config = layers.global;
    config.extend(layers.app.clone());
    let facts = DeployFacts {
        app: app.to_string(),
        config,
        own_config: layers.app,
        scheduler: detect_scheduler(ctx, app)?,
        app_json: None,
        answers: BTreeMap::new(),
    };
    let mut file = tempfile::Builder::new()
        .prefix("dokku-deploy-facts-")
        .tempfile()?;
    serde_json::to_writer(&mut file, &facts)?;
    crate::env::set_early(DEPLOY_FACTS_ENV, &file.path().to_string_lossy());
    Ok(Some(file))
}

/// Brings the deploy's facts up to date with its release (inside a deploy only): the
/// app.json the release adopted, and the ports the build detected.
pub fn refresh_after_release(ctx: &Ctx, app: &str) -> Result<()> {
    let (Some(mut facts), Some(path)) = (deploy_facts(app), crate::env::var(DEPLOY_FACTS_ENV))
    else {
        return Ok(());
    };
    facts.app_json = Some(ask_app_json(ctx, app)?);
    facts.answers.remove(PORTS_QUESTION);
    write_facts(std::path::Path::new(&path), &facts)
}

/// The app a deploy running this process is for, if any: whose config the deploy's facts
/// hold.
pub fn deploy_app() -> Option<String> {
    let path = crate::env::var(DEPLOY_FACTS_ENV)?;
    let text = crate::fs::read_optional(std::path::Path::new(&path)).ok()??;
    let facts: DeployFacts = serde_json::from_str(&text).ok()?;
    Some(facts.app)
}

/// Puts a config change made inside a deploy (an app.json's env, a builder's global
/// defaults) into its facts, so that the rest of the deploy sees it: the config plugin
/// calls this with the deploy's app's two layers after it writes either.
pub fn config_changed(
    global: BTreeMap<String, String>,
    own: BTreeMap<String, String>,
) -> Result<()> {
    let Some(path) = crate::env::var(DEPLOY_FACTS_ENV) else {
        return Ok(());
    };
    let Some(app) = deploy_app() else {
        return Ok(());
    };
    let Some(mut facts) = deploy_facts(&app) else {
        return Ok(());
    };
    let mut config = global;
    config.extend(own.clone());
    facts.config = config;
    facts.own_config = own;
    write_facts(std::path::Path::new(&path), &facts)
}

/// The app's merged config (global, then the app's own), through `config-export`: what a
/// build's `--build-arg KEY` and a container's environment take their values from.
pub fn app_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    match deploy_facts(app) {
        Some(facts) => Ok(facts.config),
        None => config_export(ctx, app, true),
    }
}

/// One value of the app's merged config (`config-get`), empty when unset.
pub fn config_value(ctx: &Ctx, app: &str, key: &str) -> Result<String> {
    match deploy_facts(app) {
        Some(facts) => Ok(facts.config.get(key).cloned().unwrap_or_default()),
        None => ctx.trigger("config-get").args([app, key]).output_string(),
    }
}

/// The app's app.json as its plugin answers `app-json-get-content` (`{}` or empty when
/// it has none).
pub fn app_json(ctx: &Ctx, app: &str) -> Result<String> {
    match deploy_facts(app).and_then(|facts| facts.app_json) {
        Some(text) => Ok(text),
        None => ask_app_json(ctx, app),
    }
}

fn ask_app_json(ctx: &Ctx, app: &str) -> Result<String> {
    ctx.trigger("app-json-get-content").arg(app).output_string()
}

/// The app's own config, without the global values (what a release records).
pub fn own_config(ctx: &Ctx, app: &str) -> Result<BTreeMap<String, String>> {
    match deploy_facts(app) {
        Some(facts) => Ok(facts.own_config),
        None => config_export(ctx, app, false),
    }
}

fn config_export(ctx: &Ctx, app: &str, merged: bool) -> Result<BTreeMap<String, String>> {
    let json = ctx
        .trigger("config-export")
        .args([app, "false", if merged { "true" } else { "false" }, "json"])
        .output_string()?;
    if json.trim().is_empty() {
        return Ok(Default::default());
    }
    serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("reading the config of {app}: {e}"))
}

/// The app's scheduler: the first line of `scheduler-detect` (empty when no plugin
/// answers, and then no scheduler trigger finds its name).
pub fn scheduler(ctx: &Ctx, app: &str) -> Result<String> {
    match deploy_facts(app) {
        Some(facts) => Ok(facts.scheduler),
        None => detect_scheduler(ctx, app),
    }
}

fn detect_scheduler(ctx: &Ctx, app: &str) -> Result<String> {
    Ok(ctx
        .trigger("scheduler-detect")
        .arg(app)
        .output_string()?
        .lines()
        .next()
        .map(str::trim)
        .unwrap_or_default()
        .to_string())
}

/// Whether the app's scheduler runs it (`scheduler-is-deployed`); with no scheduler plugin
/// nothing is deployed.
pub fn is_deployed(ctx: &Ctx, app: &str) -> Result<bool> {
    let scheduler = scheduler(ctx, app)?;
    ctx.trigger("scheduler-is-deployed")
        .args([scheduler.as_str(), app])
        .succeeds()
}

/// Whether the app is deployed: its containers run, or a deploy of it finished and it was
/// not stopped since, even if nothing runs (scaled to zero, a process type only run on
/// demand).
pub fn was_deployed(ctx: &Ctx, app: &str) -> Result<bool> {
    let recorded = ctx
        .trigger("ps-get-property")
        .args([app, "deployed"])
        .output_string()?;
    Ok(recorded.trim() == "true" || is_deployed(ctx, app)?)
}

/// One of an app's containers in place, as its scheduler lists it
/// (`scheduler-app-containers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppContainer {
    /// `<type>.<n>`, as `web.1`.
    pub dyno: String,
    pub id: String,
    /// Empty when the container has no address (it is not running).
    pub ip: String,
    /// The port a web container is reached on at `ip`; empty for other types.
    pub port: String,
    /// When `port` is a host port the container's own port is published on (a container
    /// on another host, reached through that host's address): the container port and the
    /// host port. None: `ip` is the container's own address, every port its own.
    pub published: Option<(u16, u16)>,
}

impl AppContainer {
    /// The process type: `web` of `web.1`.
    pub fn kind(&self) -> &str {
        self.dyno
            .split_once('.')
            .map_or(&self.dyno, |(kind, _)| kind)
    }

    /// Where the container's `container_port` is reached: `ip:port` when that is the
    /// port published at `port`, else the container's own port at `ip`.
    pub fn address(&self, container_port: u16) -> String {
        match self.published {
            Some((target, host)) if target == container_port => format!("{}:{host}", self.ip),
            _ => format!("{}:{container_port}", self.ip),
        }
    }

    /// One `<dyno> <id> <ip> <port> [<container port>]` line (the last when `port` is
    /// the host port that container port is published on); fields are single-space
    /// separated and may be empty, so the words are not squeezed.
    pub fn parse(line: &str) -> Option<AppContainer> {
        let mut fields = line.split(' ');
        let (dyno, id) = (fields.next()?, fields.next()?);
        if dyno.is_empty() || id.is_empty() {
            return None;
        }
        let ip = fields.next().unwrap_or_default().to_string();
        let port = fields.next().unwrap_or_default().to_string();
        let published = fields
            .next()
            .and_then(|target| target.parse().ok())
            .zip(port.parse().ok());
        Some(AppContainer {
            dyno: dyno.to_string(),
            id: id.to_string(),
            ip,
            port,
            published,
        })
    }
}

/// The app's containers in place, from its scheduler.
pub fn app_containers(ctx: &Ctx, app: &str) -> Result<Vec<AppContainer>> {
    let scheduler = scheduler(ctx, app)?;
    Ok(ctx
        .trigger("scheduler-app-containers")
        .args([scheduler.as_str(), app])
        .output_lines()?
        .iter()
        .filter_map(|line| AppContainer::parse(line))
        .collect())
}

/// A config variable a plugin now keeps as a property (Dokku's `prop
/// migrate-config-to-property`).
pub struct ConfigToProperty<'a> {
    pub property: &'a str,
    /// The app variable (none: only the global one moves).
    pub var: Option<&'a str>,
    /// The global variable that becomes the global property.
    pub global_var: Option<&'a str>,
    /// How a value becomes the property's (`None`: as it is).
    pub transform: Option<fn(&str) -> String>,
    /// The property is a list: the value's words, one per line.
    pub list: bool,
}

/// Moves config variables into `namespace`'s properties, after the pre-0.38 ENV files
/// were drained (`config-migrate-env`): for the host and every app, a variable that is set
/// becomes the property unless the property exists already, and is unset (no restart).
pub fn migrate_config_to_property(
    ctx: &Ctx,
    namespace: &str,
    entries: &[ConfigToProperty],
) -> Result<()> {
    if let Err(err) = ctx.trigger("config-migrate-env").stdin(Vec::new()).stream() {
        crate::log::warn(&format!("Unable to migrate legacy env files: {err:#}"));
    }
    let props = crate::property::Properties::new(&ctx.roots, namespace);
    let apps = crate::app::list(&ctx.roots)?;
    for entry in entries {
        let slots = entry
            .global_var
            .map(|var| (crate::property::GLOBAL.to_string(), var))
            .into_iter()
            .chain(
                entry
                    .var
                    .into_iter()
                    .flat_map(|var| apps.iter().map(move |app| (app.to_string(), var))),
            );
        for (slot, var) in slots {
            // One app whose config cannot be read (a link where its directory was) keeps
            // no other from its migration.
            if let Err(err) = migrate_one(ctx, &props, namespace, entry, &slot, var) {
                crate::log::warn(&format!("{slot}: {err:#}"));
            }
        }
    }
    Ok(())
}

fn migrate_one(
    ctx: &Ctx,
    props: &crate::property::Properties,
    namespace: &str,
    entry: &ConfigToProperty,
    slot: &str,
    var: &str,
) -> Result<()> {
    if props.get(slot, entry.property)?.is_some() {
        return Ok(());
    }
    let global = slot == crate::property::GLOBAL;
    let value = match global {
        true => ctx.trigger("config-get-global").arg(var).output_string()?,
        false => ctx
            .trigger("config-get")
            .args([slot, var])
            .output_string()?,
    };
    let value = value.trim_end_matches('\n');
    if value.is_empty() {
        return Ok(());
    }
    let value = entry.transform.map_or(value.to_string(), |t| t(value));
    let property = entry.property;
    let (scope, owner, how) = match global {
        true => (
            format!("global {var}"),
            String::new(),
            format!("--global {property}"),
        ),
        false => (
            var.to_string(),
            format!(" for {slot}"),
            format!("{slot} {property}"),
        ),
    };
    crate::log::info1(&format!(
        "Migrating deprecated {scope} to {namespace} {property} property{owner}. Use 'dokku {namespace}:set {how} <value>' to manage this going forward."
    ));
    if entry.list {
        let items: Vec<String> = value.split_whitespace().map(String::from).collect();
        props.set_list(slot, property, &items)?;
    } else {
        props.set(slot, property, &value)?;
    }
    let unset = ctx
        .trigger("config-unset")
        .args(["--no-restart", slot, var])
        .env(crate::env::DOKKU_QUIET_OUTPUT, "1")
        .stream();
    if let Err(err) = unset {
        crate::log::warn(&format!("{err:#}"));
    }
    Ok(())
}

#[cfg(test)]
mod app_container_tests {
    use super::*;

    #[test]
    fn lines_keep_their_empty_fields() {
        let web = AppContainer::parse("web.1 abc 172.17.0.2 5000").unwrap();
        assert_eq!(
            (web.kind(), web.ip.as_str(), web.port.as_str()),
            ("web", "172.17.0.2", "5000")
        );
        let stopped = AppContainer::parse("web.2 def  5000").unwrap();
        assert_eq!((stopped.ip.as_str(), stopped.port.as_str()), ("", "5000"));
        let worker = AppContainer::parse("worker.1 ghi 172.17.0.3").unwrap();
        assert_eq!((worker.kind(), worker.port.as_str()), ("worker", ""));
        assert!(AppContainer::parse("").is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_line_says_where_each_port_is_reached() {
        let local = AppContainer::parse("web.1 abc 172.17.0.2 5000").unwrap();
        assert_eq!(local.published, None);
        assert_eq!(local.address(5000), "172.17.0.2:5000");
        assert_eq!(local.address(8080), "172.17.0.2:8080");
        let remote = AppContainer::parse("web.2 def 10.0.0.12 32768 5000").unwrap();
        assert_eq!(remote.published, Some((5000, 32768)));
        assert_eq!(remote.address(5000), "10.0.0.12:32768");
        let worker = AppContainer::parse("worker.1 ghi 172.17.0.3 ").unwrap();
        assert_eq!((worker.kind(), worker.port.as_str()), ("worker", ""));
        assert!(AppContainer::parse(" abc").is_none());
    }
}
