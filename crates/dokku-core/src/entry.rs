//! Multicall `main` for plugin binaries. One binary answers many entry points; which one
//! was invoked is read from `argv[0]` (a symlink's own name, never `current_exe()`):
//! `commands`, `subcommands/<name>`, a trigger name, or the binary's own `dokku-<plugin>`
//! name (treated as `commands`, for install.sh and debugging).

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use crate::app::AppName;
use crate::env;
use crate::error::{self, Error};
use crate::log;
use crate::settings::{Change, Settings};

/// What every command and trigger runs with: the host's roots, read once at the start.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub roots: crate::env::Roots,
}

impl Ctx {
    pub fn from_env() -> Ctx {
        Ctx {
            roots: crate::env::Roots::from_env(),
        }
    }

    /// A trigger on this host.
    pub fn trigger(&self, name: &str) -> crate::trigger::Trigger {
        crate::trigger::Trigger::with_roots(name, self.roots.clone())
    }
}

/// A trigger's arguments when it takes exactly `N`.
pub fn exactly<'a, const N: usize>(trigger: &str, args: &'a [String]) -> Result<&'a [String; N]> {
    args.try_into()
        .map_err(|_| anyhow!("{trigger}: expected {N} arguments, got {}", args.len()))
}

/// A command or trigger implementation: receives the user's arguments (the command name
/// already stripped).
pub type Run = fn(&Ctx, &[String]) -> Result<()>;

#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// `create` for `apps:create`.
    pub name: &'static str,
    /// Argument synopsis for help, e.g. `<app>`.
    pub args: &'static str,
    /// One-line description; an empty one hides the command from help.
    pub help: &'static str,
    pub run: Run,
}

#[derive(Debug, Clone, Copy)]
pub struct TriggerEntry {
    pub name: &'static str,
    pub run: Run,
}

/// Everything a plugin binary answers.
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    pub name: &'static str,
    pub description: &'static str,
    /// What `<plugin>:help` says the plugin is, where Dokku words it apart from the
    /// description `dokku help` lists (none: the description).
    pub usage: Option<&'static str>,
    /// The subcommand a bare `dokku <plugin> ARGS` runs (`config` -> `show`); help if none.
    pub default_command: Option<&'static str>,
    /// Run as root by root. Every other plugin binary started by root switches to the dokku
    /// user before it does anything (see [`crate::privilege`]); one that keeps root manages
    /// root's own files (the plugin tree) or switches itself once it has read root's input.
    pub keeps_root: bool,
    /// Commands only root may run (SSH keys never): they keep root when root runs them,
    /// and the dispatcher refuses them to anyone else. Every other entry point switches as
    /// [`Plugin::keeps_root`] says.
    pub root_commands: &'static [&'static str],
    /// Other command prefixes this plugin answers (`nginx` for `nginx-vhosts:set`).
    pub aliases: &'static [&'static str],
    /// Commands of this plugin that users type bare, without the `<plugin>:` prefix
    /// (`url`, `git-receive-pack`).
    pub words: &'static [&'static str],
    /// Triggers of this plugin that concern only some callers (see [`Guard`]).
    pub guards: &'static [Guard],
    /// Triggers of this plugin that add nothing for apps without its properties (see
    /// [`AppScoped`]).
    pub app_scoped: &'static [AppScoped],
    /// Triggers of this plugin that concern only calls with one argument value (see
    /// [`Concerns`]).
    pub concerns: &'static [Concerns],
    /// The files this plugin keeps with each build (see [`BuildFile`]).
    pub build_files: &'static [BuildFile],
    pub commands: &'static [Command],
    pub triggers: &'static [TriggerEntry],
    /// Executables other plugins run by path rather than as triggers (the bash helper
    /// library's `common/prop`, `config/config_sub`); each gets its arguments as given.
    pub helpers: &'static [TriggerEntry],
    /// The plugin's settable properties. With a table, [`main`] answers `<plugin>:set` and
    /// `<plugin>:report` (unless `commands` has its own command of that name) and the
    /// settings' share of `post-app-clone-setup`, `post-app-rename-setup` and `post-delete`,
    /// before the plugin's own trigger of that name, if it has one.
    pub settings: Option<&'static Settings>,
    pub hooks: Hooks,
}

