fn main() {
    dokku_core::entry::main(&dokku_docker_options::PLUGIN)
}
