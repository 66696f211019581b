//! `pg-cron-job check FILE...`: reads each SQL file with the job runner's own script reader
//! (`pg_cron_job_core::sql`, the same size limit and the same refusals as the runner's start-up),
//! so a script the runner would refuse (`\d`, `COPY ... FROM STDIN`, `\set ON_ERROR_ROLLBACK on`)
//! is found before it is packaged, not at its first run. The runner gives a script no psql
//! variables of its own (a script sets them with `\set`), so neither does `check`.

use std::path::Path;
use std::process::ExitCode;

use pg_cron_job_core::sql::{Script, ScriptError, MAX_SCRIPT_BYTES};

use crate::cli::CheckArgs;

/// Why the runner would refuse a file.
struct Refusal {
    line: Option<u32>,
    message: String,
}

/// The file's statement count, or why the runner would refuse it.
fn check_file(path: &Path) -> Result<usize, Refusal> {
    let text = pg_cron_job_core::file::read_text(path, MAX_SCRIPT_BYTES).map_err(|e| Refusal {
        line: None,
        message: format!("cannot read it: {e}"),
    })?;
    let script = Script::parse_job(text).map_err(|e| Refusal {
        line: match &e {
            ScriptError::Unsupported { line, .. } | ScriptError::Invalid { line, .. } => {
                Some(*line)
            }
            ScriptError::TooLarge | ScriptError::Empty => None,
        },
        message: e.to_string(),
    })?;
    Ok(script.statement_count())
}

/// Prints one line (or JSON object) per file; exit 1 when any file would be refused.
pub fn main(args: &CheckArgs) -> ExitCode {
    let mut refused = 0usize;
    for path in &args.files {
        let result = check_file(path);
        let file = path.display().to_string();
        if args.json {
            let value = match &result {
                Ok(n) => {
                    serde_json::json!({"file": file, "ok": true, "statements": n, "line": null, "error": null})
                }
                Err(r) => {
                    serde_json::json!({"file": file, "ok": false, "statements": null, "line": r.line, "error": r.message})
                }
            };
            println!("{value}");
        } else {
            match &result {
                Ok(n) => println!(
                    "{file}: ok, {n} statement{}",
                    if *n == 1 { "" } else { "s" }
                ),
                Err(r) => eprintln!("{file}: {}", r.message),
            }
        }
        refused += usize::from(result.is_err());
    }
    if !args.json {
        let n = args.files.len();
        eprintln!(
            "pg-cron-job check: {n} file{} read, {refused} the runner would refuse",
            if n == 1 { "" } else { "s" }
        );
    }
    if refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
