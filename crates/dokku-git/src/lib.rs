//! The `git` plugin: each app's bare repository in `$DOKKU_ROOT/<app>`, `git push` over
//! SSH (`git-receive-pack`), fetches (`git-upload-pack`), the pre-receive hook's
//! `git-hook`, and `receive-app`, where a pushed revision starts its way to a deploy.

mod commands;
mod repo;

use dokku_core::entry::{Command, Plugin, TriggerEntry};

pub const PLUGIN: Plugin = Plugin {
    name: "git",
    description: "Manage app deploys via git",
    default_command: Some("report"),
    keeps_root: false,
    commands: &[
        Command {
            name: "from-archive",
            args: "<app> <url>|-",
            help: "Deploy an app from a tar archive (URL or stdin)",
            run: commands::from_archive,
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
            name: "set",
            args: "[<app>|--global] <key> [<value>]",
            help: "Set or clear a git property for an app",
            run: commands::set,
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
            name: "git-deploy-branch",
            run: commands::deploy_branch,
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
            name: "post-delete",
            run: commands::post_delete,
        },
        TriggerEntry {
            name: "receive-app",
            run: commands::receive_app,
        },
    ],
};
