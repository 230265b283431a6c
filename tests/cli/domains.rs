use std::thread;

use dokku_test_support::TestHost;
use insta::assert_snapshot;

use crate::{recorded, recorder, stderr};

fn vhosts(host: &TestHost, app: &str) -> String {
    std::fs::read_to_string(host.roots.app_dir(app).join("VHOST")).unwrap_or_default()
}

#[test]
fn without_a_global_domain_apps_get_no_vhost() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    assert_eq!(vhosts(&host, "demo"), "");
    assert_eq!(host.ok(["config:get", "demo", "NO_VHOST"]), "1\n");
    assert_eq!(
        host.ok(["domains:report", "demo", "--domains-app-enabled"]),
        "false\n"
    );
    let enabled = host.run(["plugin:trigger", "domains-vhost-enabled", "demo"]);
    assert_eq!(enabled.status.code(), Some(1));
    assert_eq!(host.ok(["plugin:trigger", "domains-list", "demo"]), "");
}

#[test]
fn a_global_hostname_gives_default_vhosts() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    assert_eq!(
        std::fs::read_to_string(host.roots.dokku_root.join("VHOST")).unwrap(),
        "dokku.me\n"
    );
    host.ok(["apps:create", "demo"]);
    assert_eq!(vhosts(&host, "demo"), "demo.dokku.me\n");
    assert_eq!(
        host.ok(["config:keys", "demo"]),
        "",
        "enabled is the default"
    );
    assert_snapshot!("report", host.render(&host.run(["domains:report", "demo"])));
    // As in Dokku, the bare plugin name shows its help.
    assert_eq!(host.ok(["domains"]), host.ok(["domains:help"]));
    assert_eq!(
        host.ok(["domains:report", "demo", "--format", "json"]),
        "{\"app-enabled\":\"true\",\"app-vhosts\":\"demo.dokku.me\",\"domains-app-enabled\":\"true\",\"domains-app-vhosts\":\"demo.dokku.me\",\"domains-global-enabled\":\"true\",\"domains-global-vhosts\":\"dokku.me\",\"global-enabled\":\"true\",\"global-vhosts\":\"dokku.me\"}\n"
    );
    assert_eq!(
        host.ok(["domains:report", "--global"]),
        "=====> global domains information\n       Domains global enabled:        true\n       Domains global vhosts:         dokku.me\n"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "domains-list", "demo"]),
        "demo.dokku.me\n"
    );
    host.ok(["domains:add", "demo", "www.example.com"]);
    assert_eq!(
        host.ok(["plugin:trigger", "domains-urls", "demo", "urls"]),
        "http://demo.dokku.me\nhttp://www.example.com\n"
    );
    assert_eq!(
        host.ok(["plugin:trigger", "domains-urls", "demo", "url"]),
        "http://demo.dokku.me\n"
    );
    // The proxy's ports and a certificate shape the URLs.
    host.ok(["ports:set", "demo", "http:8080:5000"]);
    assert_eq!(
        host.ok(["plugin:trigger", "domains-urls", "demo", "url"]),
        "http://demo.dokku.me:8080\n"
    );
    host.ok(["ports:set", "demo", "http:80:5000"]);
    host.ok(["certs:generate", "demo", "demo.dokku.me"]);
    assert_eq!(
        host.ok(["plugin:trigger", "domains-urls", "demo", "urls"]),
        "https://demo.dokku.me\nhttp://demo.dokku.me\nhttps://www.example.com\nhttp://www.example.com\n"
    );
    host.ok(["certs:remove", "demo"]);

    host.ok(["domains:set-global", "10.0.0.2"]);
    host.ok(["apps:create", "by-ip"]);
    assert_eq!(vhosts(&host, "by-ip"), "");
    assert_eq!(host.ok(["config:get", "by-ip", "NO_VHOST"]), "1\n");
}

