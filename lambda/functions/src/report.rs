//! The run's JSON result and the redaction applied to everything that leaves the process.

use serde::Serialize;

pub use pg_cron_job_core::outcome::{millis, ErrorInfo, ErrorKind};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every statement ran (and, with `TRANSACTION=true`, committed).
    Succeeded,
    /// Nothing ran; `reason` says why (`overlap`, `duplicate_event`, `continuation_in_progress`).
    Skipped,
    /// `REPEAT_UNTIL_ZERO=true` stopped at the deadline with rows left; committed batches stay.
    Partial,
    /// Something went wrong; `error` says what.
    Failed,
}

impl Status {
    /// The lower-case name used in JSON and in the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Skipped => "skipped",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

/// How many statements `steps` lists at most: the first ones and the slowest of the rest.
pub const STEPS_FIRST: usize = 25;
pub const STEPS_SLOWEST: usize = 25;

/// One executed statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    /// 1-based position in the job.
    pub statement: usize,
    /// Rows affected (or returned) as PostgreSQL's command tag reports them.
    pub rows: u64,
    pub duration_ms: u64,
}

/// The JSON result of one run (printed in one-shot mode, returned in Lambda mode).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub job: String,
    pub run_id: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Statements completed.
    pub statements: usize,
    /// Statements in the job.
    pub statements_total: usize,
    /// Sum of rows affected over completed statements (0 when a transaction rolled back).
    pub rows_affected: u64,
    pub transaction: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rolled_back: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_requested: Option<bool>,
    pub duration_ms: u64,
    pub started_at: String,
    pub finished_at: String,
    /// The first statements and the slowest of the rest (at most 50), in statement order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
    /// Completed statements not listed in `steps`.
    #[serde(skip_serializing_if = "is_zero")]
    pub steps_omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slowest_step: Option<StepResult>,
    /// Statements that failed while the script went on (`\set ON_ERROR_STOP off`).
    #[serde(skip_serializing_if = "is_zero")]
    pub statements_failed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// The server's notices (`RAISE NOTICE`, warnings): how many, and the last few.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notices: Option<pg_cron_job_core::notices::NoticeSummary>,
    /// Problems that did not change the job's outcome (e.g. its history row not updated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// What an export job wrote (`EXPORT_S3_URI`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub export: Option<crate::export::ExportResult>,
    #[serde(skip)]
    slowest_rest: Vec<StepResult>,
    /// The server turned out to be read-only (a reader): the caller may look up the writer.
    #[serde(skip)]
    pub reached_reader: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Report {
    /// A report for a run that starts now; fill in and [`Report::finish`] it.
    pub fn start(
        job: &str,
        run_id: &str,
        event_id: Option<&str>,
        statements_total: usize,
        transaction: bool,
        started_at: &str,
    ) -> Self {
        Report {
            job: job.into(),
            run_id: run_id.into(),
            status: Status::Succeeded,
            reason: None,
            event_id: event_id.map(Into::into),
            statements: 0,
            statements_total,
            rows_affected: 0,
            transaction,
            rolled_back: false,
            batches: None,
            continuation: None,
            continuation_requested: None,
            duration_ms: 0,
            started_at: started_at.into(),
            finished_at: started_at.into(),
            steps: Vec::new(),
            steps_omitted: 0,
            slowest_step: None,
            statements_failed: 0,
            error: None,
            notices: None,
            warnings: Vec::new(),
            export: None,
            slowest_rest: Vec::new(),
            reached_reader: false,
        }
    }

    /// Marks the run failed.
    pub fn fail(&mut self, error: ErrorInfo) {
        self.status = Status::Failed;
        self.error = Some(error);
    }

    /// Counts a completed statement; keeps the first [`STEPS_FIRST`] and the
    /// [`STEPS_SLOWEST`] slowest of the rest, so the report stays small for any script.
    pub fn record_step(&mut self, step: StepResult) {
        self.statements += 1;
        self.rows_affected += step.rows;
        if self
            .slowest_step
            .as_ref()
            .is_none_or(|s| step.duration_ms > s.duration_ms)
        {
            self.slowest_step = Some(step.clone());
        }
        if self.steps.len() < STEPS_FIRST {
            self.steps.push(step);
            return;
        }
        self.steps_omitted += 1;
        if self.slowest_rest.len() < STEPS_SLOWEST {
            self.slowest_rest.push(step);
        } else if let Some((i, fastest)) = self
            .slowest_rest
            .iter()
            .enumerate()
            .min_by_key(|(_, s)| s.duration_ms)
        {
            if step.duration_ms > fastest.duration_ms {
                self.slowest_rest[i] = step;
            }
        }
    }

    /// Records a statement that failed while the script goes on; the run ends `failed` with
    /// the first such error.
    pub fn record_statement_error(&mut self, error: ErrorInfo) {
        self.statements_failed += 1;
        self.status = Status::Failed;
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    /// Marks the job's transaction as rolled back: none of its rows stay affected.
    pub fn roll_back(&mut self) {
        self.rolled_back = true;
        self.rows_affected = 0;
    }

    /// Marks the run skipped for `reason`.
    pub fn skip(&mut self, reason: &str) {
        self.status = Status::Skipped;
        self.reason = Some(reason.into());
    }

    /// Stamps the end time and duration, and removes `secrets` from every message.
    pub fn finish(&mut self, started: std::time::Instant, secrets: &[&str]) {
        self.duration_ms = millis(started.elapsed());
        self.finished_at = now_rfc3339();
        if !self.slowest_rest.is_empty() {
            self.steps_omitted -= self.slowest_rest.len();
            self.steps.append(&mut self.slowest_rest);
            self.steps.sort_by_key(|s| s.statement);
        }
        if let Some(error) = &mut self.error {
            error.message = redact(&error.message, secrets);
        }
    }

    /// Whether the run counts as a failure for exit codes and Lambda errors.
    pub fn is_failure(&self) -> bool {
        self.status == Status::Failed
    }

    /// The report as one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"status":"failed","error":{{"kind":"internal","message":"cannot serialise the report: {e}"}}}}"#)
        })
    }
}

