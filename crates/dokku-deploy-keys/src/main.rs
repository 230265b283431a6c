fn main() {
    dokku_core::entry::main(&dokku_deploy_keys::PLUGIN)
}
