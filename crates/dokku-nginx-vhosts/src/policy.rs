//! What an app's nginx config may say. nginx's master process runs as root and opens every
//! file a config names (logs, certificates, temp directories, includes) before it drops to
//! its workers' user, and `nginx -t` checks syntax, not intent. An app's config is written
//! from a template its repository may ship, so it is deploy-key input: it is parsed here,
//! judged directive by directive, and written out again from the parsed tree, so nginx
//! reads exactly what was judged.
//!
//! Two sets of rules use the same judge:
//! - root's ([`Rules::for_root`]): nothing that makes root's nginx open, create or chown a
//!   path outside nginx's log directory and the app's own certificate files, no catch-all
//!   listener, no unix socket. The root helper applies them to whatever the dokku user
//!   hands it, since the dokku user writes its tree directly.
//! - the app's ([`Rules::for_app`]): root's, plus the app's own ports, domains and
//!   directories, so one app cannot take another's traffic or serve its files.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

/// A config larger than this is refused before parsing.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;
/// Blocks nested deeper than this are refused.
const MAX_DEPTH: usize = 8;

/// One directive: its name, arguments, the line it starts on, and its block if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Directive>>,
}

/// A refused config: what was refused and where.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Refused {
    pub line: usize,
    pub message: String,
}

fn refused<T>(line: usize, message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused {
        line,
        message: message.into(),
    })
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Open,
    Close,
    End,
}

/// nginx's tokens: words (`${name}` may hold braces), quoted strings with backslash
/// escapes, `{`, `}` and `;`; `#` starts a comment where a token may start.
fn tokens(text: &str) -> Result<Vec<(Token, usize)>, Refused> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '{' => {
                out.push((Token::Open, line));
                i += 1;
            }
            '}' => {
                out.push((Token::Close, line));
                i += 1;
            }
            ';' => {
                out.push((Token::End, line));
                i += 1;
            }
            quote @ ('"' | '\'') => {
                let start = line;
                let mut raw = String::new();
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return refused(start, "a quoted string is not closed");
                    };
                    i += 1;
                    if c == '\n' {
                        line += 1;
                    }
                    if c == quote {
                        break;
                    }
                    raw.push(c);
                    if c == '\\' {
                        let Some(&next) = chars.get(i) else {
                            return refused(start, "a quoted string is not closed");
                        };
                        raw.push(next);
                        i += 1;
                    }
                }
                out.push((Token::Word(unescape(&raw)), start));
                match chars.get(i) {
                    // `if ($a = "b")`: the parenthesis is a word of its own here, and
                    // written back against the quote ([`render`]).
                    Some(')') => {
                        out.push((Token::Word(")".into()), line));
                        i += 1;
                    }
                    Some(c) if !c.is_whitespace() && !matches!(c, ';' | '{' | '}') => {
                        return refused(line, "a quoted string runs into a word");
                    }
                    _ => {}
                }
            }
            _ => {
                let mut word = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if c.is_whitespace() || matches!(c, ';' | '{' | '}') {
                        break;
                    }
                    if c == '"' || c == '\'' {
                        return refused(line, "a quote inside a word");
                    }
                    if c == '\\' {
                        let Some(&next) = chars.get(i + 1) else {
                            return refused(line, "a backslash ends the config");
                        };
                        word.push('\\');
                        word.push(next);
                        if next == '\n' {
                            line += 1;
                        }
                        i += 2;
                        continue;
                    }
                    if c == '$' && chars.get(i + 1) == Some(&'{') {
                        let close = chars[i..].iter().position(|&c| c == '}');
                        let Some(close) = close else {
                            return refused(line, "a ${ variable is not closed");
                        };
                        word.extend(&chars[i..=i + close]);
                        i += close + 1;
                        continue;
                    }
                    word.push(c);
                    i += 1;
                }
                out.push((Token::Word(unescape(&word)), line));
            }
        }
    }
    Ok(out)
}