impl Plugin {
    /// What a plugin literal leaves out: `Plugin { name, description, commands, ..Plugin::DEFAULTS }`.
    pub const DEFAULTS: Plugin = Plugin {
        name: "",
        description: "",
        usage: None,
        default_command: None,
        keeps_root: false,
        root_commands: &[],
        aliases: &[],
        words: &[],
        guards: &[],
        app_scoped: &[],
        concerns: &[],
        build_files: &[],
        commands: &[],
        triggers: &[],
        helpers: &[],
        settings: None,
        hooks: Hooks::NONE,
    };
}

/// The plugin's `trigger` concerns only callers whose SSH key name starts with
/// `key_names`: for anyone else it would answer "yes" without looking, and the dispatcher
/// does not start it (the deploy-keys plugin's `user-auth` concerns deploy keys only).
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    pub trigger: &'static str,
    pub key_names: &'static str,
}

/// The plugin's `trigger`, whose first argument is an app (the third for
/// `post-container-create`, the second for `post-release-builder`), adds nothing when neither the
/// app nor `--global` has properties in `config/<namespace>` (or, with a `key`, that
/// property): given empty stdin (nothing for a filter to pass on), the trigger runner
/// does not start it then (the storage plugin's
/// `docker-args-deploy` for an app without mounts, the builder's `core-post-extract`
/// without a `build-dir`).
#[derive(Debug, Clone, Copy)]
pub struct AppScoped {
    pub trigger: &'static str,
    pub namespace: &'static str,
    pub key: Option<&'static str>,
}

/// The plugin's `trigger` answers only calls whose argument `arg` (from 0) is `value`, and
/// does nothing for any other: the trigger runner does not start it for those (a builder's
/// `builder-build BUILDER APP DIR` for another builder).
#[derive(Debug, Clone, Copy)]
pub struct Concerns {
    pub trigger: &'static str,
    pub arg: usize,
    pub value: &'static str,
}

/// A file a plugin keeps with each build, in `data/<data>/<app>/builds/<tag>/<name>`, and
/// adopts as the app's (`data/<data>/<app>/<name>`) when the build is released
/// ([`crate::build_files`]). Declaring it says that the plugin's `core-post-extract`,
/// `post-extract`, `pre-release-builder` and `post-release-builder` concern only its build
/// files: the trigger runner does not start the plugin for a tree without any of them, or
/// for a release when neither the build nor the app has one (an app without a Procfile, app.json or CHECKS,
/// the usual case). With an app scope on the same trigger, both must have nothing.
#[derive(Debug, Clone, Copy)]
pub struct BuildFile {
    pub data: &'static str,
    pub name: &'static str,
    /// Where the file is in the tree: the computed value of this setting
    /// (`(namespace, key)`, whose default is `name`); `name` itself when None.
    pub path_setting: Option<(&'static str, &'static str)>,
}

/// A plugin's report rows beyond its settings', for each of the apps a report covers (in
/// their order): `(flag, value)` pairs. It gets them all at once, so that what it asks
/// other plugins is asked in one round ([`crate::trigger::Trigger::output_each`]).
pub type ReportRows = fn(&Ctx, &[AppName]) -> Result<Vec<Vec<(String, String)>>>;

/// A plugin's additions to the settings commands [`main`] answers for it.
#[derive(Debug, Clone, Copy)]
pub struct Hooks {
    /// Rows of `<plugin>:report [APP]` beyond the settings' own.
    pub report_rows: Option<ReportRows>,
    /// Runs after `<plugin>:set` changed a property (the git plugin repoints HEAD).
    pub after_set: Option<fn(&Ctx, &Change) -> Result<()>>,
    /// `<plugin>:report --global` shows the global values only, not the computed ones
    /// (Dokku's nginx report).
    pub global_report_values_only: bool,
}

