//! `git:*` commands, the SSH entry points (`git-receive-pack`, `git-upload-pack`), the
//! hook's `git-hook`, and `receive-app`.

use dokku_core::entry::Ctx;
use std::io::BufRead;

use anyhow::{Context, Result, bail};
use clap::Parser;
use dokku_core::app::{self, AppName};
use dokku_core::builds::Recording;
use dokku_core::cmd::Cmd;
use dokku_core::entry::parse;
use dokku_core::env::Roots;
use dokku_core::fs::AppLock;
use dokku_core::property::GLOBAL;
use dokku_core::report::{Report, ReportRequest};
use dokku_core::settings::{self, Scope, Setting, Settings};
use dokku_core::trigger::Trigger;
use dokku_core::{Error, log};

use crate::repo::{self, ZERO, git, properties};

fn one_app(name: &str, args: &[String]) -> Result<AppName> {
    match args {
        [app] => Ok(AppName::parse(app::from_git_path(app))?),
        [] => Err(Error::MissingApp.into()),
        _ => bail!("{name} takes exactly one app"),
    }
}

/// Runs a trigger whose output must not reach stdout (it carries the git protocol).
fn quietly(trigger: Trigger) -> Result<()> {
    let out = trigger.output()?;
    let mut stderr = std::io::stderr().lock();
    std::io::Write::write_all(&mut stderr, &out)?;
    Ok(())
}

/// `git-receive-pack 'app'`: a push. A missing app is created (unless autocreation is
/// off; deploy keys never get here for an app they are not allowed), then git receives
/// into the bare repository and its pre-receive hook deploys. The app's deploy lock is
/// held for the whole of it, ref update included: what the build recorded is what the
/// branch holds, and a second push is refused at once. A pusher who disconnects stops the
/// deploy, whose owner undoes what it began before the lock goes.
pub fn receive_pack(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = one_app("git-receive-pack", args)?;
    let roots = &ctx.roots;
    if !app::exists(roots, &app) {
        quietly(ctx.trigger("app-maybe-create").arg(app.as_str()))?;
    }
    if !repo::is_initialized(roots, app.as_str()) {
        repo::initialize(roots, app.as_str())?;
    }
    let mut lock = AppLock::for_deploy(&roots.lib_root, app.as_str())?;
    lock.share_with_children(app.as_str());
    match git(&roots.app_dir(app.as_str()))
        .args(["receive-pack", "."])
        .status_until_disconnected()?
    {
        0 => Ok(()),
        code => Err(Error::Exit(code).into()),
    }
}

/// `git-upload-pack 'app'`: a clone or fetch of an existing app, between `git-pre-pull`
/// and `git-post-pull`.
pub fn upload_pack(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = one_app("git-upload-pack", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, app.as_str())?;
    if !repo::is_initialized(roots, app.as_str()) {
        bail!("{app} has no code yet");
    }
    quietly(ctx.trigger("git-pre-pull").arg(app.as_str()))?;
    let code = git(&roots.app_dir(app.as_str()))
        .args(["upload-pack", "."])
        .status()?;
    quietly(ctx.trigger("git-post-pull").arg(app.as_str()))?;
    match code {
        0 => Ok(()),
        code => Err(Error::Exit(code).into()),
    }
}

