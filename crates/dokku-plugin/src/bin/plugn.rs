//! `plugn`, as Dokku's bash plugins call it: `plugn trigger NAME ARGS...` runs the trigger
//! through dokku-rs's own runner (every enabled plugin in name order, stdin, stdout and
//! stderr passed through, the first failure's exit code), plus `list`, `version`,
//! `enable` and `disable`. Installing and updating plugins is `dokku plugin:*`'s job.

fn main() {
    dokku_core::entry::exit(dokku_plugin::plugn::run(std::env::args().skip(1).collect()))
}