impl Hooks {
    pub const NONE: Hooks = Hooks {
        report_rows: None,
        after_set: None,
        global_report_values_only: false,
    };
}

/// The triggers whose settings' share [`main`] answers for a plugin with a settings table.
const SETTINGS_TRIGGERS: [&str; 3] = [
    "post-app-clone-setup",
    "post-app-rename-setup",
    "post-delete",
];

/// A command as help and `--entrypoints` list it: the plugin's own, or one its settings
/// table gives it.
struct Listed {
    name: &'static str,
    args: &'static str,
    help: String,
}

/// Every command the plugin answers, sorted by name.
fn listed_commands(plugin: &Plugin) -> Vec<Listed> {
    let mut out: Vec<Listed> = plugin
        .commands
        .iter()
        .map(|c| Listed {
            name: c.name,
            args: c.args,
            help: c.help.to_string(),
        })
        .collect();
    if let Some(settings) = plugin.settings {
        let ns = settings.namespace;
        let article = if ns.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        for (name, args, help) in [
            (
                "report",
                "[<app>|--global] [--format stdout|json] [<flag>]",
                format!("Displays {article} {ns} report for one or more apps"),
            ),
            (
                "set",
                "[<app>|--global] <key> [<value>]",
                format!("Set or clear {article} {ns} property for an app"),
            ),
        ] {
            if !out.iter().any(|c| c.name == name) {
                out.push(Listed { name, args, help });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(b.name));
    out
}

/// Every trigger the plugin answers, sorted by name.
fn listed_triggers(plugin: &Plugin) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = plugin.triggers.iter().map(|t| t.name).collect();
    if plugin.settings.is_some() {
        out.extend(SETTINGS_TRIGGERS);
    }
    out.sort();
    out.dedup();
    out
}

/// Which entry point `argv[0]` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Commands,
    Subcommand(String),
    Trigger(String),
}

impl Entry {
    pub fn from_argv0(argv0: &Path) -> Entry {
        let name = argv0
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = argv0
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        if parent.as_deref() == Some("subcommands") {
            Entry::Subcommand(name)
        } else if name == "commands" || name.starts_with("dokku-") {
            Entry::Commands
        } else {
            Entry::Trigger(name)
        }
    }
}

/// The binary's `main`: routes, runs, prints one error line, exits with the right code.
pub fn main(plugin: &Plugin) -> ! {
    exit(run(plugin, std::env::args_os().collect()).map(|()| 0))
}

/// Ends the process: an error is printed once, as ` !     message`, and picks the code.
pub fn exit(result: Result<i32>) -> ! {
    let code = match result {
        Ok(code) => code,
        Err(err) => {
            let (code, message) = error::classify(&err);
            if let Some(message) = message {
                log::warn(&message);
            }
            code
        }
    };
    std::process::exit(code)
}

