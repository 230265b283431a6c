//! A plain HTTP/1.0 GET over TCP, the one request the platform makes itself: the checks
//! plugin's health checks.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Result, bail};

/// `GET path` over HTTP/1.0 with `Host: host`; the body of a 2xx or 3xx answer.
pub fn get(ip: &str, port: u16, host: &str, path: &str, timeout: Duration) -> Result<String> {
    let address: SocketAddr = format!("{ip}:{port}").parse()?;
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: dokku\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    const MAX_BYTES: u64 = 1 << 20;
    let mut response = Vec::new();
    stream.take(MAX_BYTES).read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no HTTP answer"))?;
    if !(200..400).contains(&status) {
        bail!("HTTP status {status} for {path}");
    }
    Ok(response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_is_the_body_of_a_success_and_an_error_otherwise() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            for answer in ["200 OK", "503 Service Unavailable"] {
                let (mut conn, _) = listener.accept().expect("accept");
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    conn.read_exact(&mut byte).expect("read");
                    request.push(byte[0]);
                }
                let request = String::from_utf8_lossy(&request).into_owned();
                assert!(request.starts_with("GET /health HTTP/1.0\r\nHost: app.test\r\n"));
                write!(conn, "HTTP/1.1 {answer}\r\nContent-Length: 5\r\n\r\nhello").expect("write");
            }
        });
        let timeout = Duration::from_secs(5);
        let body = get("127.0.0.1", port, "app.test", "/health", timeout).expect("200");
        assert_eq!(body, "hello");
        let err = get("127.0.0.1", port, "app.test", "/health", timeout).expect_err("503");
        assert!(err.to_string().contains("503"), "{err}");
        server.join().expect("server");
    }
}
