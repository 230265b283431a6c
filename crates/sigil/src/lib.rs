//! Templates as gliderlabs' `sigil` renders them: Go's `text/template` (the `gtmpl` crate,
//! a port of it: pipelines, variables, `range`, `if`/`else if`, trim markers), the
//! variables given as `NAME=VALUE` (`{{ $.NAME }}`), and sigil's functions on top of Go's
//! own. A function takes the piped value last, so `{{ .LIST | split " " }}` reads as it
//! does in Dokku's templates. `var NAME` reads the variables of the environment given.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use gtmpl::{Context, FuncError, Template, Value};

thread_local! {
    /// The environment `var` reads while a template renders (gtmpl's functions are plain
    /// function pointers, so they cannot carry it).
    static ENVIRONMENT: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
    /// The variables of the render under way, for `include`.
    static VARIABLES: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
    /// Whether the template may read files and run commands ([`Access::Host`]).
    static HOST_ACCESS: Cell<bool> = const { Cell::new(false) };
}

/// What a template may reach beyond its variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Text only: what an app's own template gets, so a repository cannot make the host
    /// read its files or run commands while its config is built.
    Text,
    /// Also `file`, `exists`, `include` and `sh`, as the `sigil` command gives the
    /// operator and plugins that run it.
    Host,
}

/// Why a template could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The text is not a template (the parser's words).
    Parse(String),
    /// It parsed, but rendering failed (an unknown function's arguments, a bad index...).
    Render(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Parse(e) => write!(f, "does not parse: {e}"),
            Error::Render(e) => write!(f, "does not render: {e}"),
        }
    }
}

impl std::error::Error for Error {}

fn text_arg(args: &[Value], index: usize, name: &str) -> Result<String, FuncError> {
    match args.get(index) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Nil | Value::NoValue) => Ok(String::new()),
        Some(other) => Ok(other.to_string()),
        None => Err(FuncError::ExactlyXArgs(name.into(), index + 1)),
    }
}

/// `split SEP TEXT`: the pieces, none for empty text (runs of spaces count once for " ").
fn split(args: &[Value]) -> Result<Value, FuncError> {
    let (sep, text) = (text_arg(args, 0, "split")?, text_arg(args, 1, "split")?);
    if text.is_empty() {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::Array(
        text.split(sep.as_str())
            .filter(|piece| !(sep == " " && piece.is_empty()))
            .map(|piece| Value::String(piece.to_string()))
            .collect(),
    ))
}

/// `join SEP LIST`.
fn join(args: &[Value]) -> Result<Value, FuncError> {
    let sep = text_arg(args, 0, "join")?;
    let Some(Value::Array(items)) = args.get(1) else {
        return Err(FuncError::ExactlyXArgs("join".into(), 2));
    };
    let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    Ok(Value::String(items.join(&sep)))
}

/// `default FALLBACK VALUE`: VALUE unless it is empty.
fn default(args: &[Value]) -> Result<Value, FuncError> {
    let (fallback, value) = (text_arg(args, 0, "default")?, text_arg(args, 1, "default")?);
    Ok(Value::String(if value.is_empty() {
        fallback
    } else {
        value
    }))
}

/// `var NAME`: the environment's value, empty when unset.
fn var(args: &[Value]) -> Result<Value, FuncError> {
    let name = text_arg(args, 0, "var")?;
    Ok(Value::String(ENVIRONMENT.with(|env| {
        env.borrow().get(&name).cloned().unwrap_or_default()
    })))
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(text_arg(args, 0, "lower")?.to_lowercase()))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(text_arg(args, 0, "upper")?.to_uppercase()))
}

/// `capitalize TEXT`: the first letter upper case.
fn capitalize(args: &[Value]) -> Result<Value, FuncError> {
    let text = text_arg(args, 0, "capitalize")?;
    let mut chars = text.chars();
    Ok(Value::String(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }))
}

/// `replace OLD NEW TEXT`: every OLD in TEXT becomes NEW.
fn replace(args: &[Value]) -> Result<Value, FuncError> {
    let old = text_arg(args, 0, "replace")?;
    let new = text_arg(args, 1, "replace")?;
    let text = text_arg(args, 2, "replace")?;
    Ok(Value::String(text.replace(&old, &new)))
}

fn trim(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(text_arg(args, 0, "trim")?.trim().to_string()))
}

fn base64enc(args: &[Value]) -> Result<Value, FuncError> {
    let text = text_arg(args, 0, "base64enc")?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(text),
    ))
}

fn base64dec(args: &[Value]) -> Result<Value, FuncError> {
    let text = text_arg(args, 0, "base64dec")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| FuncError::Generic(format!("base64dec: {e}")))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// `indent N TEXT`: every line of TEXT after the first indented by N spaces.
