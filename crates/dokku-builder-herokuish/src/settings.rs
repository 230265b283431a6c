//! `builder-herokuish:set APP|--global allowed true|false`: on hosts that are not amd64,
//! herokuish builds only apps (or hosts) that allow it, as in Dokku.

use dokku_core::settings::{self, Scope, Setting, Settings};

pub const SETTINGS: Settings = Settings {
    namespace: "builder-herokuish",
    table: &[Setting {
        key: "allowed",
        scope: Scope::AppOrGlobal,
        // Herokuish's stack is amd64: allowed there, asked for elsewhere.
        default: if cfg!(target_arch = "x86_64") {
            "true"
        } else {
            "false"
        },
        validate: settings::boolean,
    }],
};