fn run(plugin: &Plugin, argv: Vec<OsString>) -> Result<()> {
    let ctx = Ctx::from_env();
    let mut argv = argv.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    let args: Vec<String> = argv
        .map(|a| {
            a.into_string()
                .map_err(|a| anyhow!("argument {a:?} is not valid UTF-8"))
        })
        .collect::<Result<_>>()?;
    let entry = Entry::from_argv0(Path::new(&argv0));
    if entry == Entry::Commands && args == [ENTRYPOINTS_FLAG] {
        print_entrypoints(plugin);
        return Ok(());
    }
    let root_command = match &entry {
        Entry::Subcommand(name) => plugin.root_commands.contains(&name.as_str()),
        Entry::Commands => args.first().is_some_and(|first| {
            first.split_once(':').is_some_and(|(prefix, sub)| {
                answers_prefix(plugin, prefix) && plugin.root_commands.contains(&sub)
            })
        }),
        Entry::Trigger(_) => false,
    };
    if root_command {
        // The dispatcher refuses these to everyone but root; a direct call is held to the
        // same rule.
        crate::privilege::require_root(&ctx.roots)?;
    } else if !plugin.keeps_root {
        crate::privilege::drop_to_system_user(&ctx.roots)?;
    }
    // A helper is a library function bash plugins run by path: its arguments, output and
    // exit code are the caller's to read as they are.
    if let Entry::Trigger(name) = &entry
        && let Some(helper) = plugin.helpers.iter().find(|h| h.name == name)
    {
        return (helper.run)(&ctx, &args);
    }
    match entry {
        Entry::Commands => commands(&ctx, plugin, &args),
        Entry::Subcommand(name) => {
            let full = format!("{}:{name}", plugin.name);
            // The command as typed comes first: `<plugin>:<name>`, or through one of the
            // dispatcher's aliases (`nginx:set` for nginx-vhosts).
            let typed = |first: &str| {
                first == full
                    || first == name
                    || answers_prefix(plugin, first)
                    || first.split_once(':').is_some_and(|(_, sub)| sub == name)
            };
            let rest = match args.first() {
                Some(first) if typed(first) => &args[1..],
                _ => &args[..],
            };
            run_command(&ctx, plugin, &name, rest)
        }
        Entry::Trigger(name) if args.is_empty() && env::flag(crate::trigger::EACH_ENV) => {
            run_trigger_each(&ctx, plugin, &name)
        }
        Entry::Trigger(name) => run_trigger(&ctx, plugin, &name, &args),
    }
}

/// A trigger asked for many calls ([`crate::trigger::EACH_ENV`]): the calls (a JSON array
/// of argument arrays) on stdin, each call's output (a JSON array of strings) on stdout;
/// the first call that fails fails them all.
fn run_trigger_each(ctx: &Ctx, plugin: &Plugin, name: &str) -> Result<()> {
    let calls: Vec<Vec<String>> = serde_json::from_reader(std::io::stdin().lock())
        .map_err(|e| anyhow!("{name}: reading the calls: {e}"))?;
    // The triggers the calls fire are single calls again.
    env::remove_early(crate::trigger::EACH_ENV);
    let mut outputs = Vec::with_capacity(calls.len());
    for call in &calls {
        let (result, output) = log::capture(|| run_trigger(ctx, plugin, name, call));
        result?;
        outputs.push(String::from_utf8_lossy(&output).into_owned());
    }
    log::data(&serde_json::to_string(&outputs)?);
    Ok(())
}

fn run_trigger(ctx: &Ctx, plugin: &Plugin, name: &str, args: &[String]) -> Result<()> {
    let own = plugin.triggers.iter().find(|t| t.name == name);
    let settings = plugin
        .settings
        .filter(|_| SETTINGS_TRIGGERS.contains(&name));
    if let Some(settings) = settings {
        settings.app_lifecycle_trigger(ctx, name, args)?;
    }
    match own {
        Some(trigger) => (trigger.run)(ctx, args),
        None if settings.is_some() => Ok(()),
        None => bail!("plugin {} does not implement trigger {name}", plugin.name),
    }
}

/// `dokku-<plugin> --entrypoints`: what the binary answers, one `KIND NAME` line each,
/// which installing the plugin links and compiles into the dispatcher's index (see
/// [`crate::plugins::Answers`]).
pub const ENTRYPOINTS_FLAG: &str = "--entrypoints";

