//! `sigil [-p] [-f FILE | -i TEXT] [NAME=VALUE...]`: renders a template (from stdin when
//! neither is given) with the variables, `var` reading the environment, to stdout, as
//! gliderlabs' sigil does for the bash plugins and Dokku's scripts that run it; the host
//! functions (`file`, `exists`, `include`, `sh`) are the caller's to use. `-p` first
//! expands `$NAME` and `${NAME}`. `-v` prints the version.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use anyhow::{Context, Result, bail};

fn run(args: Vec<String>) -> Result<()> {
    let mut text = None;
    let mut posix = false;
    let mut vars = BTreeMap::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-v" | "--version" => {
                std::io::stdout()
                    .write_all(format!("{}\n", env!("CARGO_PKG_VERSION")).as_bytes())?;
                return Ok(());
            }
            "-f" => {
                let file = args.next().context("-f needs a file")?;
                text = Some(
                    std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?,
                );
            }
            "-i" => text = Some(args.next().context("-i needs a template")?),
            "-p" => posix = true,
            flag if flag.starts_with('-') => bail!("unsupported option {flag}"),
            pair => {
                let Some((name, value)) = pair.split_once('=') else {
                    bail!("{pair}: variables are NAME=VALUE");
                };
                vars.insert(name.to_string(), value.to_string());
            }
        }
    }
    let text = match text {
        Some(text) => text,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let text = if posix {
        sigil::expand_posix(&text, &vars, &environment)
    } else {
        text
    };
    let out = sigil::render(&text, &vars, &environment, sigil::Access::Host)
        .map_err(|e| anyhow::anyhow!("template {e}"))?;
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

fn main() {
    if let Err(err) = run(std::env::args().skip(1).collect()) {
        let _ = writeln!(std::io::stderr(), "sigil: {err:#}");
        std::process::exit(1);
    }
}
