//! What a scheduler deploys, whichever runs it: the process types and counts, the port a
//! web process listens on, and the docker options plugins add, asked of the plugins that
//! keep them.

use anyhow::Result;

use crate::docker;
use crate::entry::Ctx;

/// The app's scale (`type=count`), web first; `web=1` when ps has none.
pub fn scale(ctx: &Ctx, app: &str) -> Result<Vec<(String, u32)>> {
    let mut scale: Vec<(String, u32)> = ctx
        .trigger("ps-current-scale")
        .arg(app)
        .output_lines()?
        .iter()
        .filter_map(|line| {
            let (kind, count) = line.split_once('=')?;
            Some((kind.to_string(), count.trim().parse().ok()?))
        })
        .collect();
    if scale.is_empty() {
        scale.push(("web".into(), 1));
    }
    scale.sort_by_key(|(kind, _)| kind != "web");
    Ok(scale)
}

/// The port a web process listens on: the container port of the app's first TCP port
/// mapping (`ports-get`), else the image's first exposed TCP port, else 5000.
pub fn web_port(ctx: &Ctx, app: &str, image: &str) -> Result<String> {
    let mapped = crate::port_map::of_app(ctx, app)?
        .into_iter()
        .find(|m| m.scheme != "udp")
        .map(|m| m.container_port.to_string());
    if let Some(port) = mapped {
        return Ok(port);
    }
    Ok(docker::exposed_ports(image)?
        .iter()
        .find_map(|spec| spec.strip_suffix("/tcp").map(String::from))
        .unwrap_or_else(|| "5000".into()))
}

/// A filter trigger's docker options (`docker-args-deploy APP ...`), judged before they
/// reach docker.
pub fn docker_args(ctx: &Ctx, name: &str, args: &[&str]) -> Result<Vec<String>> {
    ctx.trigger(name)
        .args(args)
        .stdin(Vec::new())
        .output_docker_args(args[0], docker::options::Phase::Container)
}

/// The builder whose image starts its processes itself, `/start TYPE` (the Procfile in
/// the slug, with `.profile.d` sourced).
pub const HEROKUISH: &str = "herokuish";

/// How the processes of a released image start: its builder's way, or the app's own
/// start command (`ps:set start-cmd` for herokuish images, `dockerfile-start-cmd` for
/// others) in place of every process type's.
pub struct Launcher {
    /// The builder that made the image (`com.dokku.builder-type`).
    pub builder: String,
    pub start_cmd: Option<String>,
}

impl Launcher {
    pub fn of(ctx: &Ctx, app: &str, image: &str) -> Result<Launcher> {
        let builder = docker::image_label(image, docker::BUILDER_LABEL)?
            .unwrap_or_else(|| "dockerfile".into());
        let start_key = match builder.as_str() {
            HEROKUISH => "start-cmd",
            _ => "dockerfile-start-cmd",
        };
        let start_cmd = ctx
            .trigger("ps-get-property")
            .args([app, start_key])
            .output_string()?;
        Ok(Launcher {
            builder,
            start_cmd: Some(start_cmd.trim().to_string()).filter(|c| !c.is_empty()),
        })
    }

    /// The Procfile's command of a process type; None, with a warning, for a type the
    /// Procfile lacks (nothing to run). Without a Procfile, web runs the image's own
    /// command (an empty one).
    pub fn procfile_command(ctx: &Ctx, app: &str, kind: &str) -> Result<Option<String>> {
        let command = ctx
            .trigger("procfile-get-raw-command")
            .args([app, kind])
            .output_string()?;
        if command.trim().is_empty()
            && (kind != "web" || ctx.trigger("procfile-exists").arg(app).succeeds()?)
        {
            crate::log::warn(&format!(
                "Skipping {kind} as it is missing from the current Procfile"
            ));
            return Ok(None);
        }
        Ok(Some(command))
    }