/// Current time in RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Replaces every occurrence of each non-trivial secret with `[REDACTED]`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        if secret.len() >= 4 && out.contains(secret) {
            out = out.replace(secret, "[REDACTED]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_every_occurrence() {
        let msg = "password hunter2 failed; retry with hunter2";
        assert_eq!(
            redact(msg, &["hunter2"]),
            "password [REDACTED] failed; retry with [REDACTED]"
        );
        assert_eq!(redact("abc", &[""]), "abc");
    }

    #[test]
    fn finished_report_has_the_documented_fields() {
        let started = std::time::Instant::now();
        let mut r = Report::start("purge", "run-1", Some("evt-1"), 2, false, &now_rfc3339());
        r.fail(ErrorInfo {
            code: Some("28P01".into()),
            ..ErrorInfo::new(ErrorKind::Auth, "password s3cr3t! rejected".into())
        });
        r.finish(started, &["s3cr3t!"]);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for field in [
            "job",
            "status",
            "statements",
            "rows_affected",
            "duration_ms",
            "started_at",
            "finished_at",
            "error",
        ] {
            assert!(v.get(field).is_some(), "missing {field} in {v}");
        }
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"]["kind"], "auth");
        assert_eq!(v["error"]["code"], "28P01");
        assert_eq!(v["error"]["message"], "password [REDACTED] rejected");
        assert!(r.is_failure());
    }

    #[test]
    fn steps_stay_bounded_and_keep_the_slowest() {
        let started = std::time::Instant::now();
        let mut r = Report::start("big", "run-2", None, 200_000, false, &now_rfc3339());
        for n in 1..=200_000usize {
            let duration_ms = if n == 150_000 { 9_000 } else { (n % 7) as u64 };
            r.record_step(StepResult {
                statement: n,
                rows: 1,
                duration_ms,
            });
        }
        r.finish(started, &[]);
        assert_eq!(r.steps.len(), STEPS_FIRST + STEPS_SLOWEST);
        assert_eq!(r.steps_omitted, 200_000 - r.steps.len());
        assert_eq!(r.slowest_step.as_ref().map(|s| s.statement), Some(150_000));
        assert!(r.steps.iter().any(|s| s.statement == 150_000));
        assert!(r.steps.windows(2).all(|w| w[0].statement < w[1].statement));
        assert!(r.to_json().len() < 8 * 1024);
        assert_eq!(r.rows_affected, 200_000);
    }
}