fn indent(args: &[Value]) -> Result<Value, FuncError> {
    let width: usize = text_arg(args, 0, "indent")?
        .parse()
        .map_err(|_| FuncError::Generic("indent: a number of spaces".into()))?;
    let text = text_arg(args, 1, "indent")?;
    Ok(Value::String(
        text.replace('\n', &format!("\n{}", " ".repeat(width))),
    ))
}

/// `seq N`: 0 to N-1, for `range`.
fn seq(args: &[Value]) -> Result<Value, FuncError> {
    let count: i64 = text_arg(args, 0, "seq")?
        .parse()
        .map_err(|_| FuncError::Generic("seq: a number".into()))?;
    Ok(Value::Array((0..count.max(0)).map(Value::from).collect()))
}

fn host_only(name: &str) -> Result<(), FuncError> {
    if HOST_ACCESS.with(Cell::get) {
        Ok(())
    } else {
        Err(FuncError::Generic(format!(
            "{name} reads the host and is not available to this template"
        )))
    }
}

/// `file PATH`: the file's contents.
fn file(args: &[Value]) -> Result<Value, FuncError> {
    host_only("file")?;
    let path = text_arg(args, 0, "file")?;
    std::fs::read_to_string(&path)
        .map(Value::String)
        .map_err(|e| FuncError::Generic(format!("file {path}: {e}")))
}

/// `exists PATH`: whether it exists.
fn exists(args: &[Value]) -> Result<Value, FuncError> {
    host_only("exists")?;
    Ok(Value::Bool(
        std::path::Path::new(&text_arg(args, 0, "exists")?).exists(),
    ))
}

/// `include PATH [NAME=VALUE...]`: another template rendered with this one's variables,
/// plus the pairs given.
fn include(args: &[Value]) -> Result<Value, FuncError> {
    host_only("include")?;
    let path = text_arg(args, 0, "include")?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| FuncError::Generic(format!("include {path}: {e}")))?;
    let mut vars = VARIABLES.with(|v| v.borrow().clone());
    for index in 1..args.len() {
        let pair = text_arg(args, index, "include")?;
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| FuncError::Generic(format!("include: {pair} is not NAME=VALUE")))?;
        vars.insert(name.to_string(), value.to_string());
    }
    let environment = ENVIRONMENT.with(|env| env.borrow().clone());
    let rendered = render_inner(&text, &vars, &environment)
        .map_err(|e| FuncError::Generic(format!("include {path}: {e}")))?;
    Ok(Value::String(rendered))
}

