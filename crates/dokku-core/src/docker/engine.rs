//! The engine's HTTP API over its unix socket, for the small questions a deploy asks many
//! times (does this image exist, its labels, tag it): the docker CLI takes 20-40 ms to
//! start for each, the socket answers in about a millisecond. Builds stay with the CLI.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::env;

/// The engine's socket: `DOCKER_HOST` when it names a unix socket, else docker's default.
fn socket_path() -> Result<PathBuf> {
    match env::var("DOCKER_HOST").filter(|h| !h.is_empty()) {
        None => Ok(PathBuf::from("/var/run/docker.sock")),
        Some(host) => match host.strip_prefix("unix://") {
            Some(path) => Ok(PathBuf::from(path)),
            None => bail!("DOCKER_HOST={host}: dokku-rs needs the local engine's unix socket"),
        },
    }
}

/// An API answer: the HTTP status and the body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("reading the docker engine's answer")
    }

    /// The engine's own error message for a failed request.
    fn message(&self) -> String {
        self.json()
            .ok()
            .and_then(|v| v["message"].as_str().map(String::from))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).trim().to_string())
    }

    /// Fails with the engine's message unless the request succeeded.
    pub fn ok(self, what: &str) -> Result<Reply> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        bail!("{what}: {}", self.message())
    }
}

/// One request, `path` with its query already encoded.
pub fn request(method: &str, path: &str) -> Result<Reply> {
    send(method, path, None)
}

/// One request with a JSON body.
pub fn request_json(method: &str, path: &str, body: &serde_json::Value) -> Result<Reply> {
    send(
        method,
        path,
        Some(("application/json", serde_json::to_vec(body)?)),
    )
}

/// One request with a tar archive as its body.
pub fn request_tar(method: &str, path: &str, archive: Vec<u8>) -> Result<Reply> {
    send(method, path, Some(("application/x-tar", archive)))
}

/// A request body and its content type.
type Body = (&'static str, Vec<u8>);

fn send(method: &str, path: &str, body: Option<Body>) -> Result<Reply> {
    let started = Instant::now();
    let reply = exchange(method, path, body);
    if let Some(log) = env::var(env::DOKKU_ENGINE_LOG) {
        let program = std::env::args().next().unwrap_or_default();
        let program = program.rsplit('/').next().unwrap_or_default();
        let took = started.elapsed().as_nanos();
        crate::fs::append_line(&log, &format!("{program} {method} {path} {took}"));
    }
    reply
}

fn exchange(method: &str, path: &str, body: Option<Body>) -> Result<Reply> {
    let socket = socket_path()?;
    let mut stream = UnixStream::connect(&socket)
        .with_context(|| format!("connecting to the docker engine at {}", socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let (kind, body) = match body {
        Some((kind, body)) => (format!("Content-Type: {kind}\r\n"), body),
        None => (String::new(), Vec::new()),
    };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: dokku-rs\r\n\
         Connection: close\r\n{kind}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    head.extend_from_slice(&body);
    stream.write_all(&head)?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .context("reading from the docker engine")?;
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Result<Reply> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the docker engine sent no HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("the docker engine sent no HTTP status")?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = &raw[split + 4..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Reply { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a truncated chunk from the docker engine")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("a bad chunk size from the docker engine")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if data.len() < size {
            bail!("a truncated chunk from the docker engine");
        }
        body.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// Percent-encodes a path segment or query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_replies() {
        let plain = parse_reply(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((plain.status, plain.body.as_slice()), (404, &b"{}"[..]));
        let chunked = parse_reply(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n2\r\n,3\r\n1\r\n]\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.json().unwrap(), serde_json::json!([1, 2, 3]));
        assert!(parse_reply(b"garbage").is_err());
        let failed =
            parse_reply(b"HTTP/1.1 409 Conflict\r\n\r\n{\"message\":\"image is being used\"}")
                .unwrap();
        assert_eq!(
            failed.ok("removing x").unwrap_err().to_string(),
            "removing x: image is being used"
        );
    }

    #[test]
    fn encodes_names_and_filters() {
        assert_eq!(encode("dokku/app:build-1"), "dokku%2Fapp%3Abuild-1");
        assert_eq!(
            encode("{\"label\":[\"a=b\"]}"),
            "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D"
        );
    }
}