    /// The words a container of `kind` runs: `/start TYPE` in a herokuish image, else the
    /// command (the app's start command when it has one) with its variables expanded
    /// from `lookup`.
    pub fn words(
        &self,
        kind: &str,
        command: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>> {
        if self.builder == HEROKUISH && self.start_cmd.is_none() {
            return Ok(vec!["/start".to_string(), kind.to_string()]);
        }
        let expanded =
            crate::procfile::expand(self.start_cmd.as_deref().unwrap_or(command), lookup);
        shell_words::split(&expanded)
            .map_err(|_| anyhow::anyhow!("the {kind} command has unbalanced quotes"))
    }
}

/// How long old processes keep serving after the new ones took over, when the checks
/// plugin does not say (Dokku's default).
const WAIT_TO_RETIRE_SECONDS: u64 = 60;

/// What the checks plugin says about a deploy's zero downtime, asked in one round.
pub struct ZeroDowntime {
    /// The process types whose zero-downtime checks are off (`_all_`, `web,worker`).
    disabled: String,
    /// Seconds the old processes keep serving after the cutover.
    pub wait_to_retire: u64,
}

impl ZeroDowntime {
    pub fn of(ctx: &Ctx, app: &str) -> Result<ZeroDowntime> {
        let calls = [
            vec![app.to_string(), "disabled".into()],
            vec![app.to_string(), "wait-to-retire".into()],
        ];
        let answers = ctx.trigger("checks-get-property").output_each(&calls)?;
        let answer = |i: usize| answers.get(i).map(|a| a.trim()).unwrap_or_default();
        Ok(ZeroDowntime {
            disabled: answer(0).to_string(),
            wait_to_retire: answer(1).parse().unwrap_or(WAIT_TO_RETIRE_SECONDS),
        })
    }

    /// Whether a process type deploys without zero downtime (its old processes stop
    /// before the new ones start).
    pub fn disabled_for(&self, kind: &str) -> bool {
        self.disabled == "_all_" || self.disabled.split(',').any(|k| k == kind)
    }
}

/// One process to check (`check-deploy APP CONTAINER TYPE PORT IP INDEX`): a container on
/// this host, or a swarm task, reached at `ip:port`.
pub struct Dyno<'a> {
    pub app: &'a str,
    pub container: &'a str,
    pub kind: &'a str,
    pub index: &'a str,
    pub port: &'a str,
    pub ip: &'a str,
}

/// Runs the checks of one new process; a failure shows what `show_output` shows (the
/// process's output), is said in Dokku's words and is the deploy's (exit 1).
pub fn check_deploy(ctx: &Ctx, process: &Dyno, show_output: impl FnOnce()) -> Result<()> {
    let Dyno {
        app,
        container,
        kind,
        index,
        port,
        ip,
    } = *process;
    let dyno = format!("{kind}.{index}");
    let checked = ctx
        .trigger("check-deploy")
        .args([app, container, kind, port, ip, index])
        .stream();
    if let Err(err) = checked {
        show_output();
        if !matches!(err.downcast_ref(), Some(crate::Error::TriggerFailed { .. })) {
            crate::log::warn(&format!("{err:#}"));
        }
        crate::log::warn(&format!("Could not start due to a failed check ({dyno})"));
        return Err(crate::Error::Exit(1).into());
    }
    crate::log::verbose(&format!("All checks successful ({dyno})"));
    Ok(())
}

/// What `scheduler-deploy SCHEDULER APP [TAG] [TYPE]` asks of a scheduler.
pub struct DeployRequest<'a> {
    pub app: &'a str,
    /// `latest` when none was given.
    pub tag: &'a str,
    /// The one process type to deploy, if any.
    pub only: Option<&'a str>,
    /// The released image, which exists.
    pub image: String,
}

