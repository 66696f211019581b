//! The "job finished" log line, written for every run whatever the phase it ended in, in
//! CloudWatch Embedded Metric Format (as AWS Lambda Powertools publishes metrics): CloudWatch
//! Logs turns it into metrics without an API call or a VPC endpoint.
//!
//! Namespace `PgCronJob` (`METRICS_NAMESPACE`), dimension `Job`, metrics `Runs` (1 per run),
//! `Succeeded`, `Failed`, `Skipped`, `Partial` (1 or 0), `DurationMs` and `RowsAffected`. The
//! metrics' timestamp is the run's start, so the watchdog sees when runs started.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{json, Value};

use crate::report::{Report, Status};

/// The namespace the runner publishes in unless `METRICS_NAMESPACE` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "PgCronJob";

/// Every metric of the line, with its unit.
pub const METRICS: &[(&str, &str)] = &[
    ("Runs", "Count"),
    ("Succeeded", "Count"),
    ("Failed", "Count"),
    ("Skipped", "Count"),
    ("Partial", "Count"),
    ("DurationMs", "Milliseconds"),
    ("RowsAffected", "Count"),
];

/// The "job finished" line for `report` (one JSON object, no newline).
pub fn job_finished(report: &Report, namespace: &str) -> String {
    let started_ms = started_millis(&report.started_at);
    let is = |s: Status| u8::from(report.status == s);
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let line = json!({
        "level": if report.is_failure() { "WARN" } else { "INFO" },
        "message": "job finished",
        "job": report.job,
        "run_id": report.run_id,
        "event_id": report.event_id,
        "status": report.status.as_str(),
        "reason": report.reason,
        "statements": report.statements,
        "rows_affected": report.rows_affected,
        "duration_ms": report.duration_ms,
        "error_kind": report.error.as_ref().map(|e| e.kind.as_str()),
        "error": report.error.as_ref().map(|e| e.message.as_str()),
        "_aws": {
            "Timestamp": started_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Job"]],
                "Metrics": metrics,
            }],
        },
        "Job": report.job,
        "Runs": 1,
        "Succeeded": is(Status::Succeeded),
        "Failed": is(Status::Failed),
        "Skipped": is(Status::Skipped),
        "Partial": is(Status::Partial),
        "DurationMs": report.duration_ms,
        "RowsAffected": report.rows_affected,
    });
    line.to_string()
}

/// The watchdog's metrics, per job and check: `Late` (1 while a start has no run, else 0) and
/// `LateSeconds` (how long past its allowance the missed start is), same namespace and
/// dimension as the runs.
pub const WATCHDOG_METRICS: &[(&str, &str)] = &[("Late", "Count"), ("LateSeconds", "Seconds")];

/// The watchdog's "job state" line for one job (EMF; one JSON object, no newline), stamped at
/// the check; `state` is the job's entry of the check's result.
pub fn job_state(state: &Value, namespace: &str, checked_ms: i64) -> String {
    let late = u8::from(state["state"] == "late");
    let metrics: Vec<Value> = WATCHDOG_METRICS
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut line = json!({
        "level": if late == 1 { "WARN" } else { "INFO" },
        "message": "job state",
        "_aws": {
            "Timestamp": checked_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Job"]],
                "Metrics": metrics,
            }],
        },
        "Job": state["job"],
        "Late": late,
        "LateSeconds": state["late_seconds"].as_i64().unwrap_or(0),
    });
    if let (Some(line), Some(fields)) = (line.as_object_mut(), state.as_object()) {
        for (k, v) in fields {
            line.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    line.to_string()
}

/// Milliseconds since the epoch of an RFC 3339 time (0 if it cannot be read).
fn started_millis(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_cron_job_core::outcome::{ErrorInfo, ErrorKind};

    #[test]
    fn one_emf_document_per_job_state() {
        let state =
            json!({"job": "purge", "state": "late", "late_seconds": 420, "schedule": "default/p"});
        let v: Value = serde_json::from_str(&job_state(&state, "PgCronJob", 1_000)).unwrap();
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Job"]])
        );
        assert_eq!(
            (v["Late"].as_u64(), v["LateSeconds"].as_u64()),
            (Some(1), Some(420))
        );
        assert_eq!(
            (v["Job"].as_str(), v["schedule"].as_str()),
            (Some("purge"), Some("default/p"))
        );
        let up = json!({"job": "purge", "state": "up", "late_seconds": 0});
        let v: Value = serde_json::from_str(&job_state(&up, "PgCronJob", 1_000)).unwrap();
        assert_eq!(v["Late"], 0);
    }

    #[test]
    fn one_emf_document_per_run() {
        let mut report = Report::start("purge", "r1", Some("e1"), 1, false, "2026-12-02T02:30:05Z");
        report.fail(ErrorInfo::new(ErrorKind::Secret, "no answer".into()));
        let v: Value = serde_json::from_str(&job_finished(&report, "PgCronJob")).unwrap();
        assert_eq!(v["message"], "job finished");
        assert_eq!(v["_aws"]["Timestamp"], 1_796_178_605_000i64);
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "PgCronJob");
        assert_eq!(m["Dimensions"], json!([["Job"]]));
        // Every declared metric has a numeric value at the top level (EMF's rule).
        for metric in m["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name}");
        }
        assert_eq!(
            (
                v["Runs"].as_u64(),
                v["Failed"].as_u64(),
                v["Succeeded"].as_u64()
            ),
            (Some(1), Some(1), Some(0))
        );
        assert_eq!(v["Job"], "purge");
        assert_eq!(v["error_kind"], "secret");
    }
}
