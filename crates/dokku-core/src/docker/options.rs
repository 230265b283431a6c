//! What docker options may reach `docker run`, `create` and `build`, whichever plugin
//! hands them over (`docker-options`, `resource`, any plugin's `docker-args-*`). An admin
//! key acts through dokku commands only, so an option that would give a container the
//! host (its filesystem, namespaces, devices, kernel capabilities or security profile) is
//! refused unless root has granted that option for that app ([`Grants`], a root-only
//! command). Host paths in mounts follow the storage rules ([`crate::mount::host_path`]).
//!
//! Options are read as docker reads them: `--name=value`, `--name value`, `-x value` and
//! `-xvalue`. A word that is not an option is refused (docker would take it as the image),
//! and an option this table does not know is read as a flag, so the word after it is
//! judged as an option of its own rather than skipped.

use std::path::Path;

use anyhow::{Result, bail};

use crate::env::Roots;

/// Where the options go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Phase {
    /// `docker build`.
    Build,
    /// `docker run` / `create` (deploy, run, tasks).
    Container,
}

/// Options that take a value, long and short, for containers and builds alike.
const WITH_VALUE: &[&str] = &[
    "--add-host",
    "--allow",
    "--annotation",
    "--attach",
    "--attest",
    "--blkio-weight",
    "--blkio-weight-device",
    "--build-arg",
    "--build-context",
    "--builder",
    "--cache-from",
    "--cache-to",
    "--call",
    "--cap-add",
    "--cap-drop",
    "--cgroup-parent",
    "--cgroupns",
    "--cidfile",
    "--cpu-period",
    "--cpu-quota",
    "--cpu-rt-period",
    "--cpu-rt-runtime",
    "--cpu-shares",
    "--cpus",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--device",
    "--device-cgroup-rule",
    "--device-read-bps",
    "--device-read-iops",
    "--device-write-bps",
    "--device-write-iops",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--domainname",
    "--entrypoint",
    "--env",
    "--env-file",
    "--expose",
    "--file",
    "--gpus",
    "--group-add",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-start-interval",
    "--health-start-period",
    "--health-timeout",
    "--hostname",
    "--iidfile",
    "--ip",
    "--ip6",
    "--ipc",
    "--isolation",
    "--kernel-memory",
    "--label",
    "--label-file",
    "--link",
    "--link-local-ip",
    "--log-driver",
    "--log-opt",
    "--mac-address",
    "--memory",
    "--memory-reservation",
    "--memory-swap",
    "--memory-swappiness",
    "--mount",
    "--name",
    "--net",
    "--net-alias",
    "--network",
    "--network-alias",
    "--oom-score-adj",
    "--output",
    "--pid",
    "--pids-limit",
    "--platform",
    "--progress",
    "--provenance",
    "--publish",
    "--pull",
    "--restart",
    "--runtime",
    "--sbom",
    "--secret",
    "--security-opt",
    "--shm-size",
    "--ssh",
    "--stop-signal",
    "--stop-timeout",
    "--storage-opt",
    "--sysctl",
    "--tag",
    "--target",
    "--tmpfs",
    "--ulimit",
    "--user",
    "--userns",
    "--uts",
    "--volume",
    "--volume-driver",
    "--volumes-from",
    "--workdir",
];

/// Short options and the long ones they stand for (those that take a value).
const SHORT_WITH_VALUE: &[(&str, &str)] = &[
    ("-a", "--attach"),
    ("-c", "--cpu-shares"),
    ("-e", "--env"),
    ("-f", "--file"),
    ("-h", "--hostname"),
    ("-l", "--label"),
    ("-m", "--memory"),
    ("-o", "--output"),
    ("-p", "--publish"),
    ("-t", "--tag"),
    ("-u", "--user"),
    ("-v", "--volume"),
    ("-w", "--workdir"),
];

