//! Serving the Lambda Runtime API, shared by the three programs: `lambda_runtime` runs the
//! handler, and what it cannot handle ends the process with one log line saying so.
//!
//! The library panics on some malformed Runtime API responses (a `next` invocation without its
//! request id or deadline header) and on missing `AWS_LAMBDA_FUNCTION_*` variables. Such a panic
//! is caught here: the function's log gets one JSON line naming what was wrong (not Rust's
//! multi-line panic text) and the process exits 1, so Lambda reports the environment as failed
//! and starts a new one, as it does for an init error.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

/// Runs `handler` for every invocation until the runtime stops.
pub async fn serve<F, Fut, E>(handler: F) -> ExitCode
where
    F: FnMut(LambdaEvent<Value>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Value, E>> + Send + 'static,
    E: Into<Diagnostic> + Debug + Send + 'static,
{
    log_panics_as_one_line();
    let runtime = tokio::spawn(lambda_runtime::run(service_fn(handler)));
    match runtime.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "Lambda runtime stopped");
            ExitCode::from(1)
        }
        Err(e) => {
            let why = if e.is_panic() {
                panic_text(&*e.into_panic())
            } else {
                e.to_string()
            };
            tracing::error!(error = %why, "the Lambda runtime stopped on what it could not handle (a malformed Runtime API response or a missing AWS_LAMBDA_FUNCTION_* variable); exiting so that Lambda starts a new environment");
            ExitCode::from(1)
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Panics (a handler's is reported to Lambda as the invocation's error by the library) are
/// logged as one JSON line with where they happened.
fn log_panics_as_one_line() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(panic = %panic_text(info.payload()), location = %location, "panic");
    }));
}