/// `git-hook APP`, run by the pre-receive hook with `OLDREV NEWREV REFNAME` lines on
/// stdin. Only the deploy branch may be pushed (the first branch pushed to an app with
/// none configured becomes it); anything else rejects the whole push, so no ref moves.
pub fn hook(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = one_app("git-hook", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, app.as_str())?;
    let (mut branch, configured) = repo::deploy_branch(roots, app.as_str())?;
    let mut updates = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading the pushed refs")?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_old, new, refname] = fields.as_slice() else {
            bail!("unexpected hook input: {line:?}");
        };
        updates.push((new.to_string(), refname.to_string()));
    }
    if !configured
        && let [(_, refname)] = updates.as_slice()
        && let Some(pushed) = refname.strip_prefix("refs/heads/")
        && repo::valid_branch(pushed)
    {
        log::info1(&format!("Set {pushed} as deploy-branch"));
        properties(roots).set(app.as_str(), "deploy-branch", pushed)?;
        repo::point_head(roots, app.as_str())?;
        branch = pushed.to_string();
    }
    let deploy_ref = format!("refs/heads/{branch}");
    // As in Dokku, another branch is stored but does not deploy.
    let (updates, others): (Vec<_>, Vec<_>) = updates
        .into_iter()
        .partition(|(_, refname)| *refname == deploy_ref);
    for (_, refname) in &others {
        let pushed = refname.strip_prefix("refs/heads/").unwrap_or(refname);
        if !repo::valid_branch(pushed) {
            log::warn(&format!("{refname} is not a branch name git accepts"));
            return Err(Error::Exit(1).into());
        }
        log::info1(&format!(
            "WARNING: deploy did not complete, you must push to {branch}."
        ));
        log::info1(&format!(
            "for example, try 'git push <dokku> {pushed}:{branch}'"
        ));
    }
    for (new, _) in &updates {
        if new == ZERO {
            log::warn(&format!(
                "The deploy branch {branch} of {app} cannot be deleted"
            ));
            return Err(Error::Exit(1).into());
        }
    }
    for (new, _) in updates {
        ctx.trigger("receive-app")
            .args([app.as_str(), new.as_str()])
            .stream()?;
        ctx.trigger("deploy-source-set")
            .args([app.as_str(), "git-push", new.as_str()])
            .stream()?;
    }
    Ok(())
}

/// `receive-app APP [REV]`: under the app's deploy lock (a second push is refused at
/// once), records the revision in the rev env var (`GIT_REV`), checks the tree out with
/// its submodules and builds, releases and deploys it (`git-revision` answers the new
/// revision while it does). A failed build puts the revision back as it was.
pub fn receive_app(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, app)?;
    let repo_dir = roots.app_dir(app.as_str());
    if !repo::is_initialized(roots, app.as_str()) {
        return Ok(());
    }
    let rev = match args.get(1).filter(|r| !r.is_empty()) {
        Some(rev) => rev.clone(),
        None => {
            let (branch, _) = repo::deploy_branch(roots, app.as_str())?;
            match repo::rev_parse(&repo_dir, &format!("refs/heads/{branch}"))? {
                Some(rev) => rev,
                None => bail!(
                    "Cannot build from '{branch}' as there are no commits stored at that branch."
                ),
            }
        }
    };
    repo::check_rev(&rev)?;
    let mut lock = AppLock::for_deploy(&roots.lib_root, app.as_str())?;
    lock.share_with_children(app.as_str());
    let recording = begin_recording(ctx, &app, "git-hook");
    let received = receive_locked(ctx, &app, &rev);
    if let Some(recording) = recording {
        recording.finish(&received);
    }
    received
}

/// The build's recording (a push's, unless a command that began one runs this), its
/// output logged as it goes.
fn begin_recording(ctx: &Ctx, app: &AppName, source: &str) -> Option<Recording> {
    let mut recording = Recording::begin(ctx, app.as_str(), source)?;
    recording.share_with_children(source);
    recording.tee_output();
    Some(recording)
}

/// [`receive_app`] under the app's deploy lock.
fn receive_locked(ctx: &Ctx, app: &AppName, rev: &str) -> Result<()> {
    let roots = &ctx.roots;
    let rev = rev.to_string();
    // A pusher who goes away stops the build; this process stays to put the revision back.
    dokku_core::deploy_gate::hold_stop_requests();
    let props = properties(roots);
    let rev_var = props
        .get(app.as_str(), "rev-env-var")?
        .or(props.get(GLOBAL, "rev-env-var")?)
        .unwrap_or_else(|| "GIT_REV".into());
    let previous_rev = if rev_var.is_empty() {
        None
    } else {
        let previous = dokku_core::ask::config_value(ctx, app.as_str(), &rev_var)?;
        set_rev(ctx, app.as_str(), &rev_var, &rev)?;
        Some(previous)
    };
    let previous_received = props.get(app.as_str(), "last-received-rev")?;
    props.set(app.as_str(), "last-received-rev", &rev)?;
    let keep = SETTINGS.computed(ctx, app.as_str(), "keep-git-dir")? == "true";
    let built = repo::extract(roots, app.as_str(), &rev, keep).and_then(|work| {
        ctx.trigger("builder-receive")
            .args([app.as_str(), &work.path().display().to_string(), &rev])
            .stream()
    });
    if built.is_err() {
        match &previous_received {
            Some(previous) => props.set(app.as_str(), "last-received-rev", previous)?,
            None => props.delete(app.as_str(), "last-received-rev")?,
        }
    }
    if built.is_err()
        && let Some(previous) = previous_rev
    {
        match previous.as_str() {
            "" => ctx
                .trigger("config-unset")
                .args(["--no-restart", app.as_str(), &rev_var])
                .stream()?,
            value => set_rev(ctx, app.as_str(), &rev_var, value)?,
        }
    }
    built
}