/// The request of `scheduler-deploy` arguments for `scheduler`; None for another
/// scheduler's app.
pub fn deploy_request<'a>(
    scheduler: &str,
    args: &'a [String],
) -> Result<Option<DeployRequest<'a>>> {
    let (Some(named), Some(app)) = (args.first(), args.get(1)) else {
        anyhow::bail!("scheduler-deploy: expected SCHEDULER APP TAG");
    };
    if named != scheduler {
        return Ok(None);
    }
    let tag = args
        .get(2)
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    let image = docker::app_image(app, tag);
    if !docker::image_exists(&image)? {
        anyhow::bail!("{image} does not exist: build the app first");
    }
    Ok(Some(DeployRequest {
        app,
        tag,
        only: args.get(3).map(String::as_str).filter(|p| !p.is_empty()),
        image,
    }))
}

/// The label with the seconds a one-off container may run, on the container itself, so
/// that it is reaped even if a retire queue was lost.
pub const DEADLINE_LABEL: &str = "com.dokku.active-deadline-seconds";
/// Set (to `1`) by `run:detached` and cron: the run goes on in the background and its name
/// is printed.
pub const DETACH_ENV: &str = "DOKKU_DETACH_CONTAINER";
/// Set by `cron:run`: the task a run is.
pub const CRON_ID_ENV: &str = "DOKKU_CRON_ID";
/// A run of a cron task (`cron:run` sets `DOKKU_CRON_ID` and the task's
/// `DOKKU_CONCURRENCY_POLICY`): `allow` (the default) starts it whatever else runs,
/// `forbid` refuses while a run of the same task is still going, `replace` stops that
/// run first.
pub struct CronRun {
    pub id: String,
    pub policy: String,
}

/// The label with the cron task a run is for.
pub const CRON_ID_LABEL: &str = "com.dokku.cron-id";
const POLICY_LABEL: &str = "com.dokku.concurrency-policy";
const POLICY_ENV: &str = "DOKKU_CONCURRENCY_POLICY";

