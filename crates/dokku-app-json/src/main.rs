fn main() {
    dokku_core::entry::main(&dokku_app_json::PLUGIN)
}