fn set_rev(ctx: &Ctx, app: &str, var: &str, value: &str) -> Result<()> {
    ctx.trigger("config-set")
        .args(["--no-restart", app, &format!("{var}={value}")])
        .stream()
}

#[derive(Parser)]
struct AppArg {
    #[arg(value_name = "APP")]
    app: String,
}

/// `git:initialize APP`: the bare repository and a fresh hook.
pub fn initialize(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: AppArg = parse("git:initialize", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    repo::initialize(roots, app.as_str())?;
    log::info1_quiet(&format!("Initialized the git repository of {app}"));
    Ok(())
}

/// What `git:set` may set, for an app or globally.
pub const SETTINGS: Settings = Settings {
    namespace: "git",
    table: &[
        Setting {
            key: "deploy-branch",
            scope: Scope::AppOrGlobal,
            default: "master",
            validate: branch_name,
        },
        Setting {
            key: "keep-git-dir",
            scope: Scope::AppOrGlobal,
            default: "false",
            validate: settings::boolean,
        },
        Setting {
            key: "archive-max-files",
            scope: Scope::GlobalOnly,
            default: "10000",
            validate: whole_number,
        },
        Setting {
            key: "archive-max-size",
            scope: Scope::GlobalOnly,
            default: "1073741824",
            validate: whole_number,
        },
        Setting {
            key: "rev-env-var",
            scope: Scope::AppOrGlobal,
            default: "GIT_REV",
            validate: env_var_name,
        },
        Setting {
            key: "source-image",
            scope: Scope::AppOnly,
            default: "",
            validate: crate::sources::image_reference,
        },
    ],
};

/// A whole number above zero (archive limits).
fn whole_number(value: &str) -> Result<()> {
    if !value.chars().all(|c| c.is_ascii_digit()) || !value.parse::<u64>().is_ok_and(|n| n > 0) {
        bail!("Invalid value {value:?}: a whole number above zero");
    }
    Ok(())
}

fn branch_name(value: &str) -> Result<()> {
    if !repo::valid_branch(value) {
        bail!("Invalid branch name {value:?}");
    }
    Ok(())
}

/// A variable name, or empty (no variable records the revision).
fn env_var_name(value: &str) -> Result<()> {
    let valid = value
        .chars()
        .next()
        .is_none_or(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        bail!("Invalid environment variable name {value:?}");
    }
    Ok(())
}

/// After `git:set`: a new deploy branch becomes the repository's HEAD, and an unset
/// `rev-env-var` is kept empty, as Dokku keeps it: no variable records the revision.
pub fn after_set(ctx: &Ctx, change: &dokku_core::settings::Change) -> Result<()> {
    if let (app::Target::App(app), "deploy-branch") = (&change.target, change.key)
        && repo::is_initialized(&ctx.roots, app.as_str())
    {
        repo::point_head(&ctx.roots, app.as_str())?;
    }
    if change.key == "rev-env-var" && change.value.is_none() {
        properties(&ctx.roots).set(change.target.slot(), "rev-env-var", "")?;
    }
    Ok(())
}

/// Dokku's git report: the archive limits (global only), each setting's app, global and
/// computed values, the deployed revision and when the deploy branch last moved.
fn app_report(ctx: &Ctx, app: &AppName) -> Result<Report> {
    let roots = &ctx.roots;
    let props = properties(roots);
    let get =
        |slot: &str, key: &str| -> Result<String> { Ok(props.get(slot, key)?.unwrap_or_default()) };
    let (branch, _) = repo::deploy_branch(roots, app.as_str())?;
    let sha = repo::branch_head(&roots.app_dir(app.as_str()), &branch)?.unwrap_or_default();
    let updated = std::fs::metadata(roots.app_dir(app.as_str()).join("refs/heads").join(&branch))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default();
    let mut report = global_rows(ctx)?
        .into_iter()
        .fold(Report::new(app.as_str(), "git"), |r, (k, v)| r.row(&k, v))
        .row("git-computed-deploy-branch", branch)
        .row(
            "git-computed-keep-git-dir",
            SETTINGS.computed(ctx, app.as_str(), "keep-git-dir")?,
        )
        .row("git-deploy-branch", get(app.as_str(), "deploy-branch")?)
        .row("git-keep-git-dir", get(app.as_str(), "keep-git-dir")?)
        .row(
            "git-last-received-rev",
            get(app.as_str(), "last-received-rev")?,
        )
        .row("git-last-updated-at", updated)
        .row(
            "git-rev-env-var",
            props
                .get(app.as_str(), "rev-env-var")?
                .unwrap_or_else(|| "GIT_REV".into()),
        )
        .row("git-sha", sha)
        .row("git-source-image", get(app.as_str(), "source-image")?);
    report.rows.sort();
    Ok(report)
}

/// The rows `git:report --global` shows, and every app's report with them.
fn global_rows(ctx: &Ctx) -> Result<Vec<(String, String)>> {
    let props = properties(&ctx.roots);
    let mut rows = Vec::new();
    for key in [
        "archive-max-files",
        "archive-max-size",
        "deploy-branch",
        "keep-git-dir",
    ] {
        rows.push((
            format!("git-computed-{key}"),
            SETTINGS.computed(ctx, GLOBAL, key)?,
        ));
        rows.push((
            format!("git-global-{key}"),
            props.get(GLOBAL, key)?.unwrap_or_default(),
        ));
    }
    Ok(rows)
}

pub fn report(ctx: &Ctx, args: &[String]) -> Result<()> {
    let request = ReportRequest::parse(args)?;
    if request.app.as_deref() == Some(GLOBAL) {
        let mut report = global_rows(ctx)?
            .into_iter()
            .fold(Report::new("global", "git"), |r, (k, v)| r.row(&k, v));
        report.rows.sort();
        return report.print(&request);
    }
    dokku_core::report::print_for_apps(&request, &ctx.roots, "git", |app| app_report(ctx, app))
}

#[derive(Parser)]
struct Sync {
    #[arg(long)]
    build: bool,
    /// Build only when the deploy branch moves.
    #[arg(long = "build-if-changes")]
    build_if_changes: bool,
    /// A branch synced into a new app does not become its deploy branch.
    #[arg(long = "skip-deploy-branch")]
    skip_deploy_branch: bool,
    #[arg(value_name = "APP")]
    app: String,
    #[arg(value_name = "REPOSITORY")]
    url: String,
    #[arg(value_name = "REF")]
    git_ref: Option<String>,
}

/// `git:sync [--build|--build-if-changes] [--skip-deploy-branch] APP REPOSITORY [REF]`:
/// fetches REF (default: the remote's HEAD) into the deploy branch, then builds it when
/// asked. A branch synced into an app with no code yet becomes its deploy branch, as
/// Dokku's clone does.
pub fn sync(ctx: &Ctx, args: &[String]) -> Result<()> {
    let cmd: Sync = parse("git:sync", args)?;
    let roots = &ctx.roots;
    let app = app::verify(roots, &cmd.app)?;
    if cmd.url.starts_with('-') || cmd.url.starts_with("ext::") {
        bail!("Invalid repository {:?}", cmd.url);
    }
    let git_ref = cmd.git_ref.clone().unwrap_or_else(|| "HEAD".into());
    if git_ref.starts_with('-') {
        bail!("Invalid ref {git_ref:?}");
    }
    repo::initialize(roots, app.as_str())?;
    let dir = roots.app_dir(app.as_str());
    log::info1_quiet(&format!("Syncing {} {git_ref} into {app}", cmd.url));
    let fetch = |args: &[&str]| {
        git(&dir)
            .args(["-c", "protocol.ext.allow=never"])
            .args(args)
            .output()
    };
    fetch(&["fetch", "-q", &cmd.url, &git_ref])?;
    let Some(rev) = repo::rev_parse(&dir, "FETCH_HEAD")? else {
        bail!("{git_ref} is not a commit in {}", cmd.url);
    };
    let (branch, _) = repo::deploy_branch(roots, app.as_str())?;
    let current = repo::rev_parse(&dir, &format!("refs/heads/{branch}"))?;
    let asked = cmd.git_ref.as_deref().unwrap_or_default();
    if current.is_some() {
        log::verbose(&format!(
            "Fetching remote code for {app} from {}#{asked}",
            cmd.url
        ));
        // A branch of the remote is kept under its own name too, as a mirror would; the
        // deploy branch itself moves only once a build asked for has passed.
        let is_branch = !asked.is_empty()
            && asked != branch
            && repo::valid_branch(asked)
            && fetch(&["ls-remote", "--exit-code", "--heads", &cmd.url, asked]).is_ok();
        if is_branch {
            git(&dir)
                .args(["update-ref", &format!("refs/heads/{asked}"), &rev])
                .output()?;
        }
    } else {
        log::info1_quiet(&format!("Cloning {app} from {}#{asked}", cmd.url));
    }
    if current.is_none() && cmd.git_ref.is_some() {
        let is_branch = fetch(&["ls-remote", "--exit-code", "--heads", &cmd.url, &git_ref]).is_ok();
        match (is_branch, cmd.skip_deploy_branch) {
            (true, false) => {
                if !repo::valid_branch(&git_ref) {
                    bail!("Invalid branch name {git_ref:?}");
                }
                log::verbose(&format!(
                    "Detected branch, setting deploy-branch to {git_ref}"
                ));
                properties(roots).set(app.as_str(), "deploy-branch", &git_ref)?;
            }
            (true, true) => log::verbose(&format!(
                "Detected branch {git_ref}, skipping deploy-branch setting"
            )),
            _ => {}
        }
    }
    let build = cmd.build || (cmd.build_if_changes && current.as_deref() != Some(rev.as_str()));
    if cmd.build_if_changes && !build {
        log::verbose("Skipping build as no changes were detected");
    }
    let branch = advance_deploy_branch(ctx, &app, &rev, build.then_some("git:sync"))?;
    log::info1_quiet(&format!("{app} {branch} is now at {rev}"));
    Ok(())
}

/// Builds `rev` first when asked (`receive-app`), then moves the deploy branch to it: a
/// failed build leaves the branch where it was. Both happen under the app's deploy lock, so
/// the revision recorded is the one the branch holds. Returns the branch.
/// `source` names the command in the build's record.
pub(crate) fn advance_deploy_branch(
    ctx: &Ctx,
    app: &AppName,
    rev: &str,
    build: Option<&str>,
) -> Result<String> {
    let roots = &ctx.roots;
    let mut lock = AppLock::for_deploy(&roots.lib_root, app.as_str())?;
    lock.share_with_children(app.as_str());
    if let Some(source) = build {
        let recording = begin_recording(ctx, app, source);
        let built = Trigger::with_roots("receive-app", roots.clone())
            .args([app.as_str(), rev])
            .stream();
        if let Some(recording) = recording {
            recording.finish(&built);
        }
        built?;
    }
    let (branch, _) = repo::deploy_branch(roots, app.as_str())?;
    git(&roots.app_dir(app.as_str()))
        .args(["update-ref", &format!("refs/heads/{branch}"), rev])
        .output()?;
    Ok(branch)
}

fn public_key_path(roots: &Roots) -> std::path::PathBuf {
    roots.dokku_root.join(".ssh/id_ed25519")
}

/// `git:generate-deploy-key`: the key Dokku uses to fetch private repositories.
pub fn generate_deploy_key(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = parse("git:generate-deploy-key", args)?;
    let roots = &ctx.roots;
    let key = public_key_path(roots);
    if key.exists() {
        bail!("A deploy key already exists: {}", key.display());
    }
    std::fs::create_dir_all(key.parent().unwrap_or(&roots.dokku_root))?;
    Cmd::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "dokku", "-f"])
        .arg(&key)
        .output()?;
    log::info1_quiet("Generated a deploy key; see it with git:public-key");
    Ok(())
}

