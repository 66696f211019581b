//! TLS for the PostgreSQL connection (`native-tls` + `postgres-native-tls`), following libpq's
//! `sslmode` semantics for `disable`, `require`, `verify-ca` and `verify-full`.

use std::path::{Path, PathBuf};

use native_tls::{Certificate, TlsConnector};
use postgres_native_tls::MakeTlsConnector;
use thiserror::Error;

/// libpq-style TLS mode (`PGSSLMODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP; only for local testing.
    Disable,
    /// Encrypt, check nothing.
    Require,
    /// Encrypt and check the chain against the root bundle, not the host name.
    VerifyCa,
    /// Encrypt, check the chain and that the certificate names the host (default).
    VerifyFull,
}

impl SslMode {
    /// Parses a `PGSSLMODE` value.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disable" => Some(Self::Disable),
            "require" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    /// The `PGSSLMODE` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Whether this mode checks the server's certificate chain.
    pub fn verifies_chain(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}

/// A problem building the TLS connector.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("PGSSLROOTCERT {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("PGSSLROOTCERT {path} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)")]
    Empty { path: PathBuf },
    #[error("PGSSLROOTCERT {path}: certificate {index} is not valid PEM: {source}")]
    Parse {
        path: PathBuf,
        index: usize,
        source: native_tls::Error,
    },
    #[error("cannot build the TLS connector: {0}")]
    Build(#[from] native_tls::Error),
}

/// Builds the connector for `mode`; `None` for `disable`.
pub fn connector(
    mode: SslMode,
    root_cert: Option<&Path>,
) -> Result<Option<MakeTlsConnector>, TlsError> {
    let mut builder = TlsConnector::builder();
    builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    match mode {
        SslMode::Disable => return Ok(None),
        SslMode::Require => {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        SslMode::VerifyCa | SslMode::VerifyFull => {
            builder.disable_built_in_roots(true);
            if let Some(path) = root_cert {
                for cert in load_bundle(path)? {
                    builder.add_root_certificate(cert);
                }
            }
            if mode == SslMode::VerifyCa {
                builder.danger_accept_invalid_hostnames(true);
            }
        }
    }
    Ok(Some(MakeTlsConnector::new(builder.build()?)))
}

/// A CA bundle's largest size (Amazon's global bundle is about 180 kB).
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads every certificate of a PEM bundle (the RDS bundle holds one per region).
fn load_bundle(path: &Path) -> Result<Vec<Certificate>, TlsError> {
    let text = crate::file::read_text(path, MAX_BUNDLE_BYTES).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let blocks = pem_blocks(&text);
    if blocks.is_empty() {
        return Err(TlsError::Empty {
            path: path.to_path_buf(),
        });
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, block)| {
            Certificate::from_pem(block.as_bytes()).map_err(|source| TlsError::Parse {
                path: path.to_path_buf(),
                index: i + 1,
                source,
            })
        })
        .collect()
}

fn pem_blocks(text: &str) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let stop = start + end + END.len();
        blocks.push(rest[start..stop].to_string());
        rest = &rest[stop..];
    }
    blocks
}

/// Turns an OpenSSL verification failure into a sentence that says which check failed.
pub fn explain_handshake_error(
    detail: &str,
    mode: SslMode,
    host: &str,
    root: Option<&Path>,
) -> String {
    let root = root
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none)".into());
    let lower = detail.to_ascii_lowercase();
    if lower.contains("hostname mismatch") || lower.contains("host name mismatch") {
        format!(
            "TLS: the server certificate does not match host name {host:?} (PGSSLMODE={}); connect with the name the certificate was issued for (the RDS endpoint) or use PGSSLMODE=verify-ca: {detail}",
            mode.as_str()
        )
    } else if lower.contains("certificate verify failed") {
        format!(
            "TLS: the server certificate is not signed by a CA in PGSSLROOTCERT {root} (unknown CA); ship the right CA bundle (Amazon RDS global-bundle.pem) with the function: {detail}"
        )
    } else {
        format!("TLS handshake with {host} failed: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libpq_modes() {
        assert_eq!(SslMode::parse("verify-full"), Some(SslMode::VerifyFull));
        assert_eq!(SslMode::parse("VERIFY-CA"), Some(SslMode::VerifyCa));
        assert_eq!(SslMode::parse("require"), Some(SslMode::Require));
        assert_eq!(SslMode::parse("disable"), Some(SslMode::Disable));
        assert_eq!(SslMode::parse("prefer"), None);
        assert!(SslMode::VerifyCa.verifies_chain() && !SslMode::Require.verifies_chain());
    }

    #[test]
    fn splits_a_bundle_into_blocks() {
        let one = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
        let text = format!("# eu-west-1\n{one}\n# us-east-1\n{one}\n");
        assert_eq!(pem_blocks(&text).len(), 2);
        assert!(pem_blocks("nothing here").is_empty());
    }

    #[test]
    fn explains_which_check_failed() {
        let m = explain_handshake_error(
            "... certificate verify failed ... (hostname mismatch)",
            SslMode::VerifyFull,
            "db.example",
            None,
        );
        assert!(m.contains("does not match host name \"db.example\""), "{m}");
        let m = explain_handshake_error(
            "certificate verify failed (self-signed certificate in certificate chain)",
            SslMode::VerifyFull,
            "h",
            Some(Path::new("/ca.pem")),
        );
        assert!(m.contains("unknown CA") && m.contains("/ca.pem"), "{m}");
    }
}
