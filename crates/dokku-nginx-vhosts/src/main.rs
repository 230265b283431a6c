fn main() {
    dokku_core::entry::main(&dokku_nginx_vhosts::PLUGIN)
}