#[derive(Parser)]
struct Empty {}

/// `git:public-key`: the public half of the deploy key (ed25519, else an older rsa one), to
/// give to a git host.
pub fn public_key(ctx: &Ctx, args: &[String]) -> Result<()> {
    let _: Empty = parse("git:public-key", args)?;
    let ssh = ctx.roots.dokku_root.join(".ssh");
    for name in ["id_ed25519.pub", "id_rsa.pub"] {
        if let Ok(text) = std::fs::read_to_string(ssh.join(name)) {
            log::data(text.trim_end());
            return Ok(());
        }
    }
    log::warn(&format!(
        "There is no deploy key associated with the {} user.",
        ctx.roots.system_user
    ));
    log::warn("Generate an ssh key with the following command:");
    log::warn("  dokku git:generate-deploy-key");
    bail!("As an alternative, configure the netrc authentication via the git:auth command")
}

/// `post-create APP`: every app starts as an empty bare repository.
pub fn post_create(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    repo::initialize(&ctx.roots, app)
}

/// `post-app-clone-setup` / `post-app-rename-setup OLD NEW`: the repository's history
/// comes along (the properties came with the settings); the hook is rewritten for the
/// new name.
pub fn copy_repo(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [old, new] = args else {
        bail!("expected OLD_APP NEW_APP")
    };
    let roots = &ctx.roots;
    let (from, to) = (roots.app_dir(old), roots.app_dir(new));
    for entry in [
        "HEAD",
        "config",
        "description",
        "packed-refs",
        "objects",
        "refs",
        "info",
    ] {
        let source = from.join(entry);
        if source.is_dir() {
            dokku_core::fs::remove_dir_all_if_exists(&to.join(entry))?;
            dokku_core::fs::copy_tree(&source, &to.join(entry))?;
        } else if source.is_file() {
            std::fs::copy(&source, to.join(entry))?;
        }
    }
    repo::initialize(roots, new)
}

