fn main() {
    dokku_core::entry::main(&dokku_scheduler_swarm::PLUGIN)
}