/// nginx's escapes, as it reads them in quoted and plain words alike.
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some(&next @ ('"' | '\'' | '\\')) => {
                out.push(next);
                chars.next();
            }
            Some('t') => {
                out.push('\t');
                chars.next();
            }
            Some('r') => {
                out.push('\r');
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Parses a config into its directives.
pub fn parse(text: &str) -> Result<Vec<Directive>, Refused> {
    if text.len() > MAX_CONFIG_BYTES {
        return refused(1, "the config is larger than 1 MiB");
    }
    let tokens = tokens(text)?;
    let mut pos = 0;
    let directives = parse_block(&tokens, &mut pos, 0)?;
    if let Some((_, line)) = tokens.get(pos) {
        return refused(*line, "unexpected \"}\"");
    }
    Ok(directives)
}

fn parse_block(
    tokens: &[(Token, usize)],
    pos: &mut usize,
    depth: usize,
) -> Result<Vec<Directive>, Refused> {
    if depth > MAX_DEPTH {
        let line = tokens.get(*pos).map_or(1, |(_, l)| *l);
        return refused(line, "blocks are nested too deeply");
    }
    let mut out = Vec::new();
    while let Some((token, line)) = tokens.get(*pos) {
        let line = *line;
        let name = match token {
            Token::Close => return Ok(out),
            Token::Word(name) => name.clone(),
            Token::Open | Token::End => return refused(line, "a block or \";\" with no directive"),
        };
        *pos += 1;
        let mut args = Vec::new();
        loop {
            match tokens.get(*pos) {
                Some((Token::Word(word), _)) => {
                    args.push(word.clone());
                    *pos += 1;
                }
                Some((Token::End, _)) => {
                    *pos += 1;
                    out.push(Directive {
                        name,
                        args,
                        line,
                        block: None,
                    });
                    break;
                }
                Some((Token::Open, _)) => {
                    *pos += 1;
                    let block = parse_block(tokens, pos, depth + 1)?;
                    match tokens.get(*pos) {
                        Some((Token::Close, _)) => *pos += 1,
                        _ => {
                            return refused(line, format!("the block of \"{name}\" is not closed"));
                        }
                    }
                    out.push(Directive {
                        name,
                        args,
                        line,
                        block: Some(block),
                    });
                    break;
                }
                Some((Token::Close, _)) | None => {
                    return refused(line, format!("\"{name}\" does not end with \";\""));
                }
            }
        }
    }
    Ok(out)
}

/// The directives written out as nginx text, every argument quoted where it needs to be.
pub fn render(directives: &[Directive]) -> String {
    let mut out = String::new();
    render_into(&mut out, directives, 0);
    out
}

fn render_into(out: &mut String, directives: &[Directive], depth: usize) {
    for directive in directives {
        let indent = "  ".repeat(depth);
        let _ = write!(out, "{indent}{}", quoted(&directive.name));
        for (i, arg) in directive.args.iter().enumerate() {
            if !(directive.name == "if" && arg == ")") {
                out.push(' ');
            }
            // The log directives' values line up as in Dokku's template, which scripts
            // reading an app's config (`access_log  off;`) expect.
            if i == 0 {
                match directive.name.as_str() {
                    "access_log" => out.push(' '),
                    "error_log" => out.push_str("  "),
                    _ => {}
                }
            }
            out.push_str(&quoted(arg));
        }
        match &directive.block {
            None => out.push_str(";\n"),
            Some(block) => {
                out.push_str(" {\n");
                render_into(out, block, depth + 1);
                let _ = writeln!(out, "{indent}}}");
                if depth == 0 {
                    out.push('\n');
                }
            }
        }
    }
}

/// An argument as nginx reads it back to the same string.
fn quoted(arg: &str) -> String {
    let plain = !arg.is_empty()
        && !arg
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ';' | '{' | '}' | '"' | '\'' | '#' | '\\'));
    if plain {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a directive may stand.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Context {
    /// The top of an app's file, inside nginx's `http` block.
    Http,
    Server,
    Location,
    Upstream,
    /// Inside `if`, `limit_except`, `types` and `map`: the rules of the block around them.
    Map,
    Types,
}

/// Directives that neither name a file root's nginx opens nor reach outside the app,
/// allowed in server, location and `if` blocks. Directives with their own rules are judged
/// in [`Judge::directive`].
const PLAIN: &[&str] = &[
    "absolute_redirect",
    "add_header",
    "add_trailer",
    "allow",
    "auth_basic",
    "auth_request",
    "auth_request_set",
    "autoindex",
    "autoindex_exact_size",
    "autoindex_format",
    "autoindex_localtime",
    "break",
    "charset",
    "chunked_transfer_encoding",
    "client_body_buffer_size",
    "client_body_timeout",
    "client_header_buffer_size",
    "client_header_timeout",
    "client_max_body_size",
    "default_type",
    "deny",
    "error_page",
    "etag",
    "expires",
    "gunzip",
    "gzip",
    "gzip_buffers",
    "gzip_comp_level",
    "gzip_disable",
    "gzip_http_version",
    "gzip_min_length",
    "gzip_proxied",
    "gzip_static",
    "gzip_types",
    "gzip_vary",
    "if_modified_since",
    "ignore_invalid_headers",
    "index",
    "internal",
    "keepalive_requests",
    "keepalive_time",
    "keepalive_timeout",
    "large_client_header_buffers",
    "limit_conn",
    "limit_conn_status",
    "limit_rate",
    "limit_rate_after",
    "limit_req",
    "limit_req_status",
    "lingering_close",
    "lingering_time",
    "lingering_timeout",
    "log_not_found",
    "log_subrequest",
    "max_ranges",
    "merge_slashes",
    "msie_padding",
    "msie_refresh",
    "output_buffers",
    "port_in_redirect",
    "postpone_output",
    "real_ip_header",
    "real_ip_recursive",
    "recursive_error_pages",
    "reset_timedout_connection",
    "resolver",
    "resolver_timeout",
    "return",
    "rewrite",
    "rewrite_log",
    "satisfy",
    "send_timeout",
    "sendfile",
    "server_name_in_redirect",
    "server_tokens",
    "set",
    "set_real_ip_from",
    "ssl_buffer_size",
    "ssl_ciphers",
    "ssl_ecdh_curve",
    "ssl_early_data",
    "ssl_prefer_server_ciphers",
    "ssl_protocols",
    "ssl_session_cache",
    "ssl_session_tickets",
    "ssl_session_timeout",
    "ssl_stapling",
    "ssl_stapling_responder",
    "ssl_stapling_verify",
    "ssl_verify_client",
    "ssl_verify_depth",
    "sub_filter",
    "sub_filter_last_modified",
    "sub_filter_once",
    "sub_filter_types",
    "tcp_nodelay",
    "tcp_nopush",
    "try_files",
    "underscores_in_headers",
];

/// Directive families allowed by prefix (`proxy_*`, `grpc_*`, `http2_*`), less the members
/// that name files root's nginx opens or writes ([`FAMILY_EXCEPTIONS`]).
const FAMILIES: &[&str] = &["proxy_", "grpc_", "http2"];

const FAMILY_EXCEPTIONS: &[&str] = &[
    "proxy_temp_path",
    "proxy_cache_path",
    "proxy_store",
    "proxy_store_access",
    "proxy_ssl_certificate",
    "proxy_ssl_certificate_key",
    "proxy_ssl_trusted_certificate",
    "proxy_ssl_crl",
    "proxy_ssl_password_file",
    "proxy_ssl_conf_command",
    "grpc_ssl_certificate",
    "grpc_ssl_certificate_key",
    "grpc_ssl_trusted_certificate",
    "grpc_ssl_crl",
    "grpc_ssl_password_file",
    "grpc_ssl_conf_command",
];

/// Certificate files of the app's, which root's nginx reads: copied out of the dokku
/// user's tree before nginx sees them (see [`Rules::certificate`]).
pub const CERTIFICATE_FILES: &[&str] = &[
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_client_certificate",
    "ssl_trusted_certificate",
    "ssl_dhparam",
    "ssl_crl",
];

/// The app's own names and ports, for [`Rules::for_app`].
pub struct AppScope {
    /// Host ports of the app's http and https mappings.
    pub ports: Vec<u16>,
    /// The app's domains.
    pub domains: Vec<String>,
    /// Whether another app has this exact name among its domains.
    pub owned_elsewhere: Box<dyn Fn(&str) -> bool>,
    /// Directories `root` and `alias` may point into.
    pub static_dirs: Vec<PathBuf>,
    /// Log files the app's settings name, allowed beside `<log dir>/<app>-*`.
    pub log_files: Vec<String>,
}

/// What a config is judged against.
pub struct Rules<'a> {
    pub app: &'a str,
    /// `$DOKKU_ROOT/<app>`: where its certificate files and snippets live.
    pub app_dir: PathBuf,
    /// nginx's log directory: log files are plain files directly in it.
    pub log_dir: PathBuf,
    /// The app's own scope; `None` for root's rules.
    pub scope: Option<AppScope>,
    /// `include` of the app's snippets (`<app_dir>/nginx.conf.d/*.conf`): the snippets'
    /// texts, in name order, to stand in its place. `None` refuses every include.
    pub snippets: Option<Vec<(String, String)>>,
    /// Each certificate file named (a path inside `app_dir`) becomes what this returns:
    /// root copies the file and points nginx at the copy.
    pub certificate: &'a mut dyn FnMut(&Path) -> Result<PathBuf>,
}

