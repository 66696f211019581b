//! The `watchdog` program: every period (its own schedule), for each job of the fleet, whether
//! a run started when the job's schedule said (healthchecks.io's states: new, up, late, paused,
//! plus ended). The schedules come from EventBridge Scheduler, the runs from the runner's
//! `Runs` metric, the verdict from `pg_cron_job_schedule::watch`. Per job it writes a
//! "job state" line in Embedded Metric Format (`Late`, `LateSeconds`, dimension `Job`): each
//! job's late alarm reads it. The invocation's result is the states as JSON; it fails (and the
//! watchdog's error alarm pages) when a schedule of the fleet cannot be checked.
//!
//! An event `{"at": "<RFC 3339>"}` previews the states at that instant and publishes nothing.

mod config;
mod runs;
mod schedules;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{Diagnostic, LambdaEvent};
use pg_cron_job_schedule::watch::Verdict;
use serde_json::{json, Value};

pub use config::{WatchdogConfig, WatchdogError};
pub use schedules::{classify, Membership, ScheduleFacts, WatchedJob};

/// The watchdog's state, built once per cold start.
pub struct Watchdog {
    config: WatchdogConfig,
    scheduler: aws_sdk_scheduler::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

/// One check's result: the states as JSON, and what could not be checked.
pub struct Check {
    pub result: Value,
    pub unchecked: Vec<String>,
}

impl Watchdog {
    pub async fn from_env() -> Result<Self, WatchdogError> {
        let config = WatchdogConfig::from_vars(std::env::vars().collect())?;
        let sdk = crate::aws::sdk_config().await;
        let cap = || crate::capped_body::CapResponseBody {
            limit: crate::capped_body::WATCHDOG_RESPONSE_BYTES,
        };
        let scheduler = aws_sdk_scheduler::config::Builder::from(&sdk)
            .interceptor(cap())
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(&sdk)
            .interceptor(cap())
            .build();
        Ok(Watchdog {
            config,
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
        })
    }

    /// Checks every job at `at` (a preview, published nowhere) or now (published).
    pub async fn check(&self, at: Option<Timestamp>) -> Result<Check, WatchdogError> {
        let now = at.unwrap_or_else(Timestamp::now);
        let period = self.config.period;
        let (jobs, unchecked) = schedules::fleet_jobs(&self.scheduler, &self.config, now).await?;
        let needs: Vec<runs::Need> = jobs
            .iter()
            .map(|j| runs::Need {
                job: j.job.clone(),
                from: evidence_from(j, now, period),
            })
            .collect();
        let mut seen = runs::runs(&self.cloudwatch, &self.config.namespace, &needs, now).await?;
        let mut states = Vec::with_capacity(jobs.len());
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for job in jobs {
            let buckets = seen.remove(&job.job).unwrap_or_default();
            let (verdict, last_run) = job.watched.judge(now, period, &buckets);
            *counts.entry(verdict.state.as_str()).or_default() += 1;
            states.push(state_json(&job, &verdict, last_run));
        }
        let preview = at.is_some();
        if !preview {
            let checked_ms = now.as_millisecond();
            for state in &states {
                eprintln!(
                    "{}",
                    crate::metrics::job_state(state, &self.config.namespace, checked_ms)
                );
            }
        }
        let result = json!({
            "fleet": self.config.fleet,
            "checked_at": now.to_string(),
            "preview": preview,
            "period_seconds": period.as_secs(),
            "counts": counts,
            "jobs": states,
            "unchecked": unchecked,
        });
        Ok(Check { result, unchecked })
    }
}

/// The earliest run start the verdict needs (bounded by the lookback limit).
fn evidence_from(job: &WatchedJob, now: Timestamp, period: SignedDuration) -> Timestamp {
    let from = job.watched.evidence_from(now, period);
    from.max(now.checked_sub(runs::MAX_LOOKBACK).unwrap_or(now))
}

fn instant(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

fn state_json(job: &WatchedJob, v: &Verdict, last_run: Option<Timestamp>) -> Value {
    json!({
        "job": job.job,
        "schedule": job.schedule,
        "expression": job.expression,
        "timezone": job.timezone,
        "state": v.state.as_str(),
        "since": job.watched.since.to_string(),
        "expected": instant(v.expected),
        "missed": instant(v.missed),
        "late_seconds": v.late_by.as_secs().max(0),
        "next": instant(v.next),
        "last_run": instant(last_run),
        "start_window_seconds": job.watched.start_window().as_secs(),
        "allowance_seconds": job.watched.allowance().as_secs(),
    })
}

/// The event's preview instant, if any.
fn preview_at(event: &Value) -> Result<Option<Timestamp>, WatchdogError> {
    match event.get("at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse::<Timestamp>().map(Some).map_err(|e| {
            WatchdogError::Event(format!("\"at\": {s:?} is not an RFC 3339 instant: {e}"))
        }),
        Some(other) => Err(WatchdogError::Event(format!(
            "\"at\" must be a string, got {other}"
        ))),
    }
}