impl CronRun {
    /// The cron task this run is for; None for a plain one-off run.
    pub fn from_env() -> Option<CronRun> {
        let id = crate::env::var(CRON_ID_ENV).filter(|id| !id.is_empty())?;
        let policy = crate::env::var(POLICY_ENV)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "allow".into());
        Some(CronRun { id, policy })
    }

    /// Given whether a run of the same task is still going: an error (said in Dokku's
    /// words) when the policy forbids a second one, true when that run is to be stopped
    /// first.
    pub fn replaces(&self, app: &str, one_running: bool) -> Result<bool> {
        match self.policy.as_str() {
            _ if !one_running => Ok(false),
            "forbid" => {
                crate::log::warn(&format!(
                    "{app} currently has a cron lock in place for {}. Exiting...",
                    self.id
                ));
                Err(crate::Error::Exit(1).into())
            }
            "replace" => {
                crate::log::warn(&format!("Replacing running container for {}", self.id));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The labels (`KEY=VALUE`) that mark a run as this task's.
    pub fn labels(&self) -> [String; 2] {
        [
            format!("{CRON_ID_LABEL}={}", self.id),
            format!("{POLICY_LABEL}={}", self.policy),
        ]
    }
}

/// How long a one-off run may last (`--ttl-seconds`); a day by default, as in Dokku.
const TTL_ENV: &str = "DOKKU_RUN_TTL_SECONDS";
const DEFAULT_TTL_SECONDS: u64 = 86_400;

/// A one-off command, as `scheduler-run SCHEDULER APP ENV_COUNT KEY VALUE... -- CMD...`
/// asks it: the released image, the app's config with the run's own variables, the words
/// (a first word naming a Procfile process type runs that type's command, followed by the
/// other words; a buildpack image runs them through its `/exec`), and its `--label=`
/// options (the process type, the caller's `dokku --label=...`, the deadline).
pub struct OneOff {
    pub image: String,
    pub env: std::collections::BTreeMap<String, String>,
    pub command: Vec<String>,
    pub labels: Vec<String>,
    /// Seconds it may run.
    pub ttl: u64,
}

impl OneOff {
    pub fn of(ctx: &Ctx, app: &str, args: &[String]) -> Result<OneOff> {
        use anyhow::Context;
        let count: usize = args
            .get(2)
            .context("scheduler-run: expected SCHEDULER APP ENV_COUNT")?
            .parse()
            .context("scheduler-run: ENV_COUNT")?;
        let pairs = args
            .get(3..3 + 2 * count)
            .context("scheduler-run: missing variables")?;
        let rest = &args[3 + 2 * count..];
        let Some(("--", command)) = rest.split_first().map(|(d, c)| (d.as_str(), c)) else {
            anyhow::bail!("scheduler-run: expected -- before the command");
        };
        let Some((first, rest)) = command.split_first() else {
            anyhow::bail!("Please specify a command to run");
        };
        let image = docker::app_image(app, "latest");
        if !docker::image_exists(&image)? {
            anyhow::bail!("{app} has not been deployed: there is no image to run");
        }
        let mut env = crate::ask::app_config(ctx, app)?;
        for pair in pairs.chunks(2) {
            env.insert(pair[0].clone(), pair[1].clone());
        }
        let process = ctx
            .trigger("procfile-get-raw-command")
            .args([app, first.as_str()])
            .output_string()?;
        let process = Some(process.trim().to_string()).filter(|p| !p.is_empty());
        if process.is_some() {
            crate::log::info1_quiet(&format!(
                "Found '{first}' in Procfile, running that command"
            ));
        }
        let herokuish =
            docker::image_label(&image, docker::BUILDER_LABEL)?.as_deref() == Some(HEROKUISH);
        let mut words: Vec<String> = match &process {
            Some(process) if herokuish => process.split_whitespace().map(String::from).collect(),
            Some(process) => {
                let expanded = crate::procfile::expand(process, |name| env.get(name).cloned());
                shell_words::split(&expanded)
                    .context("the process command has unbalanced quotes")?
            }
            None => vec![first.clone()],
        };
        words.extend(rest.iter().cloned());
        if herokuish {
            words.insert(0, "/exec".into());
        }
        let mut labels: Vec<String> = process
            .iter()
            .map(|_| format!("--label=com.dokku.process-type={first}"))
            .collect();
        labels.extend(
            crate::env::var(crate::env::DOKKU_GLOBAL_FLAGS)
                .unwrap_or_default()
                .split_whitespace()
                .filter(|flag| flag.starts_with("--label="))
                .map(String::from),
        );
        let ttl: u64 = crate::env::var(TTL_ENV)
            .and_then(|t| t.parse().ok())
            .unwrap_or(DEFAULT_TTL_SECONDS);
        labels.push(format!("--label={DEADLINE_LABEL}={ttl}"));
        Ok(OneOff {
            image,
            env,
            command: words,
            labels,
            ttl,
        })
    }
}

/// One of an app's one-off runs, as `run:list` shows it.
pub struct RunRow {
    pub name: String,
    pub state: String,
    pub command: String,
    /// Seconds since the epoch.
    pub created: u64,
}

/// `run:list` of the app's runs: JSON (`name`, `state`, `command`, `created_at`) or a table.
pub fn print_runs(app: &str, rows: &[RunRow], format: &str) -> Result<()> {
    if format == "json" {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "state": r.state,
                    "command": r.command,
                    "created_at": crate::time::utc(r.created),
                })
            })
            .collect();
        crate::log::data(&serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    crate::log::info2_quiet(&format!("{app} run containers"));
    let width = |column: fn(&RunRow) -> &str, title: &str| {
        rows.iter()
            .map(|r| column(r).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let name_w = width(|r| &r.name, "NAMES");
    let command_w = width(|r| &r.command, "COMMAND");
    if !crate::env::quiet() {
        crate::log::data(&format!(
            "{:<name_w$}  {:<command_w$}  CREATED",
            "NAMES", "COMMAND"
        ));
    }
    for row in rows {
        crate::log::data(&format!(
            "{:<name_w$}  {:<command_w$}  {}",
            row.name,
            row.command,
            crate::time::utc(row.created)
        ));
    }
    Ok(())
}

/// The app's one-off containers on this host's engine (`com.dokku.container-type=run`),
/// running or not.
pub fn local_runs(app: &str) -> Result<Vec<RunRow>> {
    let labels = [
        format!("{}={app}", docker::APP_LABEL),
        "com.dokku.container-type=run".to_string(),
    ];
    Ok(docker::containers_labelled(&labels, true)?
        .iter()
        .map(|c| RunRow {
            name: c["Names"][0]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            state: c["State"].as_str().unwrap_or_default().to_string(),
            command: c["Command"].as_str().unwrap_or_default().to_string(),
            created: c["Created"].as_u64().unwrap_or(0),
        })
        .collect())
}

/// How many of a process type's containers may start at once, when the app says so
/// (app.json's `formation.<type>.max_parallel`, through
/// `app-json-process-deploy-parallelism APP TYPE`).
pub fn declared_parallelism(ctx: &Ctx, app: &str, kind: &str) -> Result<Option<usize>> {
    let declared = ctx
        .trigger("app-json-process-deploy-parallelism")
        .args([app, kind])
        .output_string()?;
    Ok(declared.trim().parse::<usize>().ok().filter(|n| *n > 0))
}

/// Deploys each process type of the app's scale that has something to run (only `only`,
/// when given) with `deploy(kind, count, procfile command)`, saying so in Dokku's words,
/// and fires `scheduler-post-deploy-process APP TYPE` after each; warns when a whole
/// deploy had nothing to run.
pub fn deploy_each_type(
    ctx: &Ctx,
    app: &str,
    only: Option<&str>,
    mut deploy: impl FnMut(&str, u32, &str) -> Result<()>,
) -> Result<()> {
    let mut deployed = false;
    for (kind, count) in scale(ctx, app)? {
        if count == 0 || only.is_some_and(|o| o != kind) {
            continue;
        }
        let Some(command) = Launcher::procfile_command(ctx, app, &kind)? else {
            continue;
        };
        crate::log::info1(&format!("Deploying {kind} (count={count})"));
        deploy(&kind, count, &command)?;
        deployed = true;
        ctx.trigger("scheduler-post-deploy-process")
            .args([app, kind.as_str()])
            .stream()?;
    }
    if !deployed && only.is_none() {
        crate::log::warn(&format!(
            "{app} has no process to run: scale a process type its Procfile declares"
        ));
    }
    Ok(())
}

/// What `scheduler-logs` and `scheduler-run-logs` (`SCHEDULER APP WHICH TAIL PRETTY NUM`)
/// ask of a scheduler.
pub struct LogsRequest<'a> {
    pub app: &'a str,
    /// The process type or dyno (`scheduler-logs`), the container (`scheduler-run-logs`);
    /// empty for all.
    pub which: &'a str,
    pub follow: bool,
    pub pretty: bool,
    pub lines: u32,
}

/// The request of `trigger`'s arguments for `scheduler`; None for another scheduler's.
pub fn logs_request<'a>(
    trigger: &str,
    scheduler: &str,
    args: &'a [String],
) -> Result<Option<LogsRequest<'a>>> {
    let [named, app, which, tail, pretty, num] = args else {
        anyhow::bail!("{trigger}: expected SCHEDULER APP PROC TAIL PRETTY NUM");
    };
    if named != scheduler {
        return Ok(None);
    }
    Ok(Some(LogsRequest {
        app,
        which,
        follow: tail == "true",
        pretty: pretty == "true",
        lines: num
            .parse()
            .map_err(|_| anyhow::anyhow!("Invalid number of lines {num:?}"))?,
    }))
}