impl<'a> Rules<'a> {
    /// Root's rules: what root's nginx may be given, whoever wrote it.
    pub fn for_root(
        app: &'a str,
        app_dir: PathBuf,
        log_dir: PathBuf,
        certificate: &'a mut dyn FnMut(&Path) -> Result<PathBuf>,
    ) -> Rules<'a> {
        Rules {
            app,
            app_dir,
            log_dir,
            scope: None,
            snippets: None,
            certificate,
        }
    }

    /// The app's rules: root's, and the app's own ports, names and directories.
    pub fn for_app(
        app: &'a str,
        app_dir: PathBuf,
        log_dir: PathBuf,
        scope: AppScope,
        snippets: Vec<(String, String)>,
        certificate: &'a mut dyn FnMut(&Path) -> Result<PathBuf>,
    ) -> Rules<'a> {
        Rules {
            scope: Some(scope),
            snippets: Some(snippets),
            ..Rules::for_root(app, app_dir, log_dir, certificate)
        }
    }
}

/// Judges `text` by `rules` and returns the config to give nginx: the parsed tree written
/// out again, the app's snippets in place of their include, certificate paths as
/// `rules.certificate` maps them. The error names the directive and its line.
pub fn vet(text: &str, rules: &mut Rules) -> Result<String> {
    let tree = parse(text).map_err(anyhow::Error::new)?;
    let mut judge = Judge { rules };
    let tree = judge
        .block(tree, Context::Http, false)
        .map_err(anyhow::Error::new)?;
    Ok(render(&tree))
}

