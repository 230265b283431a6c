fn main() {
    dokku_core::entry::main(&dokku_ssh_keys::PLUGIN)
}