fn print_entrypoints(plugin: &Plugin) {
    let mut answers = crate::plugins::Answers {
        subcommands: listed_commands(plugin)
            .iter()
            .map(|c| c.name.into())
            .collect(),
        triggers: listed_triggers(plugin)
            .into_iter()
            .map(String::from)
            .collect(),
        helpers: plugin.helpers.iter().map(|h| h.name.into()).collect(),
        prefixes: vec![plugin.name.into()],
        words: plugin.words.iter().map(|w| w.to_string()).collect(),
        root_only: plugin.root_commands.iter().map(|c| c.to_string()).collect(),
        guards: plugin
            .guards
            .iter()
            .map(|g| (g.trigger.to_string(), g.key_names.to_string()))
            .collect(),
        app_scoped: plugin
            .app_scoped
            .iter()
            .map(|a| {
                (
                    a.trigger.to_string(),
                    a.namespace.to_string(),
                    a.key.map(String::from),
                )
            })
            .collect(),
        concerns: plugin
            .concerns
            .iter()
            .map(|c| (c.trigger.to_string(), c.arg, c.value.to_string()))
            .collect(),
        build_files: plugin
            .build_files
            .iter()
            .map(crate::plugins::DeclaredBuildFile::from)
            .collect(),
        batches: true,
    };
    answers
        .prefixes
        .extend(plugin.aliases.iter().map(|a| a.to_string()));
    log::raw(answers.render().as_bytes());
}

/// True when `prefix` is the plugin's name or one of its aliases.
fn answers_prefix(plugin: &Plugin, prefix: &str) -> bool {
    prefix == plugin.name || plugin.aliases.contains(&prefix)
}

fn run_command(ctx: &Ctx, plugin: &Plugin, name: &str, args: &[String]) -> Result<()> {
    let args = strip_global_flags(args);
    if let Some(command) = plugin.commands.iter().find(|c| c.name == name) {
        return (command.run)(ctx, &args);
    }
    match (plugin.settings, name) {
        (Some(settings), "set") => {
            let change = settings.set_command(ctx, &args)?;
            match plugin.hooks.after_set {
                Some(after_set) => after_set(ctx, &change),
                None => Ok(()),
            }
        }
        (Some(settings), "report") => {
            settings.print_report(ctx, &args, plugin.hooks.global_report_values_only, |apps| {
                match plugin.hooks.report_rows {
                    Some(rows) => rows(ctx, apps),
                    None => Ok(vec![Vec::new(); apps.len()]),
                }
            })
        }
        _ => bail!("`{}:{name}` is not a dokku command.", plugin.name),
    }
}

/// The dispatcher already turned these into environment variables (Dokku reads them
/// anywhere in argv), so command parsers never see them.
pub fn strip_global_flags(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quiet" | "--trace" | "--force" => {}
            "--app" => {
                it.next();
            }
            a if a.starts_with("--app=") => {}
            _ => out.push(arg.clone()),
        }
    }
    out
}

fn commands(ctx: &Ctx, plugin: &Plugin, args: &[String]) -> Result<()> {
    let Some(first) = args.first() else {
        return Err(Error::NotImplemented.into());
    };
    let rest = &args[1..];
    if first == "help" {
        print_help_lines(plugin);
        return Ok(());
    }
    let wants_help = rest.iter().any(|a| a == "--help" || a == "-h");
    let bare = answers_prefix(plugin, first);
    let help_word = first
        .split_once(':')
        .is_some_and(|(prefix, sub)| sub == "help" && answers_prefix(plugin, prefix));
    if help_word || (bare && (wants_help || plugin.default_command.is_none())) {
        print_usage(plugin);
        return Ok(());
    }
    // `cleanup:help`: the help line of a bare word's command.
    if let Some((word, "help")) = first.split_once(':')
        && plugin.words.contains(&word)
        && let Some(c) = visible(plugin).into_iter().find(|c| c.name == word)
    {
        log::data(&format!("    {}  {}", synopsis(plugin, &c), c.help));
        return Ok(());
    }
    if bare && let Some(default) = plugin.default_command {
        return run_command(ctx, plugin, default, rest);
    }
    let listed = |sub: &str| listed_commands(plugin).iter().any(|c| c.name == sub);
    match first.split_once(':') {
        Some((prefix, sub)) if answers_prefix(plugin, prefix) && listed(sub) => {
            run_command(ctx, plugin, sub, rest)
        }
        None if plugin.words.contains(&first.as_str()) => run_command(ctx, plugin, first, rest),
        _ => Err(Error::NotImplemented.into()),
    }
}