struct Judge<'r, 'a> {
    rules: &'r mut Rules<'a>,
}

impl Judge<'_, '_> {
    fn block(
        &mut self,
        directives: Vec<Directive>,
        context: Context,
        in_snippet: bool,
    ) -> Result<Vec<Directive>, Refused> {
        let mut out = Vec::new();
        for directive in directives {
            if directive.name == "include" {
                out.extend(self.include(&directive, context, in_snippet)?);
                continue;
            }
            if let Some(kept) = self.directive(directive, context, in_snippet)? {
                out.push(kept);
            }
        }
        Ok(out)
    }

    /// `include <app_dir>/nginx.conf.d/*.conf`: the app's snippets, judged as if written
    /// in its place. No other include.
    fn include(
        &mut self,
        directive: &Directive,
        context: Context,
        in_snippet: bool,
    ) -> Result<Vec<Directive>, Refused> {
        let own = self.rules.app_dir.join("nginx.conf.d/*.conf");
        let line = directive.line;
        if in_snippet
            || !matches!(context, Context::Server | Context::Location)
            || directive.args.len() != 1
            || Path::new(&directive.args[0]) != own
        {
            return refused(
                line,
                format!(
                    "\"include\" may only name the app's snippets ({}) in a server or location",
                    own.display()
                ),
            );
        }
        let Some(snippets) = self.rules.snippets.clone() else {
            return refused(
                line,
                "\"include\" is not allowed here: snippets are inlined first",
            );
        };
        let mut out = Vec::new();
        for (name, text) in snippets {
            let tree = parse(&text).map_err(|err| Refused {
                line,
                message: format!("nginx.conf.d/{name} line {}: {}", err.line, err.message),
            })?;
            let judged = self.block(tree, context, true).map_err(|err| Refused {
                line,
                message: format!("nginx.conf.d/{name} line {}: {}", err.line, err.message),
            })?;
            out.extend(judged);
        }
        Ok(out)
    }

    fn directive(
        &mut self,
        mut directive: Directive,
        context: Context,
        in_snippet: bool,
    ) -> Result<Option<Directive>, Refused> {
        let line = directive.line;
        let name = directive.name.clone();
        let not_here = || {
            refused(
                line,
                format!("\"{name}\" is not allowed in an app's nginx config here"),
            )
        };
        let block_context = match (context, name.as_str()) {
            (Context::Http, "server") => Some(Context::Server),
            (Context::Http, "upstream") => Some(Context::Upstream),
            (Context::Http, "map") => Some(Context::Map),
            (Context::Server | Context::Location, "location") => Some(Context::Location),
            (Context::Server | Context::Location, "if") => Some(context),
            (Context::Location, "limit_except") => Some(Context::Location),
            (Context::Server | Context::Location, "types") => Some(Context::Types),
            (Context::Http, _) => return not_here(),
            _ => None,
        };
        if let Some(inner) = block_context {
            let Some(block) = directive.block.take() else {
                return refused(line, format!("\"{name}\" needs a block"));
            };
            self.block_args(&directive, inner)?;
            let block = self.block(block, inner, in_snippet)?;
            if name == "server"
                && self.rules.scope.is_some()
                && !block.iter().any(|d| d.name == "listen")
            {
                return refused(
                    line,
                    "a server block needs a \"listen\" of the app's ports (without one nginx takes port 80)",
                );
            }
            directive.block = Some(block);
            return Ok(Some(directive));
        }
        if directive.block.is_some() {
            return not_here();
        }
        match context {
            Context::Map => {
                if directive.args.len() != 1 && directive.name != "hostnames" {
                    return refused(line, "a map line is a key and a value");
                }
                return Ok(Some(directive));
            }
            Context::Types => return Ok(Some(directive)),
            Context::Upstream => {
                self.upstream_line(&directive)?;
                return Ok(Some(directive));
            }
            Context::Server | Context::Location | Context::Http => {}
        }
        let args = &directive.args;
        match name.as_str() {
            "listen" if context == Context::Server => self.listen(line, args)?,
            "server_name" if context == Context::Server => self.server_name(line, args)?,
            "access_log" | "error_log" => self.log(line, &name, args)?,
            "root" | "alias" | "auth_basic_user_file" => self.static_path(line, &name, args)?,
            n if CERTIFICATE_FILES.contains(&n) && context == Context::Server => {
                let [path] = args.as_slice() else {
                    return refused(line, format!("\"{name}\" takes one file"));
                };
                let mapped = self.certificate_file(line, &name, path)?;
                directive.args = vec![mapped.display().to_string()];
            }
            "proxy_pass" | "grpc_pass" => {
                if args.iter().any(|a| a.contains("unix:")) {
                    return refused(line, format!("\"{name}\" to a unix socket is not allowed"));
                }
            }
            n if PLAIN.contains(&n) => {}
            n if FAMILIES.iter().any(|f| n.starts_with(f)) && !FAMILY_EXCEPTIONS.contains(&n) => {}
            _ => return not_here(),
        }
        Ok(Some(directive))
    }