/// Options that give a container (or a build) the host, refused unless root grants them
/// for the app. Some are refused only for certain values ([`needs_grant`]). The docker
/// client's own file options are among them: it reads (`--env-file`, `--label-file`,
/// `--secret`, `--ssh`, `--build-context`) or writes (`--cidfile`, `--iidfile`, `--output`,
/// `--cache-to`) host paths as the dokku user, which an admin key may not name.
pub const GRANTED_ONLY: &[&str] = &[
    "--allow",
    "--build-context",
    "--builder",
    "--cache-to",
    "--cap-add",
    "--cgroup-parent",
    "--cgroupns",
    "--cidfile",
    "--device",
    "--device-cgroup-rule",
    "--env-file",
    "--gpus",
    "--iidfile",
    "--ipc",
    "--label-file",
    "--network",
    "--output",
    "--pid",
    "--privileged",
    "--runtime",
    "--secret",
    "--security-opt",
    "--ssh",
    "--userns",
    "--uts",
    "--volumes-from",
];

/// A parsed option: its long name and its value, if it takes one.
#[derive(Debug, PartialEq, Eq)]
struct DockerOption {
    name: String,
    value: Option<String>,
}

/// The options in `words`, as docker reads them.
fn parse(words: &[String]) -> Result<Vec<DockerOption>> {
    let mut out = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if !word.starts_with('-') || word == "-" || word == "--" {
            bail!("{word:?} is not a docker option (docker would read it as the image)");
        }
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.clone(), None),
        };
        let (name, inline) = if name.starts_with("--") {
            (name, inline)
        } else {
            let short = &word[..2];
            match SHORT_WITH_VALUE.iter().find(|(s, _)| *s == short) {
                Some((_, long)) => {
                    let rest = word[2..].trim_start_matches('=');
                    let value = (!rest.is_empty()).then(|| rest.to_string());
                    (long.to_string(), value)
                }
                None => (name, inline),
            }
        };
        let name = match name.as_str() {
            "--net" => "--network".to_string(),
            "--net-alias" => "--network-alias".to_string(),
            _ => name,
        };
        let value = match inline {
            Some(value) => Some(value),
            None if WITH_VALUE.contains(&name.as_str()) => match words.next() {
                Some(value) => Some(value.clone()),
                None => bail!("{name} needs a value"),
            },
            None => None,
        };
        out.push(DockerOption { name, value });
    }
    Ok(out)
}

/// Whether this option, with this value, gives the host away.
fn needs_grant(option: &DockerOption) -> bool {
    let value = option.value.as_deref().unwrap_or("");
    match option.name.as_str() {
        "--network" | "--pid" | "--ipc" | "--uts" | "--cgroupns" | "--userns" => {
            value == "host" || value.starts_with("container:") || option.name == "--userns"
        }
        "--privileged" => value != "false",
        name => GRANTED_ONLY.contains(&name),
    }
}

/// Judges options about to reach docker for `app`: host mounts by the storage rules, and
/// what gives the host away only when root granted it.
pub fn judge(roots: &Roots, app: &str, words: &[String], phase: Phase) -> Result<()> {
    let grants = Grants::new(roots).read(app)?;
    for option in parse(words)? {
        if needs_grant(&option) && !grants.contains(&option.name) {
            bail!(
                "The docker option {} is not allowed for {app}: it gives the container the host. \
                 Root may allow it: dokku docker-options:allow {app} {}",
                shown(&option),
                option.name
            );
        }
        if phase == Phase::Container {
            judge_mount(roots, &option)?;
        }
    }
    Ok(())
}

fn shown(option: &DockerOption) -> String {
    match &option.value {
        Some(value) => format!("{}={value}", option.name),
        None => option.name.clone(),
    }
}

/// `-v SOURCE:TARGET[:OPTS]` and `--mount type=bind,source=...`: a host path follows the
/// storage rules; a named volume is the app's own; a volume whose driver options could
/// bind a host path is refused.
fn judge_mount(roots: &Roots, option: &DockerOption) -> Result<()> {
    let value = option.value.as_deref().unwrap_or("");
    match option.name.as_str() {
        "--volume" => {
            let source = value.split(':').next().unwrap_or("");
            if source.starts_with('/') || source.starts_with('.') || source.starts_with('~') {
                crate::mount::host_path(source, roots)?;
            }
        }
        "--mount" => {
            // docker reads the value as CSV: a quoted field would be a key this reading
            // does not see.
            if value.contains(['"', '\'']) {
                bail!("The docker option --mount={value} is not allowed: quoted fields");
            }
            let fields: Vec<(&str, &str)> = value
                .split(',')
                .map(|field| field.split_once('=').unwrap_or((field, "")))
                .collect();
            let kind = fields
                .iter()
                .find(|(k, _)| *k == "type")
                .map_or("volume", |(_, v)| *v);
            if fields.iter().any(|(k, _)| k.starts_with("volume-opt")) {
                bail!(
                    "The docker option --mount={value} is not allowed: volume driver options can bind any host path"
                );
            }
            match kind {
                "bind" => {
                    let source = fields
                        .iter()
                        .find(|(k, _)| matches!(*k, "source" | "src"))
                        .map(|(_, v)| *v)
                        .unwrap_or("");
                    crate::mount::host_path(source, roots)?;
                }
                "volume" | "tmpfs" => {}
                other => bail!("The docker option --mount={value} is not allowed: type {other}"),
            }
        }
        _ => {}
    }
    Ok(())
}