/// What `scheduler-enter SCHEDULER APP [--container-id ID | TYPE[.N]] [CMD...]` names.
#[derive(Debug, PartialEq)]
pub enum EnterTarget {
    /// A container (or, for a scheduler whose processes are tasks, a task) by its id.
    Id(String),
    /// A process, `TYPE.N` (`.1` when the caller gave no index).
    Dyno(String),
}

/// The words after `scheduler-enter SCHEDULER APP`, and the command that follows them:
/// `--container-id ID` (or `--container-id=ID`) names a container; else the first word
/// names a process when `names_process` says it is one, and `web.1` is meant when not.
pub fn enter_target(
    rest: &[String],
    names_process: impl FnOnce(&str) -> Result<bool>,
) -> Result<(EnterTarget, &[String])> {
    let dyno = |word: &str| {
        EnterTarget::Dyno(if word.contains('.') {
            word.to_string()
        } else {
            format!("{word}.1")
        })
    };
    let id = |id: &str| {
        if id.is_empty() || id.starts_with('-') {
            anyhow::bail!("--container-id needs a container id");
        }
        Ok(EnterTarget::Id(id.to_string()))
    };
    match rest {
        [flag, given, command @ ..] if flag == "--container-id" => Ok((id(given)?, command)),
        [flag] if flag == "--container-id" => Ok((id("")?, &[])),
        [first, command @ ..] if first.starts_with("--container-id=") => {
            Ok((id(&first["--container-id=".len()..])?, command))
        }
        [first, command @ ..] if names_process(first)? => Ok((dyno(first), command)),
        _ => Ok((dyno("web"), rest)),
    }
}