/// `sh COMMAND`: what `sh -c COMMAND` prints, its last newline dropped. (This crate stands
/// alone, without dokku-core's command runner: the shell's own stderr is the trace.)
#[allow(clippy::disallowed_methods)]
fn sh(args: &[Value]) -> Result<Value, FuncError> {
    host_only("sh")?;
    let command = text_arg(args, 0, "sh")?;
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| FuncError::Generic(format!("sh: {e}")))?;
    if !out.status.success() {
        return Err(FuncError::Generic(format!(
            "sh {command:?}: {}",
            out.status
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(Value::String(
        text.strip_suffix('\n').unwrap_or(&text).to_string(),
    ))
}

/// The functions this engine adds to Go's, by name; the last four need [`Access::Host`].
pub const FUNCTIONS: [&str; 17] = [
    "base64dec",
    "base64enc",
    "capitalize",
    "default",
    "indent",
    "join",
    "lower",
    "replace",
    "seq",
    "split",
    "trim",
    "upper",
    "var",
    "exists",
    "file",
    "include",
    "sh",
];

fn template(text: &str) -> Result<Template, Error> {
    let mut template = Template::default();
    template.add_funcs(&[
        ("base64dec", base64dec as gtmpl::Func),
        ("base64enc", base64enc as gtmpl::Func),
        ("capitalize", capitalize as gtmpl::Func),
        ("default", default as gtmpl::Func),
        ("exists", exists as gtmpl::Func),
        ("file", file as gtmpl::Func),
        ("include", include as gtmpl::Func),
        ("indent", indent as gtmpl::Func),
        ("join", join as gtmpl::Func),
        ("lower", lower as gtmpl::Func),
        ("replace", replace as gtmpl::Func),
        ("seq", seq as gtmpl::Func),
        ("sh", sh as gtmpl::Func),
        ("split", split as gtmpl::Func),
        ("trim", trim as gtmpl::Func),
        ("upper", upper as gtmpl::Func),
        ("var", var as gtmpl::Func),
    ]);
    template
        .parse(text)
        .map_err(|err| Error::Parse(err.to_string()))?;
    Ok(template)
}

/// Fails with the parser's words when `text` is not a template.
pub fn check(text: &str) -> Result<(), Error> {
    template(text).map(|_| ())
}

/// `text` rendered with `vars` (`{{ $.NAME }}`) and `environment` for `var`; `access`
/// says whether it may reach the host.
pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
    access: Access,
) -> Result<String, Error> {
    HOST_ACCESS.with(|host| host.set(access == Access::Host));
    let rendered = render_inner(text, vars, environment);
    HOST_ACCESS.with(|host| host.set(false));
    rendered
}

fn render_inner(
    text: &str,
    vars: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> Result<String, Error> {
    let template = template(text)?;
    let context: HashMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let outer_vars = VARIABLES.with(|v| v.replace(vars.clone()));
    let outer_env = ENVIRONMENT.with(|env| env.replace(environment.clone()));
    let rendered = template.render(&Context::from(Value::from(context)));
    VARIABLES.with(|v| *v.borrow_mut() = outer_vars);
    ENVIRONMENT.with(|env| *env.borrow_mut() = outer_env);
    rendered.map_err(|err| Error::Render(err.to_string()))
}

/// sigil's `-p`: `$NAME` and `${NAME}` in `text` replaced by the variable's value (the
/// given variables first, then the environment), before the template is read.
pub fn expand_posix(
    text: &str,
    vars: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> String {
    let lookup = |name: &str| {
        vars.get(name)
            .or_else(|| environment.get(name))
            .cloned()
            .unwrap_or_default()
    };
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(braced) = after.strip_prefix('{')
            && let Some(end) = braced.find('}')
            && !braced[..end].is_empty()
            && braced[..end].chars().all(is_name)
        {
            out.push_str(&lookup(&braced[..end]));
            rest = &braced[end + 1..];
            continue;
        }
        let len = after
            .char_indices()
            .find(|&(_, c)| !is_name(c))
            .map_or(after.len(), |(i, _)| i);
        if len > 0 && !after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(&lookup(&after[..len]));
            rest = &after[len..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sigils_functions_take_the_piped_value_last() {
        let out = render(
            r#"{{ range $p := .PORTS | split " " }}[{{ $p }}]{{ end }} {{ .NAME | upper }} {{ .NAME | capitalize }} {{ "a-b" | replace "-" "_" }} {{ var "HOME_DIR" | default "none" }} {{ "  x " | trim }} {{ "hi" | base64enc }} {{ "aGk=" | base64dec }} {{ .PORTS | split " " | join "," }} {{ "ABC" | lower }}"#,
            &map(&[("PORTS", "80 443"), ("NAME", "web")]),
            &map(&[]),
            Access::Text,
        )
        .unwrap();
        assert_eq!(out, "[80][443] WEB Web a_b none x aGk= hi 80,443 abc");
        let with_env = render(
            r#"{{ var "GREETING" }}"#,
            &map(&[]),
            &map(&[("GREETING", "hi")]),
            Access::Text,
        );
        assert_eq!(with_env.unwrap(), "hi");
    }

    #[test]
    fn parse_and_render_failures_say_which() {
        assert!(matches!(check("{{ if .X }}"), Err(Error::Parse(_))));
        assert!(matches!(check("{{ .X | nosuch }}"), Err(Error::Parse(_))));
        assert!(matches!(
            render(
                "{{ index .X 3 }}",
                &map(&[("X", "ab")]),
                &map(&[]),
                Access::Text
            ),
            Err(Error::Render(_))
        ));
    }

    #[test]
    fn the_host_is_reached_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("inner.sigil");
        std::fs::write(&inner, "[{{ $.NAME }}/{{ $.EXTRA }}]").unwrap();
        let text = format!(
            r#"{{{{ file "{0}" }}}} {{{{ exists "{0}" }}}} {{{{ include "{0}" "EXTRA=x" }}}} {{{{ sh "echo $((6*7))" }}}} {{{{ range seq 3 }}}}{{{{ . }}}}{{{{ end }}}} {{{{ "a\nb" | indent 2 }}}}"#,
            inner.display()
        );
        let vars = map(&[("NAME", "app")]);
        let out = render(&text, &vars, &map(&[]), Access::Host).unwrap();
        assert_eq!(
            out,
            "[{{ $.NAME }}/{{ $.EXTRA }}] true [app/x] 42 012 a\n  b"
        );
        for denied in ["file", "exists", "include", "sh"] {
            let text = format!(r#"{{{{ {denied} "/etc/passwd" }}}}"#);
            let error = render(&text, &vars, &map(&[]), Access::Text).unwrap_err();
            assert!(
                error.to_string().contains("not available to this template"),
                "{denied}: {error}"
            );
        }
    }

    #[test]
    fn posix_variables_expand_from_the_variables_then_the_environment() {
        let out = expand_posix(
            "a=$A b=${B} c=$C_1. $ $1 ${} end$",
            &map(&[("A", "1")]),
            &map(&[("B", "2"), ("C_1", "3")]),
        );
        assert_eq!(out, "a=1 b=2 c=3. $ $1 ${} end$");
    }
}