/// The docker-options plugin's store, which the storage plugin also reads (to move `-v`
/// options into storage entries): an app's options per scope (`_default_`, or a process
/// type for the deploy phase) and phase, one option a line.
pub struct Stored(crate::property::Properties);

impl Stored {
    /// The scope of options for every process type.
    pub const DEFAULT_SCOPE: &'static str = "_default_";

    pub fn new(roots: &Roots) -> Stored {
        Stored(crate::property::Properties::new(roots, "docker-options"))
    }

    /// The property holding a scope's options for a phase: `<process>.<phase>`.
    pub fn key(process: Option<&str>, phase: &str) -> String {
        format!("{}.{phase}", process.unwrap_or(Stored::DEFAULT_SCOPE))
    }

    pub fn list(&self, app: &str, process: Option<&str>, phase: &str) -> Result<Vec<String>> {
        self.0.list(app, &Stored::key(process, phase))
    }

    pub fn set_list(
        &self,
        app: &str,
        process: Option<&str>,
        phase: &str,
        options: &[String],
    ) -> Result<()> {
        self.0.set_list(app, &Stored::key(process, phase), options)
    }

    pub fn properties(&self) -> &crate::property::Properties {
        &self.0
    }
}

/// Options root has allowed an app, in a root-owned file the dokku user cannot write:
/// `$DOKKU_LIB_ROOT/root-settings/docker-options/<app>`, its first line the identity of
/// the app's directory (an app destroyed and created again under the same name gets none
/// of the old app's grants), then one option name a line.
pub struct Grants {
    dir: std::path::PathBuf,
    roots: Roots,
}

impl Grants {
    pub fn new(roots: &Roots) -> Grants {
        Grants {
            dir: roots.lib_root.join("root-settings"),
            roots: roots.clone(),
        }
    }

    /// `$DOKKU_ROOT/<app>` as it was created: its inode and birth time.
    fn identity(&self, app: &str) -> Result<String> {
        use std::os::unix::fs::MetadataExt;
        let dir = self.roots.app_dir(app);
        let meta = std::fs::symlink_metadata(&dir)?;
        let born = meta
            .created()
            .map_err(|_| anyhow::anyhow!("{} has no creation time", dir.display()))?
            .duration_since(std::time::UNIX_EPOCH)?;
        Ok(format!("{}:{}", meta.ino(), born.as_nanos()))
    }

    /// The options granted to `app`: none unless the file is root's, reached without
    /// links, in a directory only root may write, and names the app as it is now.
    pub fn read(&self, app: &str) -> Result<Vec<String>> {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::symlink_metadata(&self.dir) else {
            return Ok(Vec::new());
        };
        if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
            return Ok(Vec::new());
        }
        let bytes = crate::privilege::read_file_nofollow(
            &self.dir,
            &Path::new("docker-options").join(app),
            64 * 1024,
            Some(0),
        )?;
        let Some(bytes) = bytes else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut lines = text.lines();
        let Ok(identity) = self.identity(app) else {
            return Ok(Vec::new());
        };
        if lines.next() != Some(identity.as_str()) {
            return Ok(Vec::new());
        }
        Ok(lines.map(str::to_string).collect())
    }

    /// Root sets the options granted to `app` (none removes the file).
    pub fn write(&self, app: &str, options: &[String]) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        for option in options {
            if !GRANTED_ONLY.contains(&option.as_str()) {
                bail!(
                    "{option} needs no grant; these do: {}",
                    GRANTED_ONLY.join(" ")
                );
            }
        }
        let dir = self.dir.join("docker-options");
        std::fs::create_dir_all(&dir)?;
        for dir in [&self.dir, &dir] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
        }
        let path = dir.join(app);
        if options.is_empty() {
            return crate::fs::remove_file_if_exists(&path);
        }
        let mut text = self.identity(app)?;
        text.push('\n');
        for option in options {
            text.push_str(option);
            text.push('\n');
        }
        crate::fs::write_atomic(&path, text.as_bytes(), 0o644)
    }
}

