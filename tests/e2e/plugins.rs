use crate::build::{UniqueApp, base_image, dockerfile_app, push};
use crate::commit;
use crate::push::{make_plugin, setup_building};

#[test]
fn a_broken_third_party_plugin_is_named_when_it_fails_a_push_and_disabling_it_restores_pushes() {
    base_image();
    let (host, sshd, key) = setup_building();
    let app = UniqueApp::new("broken-plugin");
    let work = host.path().join("work");
    dockerfile_app(&work);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");

    // Written for a helper file this host would not have: every hook of it fails.
    make_plugin(
        &host,
        "broken",
        "pre-build",
        "source \"$PLUGIN_CORE_AVAILABLE_PATH/missing/functions\"",
    );
    commit(&work, "index.html", "<h1>version 2</h1>\n");
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "The pre-build trigger of plugin broken failed (exit 1); `dokku plugin:disable broken` turns the plugin off"
        ),
        "{out}"
    );
    assert!(out.contains("missing/functions: No such file"), "{out}");

    host.ok(["plugin:disable", "broken"]);
    let (ok, out) = push(&sshd, &key, &work, &app.0);
    assert!(ok, "{out}");
}
