//! `bootstrap`, the Lambda package's one executable: the function's handler setting (Lambda's
//! `_HANDLER`) picks the program, `job`, `rotation` or `watchdog`. With `AWS_LAMBDA_RUNTIME_API` set the
//! program serves the Lambda Runtime API; otherwise it runs once (one-shot mode, for tests and
//! operators) and exits 0 (done), 1 (failed) or 2 (bad configuration or argument).

// The job program's future is deep (the whole run is one async state machine); its layout is
// computed here, across the crate boundary, past the default query depth of 128.
#![recursion_limit = "256"]

use std::process::ExitCode;

use pg_cron_job_lambda::program::Program;
use pg_cron_job_lambda::{rotation, runner, watchdog};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let program = match Program::from_handler(std::env::var("_HANDLER").ok().as_deref()) {
        Ok(p) => p,
        Err(e) => {
            // Under Lambda this is the init error in the function's log; the invocation fails.
            tracing::error!(error = %e, "unknown handler");
            eprintln!("pg-cron-job: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pg-cron-job: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match program {
        Program::Job => runtime.block_on(runner::main(lambda)),
        Program::Rotation => runtime.block_on(rotation::main(lambda)),
        Program::Watchdog => runtime.block_on(watchdog::main(lambda)),
    }
}
