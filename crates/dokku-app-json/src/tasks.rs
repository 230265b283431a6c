//! Deployment tasks, at Dokku's points: `scripts.dokku.predeploy` before the image is
//! released (its file system changes are committed into the image), the Procfile's
//! `release` command once it is released, then after the cutover `scripts.dokku.postdeploy`
//! and, after the app's first deploy only, Heroku's `scripts.postdeploy`. Each runs in a
//! one-off container of the image with the app's config and the deploy's docker options.
//! A failure before the cutover fails the deploy and the old release keeps serving.
//!
//! Tasks run once per build, when it is first released: a restart or a rollback releases
//! a build again and runs none (a predeploy would stack another layer on the image, and a
//! migration would run forward while rolling back).

use anyhow::{Context, Result, bail};
use dokku_core::build_files::BuildFiles;
use dokku_core::entry::{Ctx, exactly};
use dokku_core::{docker, log};

use crate::SETTINGS;

/// Kept with a build once its tasks ran.
const TASKS_DONE: &str = "tasks-done";
/// Kept with the app while a released build's postdeploy task waits for the cutover.
const POSTDEPLOY_PENDING: &str = "postdeploy-pending";
/// Kept with the app once Heroku's one-time `scripts.postdeploy` ran.
const FIRST_DEPLOY_DONE: &str = "first-deploy-done";

/// The build being released for the first time, if that is what is happening.
fn fresh_build(ctx: &Ctx, app: &str) -> Result<Option<BuildFiles>> {
    let Some(build) = BuildFiles::current(&ctx.roots, SETTINGS.namespace, app) else {
        return Ok(None);
    };
    Ok(build.get(TASKS_DONE)?.is_none().then_some(build))
}

/// A script of an app.json: `scripts.dokku.<phase>`, or Heroku's `scripts.<phase>`.
fn script(app_json: Option<&str>, path: &[&str]) -> Result<Option<String>> {
    let Some(text) = app_json else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_str(text)?;
    let found = path
        .iter()
        .try_fold(&json, |value, key| value.get(key))
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from);
    Ok(found)
}

fn app_data(ctx: &Ctx, app: &str, name: &str) -> std::path::PathBuf {
    ctx.roots.data_dir(SETTINGS.namespace, app).join(name)
}

/// `pre-release-builder BUILDER APP IMAGE`: the app.json's env, then the predeploy task
/// of a fresh build.
pub fn pre_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, image] = exactly::<3>("pre-release-builder", args)?;
    dokku_core::fs::remove_file_if_exists(&app_data(ctx, app, POSTDEPLOY_PENDING))?;
    let Some(build) = fresh_build(ctx, app)? else {
        return Ok(());
    };
    let app_json = build.get("app.json")?;
    if let Some(text) = &app_json {
        let first_deploy = !app_data(ctx, app, FIRST_DEPLOY_DONE).exists();
        crate::env::apply(ctx, app, text, first_deploy)?;
    }
    match script(app_json.as_deref(), &["scripts", "dokku", "predeploy"])? {
        Some(command) => run_task(ctx, app, image, "predeploy", &command, true),
        None => {
            log::verbose("No predeploy task found, skipping");
            Ok(())
        }
    }
}

/// `post-release-builder BUILDER APP IMAGE`: the release task of a fresh build; its
/// postdeploy task then waits for the cutover.
pub fn post_release(ctx: &Ctx, args: &[String]) -> Result<()> {
    let [_builder, app, image] = exactly::<3>("post-release-builder", args)?;
    let Some(build) = fresh_build(ctx, app)? else {
        return Ok(());
    };
    let release = ctx
        .trigger("procfile-get-raw-command")
        .args([app.as_str(), "release"])
        .output_string()?;
    if !release.trim().is_empty() {
        run_task(ctx, app, image, "release", release.trim(), false)?;
    }
    build.put(TASKS_DONE, Some(b"true"))?;
    dokku_core::fs::write_atomic(
        &app_data(ctx, app, POSTDEPLOY_PENDING),
        image.as_bytes(),
        0o600,
    )
}

/// `post-deploy APP PORT IP TAG`: after the cutover of a fresh build, its postdeploy task,
/// and Heroku's once-only one after the app's first deploy. The new release already
/// serves: a failure is reported, and the deploy's exit code says so.
pub fn post_deploy(ctx: &Ctx, args: &[String]) -> Result<()> {
    let app = args.first().ok_or(dokku_core::Error::MissingApp)?;
    let pending = app_data(ctx, app, POSTDEPLOY_PENDING);
    let Some(image) = dokku_core::fs::read_optional(&pending)? else {
        return Ok(());
    };
    dokku_core::fs::remove_file_if_exists(&pending)?;
    let app_json = dokku_core::fs::read_optional(&app_data(ctx, app, "app.json"))?;
    if let Some(command) = script(app_json.as_deref(), &["scripts", "dokku", "postdeploy"])? {
        run_task(ctx, app, image.trim(), "postdeploy", &command, false)?;
    }
    let first = app_data(ctx, app, FIRST_DEPLOY_DONE);
    if !first.exists() {
        if let Some(command) = script(app_json.as_deref(), &["scripts", "postdeploy"])? {
            run_task(ctx, app, image.trim(), "heroku.postdeploy", &command, false)?;
        }
        dokku_core::fs::write_atomic(&first, b"true", 0o600)?;
    }
    Ok(())
}