    fn block_args(&self, directive: &Directive, inner: Context) -> Result<(), Refused> {
        let line = directive.line;
        match (directive.name.as_str(), inner) {
            ("server" | "types", _) if !directive.args.is_empty() => {
                refused(line, format!("\"{}\" takes no arguments", directive.name))
            }
            ("upstream", _) => {
                let [name] = directive.args.as_slice() else {
                    return refused(line, "\"upstream\" takes a name");
                };
                if self.rules.scope.is_some() && !name.starts_with(&format!("{}-", self.rules.app))
                {
                    return refused(
                        line,
                        format!(
                            "upstream \"{name}\": an app's upstreams are named {}-<port>",
                            self.rules.app
                        ),
                    );
                }
                Ok(())
            }
            ("map", _) if directive.args.len() != 2 => {
                refused(line, "\"map\" takes a source and a variable")
            }
            _ => Ok(()),
        }
    }

    /// `server ADDRESS [params]` and the balancing directives of an upstream block.
    fn upstream_line(&self, directive: &Directive) -> Result<(), Refused> {
        let line = directive.line;
        match directive.name.as_str() {
            "server" => {
                if directive
                    .args
                    .first()
                    .is_none_or(|a| a.starts_with("unix:"))
                {
                    return refused(line, "an upstream server is an address and port");
                }
                Ok(())
            }
            "keepalive" | "keepalive_requests" | "keepalive_time" | "keepalive_timeout"
            | "least_conn" | "ip_hash" | "hash" | "random" | "zone" => Ok(()),
            other => refused(
                line,
                format!("\"{other}\" is not allowed in an app's upstream"),
            ),
        }
    }

