//! What can be wrong with a job's configuration.

use std::path::PathBuf;

use pg_cron_job_core::libpq::RootCertError;
use pg_cron_job_core::sql::ScriptError;
use thiserror::Error;

use crate::env::EnvError;
use crate::export::ExportConfigError;

/// A configuration problem; the message names the variable and the accepted values.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0} is required: {1}")]
    Missing(&'static str, &'static str),
    #[error("{var} has an invalid value {value:?}: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("SQL_FILE {path}: {source}")]
    SqlFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name} {source}")]
    Script {
        source_name: String,
        source: ScriptError,
    },
    #[error("SQL_FILE {path} has SHA-256 {actual} but SQL_SHA256 expects {expected}: the package holds another version of the file than your repository; rebuild the package (make build) and apply again")]
    StaleSql {
        path: PathBuf,
        actual: String,
        expected: String,
    },
    #[error(transparent)]
    RootCert(#[from] RootCertError),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Export(#[from] ExportConfigError),
}
