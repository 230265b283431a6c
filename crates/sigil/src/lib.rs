//! Templates as gliderlabs' `sigil` renders them: Go's `text/template` (the `gtmpl` crate,
//! a port of it: pipelines, variables, `range`, `if`/`else if`, trim markers), the
//! variables given as `NAME=VALUE` (`{{ $.NAME }}`), and sigil's functions on top of Go's
//! own. A function takes the piped value last, so `{{ .LIST | split " " }}` reads as it
//! does in Dokku's templates. `var NAME` reads the variables of the environment given.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use gtmpl::{Context, FuncError, Template, Value};

thread_local! {
    /// The environment `var` reads while a template renders (gtmpl's functions are plain
    /// function pointers, so they cannot carry it).
    static ENVIRONMENT: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
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

/// The functions this engine adds to Go's, by name.
pub const FUNCTIONS: [&str; 11] = [
    "base64dec",
    "base64enc",
    "capitalize",
    "default",
    "join",
    "lower",
    "replace",
    "split",
    "trim",
    "upper",
    "var",
];

fn template(text: &str) -> Result<Template, Error> {
    let mut template = Template::default();
    template.add_funcs(&[
        ("base64dec", base64dec as gtmpl::Func),
        ("base64enc", base64enc as gtmpl::Func),
        ("capitalize", capitalize as gtmpl::Func),
        ("default", default as gtmpl::Func),
        ("join", join as gtmpl::Func),
        ("lower", lower as gtmpl::Func),
        ("replace", replace as gtmpl::Func),
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

/// `text` rendered with `vars` (`{{ $.NAME }}`) and `environment` for `var`.
pub fn render(
    text: &str,
    vars: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> Result<String, Error> {
    let template = template(text)?;
    let context: HashMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    ENVIRONMENT.with(|env| *env.borrow_mut() = environment.clone());
    let rendered = template.render(&Context::from(Value::from(context)));
    ENVIRONMENT.with(|env| env.borrow_mut().clear());
    rendered.map_err(|err| Error::Render(err.to_string()))
}

#[cfg(test)]
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
        )
        .unwrap();
        assert_eq!(out, "[80][443] WEB Web a_b none x aGk= hi 80,443 abc");
        let with_env = render(
            r#"{{ var "GREETING" }}"#,
            &map(&[]),
            &map(&[("GREETING", "hi")]),
        );
        assert_eq!(with_env.unwrap(), "hi");
    }

    #[test]
    fn parse_and_render_failures_say_which() {
        assert!(matches!(check("{{ if .X }}"), Err(Error::Parse(_))));
        assert!(matches!(check("{{ .X | nosuch }}"), Err(Error::Parse(_))));
        assert!(matches!(
            render("{{ index .X 3 }}", &map(&[("X", "ab")]), &map(&[])),
            Err(Error::Render(_))
        ));
    }
}
