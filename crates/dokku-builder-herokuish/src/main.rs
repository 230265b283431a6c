fn main() {
    dokku_core::entry::main(&dokku_builder_herokuish::PLUGIN)
}