#[test]
fn add_remove_set_clear_fire_post_domains_update() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    let log = recorder(&host, &["post-domains-update"]);
    assert_snapshot!(
        "add",
        host.render(&host.run(["domains:add", "demo", "Example.COM", "*.example.org"]))
    );
    assert_eq!(
        host.ok(["config:get", "demo", "NO_VHOST"]),
        "0\n",
        "add enables vhosts"
    );
    assert_snapshot!(
        "add_again",
        host.render(&host.run(["domains:add", "demo", "example.com", "api.example.com"]))
    );
    assert_eq!(
        vhosts(&host, "demo"),
        "example.com\n*.example.org\napi.example.com\n"
    );
    host.ok(["domains:remove", "demo", "example.com", "not-there.com"]);
    host.ok(["domains:set", "demo", "one.example.com", "two.example.com"]);
    assert_eq!(vhosts(&host, "demo"), "one.example.com\ntwo.example.com\n");
    host.ok(["domains:clear", "demo"]);
    assert_eq!(vhosts(&host, "demo"), "");
    host.ok(["domains:add", "--global", "dokku.me"]);
    host.ok(["domains:reset", "demo"]);
    assert_eq!(vhosts(&host, "demo"), "demo.dokku.me\n");
    host.ok(["domains:remove-global", "dokku.me"]);
    host.ok(["domains:clear-global"]);
    assert_eq!(
        recorded(&log),
        "post-domains-update demo add example.com *.example.org\n\
         post-domains-update demo add api.example.com\n\
         post-domains-update demo remove example.com\n\
         post-domains-update demo set one.example.com two.example.com\n\
         post-domains-update demo clear\n\
         post-domains-update --global add dokku.me\n\
         post-domains-update demo reset demo.dokku.me\n\
         post-domains-update --global remove dokku.me\n\
         post-domains-update --global clear\n"
    );
}

#[test]
fn enable_and_disable() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "demo"]);
    host.ok(["domains:disable", "demo"]);
    assert_eq!(host.ok(["config:get", "demo", "NO_VHOST"]), "1\n");
    assert_eq!(host.ok(["plugin:trigger", "domains-list", "demo"]), "");
    assert_eq!(vhosts(&host, "demo"), "demo.dokku.me\n", "the list is kept");
    host.ok(["domains:enable", "demo"]);
    assert_eq!(
        host.ok(["plugin:trigger", "domains-list", "demo"]),
        "demo.dokku.me\n"
    );
    host.ok(["domains:clear", "demo"]);
    host.ok(["domains:disable", "demo"]);
    host.ok(["domains:enable", "demo"]);
    assert_eq!(
        vhosts(&host, "demo"),
        "demo.dokku.me\n",
        "enable restores defaults"
    );
}

#[test]
fn bad_domains_and_taken_domains_are_refused() {
    let host = TestHost::new();
    host.ok(["apps:create", "demo"]);
    host.ok(["apps:create", "other"]);
    host.ok(["domains:add", "other", "taken.example.com"]);
    let before = host.state();
    let long = format!("{}.com", "a".repeat(64));
    for args in [
        vec!["domains:add", "demo", "bad_domain.com"],
        vec!["domains:add", "demo", "-x.com"],
        vec!["domains:add", "demo", "a..b"],
        vec!["domains:add", "demo", &long],
        vec!["domains:add", "demo", "good.com", "$(id).com"],
        vec!["domains:add", "demo", "example.com/path"],
        vec!["domains:add", "demo", "a.*.com"],
        vec!["domains:add", "demo", "taken.example.com"],
        vec!["domains:set", "demo", "ok.com", "taken.example.com"],
        vec!["domains:add", "demo"],
        vec!["domains:add", "nope", "x.com"],
        vec!["domains:add"],
        vec!["domains:enable", "demo", "extra"],
        vec!["domains:set-global", "not a domain"],
        vec!["domains:report", "demo", "--format", "yaml"],
    ] {
        let out = host.run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.starts_with(" !     "), "{args:?}: {err:?}");
    }
    assert_eq!(host.state(), before, "a refused command changed state");
    assert_snapshot!(
        "taken",
        host.render(&host.run(["domains:add", "demo", "TAKEN.example.com"]))
    );
    assert_snapshot!(
        "invalid",
        host.render(&host.run(["domains:add", "demo", "bad_domain.com"]))
    );
}