fn visible(plugin: &Plugin) -> Vec<Listed> {
    listed_commands(plugin)
        .into_iter()
        .filter(|c| !c.help.is_empty())
        .collect()
}

/// `commands help`: the one summary line, or with `DOKKU_HELP_ALL` every command, in the
/// `    name args, description` form the dispatcher assembles. A plugin of bare words only
/// (Dokku's top-level `url`, `urls`) lists those words instead of a summary.
fn print_help_lines(plugin: &Plugin) {
    let commands = visible(plugin);
    let only_words =
        !commands.is_empty() && commands.iter().all(|c| plugin.words.contains(&c.name));
    if env::flag(env::DOKKU_HELP_ALL) || only_words {
        for c in commands {
            log::data(&format!("    {}, {}", synopsis(plugin, &c), c.help));
        }
    } else {
        log::data(&format!("    {}, {}", plugin.name, plugin.description));
    }
}

/// A command typed bare: named after its plugin (`logs <app>`), or one of its words.
fn is_word(plugin: &Plugin, c: &Listed) -> bool {
    c.name == plugin.name || plugin.words.contains(&c.name)
}

/// `plugin:command args`, or the bare word.
fn synopsis(plugin: &Plugin, c: &Listed) -> String {
    let name = if is_word(plugin, c) {
        c.name.to_string()
    } else {
        format!("{}:{}", plugin.name, c.name)
    };
    format!("{name} {}", c.args).trim_end().to_string()
}

/// `<plugin>:help`.
fn print_usage(plugin: &Plugin) {
    log::data(&format!(
        "Usage: dokku {}[:COMMAND]\n\n{}\n\nAdditional commands:",
        plugin.name,
        plugin.usage.unwrap_or(plugin.description)
    ));
    let rows: Vec<(String, String)> = visible(plugin)
        .into_iter()
        .map(|c| (synopsis(plugin, &c), c.help))
        .collect();
    let width = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
    for (s, help) in rows {
        log::data(&format!("    {s:<width$}  {help}"));
    }
}

/// `--all | <app>`: the apps a command acts on (flattened into its arguments).
#[derive(clap::Args)]
pub struct AppsOrAll {
    /// Every app.
    #[arg(long)]
    pub all: bool,
    #[arg(value_name = "APP")]
    pub app: Option<String>,
}

impl AppsOrAll {
    /// The app named (which must exist), or every app with `--all`; `name` is the command's.
    pub fn apps(&self, ctx: &Ctx, name: &str) -> Result<Vec<String>> {
        match (self.all, &self.app) {
            (true, None) => Ok(crate::app::list(&ctx.roots)?
                .into_iter()
                .map(|a| a.to_string())
                .collect()),
            (false, Some(app)) => Ok(vec![crate::app::verify(&ctx.roots, app)?.to_string()]),
            (true, Some(_)) => anyhow::bail!("{name}: give an app or --all, not both"),
            (false, None) => Err(Error::MissingApp.into()),
        }
    }
}

/// `<app> [--format stdout|json]`: the arguments of a command that lists something of one
/// app.
#[derive(clap::Parser)]
pub struct AppListing {
    #[arg(value_name = "APP")]
    pub app: String,
    #[arg(long, value_parser = ["stdout", "json"], default_value = "stdout")]
    pub format: String,
}

impl AppListing {
    pub fn json(&self) -> bool {
        self.format == "json"
    }
}

