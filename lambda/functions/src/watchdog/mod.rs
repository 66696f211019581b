//! The `watchdog` program: every period (its own schedule), for each job of the fleet, whether
//! a run started when the job's schedule said (healthchecks.io's states: new, up, late, paused,
//! plus ended, and missing for a declared job without its schedule). The schedules come from
//! EventBridge Scheduler, the declared jobs from SSM Parameter Store (`WATCH_DECLARED_PATH`),
//! the runs from the runner's `Runs` metric, the verdict from `pg_cron_job_schedule::watch`.
//! Per job it writes a "job state" line in Embedded Metric Format (`Late`, `LateSeconds`,
//! dimension `Job`; `Late` = 1 when late or missing): each job's late alarm reads it; per check
//! a "fleet state" line (`JudgedJobs`, `UnjudgedJobs`, `LateJobs`, `MissingJobs`,
//! `DriftJobs`, dimension `Fleet`). Nothing about one job stops the others from being judged: a schedule or a metric
//! query that cannot be read leaves its own jobs unjudged (listed in the result and in a
//! "jobs not judged" log line; the fleet's unjudged alarm pages after 15 minutes). The
//! invocation fails (the error alarm) only when no schedule group could be listed.
//!
//! An event `{"at": "<RFC 3339>"}` previews the states at that instant and publishes nothing.

mod calls;
mod config;
mod declared;
mod runs;
mod schedules;

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use jiff::{SignedDuration, Timestamp};
use lambda_runtime::{Diagnostic, LambdaEvent};
use pg_cron_job_schedule::watch::Verdict;
use serde_json::{json, Value};

pub use calls::ApiCalls;
pub use config::{WatchdogConfig, WatchdogError};
pub use runs::{plan, Call, Need, POINTS_PER_CALL, QUERIES_PER_CALL};
pub use schedules::{classify, Membership, ScheduleFacts, Unjudged, WatchedJob};

/// A check's budget when no Lambda deadline gives one (one-shot mode).
const ONESHOT_BUDGET: Duration = Duration::from_secs(240);
/// Time kept back from Lambda's deadline to publish what was judged.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);
/// The watchdog's AWS calls: more attempts than the runner's (throttling at 1,000 jobs is
/// waited out with the SDK's exponential backoff), each call bounded.
const WATCHDOG_MAX_ATTEMPTS: u32 = 6;
const WATCHDOG_OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Jobs named in one "jobs not judged" log line at most (the count is always given).
const UNJUDGED_LOGGED: usize = 50;

/// The watchdog's state, built once per cold start.
pub struct Watchdog {
    config: WatchdogConfig,
    scheduler: aws_sdk_scheduler::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    ssm: Option<aws_sdk_ssm::Client>,
    cache: schedules::ScheduleCache,
    /// Lambda mode: a declared job is `missing` only when the previous check of this instance
    /// did not find its schedule either (an apply that moves or replaces schedules, or removes
    /// a job, is over within a check); one-shot mode has no previous check and says it at once.
    confirm_missing: bool,
    /// Declared jobs this instance's previous real check did not find.
    not_found: std::sync::Mutex<BTreeSet<String>>,
}

/// One check's result: the states as JSON, and what could not be judged.
pub struct Check {
    pub result: Value,
    pub judged: usize,
    pub unjudged: Vec<Unjudged>,
    /// No group could be listed: nothing was judged.
    pub nothing_listed: bool,
}