/// Runs `command` (the app's `shell` property, else bash, when it is empty) in the app's
/// container `container` through `docker` (the engine that runs it), with a terminal when
/// `enter` was given one; a buildpack container runs it through its `/exec`, in the slug's
/// environment. Fails with the command's exit code.
pub fn enter_container(
    ctx: &Ctx,
    docker: crate::cmd::Cmd,
    app: &str,
    container: &str,
    herokuish: bool,
    command: &[String],
) -> Result<()> {
    let shell;
    let command = if command.is_empty() {
        let property = ctx
            .trigger("scheduler-get-property")
            .args([app, "shell"])
            .output_string()?;
        shell = [match property.trim() {
            "" => "/bin/bash".to_string(),
            shell => shell.to_string(),
        }];
        &shell[..]
    } else {
        command
    };
    let tty = crate::env::var("DOKKU_RUN_TTY").as_deref() == Some("true");
    match docker
        .args(["container", "exec", "--interactive"])
        .args(tty.then_some("--tty"))
        .arg(container)
        .args(herokuish.then_some("/exec"))
        .args(command)
        .status()?
    {
        0 => Ok(()),
        code => Err(crate::Error::Exit(code).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn enter_names_a_container_a_process_or_web() {
        let is_worker = |w: &str| Ok(w.starts_with("worker"));
        let rest = words("--container-id abc echo hi");
        let (target, command) = enter_target(&rest, is_worker).unwrap();
        assert_eq!(target, EnterTarget::Id("abc".into()));
        assert_eq!(command, words("echo hi"));
        let rest = words("--container-id=abc");
        let (target, command) = enter_target(&rest, is_worker).unwrap();
        assert_eq!(target, EnterTarget::Id("abc".into()));
        assert!(command.is_empty());
        let rest = words("worker.2 ls");
        let (target, command) = enter_target(&rest, is_worker).unwrap();
        assert_eq!(target, EnterTarget::Dyno("worker.2".into()));
        assert_eq!(command, words("ls"));
        let rest = words("worker");
        assert_eq!(
            enter_target(&rest, is_worker).unwrap().0,
            EnterTarget::Dyno("worker.1".into())
        );
        let rest = words("ls -la");
        let (target, command) = enter_target(&rest, is_worker).unwrap();
        assert_eq!(target, EnterTarget::Dyno("web.1".into()));
        assert_eq!(command, words("ls -la"));
        assert!(enter_target(&words("--container-id"), is_worker).is_err());
        assert!(enter_target(&words("--container-id= ls"), is_worker).is_err());
    }
}
