//! Password rotation for the job's secret: with `ROTATION_STRATEGY=single-user` or
//! `alternating-users` the same binary serves Secrets Manager's rotation protocol
//! (`createSecret`, `setSecret`, `testSecret`, `finishSecret`) instead of running a job.
//!
//! Every step is idempotent per token: a retried or repeated step finds its work done and
//! returns; a token that is not the secret's `AWSPENDING` version is refused. Passwords are set
//! as SCRAM-SHA-256 verifiers computed here, never as clear text.

mod protocol;
mod steps;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::Deserialize;
use serde_json::Value;

use protocol::RotationEvent;
pub use protocol::{Step, Strategy};
use steps::Rotator;

use crate::tls::SslMode;

/// Kept between the last wait of a step and Lambda's deadline, to report the outcome.
const DEADLINE_GUARD: Duration = Duration::from_millis(1_000);

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

#[derive(Debug, Default, Deserialize)]
struct RawEnv {
    rotation_strategy: Option<String>,
    pgsslmode: Option<String>,
    pgsslrootcert: Option<String>,
    pgconnect_timeout: Option<String>,
    pghost: Option<String>,
    pgport: Option<String>,
    pgdatabase: Option<String>,
    pgappname: Option<String>,
    lambda_task_root: Option<String>,
}

impl RotationConfig {
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, RotationError> {
        let raw: RawEnv = envy::from_iter(vars.into_iter().filter(|(_, v)| !v.trim().is_empty()))
            .map_err(|e| RotationError::Config(e.to_string()))?;
        let invalid = |var: &str, value: &str, expected: &str| {
            RotationError::Config(format!(
                "{var} has an invalid value {value:?}: expected {expected}"
            ))
        };
        let value = raw.rotation_strategy.unwrap_or_default();
        let strategy = Strategy::parse(&value).ok_or_else(|| {
            invalid(
                "ROTATION_STRATEGY",
                &value,
                "`single-user` or `alternating-users`",
            )
        })?;
        let config_error = |e: crate::config::ConfigError| RotationError::Config(e.to_string());
        let task_root = raw.lambda_task_root.map(PathBuf::from);
        let (ssl_mode, ssl_root_cert) = crate::config::tls_settings(
            raw.pgsslmode.as_deref(),
            raw.pgsslrootcert.as_deref(),
            task_root.as_deref(),
        )
        .map_err(config_error)?;
        let connect_timeout = crate::config::connect_timeout(raw.pgconnect_timeout.as_deref())
            .map_err(config_error)?;
        let port = crate::config::port(raw.pgport.as_deref()).map_err(config_error)?;
        Ok(RotationConfig {
            strategy,
            ssl_mode,
            ssl_root_cert,
            connect_timeout,
            host: raw.pghost,
            port,
            dbname: raw.pgdatabase,
            app_name: raw
                .pgappname
                .unwrap_or_else(|| "pg-cron-job-rotation".into()),
        })
    }
}

async fn rotator_from_env() -> Result<Rotator, RotationError> {
    let config = RotationConfig::from_vars(std::env::vars().collect())?;
    let tls = crate::tls::connector(config.ssl_mode, config.ssl_root_cert.as_deref())
        .map_err(|e| RotationError::Config(e.to_string()))?;
    let sdk = crate::app::sdk_config().await;
    Ok(Rotator::new(
        config,
        tls,
        aws_sdk_secretsmanager::Client::new(&sdk),
    ))
}

/// Entry point when `ROTATION_STRATEGY` is set: Lambda mode when `lambda` (the Runtime API is
/// there), else one rotation step whose event JSON is the first argument.
pub async fn main(lambda: bool) -> ExitCode {
    let rotator = rotator_from_env().await.map(Arc::new).map_err(Arc::new);
    if lambda {
        return serve(rotator).await;
    }
    let rotator = match rotator {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(arg) = std::env::args().nth(1) else {
        eprintln!("pg-cron-job: with ROTATION_STRATEGY set, the argument is a rotation event: '{{\"SecretId\":\"...\",\"ClientRequestToken\":\"...\",\"Step\":\"createSecret\"}}'");
        return ExitCode::from(2);
    };
    let payload: Value = match serde_json::from_str(&arg) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("pg-cron-job: {}", RotationError::Event(e.to_string()));
            return ExitCode::from(2);
        }
    };
    match rotate(&rotator, payload, None).await {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            // Exit codes as for jobs: 2 for a bad argument, 1 for a failed step.
            ExitCode::from(if matches!(e, RotationError::Event(_)) {
                2
            } else {
                1
            })
        }
    }
}

/// A failed step, returned to the runtime as an error: Secrets Manager then marks the
/// rotation failed and retries it later.
#[derive(Debug)]
struct RotationFailed(String);

impl From<RotationFailed> for Diagnostic {
    fn from(failed: RotationFailed) -> Self {
        Diagnostic {
            error_type: "PgCronJob.Rotation".into(),
            error_message: failed.0,
        }
    }
}

async fn serve(rotator: Result<Arc<Rotator>, Arc<RotationError>>) -> ExitCode {
    if let Err(e) = &rotator {
        tracing::error!(error = %e, "configuration error: every rotation step will fail until it is fixed");
    }
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let rotator = rotator.clone();
        async move {
            let (payload, context) = event.into_parts();
            let rotator = rotator.map_err(|e| RotationFailed(e.to_string()))?;
            let left = context
                .deadline()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            let deadline = Instant::now() + left.saturating_sub(DEADLINE_GUARD);
            rotate(&rotator, payload, Some(deadline))
                .await
                .map_err(|e| RotationFailed(e.to_string()))
        }
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::from(1)
        }
    }
}

async fn rotate(
    rotator: &Rotator,
    payload: Value,
    deadline: Option<Instant>,
) -> Result<Value, RotationError> {
    let event: RotationEvent =
        serde_json::from_value(payload).map_err(|e| RotationError::Event(e.to_string()))?;
    tracing::info!(step = %event.step, secret_id = %event.secret_id, token = %event.token, "rotation step received");
    match rotator.step(&event, deadline).await {
        Ok(outcome) => {
            tracing::info!(step = %event.step, secret_id = %event.secret_id, token = %event.token, outcome, "rotation step done");
            Ok(serde_json::json!({
                "step": event.step.to_string(),
                "secret_id": event.secret_id,
                "token": event.token,
                "outcome": outcome,
            }))
        }
        Err(e) => {
            tracing::error!(step = %event.step, secret_id = %event.secret_id, token = %event.token, error = %e, "rotation step failed");
            Err(e)
        }
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
        assert_eq!(c.connect_timeout, crate::config::DEFAULT_CONNECT_TIMEOUT);
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
