//! The "job finished" log line, written for every run whatever the phase it ended in, in
//! CloudWatch Embedded Metric Format (as AWS Lambda Powertools publishes metrics): CloudWatch
//! Logs turns it into metrics without an API call or a VPC endpoint.
//!
//! Namespace `PgCronJob` (`METRICS_NAMESPACE`), dimension `Job`, metrics `Runs` (1 per run),
//! `Succeeded`, `Failed`, `Skipped`, `Partial` (1 or 0), `DurationMs` and `RowsAffected`. The
//! metrics' timestamp is the start Scheduler meant (the event's `scheduled_time`), so the
//! watchdog matches each run to its own start however late the flexible window, a retry or a
//! repeated local time made it; a run without one (invoked by hand) is stamped at its start.
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

/// CloudWatch accepts metric data up to two weeks old: an older scheduled time (a run that
/// waited in Lambda's queue that long cannot happen; a hand-written event can) is not used.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Metric>
const MAX_STAMP_AGE_MS: i64 = 13 * 24 * 3_600 * 1_000;

/// The metrics' timestamp: the scheduled time when it is at most the start (and recent enough
/// for CloudWatch), else the run's start.
fn stamp_ms(started_ms: i64, scheduled: Option<time::OffsetDateTime>) -> i64 {
    scheduled
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .filter(|s| *s <= started_ms + 60_000 && started_ms - *s <= MAX_STAMP_AGE_MS)
        .unwrap_or(started_ms)
}

/// The "job finished" line for `report` (one JSON object, no newline); `scheduled` is the
/// event's scheduled time.
pub fn job_finished(
    report: &Report,
    namespace: &str,
    scheduled: Option<time::OffsetDateTime>,
) -> String {
    let started_ms = started_millis(&report.started_at);
    let stamp = stamp_ms(started_ms, scheduled);
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
        "scheduled_time": scheduled.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        "error_kind": report.error.as_ref().map(|e| e.kind.as_str()),
        "error": report.error.as_ref().map(|e| e.message.as_str()),
        "_aws": {
            "Timestamp": stamp,
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
    let late = u8::from(state["state"] == "late" || state["state"] == "missing");
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

/// The watchdog's fleet metrics, once per check: how many jobs it judged and could not judge,
/// and how many are late or missing (dimension `Fleet`; the fleet's unjudged alarm reads
/// `UnjudgedJobs`).
pub const FLEET_METRICS: &[&str] = &[
    "JudgedJobs",
    "UnjudgedJobs",
    "LateJobs",
    "MissingJobs",
    "DriftJobs",
];

/// One check's fleet counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetCounts {
    pub judged: u64,
    pub unjudged: u64,
    pub late: u64,
    pub missing: u64,
    /// Jobs whose latest start ran a whole number of quarter hours off its time.
    pub drift: u64,
}

/// The watchdog's "fleet state" line (EMF; one JSON object, no newline), stamped at the check.
pub fn fleet_state(fleet: &str, namespace: &str, checked_ms: i64, c: &FleetCounts) -> String {
    let metrics: Vec<Value> = FLEET_METRICS
        .iter()
        .map(|name| json!({"Name": name, "Unit": "Count"}))
        .collect();
    json!({
        "level": if c.unjudged > 0 { "WARN" } else { "INFO" },
        "message": "fleet state",
        "_aws": {
            "Timestamp": checked_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Fleet"]],
                "Metrics": metrics,
            }],
        },
        "Fleet": fleet,
        "JudgedJobs": c.judged,
        "UnjudgedJobs": c.unjudged,
        "LateJobs": c.late,
        "MissingJobs": c.missing,
        "DriftJobs": c.drift,
    })
    .to_string()
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
        let v: Value = serde_json::from_str(&job_finished(&report, "PgCronJob", None)).unwrap();
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

    #[test]
    fn runs_are_stamped_at_the_start_scheduler_meant() {
        let report = Report::start("purge", "r1", Some("e1"), 1, false, "2026-12-02T02:41:05Z");
        let at = |t: time::OffsetDateTime| {
            let v: Value =
                serde_json::from_str(&job_finished(&report, "PgCronJob", Some(t))).unwrap();
            v["_aws"]["Timestamp"].as_i64().unwrap()
        };
        // Started 11 minutes late in a flexible window: stamped at 02:30.
        let scheduled = time::macros::datetime!(2026-12-02 02:30:00 UTC);
        assert_eq!(at(scheduled), 1_796_178_600_000);
        // A scheduled time after the start, or older than CloudWatch keeps: the start.
        let started = 1_796_178_600_000 + 665_000;
        assert_eq!(
            at(time::macros::datetime!(2026-12-02 03:30:00 UTC)),
            started
        );
        assert_eq!(
            at(time::macros::datetime!(2026-11-01 02:30:00 UTC)),
            started
        );
        let v: Value =
            serde_json::from_str(&job_finished(&report, "PgCronJob", Some(scheduled))).unwrap();
        assert_eq!(v["scheduled_time"], "2026-12-02T02:30:00Z");
    }
}