/// Whether `words` publish a container port on the host (`-p`, `--publish`, `-P`,
/// `--publish-all`): two containers of a process cannot both hold it.
pub fn publishes(words: &[String]) -> bool {
    parse(words).is_ok_and(|options| {
        options
            .iter()
            .any(|o| o.name == "--publish" || o.name == "--publish-all" || o.name == "-P")
    })
}

/// Options of `docker run` as `docker service create` takes them, for a scheduler whose
/// processes are swarm services: the translated options, and the names of those a service
/// has no place for (which the caller says it leaves out). `--restart` is dropped without
/// a word: a service restarts its tasks itself. Run [`judge`] on `words` first.
pub fn for_service(words: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    let mut left_out = Vec::new();
    for option in parse(words)? {
        let value = option.value.clone().unwrap_or_default();
        let renamed = match option.name.as_str() {
            "--restart" => continue,
            "--volume" => {
                out.push(format!("--mount={}", volume_as_mount(&value)?));
                continue;
            }
            "--tmpfs" => {
                let target = value.split(':').next().unwrap_or_default();
                out.push(format!("--mount=type=tmpfs,target={target}"));
                continue;
            }
            "--label" => "--container-label",
            "--memory" => "--limit-memory",
            "--memory-reservation" => "--reserve-memory",
            "--cpus" => "--limit-cpu",
            "--pids-limit" => "--limit-pids",
            "--add-host" => "--host",
            "--group-add" => "--group",
            "--env"
            | "--user"
            | "--workdir"
            | "--hostname"
            | "--mount"
            | "--cap-add"
            | "--cap-drop"
            | "--log-driver"
            | "--log-opt"
            | "--dns"
            | "--dns-option"
            | "--dns-search"
            | "--ulimit"
            | "--sysctl"
            | "--stop-signal"
            | "--entrypoint"
            | "--health-cmd"
            | "--health-interval"
            | "--health-retries"
            | "--health-start-period"
            | "--health-timeout"
            | "--read-only"
            | "--init"
            | "--no-healthcheck" => option.name.as_str(),
            _ => {
                left_out.push(option.name);
                continue;
            }
        };
        out.push(match &option.value {
            Some(value) => format!("{renamed}={value}"),
            None => renamed.to_string(),
        });
    }
    Ok((out, left_out))
}

