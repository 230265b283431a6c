//! The `git` plugin: each app's bare repository in `$DOKKU_ROOT/<app>`, `git push` over
//! SSH (`git-receive-pack`), fetches (`git-upload-pack`), the pre-receive hook's
//! `git-hook`, and `receive-app`, where a pushed revision starts its way to a deploy.

mod commands;
mod netrc;
mod repo;
mod sources;

use dokku_core::entry::{Command, Hooks, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "git",
    description: "Manage app deploys via git",
    default_command: None,
    commands: &[
        Command {
            name: "from-archive",
            args: "[--archive-type tar|tar.gz|zip] <app> <url>|- [<user> <email>]",
            help: "Updates an app's git repository with an archive (URL or stdin) and builds it",
            run: sources::from_archive,
        },
        Command {
            name: "from-image",
            args: "[--build-dir <dir>] <app> <image> [<user> <email>]",
            help: "Updates an app's git repository with a given docker image and builds it",
            run: sources::from_image,
        },
        Command {
            name: "auth",
            args: "<host> [<username> [<password>]]",
            help: "Configures netrc authentication for a git server (the password may come on stdin)",
            run: netrc::auth,
        },
        Command {
            name: "auth-status",
            args: "<host> [<username> [<password>]]",
            help: "Succeeds when the git server's netrc authentication is as given",
            run: netrc::auth_status,
        },
        Command {
            name: "generate-deploy-key",
            args: "",
            help: "Generate the ssh key Dokku uses to fetch private repositories",
            run: commands::generate_deploy_key,
        },
        Command {
            name: "git-hook",
            args: "<app>",
            help: "",
            run: commands::hook,
        },
        Command {
            name: "git-receive-pack",
            args: "<app>",
            help: "",
            run: commands::receive_pack,
        },
        Command {
            name: "git-upload-pack",
            args: "<app>",
            help: "",
            run: commands::upload_pack,
        },
        Command {
            name: "initialize",
            args: "<app>",
            help: "Initialize a git repository for an app",
            run: commands::initialize,
        },
        Command {
            name: "load-image",
            args: "[--build-dir <dir>] <app> <image> [<user> <email>]",
            help: "Loads a docker image tarball from stdin and deploys it",
            run: sources::load_image,
        },
        Command {
            name: "public-key",
            args: "",
            help: "Outputs the dokku public deploy key",
            run: commands::public_key,
        },
        Command {
            name: "report",
            args: "[<app>] [--format stdout|json] [<flag>]",
            help: "Displays a git report for one or more apps",
            run: commands::report,
        },
        Command {
            name: "status",
            args: "<app>",
            help: "Displays the git status of an app's repository",
            run: commands::status,
        },
        Command {
            name: "sync",
            args: "[--build] <app> <repository> [<git-ref>]",
            help: "Clone or fetch an app from a remote git repository",
            run: commands::sync,
        },
    ],
    triggers: &[
        TriggerEntry {
            name: "deploy-source-set",
            run: commands::forget_source_image,
        },
        TriggerEntry {
            name: "git-deploy-branch",
            run: commands::deploy_branch,
        },
        TriggerEntry {
            name: "git-get-property",
            run: commands::get_property,
        },
        TriggerEntry {
            name: "git-has-code",
            run: commands::has_code,
        },
        TriggerEntry {
            name: "git-revision",
            run: commands::revision,
        },
        TriggerEntry {
            name: "post-app-clone-setup",
            run: commands::copy_repo,
        },
        TriggerEntry {
            name: "post-app-rename-setup",
            run: commands::copy_repo,
        },
        TriggerEntry {
            name: "post-create",
            run: commands::post_create,
        },
        TriggerEntry {
            name: "receive-app",
            run: commands::receive_app,
        },
    ],
    settings: Some(&commands::SETTINGS),
    hooks: Hooks {
        after_set: Some(commands::after_set),
        ..Hooks::NONE
    },
    words: &["git-hook", "git-receive-pack", "git-upload-pack"],
    ..Plugin::DEFAULTS
};
