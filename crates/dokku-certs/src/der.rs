//! Just enough DER to find a certificate's public key (its `SubjectPublicKeyInfo`), so the
//! key of a pair is compared without starting `openssl x509`, which costs 25 ms of the
//! time from `certs:add` to the certificate served. Every read is bounds-checked; anything
//! unexpected is an error, never a guess.

use anyhow::{Result, anyhow, bail};
use base64::Engine;

/// The DER of the first `CERTIFICATE` block of a PEM text (a chain starts with the leaf).
pub fn first_certificate(pem: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(pem).map_err(|_| anyhow!("not a PEM certificate"))?;
    let body = text
        .split("-----BEGIN CERTIFICATE-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END CERTIFICATE-----").next())
        .ok_or_else(|| anyhow!("not a PEM certificate"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| anyhow!("not a PEM certificate"))
}

/// One element: its tag, and where its contents and the element end in `der`.
fn element(der: &[u8], at: usize) -> Result<(u8, usize, usize)> {
    let bad = || anyhow!("not a DER certificate");
    let tag = *der.get(at).ok_or_else(bad)?;
    let first = *der.get(at + 1).ok_or_else(bad)? as usize;
    let (len, start) = if first < 0x80 {
        (first, at + 2)
    } else {
        let count = first & 0x7f;
        if count == 0 || count > 4 {
            bail!("not a DER certificate");
        }
        let bytes = der.get(at + 2..at + 2 + count).ok_or_else(bad)?;
        let len = bytes.iter().fold(0usize, |n, b| (n << 8) | *b as usize);
        (len, at + 2 + count)
    };
    let end = start
        .checked_add(len)
        .filter(|e| *e <= der.len())
        .ok_or_else(bad)?;
    Ok((tag, start, end))
}

const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT Version`, present in v2 and v3 certificates.
const VERSION: u8 = 0xa0;

/// The whole `SubjectPublicKeyInfo` element of a DER certificate.
pub fn public_key_info(cert: &[u8]) -> Result<&[u8]> {
    let (tag, cert_start, _) = element(cert, 0)?;
    let (tbs_tag, mut at, _) = element(cert, cert_start)?;
    if tag != SEQUENCE || tbs_tag != SEQUENCE {
        bail!("not a DER certificate");
    }
    if element(cert, at)?.0 == VERSION {
        at = element(cert, at)?.2;
    }
    // serialNumber, signature, issuer, validity, subject: then the key.
    for _ in 0..5 {
        at = element(cert, at)?.2;
    }
    let (tag, _, end) = element(cert, at)?;
    if tag != SEQUENCE {
        bail!("not a DER certificate");
    }
    Ok(&cert[at..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_of_a_certificate_is_found_and_garbage_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (crt, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        use dokku_core::cmd::Cmd;
        Cmd::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=x.test", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .expect("openssl");
        let pubkey = Cmd::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key)
            .output()
            .expect("openssl")
            .stdout;
        let pem = std::fs::read(&crt).expect("read");
        let der = first_certificate(&pem).expect("pem");
        assert_eq!(public_key_info(&der).expect("spki"), pubkey.as_slice());
        assert!(first_certificate(b"hello").is_err());
        assert!(public_key_info(&der[..40]).is_err());
        assert!(public_key_info(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
