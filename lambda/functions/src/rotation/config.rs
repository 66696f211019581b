//! The rotation function's settings and failures.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use pg_cron_job_core::tls::SslMode;

use super::protocol::{Step, Strategy};
use crate::config::{ConfigError, Connection};
use crate::contract;
use crate::env::Env;
use crate::program::Program;

/// Why a rotation step did not complete. Messages name the step and the secret, never a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("rotation configuration: {0}")]
    Config(String),
    #[error("not a Secrets Manager rotation event ({0}): expected {{\"SecretId\", \"ClientRequestToken\", \"Step\"}} with Step createSecret, setSecret, testSecret or finishSecret")]
    Event(String),
    #[error("{step} for secret {secret}: {message}")]
    Step {
        step: Step,
        secret: String,
        message: String,
    },
}

/// Rotation settings, from the environment: the strategy and the same connection rules as jobs
/// (`PGSSLMODE`, `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`, `PGHOST`/`PGPORT`/`PGDATABASE`
/// overriding the secret's fields, `PGAPPNAME`).
#[derive(Debug, Clone)]
pub struct RotationConfig {
    pub strategy: Strategy,
    pub ssl_mode: SslMode,
    pub ssl_root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub app_name: String,
}

impl RotationConfig {
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, RotationError> {
        let config_error = |e: ConfigError| RotationError::Config(e.to_string());
        let env =
            Env::new(vars, Program::Rotation).map_err(|e| RotationError::Config(e.to_string()))?;
        let strategy = env
            .choice(&contract::ROTATION_STRATEGY)
            .map_err(|e| RotationError::Config(e.to_string()))?
            .and_then(Strategy::parse)
            .ok_or_else(|| {
                RotationError::Config(format!(
                    "ROTATION_STRATEGY is required: {}",
                    contract::ROTATION_STRATEGY.expected()
                ))
            })?;
        let task_root = env.lambda("LAMBDA_TASK_ROOT").map(PathBuf::from);
        let connection = Connection::parse(&env, task_root.as_deref()).map_err(config_error)?;
        let port = env
            .int::<u16>(&contract::PGPORT)
            .map_err(|e| RotationError::Config(e.to_string()))?;
        Ok(RotationConfig {
            strategy,
            ssl_mode: connection.ssl_mode,
            ssl_root_cert: connection.ssl_root_cert,
            connect_timeout: connection.connect_timeout,
            host: env.text(&contract::PGHOST),
            port,
            dbname: env.text(&contract::PGDATABASE),
            app_name: connection
                .app_name
                .unwrap_or_else(|| "pg-cron-job-rotation".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn configuration_errors_name_the_variable() {
        let err = |pairs: &[(&str, &str)]| {
            RotationConfig::from_vars(vars(pairs))
                .expect_err("rejected")
                .to_string()
        };
        assert!(err(&[("ROTATION_STRATEGY", "multi-user")]).contains("ROTATION_STRATEGY"));
        let ok = [
            ("ROTATION_STRATEGY", "single-user"),
            ("PGSSLMODE", "require"),
        ];
        let c = RotationConfig::from_vars(vars(&ok)).unwrap();
        assert_eq!(c.strategy, Strategy::SingleUser);
        assert_eq!(c.connect_timeout, Duration::from_secs(15));
        let mut bad = ok.to_vec();
        bad.push(("PGCONNECT_TIMEOUT", "0"));
        assert!(err(&bad).contains("PGCONNECT_TIMEOUT"));
        assert!(err(&[
            ("ROTATION_STRATEGY", "alternating-users"),
            ("PGSSLROOTCERT", "/nonexistent/ca.pem")
        ])
        .contains("PGSSLROOTCERT /nonexistent/ca.pem"));
    }
}
