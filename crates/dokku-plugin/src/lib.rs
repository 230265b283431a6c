//! The `plugin` plugin: the plugin tree as users manage it. Everything that touches the
//! tree goes through `dokku_core::plugins`, the same code install.sh and the tests use.

mod commands;
pub mod plugn;

use dokku_core::entry::{Command, Plugin};

pub const PLUGIN: Plugin = Plugin {
    name: "plugin",
    description: "Manage installed plugins",
    keeps_root: true,
    commands: &[
        Command {
            name: "disable",
            args: "<name>",
            help: "Disable an installed plugin (third-party only)",
            run: commands::disable,
        },
        Command {
            name: "enable",
            args: "<name>",
            help: "Enable a previously disabled plugin",
            run: commands::enable,
        },
        Command {
            name: "install",
            args: "[--core|<path>|<git-url>] [--name <name>] [--skip-install-trigger]",
            help: "Install a plugin from a path or git url, or run install triggers",
            run: commands::install,
        },
        Command {
            name: "install-core",
            args: "<plugins-dir> <bin-dir> [--symlink]",
            help: "",
            run: commands::install_core,
        },
        Command {
            name: "install-dependencies",
            args: "[--core]",
            help: "Run the dependencies trigger of every plugin",
            run: commands::install_dependencies,
        },
        Command {
            name: "installed",
            args: "<name>",
            help: "Checks if a plugin is installed",
            run: commands::installed,
        },
        Command {
            name: "list",
            args: "[--format stdout|json]",
            help: "List installed plugins",
            run: commands::list,
        },
        Command {
            name: "uninstall",
            args: "<name>",
            help: "Uninstall a plugin (third-party only)",
            run: commands::uninstall,
        },
        Command {
            name: "update",
            args: "[<name> [<committish>]]",
            help: "Update an installed plugin, or every third-party one",
            run: commands::update,
        },
    ],
    root_commands: &[
        "disable",
        "enable",
        "install",
        "install-core",
        "install-dependencies",
        "installed",
        "uninstall",
        "update",
    ],
    ..Plugin::DEFAULTS
};
