//! The run's JSON result and the redaction applied to everything that leaves the process.

use serde::Serialize;
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

/// Category of a failure, so alarms and humans can tell configuration from SQL problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad or missing environment variable.
    Config,
    /// Secrets Manager could not be read, or the secret is malformed.
    Secret,
    /// IAM token could not be produced.
    Iam,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// PostgreSQL rejected the credentials.
    Auth,
    /// TCP connection or server start-up problem.
    Connect,
    /// A statement failed.
    Sql,
    /// PostgreSQL cancelled a statement at its timeout (SQLSTATE 57014).
    Timeout,
    /// Not enough time was left before the invocation deadline to start a statement.
    Deadline,
    /// The run history table could not be written.
    History,
    /// Anything else (a bug).
    Internal,
}

impl ErrorKind {
    /// The snake_case name used in JSON and in the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Secret => "secret",
            ErrorKind::Iam => "iam",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::Connect => "connect",
            ErrorKind::Sql => "sql",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Deadline => "deadline",
            ErrorKind::History => "history",
            ErrorKind::Internal => "internal",
        }
    }
}

/// What failed, with PostgreSQL's SQLSTATE when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// 1-based index of the statement that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
}

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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

impl Report {
    /// A report for a run that starts now; fill in and [`Report::finish`] it.
    pub fn start(
        job: &str,
        run_id: &str,
        event_id: Option<&str>,
        statements_total: usize,
        transaction: bool,
    ) -> Self {
        let now = now_rfc3339();
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
            started_at: now.clone(),
            finished_at: now,
            steps: Vec::new(),
            error: None,
        }
    }

    /// Marks the run failed.
    pub fn fail(&mut self, error: ErrorInfo) {
        self.status = Status::Failed;
        self.error = Some(error);
    }

    /// Counts a completed statement.
    pub fn record_step(&mut self, step: StepResult) {
        self.statements += 1;
        self.rows_affected += step.rows;
        self.steps.push(step);
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

/// Whole milliseconds of a duration, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
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
        let mut r = Report::start("purge", "run-1", Some("evt-1"), 2, false);
        r.fail(ErrorInfo {
            kind: ErrorKind::Auth,
            message: "password s3cr3t! rejected".into(),
            code: Some("28P01".into()),
            statement: None,
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
}