/// An entrypoint that only wraps the command (tini) runs it as a shell script too.
fn wraps_command(entrypoint: &[String]) -> bool {
    matches!(
        entrypoint,
        [tini, dashes] if dashes == "--"
            && ["/tini", "/bin/tini", "/usr/bin/tini", "/usr/local/bin/tini"].contains(&tini.as_str())
    )
}

/// Runs `script` in a one-off container of `image`: through `/bin/sh -c`, or as words
/// passed to the image's own entrypoint when it has one (as Dokku does). With `commit`,
/// the container's file system becomes the image, with the image's configuration as it
/// was. docker would fold the container's environment into a committed image, so a
/// committed task gets the app's config on its stdin instead, read by the shell that runs
/// it: the image never holds the app's secrets.
fn run_task(
    ctx: &Ctx,
    app: &str,
    image: &str,
    phase: &str,
    script: &str,
    commit: bool,
) -> Result<()> {
    let source = if phase == "release" {
        "Procfile"
    } else {
        "app.json"
    };
    // Only the predeploy task's container becomes the image; the others are thrown away.
    let container = if commit {
        ""
    } else {
        " in ephemeral container"
    };
    log::info1(&format!(
        "Executing {phase} task from {source}{container}: {script}"
    ));
    let asked = script;
    let info = docker::inspect(image)?.with_context(|| format!("{image} does not exist"))?;
    let entrypoint: Vec<String> = info["Config"]["Entrypoint"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let env = dokku_core::ask::app_config(ctx, app)?;
    // A buildpack slug's tools are on the paths its `.profile.d` scripts set.
    let herokuish = info["Config"]["Labels"][docker::BUILDER_LABEL].as_str() == Some("herokuish");
    let script = if herokuish {
        format!(
            "export HOME=/app; cd /app; for file in /app/.profile.d/*.sh; do if [ -f \"$file\" ]; then . \"$file\"; fi; done; {script}"
        )
    } else {
        script.to_string()
    };
    let script = script.as_str();
    let shell = |script: &str| vec!["/bin/sh".to_string(), "-c".into(), script.to_string()];
    let own_entrypoint = !entrypoint.is_empty() && !wraps_command(&entrypoint);
    let mut replaced_entrypoint = false;
    let command = if commit && own_entrypoint {
        // The image's entrypoint gets the task's words, as for any task; the config comes
        // in on stdin, read by a shell that then runs that entrypoint.
        replaced_entrypoint = true;
        let mut words: Vec<String> = ["-c", "set -a; . /dev/stdin; set +a; exec \"$@\"", "task"]
            .map(String::from)
            .to_vec();
        words.extend(entrypoint.iter().cloned());
        words.extend(shell_words::split(script).context("the task has unbalanced quotes")?);
        words
    } else if commit {
        let mut words = shell("set -a; . /dev/stdin; set +a; exec /bin/sh -c \"$1\"");
        words.extend(["task".to_string(), script.to_string()]);
        words
    } else if own_entrypoint {
        shell_words::split(script).context("the task has unbalanced quotes")?
    } else {
        shell(script)
    };
    let tag = image.rsplit_once(':').map_or("latest", |(_, t)| t);
    let options = ctx
        .trigger("docker-args-deploy")
        .args([app, tag])
        .stdin(Vec::new())
        .output_docker_args(app, dokku_core::docker::options::Phase::Container)?;
    let name = format!(
        "{app}.{}.{}",
        phase.replace('.', "-"),
        dokku_core::time::now().as_nanos()
    );
    let cmd = docker::docker().args(["container", "run", "--init", "--name", &name]);
    let cmd = if replaced_entrypoint {
        cmd.args(["--entrypoint", "/bin/sh"])
    } else {
        cmd
    };
    let cmd = if commit {
        let exports: String = env
            .iter()
            .map(|(key, value)| format!("{key}={}\n", shell_words::quote(value)))
            .collect();
        cmd.arg("--interactive").stdin_bytes(exports)
    } else {
        cmd.args(["--label", "com.dokku.container-type=task"])
    };
    let (cmd, _env_file) = if commit {
        (cmd, None)
    } else {
        docker::pass_env(cmd, &env)?
    };
    let code = cmd
        .args(options)
        .arg(image)
        .args(&command)
        .stream_lines("       ");
    let outcome = match code {
        Ok(0) if commit => docker::commit_container(&name, image, &info["Config"]).map(|_| ()),
        Ok(0) => Ok(()),
        Ok(code) => Err(anyhow::anyhow!(
            "Execution of {phase} task failed (exit code {code}): {asked}"
        )),
        Err(err) => Err(err),
    };
    let _ = docker::force_remove_container(&name);
    if let Err(err) = outcome {
        log::warn(&format!("{err:#}"));
        bail!(dokku_core::Error::Exit(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_read_from_their_keys() {
        let json = r#"{"scripts": {"dokku": {"predeploy": " make assets ", "postdeploy": ""}, "postdeploy": "seed"}}"#;
        let found = |path: &[&str]| script(Some(json), path).expect("valid");
        assert_eq!(
            found(&["scripts", "dokku", "predeploy"]).as_deref(),
            Some("make assets")
        );
        assert_eq!(found(&["scripts", "dokku", "postdeploy"]), None);
        assert_eq!(found(&["scripts", "postdeploy"]).as_deref(), Some("seed"));
        assert_eq!(script(None, &["scripts"]).expect("none"), None);
    }

    #[test]
    fn only_tini_counts_as_a_wrapping_entrypoint() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wraps_command(&words(&["/usr/bin/tini", "--"])));
        assert!(!wraps_command(&words(&["/usr/bin/tini"])));
        assert!(!wraps_command(&words(&["/docker-entrypoint.sh"])));
    }
}