async fn invoke(watchdog: &Watchdog, event: &Value) -> Result<Value, WatchdogError> {
    let at = preview_at(event)?;
    let check = watchdog.check(at).await?;
    let counts = &check.result["counts"];
    tracing::info!(counts = %counts, unchecked = check.unchecked.len(), preview = at.is_some(), "watchdog check done");
    if let Some(first) = check.unchecked.first() {
        // The states are logged; the failed invocation pages through the error alarm.
        println!("{}", check.result);
        return Err(WatchdogError::Unchecked {
            count: check.unchecked.len(),
            first: first.clone(),
        });
    }
    Ok(check.result)
}

/// A failed check, returned to the runtime as an error (the watchdog's error alarm).
#[derive(Debug)]
struct CheckFailed(String);

impl From<CheckFailed> for Diagnostic {
    fn from(failed: CheckFailed) -> Self {
        Diagnostic {
            error_type: "PgCronJob.Watchdog".into(),
            error_message: failed.0,
        }
    }
}

/// Entry point of the `watchdog` program: Lambda mode when `lambda`, else one check whose event
/// JSON is the optional first argument; the states are printed as JSON.
pub async fn main(lambda: bool) -> ExitCode {
    let watchdog = Watchdog::from_env().await.map(Arc::new).map_err(Arc::new);
    if lambda {
        return serve(watchdog).await;
    }
    let watchdog = match watchdog {
        Ok(w) => w,
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            return ExitCode::from(2);
        }
    };
    let event = match std::env::args().nth(1) {
        None => json!({}),
        Some(arg) => match serde_json::from_str::<Value>(&arg) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("pg-cron-job: {}", WatchdogError::Event(e.to_string()));
                return ExitCode::from(2);
            }
        },
    };
    match invoke(&watchdog, &event).await {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            ExitCode::from(if matches!(e, WatchdogError::Event(_)) {
                2
            } else {
                1
            })
        }
    }
}

async fn serve(watchdog: Result<Arc<Watchdog>, Arc<WatchdogError>>) -> ExitCode {
    if let Err(e) = &watchdog {
        tracing::error!(error = %e, "configuration error: every check will fail until it is fixed");
    }
    let handler = move |event: LambdaEvent<Value>| {
        let watchdog = watchdog.clone();
        async move {
            let watchdog = watchdog.map_err(|e| CheckFailed(e.to_string()))?;
            invoke(&watchdog, &event.payload).await.map_err(|e| {
                tracing::error!(error = %e, "watchdog check failed");
                CheckFailed(e.to_string())
            })
        }
    };
    crate::serve::serve(handler).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_instant_is_rfc3339() {
        assert_eq!(preview_at(&json!({})).unwrap(), None);
        assert_eq!(
            preview_at(&json!({"at": "2026-12-05T00:00:00Z"})).unwrap(),
            Some("2026-12-05T00:00:00Z".parse().unwrap())
        );
        let e = preview_at(&json!({"at": "tomorrow"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"tomorrow\"") && e.contains("RFC 3339"), "{e}");
    }
}