/// `git-revision APP`: the revision last received (the rev env var's value).
pub fn revision(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = &ctx.roots;
    let rev = properties(roots)
        .get(app, "last-received-rev")?
        .unwrap_or_default();
    log::raw(rev.as_bytes());
    Ok(())
}

/// `git:status APP`: what git says of the app's repository (a bare one: git says it has
/// no work tree).
pub fn status(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app] = dokku_core::entry::exactly::<1>("git:status", args)?;
    let app = app::verify(&ctx.roots, app)?;
    match git(&ctx.roots.app_dir(app.as_str()))
        .arg("status")
        .status()?
    {
        0 => Ok(()),
        code => Err(Error::Exit(code).into()),
    }
}

/// `git-get-property APP source-image`: the image the app was last deployed from
/// (`git:from-image`), empty when its source is anything else.
pub fn get_property(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [app, key] = dokku_core::entry::exactly::<2>("git-get-property", args)?;
    if key != "source-image" {
        bail!("git-get-property: no property {key:?}");
    }
    let image = properties(&ctx.roots).get(app, key)?.unwrap_or_default();
    log::data(image.trim());
    Ok(())
}

/// `deploy-source-set APP TYPE [SOURCE]`: an app deployed from anything but an image has no
/// source image any more.
pub fn forget_source_image(ctx: &Ctx, args: &[String]) -> Result<()> {
    let (Some(app), Some(kind)) = (args.first(), args.get(1)) else {
        bail!("deploy-source-set: expected APP TYPE");
    };
    if kind != "docker-image" {
        properties(&ctx.roots).delete(app, "source-image")?;
    }
    Ok(())
}

/// `git-has-code APP [BRANCH]`: success when the branch (the deploy branch when none is
/// given) has a commit.
pub fn has_code(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let roots = &ctx.roots;
    let branch = match args.get(1).filter(|b| !b.is_empty()) {
        Some(branch) => branch.clone(),
        None => repo::deploy_branch(roots, app)?.0,
    };
    let has = repo::is_initialized(roots, app)
        && repo::rev_parse(&roots.app_dir(app), &format!("refs/heads/{branch}"))?.is_some();
    if has {
        Ok(())
    } else {
        Err(Error::Exit(1).into())
    }
}

/// `git-deploy-branch APP`.
pub fn deploy_branch(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(Error::MissingApp)?;
    let (branch, _) = repo::deploy_branch(&ctx.roots, app)?;
    log::raw(branch.as_bytes());
    Ok(())
}