/// Parses a command's arguments with clap, turning clap's multi-line errors into one line.
pub fn parse<T: clap::Parser>(name: &str, args: &[String]) -> Result<T> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let argv = std::iter::once(name.to_string()).chain(args.iter().cloned());
    let err = match T::try_parse_from(argv) {
        Ok(v) => return Ok(v),
        Err(err) => err,
    };
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            log::raw(err.render().to_string().as_bytes());
            Err(Error::Exit(0).into())
        }
        ErrorKind::MissingRequiredArgument => {
            let missing = match err.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(names)) => names.join(" "),
                _ => String::new(),
            };
            if missing
                .split_whitespace()
                .next()
                .is_some_and(|a| a.eq_ignore_ascii_case("<app>"))
            {
                Err(Error::MissingApp.into())
            } else {
                Err(anyhow!("{name}: missing argument {missing}"))
            }
        }
        ErrorKind::ValueValidation => {
            use std::error::Error as _;
            match err.source() {
                Some(source) => Err(anyhow!("{source}")),
                None => Err(anyhow!("{name}: {}", first_line(&err))),
            }
        }
        _ => Err(anyhow!("{name}: {}", first_line(&err))),
    }
}

fn first_line(err: &clap::Error) -> String {
    let text = err.render().to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv0_selects_the_entry_point() {
        let e = |p: &str| Entry::from_argv0(Path::new(p));
        assert_eq!(e("/x/apps/commands"), Entry::Commands);
        assert_eq!(e("/x/apps/bin/dokku-apps"), Entry::Commands);
        assert_eq!(
            e("/x/apps/subcommands/create"),
            Entry::Subcommand("create".into())
        );
        assert_eq!(
            e("/x/apps/post-delete"),
            Entry::Trigger("post-delete".into())
        );
    }

    fn noop(_: &Ctx, _: &[String]) -> Result<()> {
        Ok(())
    }

    const SETTINGS: Settings = Settings {
        namespace: "example",
        table: &[],
    };

    #[test]
    fn a_settings_table_brings_set_report_and_the_app_lifecycle_triggers() {
        let plugin = Plugin {
            name: "example",
            commands: &[Command {
                name: "report",
                args: "<app>",
                help: "Its own report",
                run: noop,
            }],
            triggers: &[TriggerEntry {
                name: "post-delete",
                run: noop,
            }],
            settings: Some(&SETTINGS),
            ..Plugin::DEFAULTS
        };
        let commands: Vec<(&str, String)> = listed_commands(&plugin)
            .into_iter()
            .map(|c| (c.name, c.help))
            .collect();
        assert_eq!(
            commands,
            [
                ("report", "Its own report".to_string()),
                (
                    "set",
                    "Set or clear an example property for an app".to_string()
                ),
            ]
        );
        assert_eq!(
            listed_triggers(&plugin),
            [
                "post-app-clone-setup",
                "post-app-rename-setup",
                "post-delete"
            ]
        );
        let bare = Plugin {
            settings: None,
            ..plugin
        };
        assert_eq!(listed_triggers(&bare), ["post-delete"]);
    }

    #[test]
    fn global_flags_are_stripped_anywhere() {
        let args: Vec<String> = [
            "demo", "--force", "--app", "x", "--quiet", "--keep", "--app=y",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(strip_global_flags(&args), ["demo", "--keep"]);
    }

    #[derive(clap::Parser, Debug)]
    struct Create {
        #[arg(value_name = "APP", value_parser = crate::app::AppName::parse)]
        app: crate::app::AppName,
    }

    #[test]
    fn clap_errors_become_one_line() {
        let err = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            parse::<Create>("apps:create", &args)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err(&[]), "Please specify an app to run the command on");
        assert_eq!(
            err(&["Bad"]),
            "App name 'Bad' must begin with a lowercase alphanumeric character"
        );
        assert_eq!(
            err(&["a", "--nope"]),
            "apps:create: unexpected argument '--nope' found"
        );
        assert_eq!(
            err(&["a", "b"]),
            "apps:create: unexpected argument 'b' found"
        );
    }
}