impl Watchdog {
    pub async fn from_env() -> Result<Self, WatchdogError> {
        let config = WatchdogConfig::from_vars(std::env::vars().collect())?;
        let sdk = crate::aws::sdk_config().await;
        let sdk = sdk
            .into_builder()
            .retry_config(RetryConfig::standard().with_max_attempts(WATCHDOG_MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(crate::aws::AWS_CONNECT_TIMEOUT)
                    .read_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(12))
                    .operation_timeout(WATCHDOG_OPERATION_TIMEOUT)
                    .build(),
            )
            .build();
        let cap = || crate::capped_body::CapResponseBody {
            limit: crate::capped_body::WATCHDOG_RESPONSE_BYTES,
        };
        let scheduler = aws_sdk_scheduler::config::Builder::from(&sdk)
            .interceptor(cap())
            .build();
        let cloudwatch = aws_sdk_cloudwatch::config::Builder::from(&sdk)
            .interceptor(cap())
            .build();
        let ssm = config.declared_path.as_ref().map(|_| {
            aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(&sdk)
                    .interceptor(cap())
                    .build(),
            )
        });
        Ok(Watchdog {
            config,
            scheduler: aws_sdk_scheduler::Client::from_conf(scheduler),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch),
            ssm,
            cache: Default::default(),
            confirm_missing: false,
            not_found: Default::default(),
        })
    }

    /// Checks every job at `at` (a preview, published nowhere) or now (published), within
    /// `budget`: what is not read by then is unjudged, the rest judged and published.
    pub async fn check(
        &self,
        at: Option<Timestamp>,
        budget: Duration,
    ) -> Result<Check, WatchdogError> {
        let deadline = tokio::time::Instant::now() + budget;
        let now = at.unwrap_or_else(Timestamp::now);
        let period = self.config.period;
        let calls = ApiCalls::default();
        let listing = schedules::fleet_jobs(
            &self.scheduler,
            &self.config,
            now,
            &self.cache,
            &calls,
            deadline,
        )
        .await?;
        let mut unjudged = listing.unjudged;
        let declared = match (&self.ssm, &self.config.declared_path) {
            (Some(ssm), Some(path)) => {
                match tokio::time::timeout_at(
                    deadline,
                    declared::declared_jobs(ssm, path, &calls.get_parameters_by_path),
                )
                .await
                {
                    Ok(Ok(jobs)) => Some(jobs),
                    failed => {
                        unjudged.push(Unjudged {
                            job: None,
                            schedule: path.clone(),
                            why: match failed {
                                Ok(Err(e)) => e,
                                _ => "SSM Parameter Store: GetParametersByPath not answered before the check's deadline".into(),
                            },
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        let needs: Vec<runs::Need> = listing
            .jobs
            .iter()
            .map(|j| {
                let from = evidence_from(j, now, period);
                runs::Need {
                    job: j.job.clone(),
                    from,
                    min_gap: min_gap(j, from),
                }
            })
            .collect();
        let mut evidence = runs::runs(
            &self.cloudwatch,
            &self.config.namespace,
            &needs,
            now,
            deadline,
            &calls,
        )
        .await;
        let mut states = Vec::with_capacity(listing.jobs.len());
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let watched: BTreeSet<&str> = listing.jobs.iter().map(|j| j.job.as_str()).collect();
        for job in &listing.jobs {
            if let Some(why) = evidence.failed.remove(&job.job) {
                unjudged.push(Unjudged {
                    job: Some(job.job.clone()),
                    schedule: job.schedule.clone(),
                    why,
                });
                continue;
            }
            let buckets = evidence.buckets.remove(&job.job).unwrap_or_default();
            let (verdict, last_run) = job.watched.judge(now, period, &buckets);
            *counts.entry(verdict.state.as_str()).or_default() += 1;
            states.push(state_json(job, &verdict, last_run));
        }
        // Declared jobs without a watched schedule: missing, unless their schedule could not
        // be read this check (then unjudged).
        let not_found_before = self.not_found.lock().map(|n| n.clone()).unwrap_or_default();
        let mut not_found_now = BTreeSet::new();
        for (job, schedule) in declared.iter().flatten() {
            if watched.contains(job.as_str()) {
                continue;
            }
            let group = schedule.split('/').next().unwrap_or_default();
            let unread = listing.failed_groups.iter().any(|g| g == group)
                || unjudged
                    .iter()
                    .any(|u| u.schedule == *schedule || u.job.as_deref() == Some(job));
            if unread {
                if !unjudged.iter().any(|u| u.job.as_deref() == Some(job)) {
                    unjudged.push(Unjudged {
                        job: Some(job.clone()),
                        schedule: schedule.clone(),
                        why: format!("its schedule {schedule} could not be read this check"),
                    });
                }
                continue;
            }
            not_found_now.insert(job.clone());
            if self.confirm_missing && !not_found_before.contains(job) {
                unjudged.push(Unjudged {
                    job: Some(job.clone()),
                    schedule: schedule.clone(),
                    why: format!("declared with schedule {schedule}, not found at this check: missing if the next check does not find it either"),
                });
                continue;
            }
            *counts.entry("missing").or_default() += 1;
            states.push(missing_json(
                job,
                schedule,
                !self.config.groups.iter().any(|g| g == group),
            ));
        }
        if at.is_none() {
            if let Ok(mut before) = self.not_found.lock() {
                *before = not_found_now;
            }
        }
        unjudged.sort_by(|a, b| a.job.cmp(&b.job).then(a.schedule.cmp(&b.schedule)));
        let judged = states.len();
        let preview = at.is_some();
        if !preview {
            let checked_ms = now.as_millisecond();
            for state in &states {
                eprintln!(
                    "{}",
                    crate::metrics::job_state(state, &self.config.namespace, checked_ms)
                );
            }
            let count = |s: &str| counts.get(s).copied().unwrap_or(0);
            eprintln!(
                "{}",
                crate::metrics::fleet_state(
                    &self.config.fleet,
                    &self.config.namespace,
                    checked_ms,
                    &crate::metrics::FleetCounts {
                        judged: judged as u64,
                        unjudged: unjudged.len() as u64,
                        late: count("late"),
                        missing: count("missing"),
                        drift: count("drift"),
                    },
                )
            );
        }
        if !unjudged.is_empty() {
            let named: Vec<String> = unjudged
                .iter()
                .take(UNJUDGED_LOGGED)
                .map(|u| {
                    format!(
                        "{} ({}): {}",
                        u.job.as_deref().unwrap_or("?"),
                        u.schedule,
                        u.why
                    )
                })
                .collect();
            tracing::warn!(count = unjudged.len(), jobs = ?named, "jobs not judged");
        }
        let unjudged_json: Vec<Value> = unjudged
            .iter()
            .map(|u| json!({"job": u.job, "schedule": u.schedule, "why": u.why}))
            .collect();
        let result = json!({
            "fleet": self.config.fleet,
            "checked_at": now.to_string(),
            "preview": preview,
            "period_seconds": period.as_secs(),
            "counts": counts,
            "judged": judged,
            "jobs": states,
            "unjudged": unjudged_json,
            "unchecked": unjudged.iter().map(|u| u.why.clone()).collect::<Vec<_>>(),
            "api_calls": calls.json(),
        });
        let nothing_listed = !self.config.groups.is_empty()
            && listing.failed_groups.len() == self.config.groups.len();
        Ok(Check {
            result,
            judged,
            unjudged,
            nothing_listed,
        })
    }
}

/// The earliest run start the verdict needs (bounded by the lookback limit).
fn evidence_from(job: &WatchedJob, now: Timestamp, period: SignedDuration) -> Timestamp {
    let from = job.watched.evidence_from(now, period);
    from.max(now.checked_sub(runs::MAX_LOOKBACK).unwrap_or(now))
}

/// The shortest gap between the job's first few starts after `from` (a rate's interval; a
/// week when it starts less than twice): how dense its runs can be.
fn min_gap(job: &WatchedJob, from: Timestamp) -> SignedDuration {
    let starts: Vec<Timestamp> = job.watched.schedule.iter_after(from).take(4).collect();
    starts
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .min()
        .unwrap_or(SignedDuration::from_hours(24 * 7))
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
        "drift_seconds": v.drift.map(|d| d.as_secs()),
        "unexpected_runs": v.unexpected_runs,
    })
}

/// A declared job whose schedule is not watched: deleted, renamed, moved to a group the
/// watchdog does not list, or without its `watch` object.
fn missing_json(job: &str, schedule: &str, unlisted_group: bool) -> Value {
    let why = if unlisted_group {
        format!("declared with schedule {schedule}, in a group the watchdog does not list (WATCH_SCHEDULE_GROUPS)")
    } else {
        format!("declared with schedule {schedule}, which no longer exists or no longer carries this fleet's watch object (deleted or changed outside Terraform)")
    };
    json!({
        "job": job,
        "schedule": schedule,
        "state": "missing",
        "why": why,
        "late_seconds": 0,
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

async fn invoke(
    watchdog: &Watchdog,
    event: &Value,
    budget: Duration,
) -> Result<Value, WatchdogError> {
    let at = preview_at(event)?;
    let check = watchdog.check(at, budget).await?;
    let counts = &check.result["counts"];
    tracing::info!(counts = %counts, judged = check.judged, unjudged = check.unjudged.len(), api_calls = %check.result["api_calls"], preview = at.is_some(), "watchdog check done");
    if check.nothing_listed {
        // Nothing could be judged: the failed invocation pages through the error alarm.
        println!("{}", check.result);
        let first = check
            .unjudged
            .first()
            .map(|u| u.why.clone())
            .unwrap_or_default();
        return Err(WatchdogError::Unchecked {
            count: check.unjudged.len(),
            first,
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
    let watchdog = Watchdog::from_env()
        .await
        .map(|mut w| {
            w.confirm_missing = lambda;
            Arc::new(w)
        })
        .map_err(Arc::new);
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
    match invoke(&watchdog, &event, ONESHOT_BUDGET).await {
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
            let left = std::time::UNIX_EPOCH + Duration::from_millis(event.context.deadline);
            let budget = left
                .duration_since(std::time::SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(DEADLINE_MARGIN)
                .max(Duration::from_secs(5));
            invoke(&watchdog, &event.payload, budget)
                .await
                .map_err(|e| {
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