/// `-v SOURCE:TARGET[:MODE]` as a service mount: a path binds the node's directory, a name
/// is a volume (each node's own); `ro` makes it read-only.
fn volume_as_mount(value: &str) -> Result<String> {
    let mut parts = value.split(':');
    let (source, target) = match (parts.next(), parts.next()) {
        (Some(target), None) => return Ok(format!("type=volume,target={target}")),
        (Some(source), Some(target)) => (source, target),
        _ => bail!("--volume {value:?}: expected SOURCE:TARGET[:MODE]"),
    };
    if value.contains(',') {
        bail!("--volume {value:?}: a path with a comma cannot be a service mount");
    }
    let kind = if source.starts_with('/') {
        "bind"
    } else {
        "volume"
    };
    let readonly = parts
        .next()
        .is_some_and(|mode| mode.split(',').any(|m| m == "ro"));
    Ok(format!(
        "type={kind},source={source},target={target}{}",
        if readonly { ",readonly" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_is_seen_in_every_spelling() {
        let words = |w: &[&str]| w.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert!(publishes(&words(&["-p", "5000:5000"])));
        assert!(publishes(&words(&["--restart=no", "--publish=80:5000"])));
        assert!(publishes(&words(&["-P"])));
        assert!(!publishes(&words(&["--expose", "5000", "-e", "P=1"])));
    }

    #[test]
    fn run_options_become_service_options() {
        let words: Vec<String> = [
            "-v",
            "/var/lib/dokku/data/storage/app:/app/storage",
            "--volume=cache:/cache:ro",
            "--restart=on-failure:10",
            "--log-opt",
            "max-size=20m",
            "-m",
            "512m",
            "--cpus=1.5",
            "-l",
            "team=web",
            "--tmpfs",
            "/scratch:size=10m",
            "--shm-size=1g",
            "--init",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let (options, left_out) = for_service(&words).unwrap();
        assert_eq!(
            options,
            [
                "--mount=type=bind,source=/var/lib/dokku/data/storage/app,target=/app/storage",
                "--mount=type=volume,source=cache,target=/cache,readonly",
                "--log-opt=max-size=20m",
                "--limit-memory=512m",
                "--limit-cpu=1.5",
                "--container-label=team=web",
                "--mount=type=tmpfs,target=/scratch",
                "--init",
            ]
        );
        assert_eq!(left_out, ["--shm-size"]);
        assert!(for_service(&["-v".to_string(), "/a,b:/c".to_string()]).is_err());
    }

    fn words(text: &str) -> Vec<String> {
        shell_words::split(text).unwrap()
    }

    fn names(text: &str) -> Vec<(String, Option<String>)> {
        parse(&words(text))
            .unwrap()
            .into_iter()
            .map(|o| (o.name, o.value))
            .collect()
    }

    #[test]
    fn options_are_read_as_docker_reads_them() {
        assert_eq!(
            names("-v /a:/b --volume=/c:/d -e X=1 -m512m --restart always --init --net host"),
            vec![
                ("--volume".into(), Some("/a:/b".into())),
                ("--volume".into(), Some("/c:/d".into())),
                ("--env".into(), Some("X=1".into())),
                ("--memory".into(), Some("512m".into())),
                ("--restart".into(), Some("always".into())),
                ("--init".into(), None),
                ("--network".into(), Some("host".into())),
            ]
        );
        assert!(
            parse(&words("/:/host")).is_err(),
            "a bare word is the image"
        );
        assert!(parse(&words("-v")).is_err(), "a missing value");
        // An option the table does not know is a flag: the next word is judged on its own.
        assert_eq!(
            names("--some-new-flag --privileged"),
            vec![
                ("--some-new-flag".into(), None),
                ("--privileged".into(), None)
            ]
        );
    }

    #[test]
    fn what_gives_the_host_away_needs_a_grant() {
        let needs = |text: &str| parse(&words(text)).unwrap().iter().any(needs_grant);
        for bad in [
            "--privileged",
            "--cap-add SYS_ADMIN",
            "--device /dev/sda",
            "--security-opt seccomp=unconfined",
            "--pid=host",
            "--network host",
            "--net=container:db.web.1",
            "--ipc host",
            "--uts=host",
            "--userns=host",
            "--cgroup-parent /",
            "--volumes-from other.web.1",
            "--allow security.insecure",
            "--gpus all",
            "--env-file /home/dokku/.ssh/id_ed25519",
            "--cidfile /home/dokku/dokkurc",
            "--output type=local,dest=/home/dokku/.ssh",
            "--secret id=k,src=/home/dokku/.ssh/id_ed25519",
        ] {
            assert!(needs(bad), "{bad}");
        }
        for fine in [
            "--network my-net",
            "--pid private",
            "--memory 1g",
            "--restart on-failure:10",
            "-e A=B",
            "-v data:/data",
            "--cap-drop ALL",
            "--init",
        ] {
            assert!(!needs(fine), "{fine}");
        }
    }

    #[test]
    fn mounts_docker_would_read_otherwise_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let judged = |text: &str| judge(&roots, "demo", &words(text), Phase::Container);
        for bad in [
            "--mount type=bind,source=/,target=/host",
            r#"--mount "\"type=bind\",\"source=/\",target=/host""#,
            "--mount type=volume,target=/x,volume-opt=device=/",
            "-v /etc:/etc",
        ] {
            assert!(judged(bad).is_err(), "{bad}");
        }
        for fine in [
            "--mount type=volume,source=data,target=/data",
            "-v data:/data",
        ] {
            assert!(judged(fine).is_ok(), "{fine}");
        }
    }
}
