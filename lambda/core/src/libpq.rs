//! libpq-style connection settings every program shares: where the CA bundle is, and files
//! named relative to the package root (`LAMBDA_TASK_ROOT`).

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::tls::SslMode;

/// File name of the Amazon RDS CA bundle shipped next to `bootstrap` in the Lambda package.
pub const DEFAULT_ROOT_CERT_FILE: &str = "global-bundle.pem";

/// The CA bundle a verifying `PGSSLMODE` needs cannot be read.
#[derive(Debug, Error)]
#[error("PGSSLROOTCERT {path} cannot be read ({source}); PGSSLMODE={mode} needs a PEM CA bundle: ship the Amazon RDS global-bundle.pem in the package or point PGSSLROOTCERT at one")]
pub struct RootCertError {
    pub path: PathBuf,
    pub mode: &'static str,
    pub source: std::io::Error,
}

/// For the verifying modes, the readable CA bundle: `root_cert` (`PGSSLROOTCERT`), else
/// `global-bundle.pem` in the package; `None` for modes that verify nothing.
pub fn root_cert(
    mode: SslMode,
    root_cert: Option<&str>,
    task_root: Option<&Path>,
) -> Result<Option<PathBuf>, RootCertError> {
    if !mode.verifies_chain() {
        return Ok(None);
    }
    let path = match root_cert {
        Some(p) => resolve_path(p, task_root),
        None => default_root_cert(task_root),
    };
    std::fs::metadata(&path).map_err(|source| RootCertError {
        path: path.clone(),
        mode: mode.as_str(),
        source,
    })?;
    Ok(Some(path))
}

/// A relative path against the package root, when there is one (Lambda), else as given.
pub fn resolve_path(value: &str, task_root: Option<&Path>) -> PathBuf {
    let path = PathBuf::from(value);
    match task_root {
        Some(root) if path.is_relative() => root.join(path),
        _ => path,
    }
}

fn default_root_cert(task_root: Option<&Path>) -> PathBuf {
    let dir = task_root.map(Path::to_path_buf).or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
    });
    dir.unwrap_or_default().join(DEFAULT_ROOT_CERT_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_modes_need_a_readable_bundle() {
        assert!(root_cert(SslMode::Require, Some("/nonexistent.pem"), None)
            .unwrap()
            .is_none());
        let e = root_cert(SslMode::VerifyFull, Some("/nonexistent.pem"), None).unwrap_err();
        assert!(e.to_string().contains("PGSSLMODE=verify-full"), "{e}");
        assert_eq!(
            resolve_path("sql/a.sql", Some(Path::new("/var/task"))),
            PathBuf::from("/var/task/sql/a.sql")
        );
        assert_eq!(
            resolve_path("/etc/x", Some(Path::new("/var/task"))),
            PathBuf::from("/etc/x")
        );
    }
}