    fn listen(&self, line: usize, args: &[String]) -> Result<(), Refused> {
        let Some(address) = args.first() else {
            return refused(line, "\"listen\" needs a port");
        };
        if address.starts_with("unix:") {
            return refused(line, "\"listen\" on a unix socket is not allowed");
        }
        for flag in &args[1..] {
            let word = flag.split('=').next().unwrap_or_default();
            if matches!(word, "default_server" | "default") {
                return refused(
                    line,
                    "\"listen ... default_server\" is not allowed: an app answers its own names",
                );
            }
            if !matches!(
                word,
                "ssl"
                    | "http2"
                    | "proxy_protocol"
                    | "ipv6only"
                    | "reuseport"
                    | "so_keepalive"
                    | "backlog"
                    | "rcvbuf"
                    | "sndbuf"
                    | "deferred"
                    | "fastopen"
                    | "bind"
            ) {
                return refused(line, format!("\"listen\" does not take {flag:?} here"));
            }
        }
        let Some(port) = listen_port(address) else {
            return refused(
                line,
                format!("\"listen {address}\" is not an address and port"),
            );
        };
        if let Some(scope) = &self.rules.scope
            && !scope.ports.contains(&port)
        {
            return refused(
                line,
                format!(
                    "\"listen {address}\": port {port} is not one of the app's ports ({})",
                    scope
                        .ports
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        Ok(())
    }

    /// Each name one of the app's domains, or an exact name no other app has.
    fn server_name(&self, line: usize, args: &[String]) -> Result<(), Refused> {
        let Some(scope) = &self.rules.scope else {
            return Ok(());
        };
        for name in args {
            if scope.domains.iter().any(|d| d.eq_ignore_ascii_case(name)) || name.is_empty() {
                continue;
            }
            let exact = name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                && !name.starts_with('.');
            if !exact {
                return refused(
                    line,
                    format!(
                        "server_name {name:?}: wildcard, regex and variable names must be among the app's domains"
                    ),
                );
            }
            if (scope.owned_elsewhere)(&name.to_ascii_lowercase()) {
                return refused(
                    line,
                    format!("server_name {name:?} is another app's domain"),
                );
            }
        }
        Ok(())
    }

    /// `off`, nginx's own output (`/dev/stdout`, `/dev/stderr`, an error log's `stderr`) or
    /// a file directly in nginx's log directory, named for the app (or as its settings name
    /// it); no variables.
    fn log(&self, line: usize, name: &str, args: &[String]) -> Result<(), Refused> {
        let Some(path) = args.first() else {
            return refused(line, format!("\"{name}\" needs a path"));
        };
        if is_output(path) || (name == "error_log" && path == "stderr") {
            return Ok(());
        }
        if !log_file_allowed(&self.rules.log_dir, path) {
            return refused(
                line,
                format!(
                    "\"{name} {path}\": logs go to a file directly in {}",
                    self.rules.log_dir.display()
                ),
            );
        }
        if let Some(scope) = &self.rules.scope {
            let file = Path::new(path)
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            if !file.starts_with(&format!("{}-", self.rules.app))
                && !scope.log_files.iter().any(|f| f == path)
            {
                return refused(
                    line,
                    format!(
                        "\"{name} {path}\": an app's log files are named {}-*",
                        self.rules.app
                    ),
                );
            }
        }
        for extra in &args[1..] {
            if extra.contains('$') && extra.starts_with("if=") {
                continue;
            }
            if extra.contains('/') {
                return refused(line, format!("\"{name}\" takes no second path"));
            }
        }
        Ok(())
    }

    /// `root`, `alias`, `auth_basic_user_file`: read by nginx's workers; an app's point
    /// into its own directories.
    fn static_path(&self, line: usize, name: &str, args: &[String]) -> Result<(), Refused> {
        let [path] = args else {
            return refused(line, format!("\"{name}\" takes one path"));
        };
        let Some(scope) = &self.rules.scope else {
            return Ok(());
        };
        let inside = plain_absolute(path)
            && (Path::new(path).starts_with(&self.rules.app_dir)
                || scope
                    .static_dirs
                    .iter()
                    .any(|dir| Path::new(path).starts_with(dir)));
        if !inside {
            return refused(
                line,
                format!("\"{name} {path}\" is outside the app's own directories"),
            );
        }
        Ok(())
    }

    fn certificate_file(
        &mut self,
        line: usize,
        name: &str,
        path: &str,
    ) -> Result<PathBuf, Refused> {
        let inside = plain_absolute(path) && Path::new(path).starts_with(&self.rules.app_dir);
        if !inside {
            return refused(
                line,
                format!(
                    "\"{name} {path}\": certificate files are the app's own, under {}",
                    self.rules.app_dir.display()
                ),
            );
        }
        (self.rules.certificate)(Path::new(path)).map_err(|err| Refused {
            line,
            message: format!("\"{name} {path}\": {err:#}"),
        })
    }
}

/// An absolute path with no `.`, `..`, variable or empty component.
fn plain_absolute(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains('$')
        && !path.contains("//")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::RootDir | Component::Normal(_)))
        && !path.split('/').any(|part| part == "." || part == "..")
}

/// `off`, or nginx's own standard output or error: no file is made.
pub fn is_output(path: &str) -> bool {
    matches!(path, "off" | "/dev/stdout" | "/dev/stderr")
}

/// Whether `path` is a plain file name directly in `log_dir`.
pub fn log_file_allowed(log_dir: &Path, path: &str) -> bool {
    plain_absolute(path)
        && Path::new(path).parent() == Some(log_dir)
        && Path::new(path)
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| {
                f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    && !f.starts_with('.')
            })
}