#[test]
fn two_apps_racing_for_one_domain_one_wins() {
    let host = TestHost::new();
    host.ok(["apps:create", "a"]);
    host.ok(["apps:create", "b"]);
    for round in 0..10 {
        let domain = format!("race{round}.example.com");
        let wins: Vec<bool> = thread::scope(|s| {
            let handles: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|app| {
                    let (host, domain) = (&host, &domain);
                    s.spawn(move || host.run(["domains:add", app, domain]).status.success())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            wins.iter().filter(|w| **w).count(),
            1,
            "round {round}: {wins:?}"
        );
    }
}

#[test]
fn rename_moves_domains_clone_gets_its_own_destroy_frees_them() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "demo"]);
    host.ok(["domains:add", "demo", "www.example.com"]);
    host.ok(["apps:clone", "demo", "copy"]);
    assert_eq!(vhosts(&host, "copy"), "copy.dokku.me\n");
    host.ok(["apps:rename", "demo", "renamed"]);
    assert_eq!(
        vhosts(&host, "renamed"),
        "renamed.dokku.me\nwww.example.com\n"
    );
    host.ok(["--force", "apps:destroy", "renamed"]);
    host.ok(["domains:add", "copy", "www.example.com"]);
}

#[test]
fn a_plugin_names_an_apps_default_hostname() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    let plugin = host.path().join("namer");
    crate::make_plugin(
        &plugin,
        &[(
            "nginx-hostname",
            "[[ $1 == special ]] && echo \"$2-named.$3\" || true",
        )],
    );
    assert!(host.install_plugin(&plugin, "namer").status.success());
    host.ok(["apps:create", "special"]);
    assert_eq!(vhosts(&host, "special"), "special-named.dokku.me\n");
    host.ok(["apps:create", "plain"]);
    assert_eq!(vhosts(&host, "plain"), "plain.dokku.me\n");
}

#[test]
fn url_and_urls_print_where_an_app_answers() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.me"]);
    host.ok(["apps:create", "demo"]);
    host.ok(["domains:add", "demo", "www.example.com"]);
    host.ok(["ports:set", "demo", "http:8080:5000"]);
    assert_eq!(host.ok(["url", "demo"]), "http://demo.dokku.me:8080\n");
    assert_eq!(
        host.ok(["urls", "demo"]),
        "http://demo.dokku.me:8080\nhttp://www.example.com:8080\n"
    );
    let out = host.run(["urls", "missing"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!out.status.success());
    assert!(host.ok(["help"]).contains("    urls "));
}

#[test]
fn dotted_app_names_are_their_own_domain_and_nginx_wildcards_are_domains() {
    let host = TestHost::new();
    host.ok(["domains:set-global", "dokku.test"]);
    host.ok(["apps:create", "test.dokku.test"]);
    host.ok(["domains:reset", "test.dokku.test"]);
    assert_eq!(
        host.ok(["domains:report", "test.dokku.test", "--domains-app-vhosts"]),
        "test.dokku.test\n"
    );
    host.ok(["apps:create", "plain"]);
    assert_eq!(vhosts(&host, "plain"), "plain.dokku.test\n");
    // nginx's suffix wildcard and catch-all name.
    host.ok(["domains:add", "plain", ".example.com", "_"]);
    let listed = host.ok(["domains:report", "plain", "--domains-app-vhosts"]);
    assert!(
        listed.contains(".example.com") && listed.contains('_'),
        "{listed}"
    );
    host.ok(["--force", "apps:destroy", "test.dokku.test"]);
}
