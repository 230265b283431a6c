//! `nginx-vhosts/nginx-helper OP ARGS...`: what the bash `nginx-vhosts/functions` hand to
//! this plugin. `reload`: nginx takes its configuration again (the same validated reload
//! the plugin does after a deploy). `template APP DEST`: the app's own `nginx.conf.sigil`,
//! copied to DEST, unless its custom config is disabled; nothing when it has none.

use anyhow::{Result, bail};
use dokku_core::app;
use dokku_core::entry::Ctx;

use crate::settings::SETTINGS;
use crate::site;
use crate::swap;

pub(crate) fn run(ctx: &Ctx, args: &[String]) -> Result<()> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["reload"] => swap::reload(),
        ["template", app, dest] => {
            let app = app::verify(&ctx.roots, app)?;
            if SETTINGS.computed(ctx, app.as_str(), "disable-custom-config")? == "true" {
                return Ok(());
            }
            let template = site::files_dir(ctx, app.as_str()).join(site::TEMPLATE);
            if let Some(text) = dokku_core::fs::read_optional(&template)? {
                let dest = std::path::absolute(dest)?;
                dokku_core::fs::write_atomic(&dest, text.as_bytes(), 0o644)?;
            }
            Ok(())
        }
        _ => bail!("usage: nginx-helper reload | template APP DEST"),
    }
}
