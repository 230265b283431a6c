fn main() {
    dokku_core::entry::main(&dokku_trace::PLUGIN)
}
