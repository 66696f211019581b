//! The `job` program: runs the job once per invocation. With `AWS_LAMBDA_RUNTIME_API` set it
//! serves the Lambda Runtime API; otherwise it runs the job once, prints the JSON result and
//! exits 0 (succeeded, skipped or partial), 1 (failed) or 2 (bad configuration).

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent};
use pg_cron_job_core::outcome::{ErrorInfo, ErrorKind};
use serde_json::Value;

use crate::app::{App, Limits, StartupError};
use crate::event::InvocationEvent;
use crate::report::Report;

/// Entry point of the `job` program: Lambda mode when `lambda` (the Runtime API is there).
pub async fn main(lambda: bool) -> ExitCode {
    if lambda {
        serve_lambda().await
    } else {
        run_once().await
    }
}

/// The "job finished" line of a run that could not start for its configuration (the app writes
/// it for every other run).
fn finished(report: &Report) {
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_string());
    eprintln!("{}", crate::metrics::job_finished(report, &namespace, None));
}

fn job_name_from_env() -> String {
    std::env::var("JOB_NAME")
        .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
        .unwrap_or_else(|_| "pg-cron-job".into())
}

/// One-shot mode: an optional first argument is the event JSON (e.g. `{"id":"manual-1"}`).
async fn run_once() -> ExitCode {
    let app = match App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("pg-cron-job: configuration error: {e}");
            let report = e.report(&job_name_from_env());
            finished(&report);
            println!("{}", report.to_json());
            return ExitCode::from(2);
        }
    };
    let payload = match std::env::args().nth(1) {
        None => Value::Object(Default::default()),
        Some(arg) => match serde_json::from_str(&arg) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("pg-cron-job: the argument must be the event as JSON (for example '{{\"id\":\"manual-1\"}}'): {e}");
                return ExitCode::from(2);
            }
        },
    };
    let event = InvocationEvent::from_value(&payload);
    let report = app
        .run(
            &event,
            Limits {
                lambda_deadline: None,
            },
            None,
        )
        .await;
    println!("{}", report.to_json());
    if report.is_failure() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// A failed run, returned to the runtime as an error so Lambda's Errors metric, alarms and
/// on-failure destinations fire; the message is the run's JSON result.
struct JobFailed(Box<Report>);

/// What the runtime logs for a failed invocation: one line, not a dump of the report (the run's
/// details are in the "job finished" line and in the returned result).
impl std::fmt::Debug for JobFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.error {
            Some(e) => write!(
                f,
                "job {} failed ({}): {}",
                self.0.job,
                e.kind.as_str(),
                e.message
            ),
            None => write!(f, "job {} failed", self.0.job),
        }
    }
}

impl From<JobFailed> for Diagnostic {
    fn from(failed: JobFailed) -> Self {
        let kind = failed
            .0
            .error
            .as_ref()
            .map_or("internal", |e| e.kind.as_str());
        Diagnostic {
            error_type: format!("PgCronJob.{kind}"),
            error_message: failed.0.to_json(),
        }
    }
}

async fn serve_lambda() -> ExitCode {
    let app: Result<Arc<App>, Arc<StartupError>> = App::from_env().await.map_err(Arc::new);
    if let Err(e) = &app {
        tracing::error!(error = %e, "configuration error: every invocation will fail until it is fixed");
    }
    let handler = move |event: LambdaEvent<Value>| {
        let app = app.clone();
        async move { handle(app, event).await }
    };
    crate::serve::serve(handler).await
}

async fn handle(
    app: Result<Arc<App>, Arc<StartupError>>,
    event: LambdaEvent<Value>,
) -> Result<Value, JobFailed> {
    let (payload, context) = event.into_parts();
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            let report = e.report(&job_name_from_env());
            finished(&report);
            return Err(JobFailed(Box::new(report)));
        }
    };
    let invocation = InvocationEvent::from_value(&payload);
    tracing::info!(request_id = %context.request_id, event_id = invocation.id.as_deref().unwrap_or(""), "invocation received");
    let limits = Limits {
        lambda_deadline: Some(context.deadline()),
    };
    let report = app
        .run(&invocation, limits, Some(&context.invoked_function_arn))
        .await;
    if report.is_failure() {
        Err(JobFailed(Box::new(report)))
    } else {
        serde_json::to_value(&report).map_err(|e| {
            let mut failed = report.clone();
            failed.fail(ErrorInfo::new(
                ErrorKind::Internal,
                format!("cannot serialise the report: {e}"),
            ));
            JobFailed(Box::new(failed))
        })
    }
}