/// The port of a `listen` address: `80`, `1.2.3.4:80`, `[::]:80`, `*:80`; an address
/// alone listens on 80.
fn listen_port(address: &str) -> Option<u16> {
    if let Ok(port) = address.parse::<u16>() {
        return Some(port);
    }
    if let Some(rest) = address.strip_prefix('[') {
        let (_, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => port.parse().ok(),
            None if after.is_empty() => Some(80),
            None => None,
        };
    }
    match address.rsplit_once(':') {
        Some((_, port)) => port.parse().ok(),
        None => Some(80),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP_DIR: &str = "/home/dokku/shop";
    const LIB: &str = "/var/lib/dokku";

    fn scope() -> AppScope {
        AppScope {
            ports: vec![80, 443, 8080],
            domains: vec!["shop.example.com".into(), "*.shop.example.com".into()],
            owned_elsewhere: Box::new(|name| name == "blog.example.com"),
            static_dirs: vec![
                PathBuf::from(format!("{LIB}/data/letsencrypt/shop")),
                PathBuf::from(format!("{LIB}/data/nginx-vhosts/dokku-errors")),
            ],
            log_files: vec!["/var/log/nginx/custom.log".into()],
        }
    }

    fn as_app(text: &str, snippets: &[(&str, &str)]) -> Result<String> {
        let mut same = |path: &Path| Ok(path.to_path_buf());
        let mut rules = Rules::for_app(
            "shop",
            PathBuf::from(APP_DIR),
            PathBuf::from("/var/log/nginx"),
            scope(),
            snippets
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            &mut same,
        );
        vet(text, &mut rules)
    }

    fn as_root(text: &str) -> Result<String> {
        let mut copied = |path: &Path| {
            Ok(PathBuf::from("/etc/nginx/dokku-rs/tls/shop").join(path.file_name().unwrap()))
        };
        let mut rules = Rules::for_root(
            "shop",
            PathBuf::from(APP_DIR),
            PathBuf::from("/var/log/nginx"),
            &mut copied,
        );
        vet(text, &mut rules)
    }

    /// A config in the shape of Dokku's default template and the ones its users copy:
    /// both address families, https with the app's certificate, gzip, proxy tuning,
    /// websockets, error pages, an ACME location, a redirect, an `if`, a map and the
    /// app's snippets.
    const HONEST: &str = r#"
map $http_upgrade $connection_upgrade {
  default upgrade;
  '' close;
}
server {
  listen      [::]:80;
  listen      80;
  server_name shop.example.com www.shop.example.com;
  access_log  /var/log/nginx/shop-access.log;
  error_log   /var/log/nginx/shop-error.log;
  location / {
    return 301 https://$host:443$request_uri;
  }
  location ^~ /.well-known/acme-challenge/ {
    root /var/lib/dokku/data/letsencrypt/shop/webroot;
  }
  include /home/dokku/shop/nginx.conf.d/*.conf;
}
server {
  listen      [::]:443 ssl http2;
  listen      443 ssl http2;
  server_name shop.example.com;
  access_log  /var/log/nginx/custom.log main;
  error_log   /var/log/nginx/shop-error.log;
  ssl_certificate           /home/dokku/shop/tls/server.crt;
  ssl_certificate_key       /home/dokku/shop/tls/server.key;
  ssl_protocols             TLSv1.2 TLSv1.3;
  ssl_prefer_server_ciphers off;
  add_header Strict-Transport-Security "max-age=15724800; includeSubdomains" always;
  location    / {
    gzip on;
    gzip_min_length  1100;
    gzip_types    text/css text/plain application/json;
    proxy_pass  http://shop-5000;
    proxy_http_version 1.1;
    proxy_read_timeout 60s;
    proxy_buffers 8 4k;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    if ($http_x_forwarded_proto != "https") {
      return 301 https://$host$request_uri;
    }
  }
  location ~* \.(css|js)$ {
    expires 7d;
    proxy_pass http://shop-5000;
  }
  client_max_body_size 10m;
  error_page 400 401 402 403 /400-error.html;
  location /400-error.html {
    root /var/lib/dokku/data/nginx-vhosts/dokku-errors;
    internal;
  }
  include /home/dokku/shop/nginx.conf.d/*.conf;
}
upstream shop-5000 {
  keepalive 16;
  server 172.17.0.2:5000;
  server 172.17.0.3:5000;
}
"#;

    #[test]
    fn what_honest_apps_ship_passes_and_reads_back_the_same() {
        let snippet = "client_max_body_size 50m;\nadd_header X-Snippet \"yes\";\n";
        let out = as_app(HONEST, &[("10-size.conf", snippet)]).expect("an honest config passes");
        assert!(!out.contains("include /"), "snippets are inlined: {out}");
        assert_eq!(out.matches("client_max_body_size 50m;").count(), 2);
        assert!(
            out.contains("if ($http_x_forwarded_proto != https) {"),
            "{out}"
        );
        assert!(out.contains(r#"location ~* "\\.(css|js)$" {"#), "{out}");
        let again = as_app(&out, &[]).expect("the output passes too");
        assert_eq!(parse(&again).unwrap(), parse(&out).unwrap());
        let root = as_root(&out).expect("root takes what the app's rules passed");
        assert!(root.contains("ssl_certificate_key /etc/nginx/dokku-rs/tls/shop/server.key;"));
        assert!(!root.contains("/home/dokku/shop/tls"));
    }

    #[test]
    fn what_makes_roots_nginx_open_a_path_is_refused() {
        let server = |body: &str| format!("server {{\n  listen 80;\n  {body}\n}}\n");
        for (body, words) in [
            (
                "access_log /etc/cron.d/evil;",
                "logs go to a file directly in",
            ),
            (
                "error_log /etc/sudoers.d/x;",
                "logs go to a file directly in",
            ),
            (
                "access_log /var/log/nginx/../../../etc/cron.d/x;",
                "logs go to",
            ),
            ("access_log /var/log/nginx/shop-$host.log;", "logs go to"),
            (
                "client_body_temp_path /etc;",
                "\"client_body_temp_path\" is not allowed",
            ),
            (
                "proxy_temp_path /root;",
                "\"proxy_temp_path\" is not allowed",
            ),
            ("include /etc/shadow;", "may only name the app's snippets"),
            (
                "ssl_certificate /etc/ssl/private/host.pem;",
                "certificate files are the app's own",
            ),
            (
                "ssl_certificate_key /home/dokku/other/tls/server.key;",
                "certificate files are",
            ),
            (
                "ssl_certificate /home/dokku/shop/../other/tls/server.crt;",
                "certificate files are",
            ),
            ("ssl_password_file /etc/shadow;", "is not allowed"),
            (
                "proxy_ssl_certificate_key /etc/ssl/private/x;",
                "is not allowed",
            ),
            ("perl_require /tmp/x.pm;", "is not allowed"),
            (
                "location / { proxy_pass http://unix:/var/run/docker.sock:/; }",
                "unix socket",
            ),
        ] {
            let text = server(body);
            let err = as_root(&text).expect_err(body).to_string();
            assert!(err.contains(words), "{body}: {err}");
            assert!(err.contains("line 3"), "{body}: the line is named: {err}");
        }
        for top in [
            "log_format evil '$request';",
            "load_module /tmp/x.so;",
            "user root;",
            "proxy_cache_path /etc/cron.d keys_zone=x:1m;",
            "env LD_PRELOAD=/tmp/x.so;",
        ] {
            let err = as_root(top).expect_err(top).to_string();
            assert!(err.contains("is not allowed"), "{top}: {err}");
        }
        as_root("server { listen 80; access_log /dev/stdout; error_log stderr; }")
            .expect("nginx's own output makes no file");
        let err = as_root("server { listen 80 default_server; }")
            .expect_err("a catch-all")
            .to_string();
        assert!(err.contains("default_server"), "{err}");
        assert!(as_root("server { listen unix:/run/x.sock; }").is_err());
        assert!(as_root("upstream shop-1 { server unix:/var/run/docker.sock; }").is_err());
    }

    #[test]
    fn an_app_keeps_to_its_own_ports_names_and_directories() {
        let refused = |text: &str, words: &str| {
            let err = as_app(text, &[]).expect_err(text).to_string();
            assert!(err.contains(words), "{text}: {err}");
        };
        refused(
            "server { listen 22; server_name shop.example.com; }",
            "port 22 is not one of the app's ports (80, 443, 8080)",
        );
        refused(
            "server { listen 80; server_name blog.example.com; }",
            "another app's domain",
        );
        refused(
            "server { listen 80; server_name ~^(.+)$; }",
            "wildcard, regex",
        );
        refused(
            "server { listen 80; server_name *.example.com; }",
            "wildcard, regex",
        );
        refused(
            "server { listen 80; server_name $hostname; }",
            "wildcard, regex",
        );
        refused(
            "server { server_name shop.example.com; }",
            "needs a \"listen\"",
        );
        refused(
            "server { listen 80; location / { root /; } }",
            "outside the app's own directories",
        );
        refused(
            "server { listen 80; location / { alias /var/lib/dokku/data/letsencrypt/other/; } }",
            "outside the app's own directories",
        );
        refused(
            "server { listen 80; access_log /var/log/nginx/blog-access.log; }",
            "an app's log files are named shop-*",
        );
        refused(
            "upstream blog-5000 { server 172.17.0.9:5000; }",
            "named shop-<port>",
        );
        let err = as_app(
            "server { listen 80; include /home/dokku/shop/nginx.conf.d/*.conf; }",
            &[("x.conf", "include /home/dokku/shop/nginx.conf.d/*.conf;")],
        )
        .expect_err("no include in a snippet")
        .to_string();
        assert!(err.contains("nginx.conf.d/x.conf line 1"), "{err}");
        // A name no app has is the app's to serve; its own wildcard domain too.
        as_app(
            "server { listen 8080; server_name customtemplate.example.com *.shop.example.com; }",
            &[],
        )
        .expect("unclaimed and own names pass");
    }

    #[test]
    fn what_nginx_would_read_differently_is_refused() {
        for text in [
            "server { listen 80 }",
            "server { listen 80;",
            "server { listen 80; } }",
            "server { listen \"80; }",
            "server { listen 80\"x\"; }",
            "{ listen 80; }",
        ] {
            assert!(as_root(text).is_err(), "{text}");
        }
        let deep = "server { location / { ".repeat(6) + &"} ".repeat(12);
        assert!(as_root(&deep).is_err(), "nesting is bounded");
    }

    #[test]
    fn listen_ports_are_read_as_nginx_reads_them() {
        assert_eq!(listen_port("80"), Some(80));
        assert_eq!(listen_port("127.0.0.1:8080"), Some(8080));
        assert_eq!(listen_port("[::]:443"), Some(443));
        assert_eq!(listen_port("[::1]"), Some(80));
        assert_eq!(listen_port("localhost"), Some(80));
        assert_eq!(listen_port("*:5000"), Some(5000));
        assert_eq!(listen_port("1.2.3.4:x"), None);
    }
}
