//! Password rotation for the job's secret: the package's `rotation` program (the function's
//! handler) serves Secrets Manager's rotation protocol (`createSecret`, `setSecret`,
//! `testSecret`, `finishSecret`) with `ROTATION_STRATEGY=single-user` or `alternating-users`.
//!
//! Every step is idempotent per token: a retried or repeated step finds its work done and
//! returns; a token that is not the secret's `AWSPENDING` version is refused. Passwords are set
//! as SCRAM-SHA-256 verifiers computed here, never as clear text.

mod config;
mod protocol;
mod steps;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

pub use config::{RotationConfig, RotationError};
use protocol::RotationEvent;
pub use protocol::{Step, Strategy};
use steps::Rotator;

/// Kept between the last wait of a step and Lambda's deadline, to report the outcome.
const DEADLINE_GUARD: Duration = Duration::from_millis(1_000);

async fn rotator_from_env() -> Result<Rotator, RotationError> {
    let config = RotationConfig::from_vars(std::env::vars().collect())?;
    let tls = pg_cron_job_core::tls::connector(config.ssl_mode, config.ssl_root_cert.as_deref())
        .map_err(|e| RotationError::Config(e.to_string()))?;
    let sdk = crate::aws::sdk_config().await;
    Ok(Rotator::new(config, tls, crate::aws::secrets_client(&sdk)))
}

/// Entry point of the `rotation` program: Lambda mode when `lambda` (the Runtime API is
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
        eprintln!("pg-cron-job: the rotation program's argument is a rotation event: '{{\"SecretId\":\"...\",\"ClientRequestToken\":\"...\",\"Step\":\"createSecret\"}}'");
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
    let handler = move |event: LambdaEvent<Value>| {
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
    };
    crate::serve::serve(handler).await
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
