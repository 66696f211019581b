//! The fleet's schedules, read from EventBridge Scheduler (so a change made in the console is
//! what is checked): every schedule of the watched groups whose target input carries this
//! fleet's `watch` object.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use aws_sdk_scheduler::types::{FlexibleTimeWindowMode, ScheduleState};
use futures_util::stream::{self, StreamExt};
use jiff::{SignedDuration, Timestamp};
use pg_cron_job_schedule::watch::Watched;
use pg_cron_job_schedule::Schedule;
use serde::Deserialize;

use super::calls::ApiCalls;
use super::config::{WatchdogConfig, WatchdogError};
use crate::aws::explain_aws;

/// Most schedules listed across the groups, and most read in full: a bound on one check's
/// work and memory (a fleet has hundreds of jobs at most).
pub const MAX_LISTED: usize = 10_000;
pub const MAX_READ: usize = 5_000;
/// GetSchedule calls in flight at once.
const CONCURRENT_READS: usize = 8;
/// Defaults for a `watch` object that leaves them out.
const DEFAULT_GRACE_SECONDS: i64 = 300;
const DEFAULT_TIMEOUT_SECONDS: i64 = 900;

/// The `watch` object the module puts in a job's schedule input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchInput {
    fleet: String,
    job: String,
    #[serde(default)]
    grace_seconds: Option<i64>,
    #[serde(default)]
    timeout_seconds: Option<i64>,
}

/// What GetSchedule says of one schedule (SDK types left behind).
#[derive(Debug, Clone, Default)]
pub struct ScheduleFacts {
    pub group: String,
    pub name: String,
    pub expression: String,
    pub timezone: Option<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub enabled: bool,
    /// The flexible time window in minutes, when on.
    pub flexible_minutes: Option<i32>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub input: Option<String>,
}

/// A job of the fleet, as its schedule says.
#[derive(Debug, Clone)]
pub struct WatchedJob {
    /// The job's name: the `Job` dimension of its runs.
    pub job: String,
    /// `group/name`.
    pub schedule: String,
    pub expression: String,
    pub timezone: String,
    pub watched: Watched,
}

/// Whether a schedule is one of the fleet's jobs.
#[derive(Debug)]
pub enum Membership {
    Watched(Box<WatchedJob>),
    NotOurs,
    /// Ours, but it cannot be checked (the message says why).
    Invalid(String),
}

/// Classifies one schedule for `fleet`; `now` stands in for dates Scheduler did not give.
pub fn classify(facts: &ScheduleFacts, fleet: &str, now: Timestamp) -> Membership {
    let Some(watch) = facts
        .input
        .as_deref()
        .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok())
        .and_then(|mut v| v.get_mut("watch").map(serde_json::Value::take))
    else {
        return Membership::NotOurs;
    };
    if watch.get("fleet").and_then(|f| f.as_str()) != Some(fleet) {
        return Membership::NotOurs;
    }
    let schedule_id = format!("{}/{}", facts.group, facts.name);
    let invalid = |why: String| Membership::Invalid(format!("schedule {schedule_id}: {why}"));
    let watch: WatchInput = match serde_json::from_value(watch) {
        Ok(w) => w,
        Err(e) => return invalid(format!("its target input's \"watch\" object: {e} (expected {{\"fleet\", \"job\", \"grace_seconds\", \"timeout_seconds\"}})")),
    };
    if watch.fleet != fleet {
        return Membership::NotOurs;
    }
    let grace = watch.grace_seconds.unwrap_or(DEFAULT_GRACE_SECONDS);
    let timeout = watch.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    if !(0..=86_400 * 7).contains(&grace) || !(1..=86_400).contains(&timeout) {
        return invalid(format!("watch.grace_seconds {grace} must be 0-604800 and watch.timeout_seconds {timeout} 1-86400"));
    }
    if watch.job.trim().is_empty() {
        return invalid("watch.job is empty".into());
    }
    let timezone = facts
        .timezone
        .clone()
        .filter(|z| !z.is_empty())
        .unwrap_or_else(|| "UTC".into());
    let mut schedule = match Schedule::parse(&facts.expression, &timezone) {
        Ok(s) => s,
        Err(e) => return invalid(format!("{e}")),
    };
    schedule.start = facts.start;
    schedule.end = facts.end;
    let since = facts.modified.max(facts.created).unwrap_or(now);
    schedule.anchor = facts.start.or(facts.created);
    Membership::Watched(Box::new(WatchedJob {
        job: watch.job,
        schedule: schedule_id,
        expression: facts.expression.clone(),
        timezone,
        watched: Watched {
            schedule,
            enabled: facts.enabled,
            since,
            flexible_window: SignedDuration::from_mins(i64::from(
                facts.flexible_minutes.unwrap_or(0),
            )),
            grace: SignedDuration::from_secs(grace),
            timeout: SignedDuration::from_secs(timeout),
        },
    }))
}

fn timestamp(t: Option<&aws_sdk_scheduler::primitives::DateTime>) -> Option<Timestamp> {
    t.and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok())
}

/// A schedule (or job) of the fleet that could not be judged this check, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unjudged {
    /// The job, when known (its schedule's `watch` object or the declared list names it).
    pub job: Option<String>,
    /// `group/name`, or the group alone when the group could not be listed.
    pub schedule: String,
    pub why: String,
}

/// What the listing found: the watched jobs, what could not be judged, and the groups that
/// could not be listed.
#[derive(Debug, Default)]
pub struct Listing {
    pub jobs: Vec<WatchedJob>,
    pub unjudged: Vec<Unjudged>,
    pub failed_groups: Vec<String>,
}

/// Schedules already read, by `group/name`, with the modification time they were read at:
/// kept across the checks of a warm instance, so a check reads only the schedules that changed
/// (ListSchedules gives every schedule's last modification).
pub type ScheduleCache = Mutex<HashMap<String, (Timestamp, ScheduleFacts)>>;

/// The fleet's jobs, and the schedules of the fleet that cannot be judged (with the reason).
pub async fn fleet_jobs(
    client: &aws_sdk_scheduler::Client,
    config: &WatchdogConfig,
    now: Timestamp,
    cache: &ScheduleCache,
    calls: &ApiCalls,
    deadline: tokio::time::Instant,
) -> Result<Listing, WatchdogError> {
    let mut listing = Listing::default();
    // (group, name, last modification)
    let mut candidates: Vec<(String, String, Option<Timestamp>)> = Vec::new();
    for group in &config.groups {
        let mut token: Option<String> = None;
        loop {
            calls.list_schedules.fetch_add(1, Ordering::Relaxed);
            let page = tokio::time::timeout_at(
                deadline,
                client
                    .list_schedules()
                    .group_name(group)
                    .max_results(100)
                    .set_next_token(token.take())
                    .send(),
            )
            .await;
            let page = match page {
                Ok(Ok(page)) => page,
                failed => {
                    let why = match failed {
                        Ok(Err(e)) => explain_aws(
                            &e,
                            "EventBridge Scheduler",
                            &format!("scheduler:ListSchedules (group {group})"),
                        ),
                        _ => "ListSchedules not answered before the check's deadline".into(),
                    };
                    listing.unjudged.push(Unjudged {
                        job: None,
                        schedule: group.clone(),
                        why: format!(
                            "EventBridge Scheduler: group {group} could not be listed: {why}"
                        ),
                    });
                    listing.failed_groups.push(group.clone());
                    break;
                }
            };
            for s in page.schedules() {
                // Only schedules that invoke a Lambda function can be a job's.
                let lambda = s.target().is_some_and(|t| t.arn().contains(":lambda:"));
                if let (true, Some(name)) = (lambda, s.name()) {
                    candidates.push((
                        group.clone(),
                        name.to_string(),
                        timestamp(s.last_modification_date()),
                    ));
                }
            }
            if candidates.len() > MAX_LISTED {
                return Err(WatchdogError::Scheduler(format!(
                    "more than {MAX_LISTED} schedules in the groups {:?}: give the fleet its own schedule group",
                    config.groups
                )));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    // Unchanged schedules come from the cache; the others are read (a few at a time).
    let mut facts: Vec<Result<ScheduleFacts, (String, String)>> = Vec::new();
    let mut to_read = Vec::new();
    {
        let cached = cache
            .lock()
            .map_err(|_| WatchdogError::Config("schedule cache poisoned".into()))?;
        for (group, name, modified) in candidates {
            let id = format!("{group}/{name}");
            match (cached.get(&id), modified) {
                (Some((at, f)), Some(m)) if *at == m => facts.push(Ok(f.clone())),
                _ => to_read.push((group, name)),
            }
        }
    }
    if to_read.len() > MAX_READ {
        return Err(WatchdogError::Scheduler(format!(
            "{} changed schedules target Lambda functions in the groups {:?}, more than the {MAX_READ} one check reads: give the fleet its own schedule group",
            to_read.len(),
            config.groups
        )));
    }
    let read: Vec<Result<ScheduleFacts, (String, String)>> = stream::iter(to_read)
        .map(|(group, name)| async move {
            calls.get_schedule.fetch_add(1, Ordering::Relaxed);
            let id = format!("{group}/{name}");
            match tokio::time::timeout_at(deadline, read(client, group, name)).await {
                Ok(r) => r.map_err(|e| (id, e)),
                Err(_) => Err((
                    id.clone(),
                    format!("schedule {id}: GetSchedule not answered before the check's deadline"),
                )),
            }
        })
        .buffer_unordered(CONCURRENT_READS)
        .collect()
        .await;
    if let Ok(mut cached) = cache.lock() {
        for f in read.iter().flatten() {
            if let Some(m) = f.modified {
                cached.insert(format!("{}/{}", f.group, f.name), (m, f.clone()));
            }
        }
        if cached.len() > MAX_LISTED {
            cached.clear();
        }
    }
    facts.extend(read);
    for result in facts {
        match result {
            Ok(facts) => match classify(&facts, &config.fleet, now) {
                Membership::Watched(job) => listing.jobs.push(*job),
                Membership::NotOurs => {}
                Membership::Invalid(why) => listing.unjudged.push(Unjudged {
                    job: watch_job(&facts),
                    schedule: format!("{}/{}", facts.group, facts.name),
                    why,
                }),
            },
            Err((schedule, why)) => listing.unjudged.push(Unjudged {
                job: None,
                schedule,
                why,
            }),
        }
    }
    listing
        .jobs
        .sort_by(|a, b| a.job.cmp(&b.job).then(a.schedule.cmp(&b.schedule)));
    listing.unjudged.sort_by(|a, b| a.schedule.cmp(&b.schedule));
    Ok(listing)
}

/// The job a schedule's `watch` object names, if it can be read that far.
fn watch_job(facts: &ScheduleFacts) -> Option<String> {
    let input: serde_json::Value = serde_json::from_str(facts.input.as_deref()?).ok()?;
    input["watch"]["job"].as_str().map(str::to_string)
}

async fn read(
    client: &aws_sdk_scheduler::Client,
    group: String,
    name: String,
) -> Result<ScheduleFacts, String> {
    let out = client
        .get_schedule()
        .group_name(&group)
        .name(&name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "schedule {group}/{name}: {}",
                explain_aws(
                    &e,
                    "EventBridge Scheduler",
                    &format!("scheduler:GetSchedule on schedule/{group}/*")
                )
            )
        })?;
    let flexible = out.flexible_time_window();
    Ok(ScheduleFacts {
        expression: out.schedule_expression().unwrap_or_default().to_string(),
        timezone: out.schedule_expression_timezone().map(str::to_string),
        start: timestamp(out.start_date()),
        end: timestamp(out.end_date()),
        enabled: out.state() != Some(&ScheduleState::Disabled),
        flexible_minutes: flexible
            .filter(|f| f.mode() == &FlexibleTimeWindowMode::Flexible)
            .and_then(|f| f.maximum_window_in_minutes()),
        created: timestamp(out.creation_date()),
        modified: timestamp(out.last_modification_date()),
        input: out.target().and_then(|t| t.input()).map(str::to_string),
        group,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts(input: &str) -> ScheduleFacts {
        ScheduleFacts {
            group: "default".into(),
            name: "nightly-purge".into(),
            expression: "cron(30 2 * * ? *)".into(),
            timezone: Some("Europe/Rome".into()),
            enabled: true,
            flexible_minutes: Some(15),
            created: Some(ts("2026-11-01T10:00:00Z")),
            modified: Some(ts("2026-11-20T10:00:00Z")),
            input: Some(input.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_job_of_the_fleet_is_watched_with_its_windows() {
        let f = facts(
            r#"{"id":"<aws.scheduler.execution-id>","watch":{"fleet":"nightly","job":"purge","grace_seconds":120,"timeout_seconds":600}}"#,
        );
        let Membership::Watched(job) = classify(&f, "nightly", ts("2026-12-01T00:00:00Z")) else {
            panic!("not watched")
        };
        assert_eq!(job.job, "purge");
        assert_eq!(job.schedule, "default/nightly-purge");
        assert_eq!(job.watched.since, ts("2026-11-20T10:00:00Z"));
        assert_eq!(job.watched.flexible_window, SignedDuration::from_mins(15));
        assert_eq!(job.watched.grace, SignedDuration::from_secs(120));
        assert_eq!(job.watched.timeout, SignedDuration::from_secs(600));
    }

    #[test]
    fn other_schedules_are_not_ours_and_bad_watch_objects_are_reported() {
        let now = ts("2026-12-01T00:00:00Z");
        for input in ["not json", "{}", r#"{"watch":{"fleet":"other","job":"x"}}"#] {
            assert!(
                matches!(classify(&facts(input), "nightly", now), Membership::NotOurs),
                "{input}"
            );
        }
        let Membership::Invalid(why) = classify(
            &facts(r#"{"watch":{"fleet":"nightly","job":"x","grace":5}}"#),
            "nightly",
            now,
        ) else {
            panic!("accepted a misspelt field")
        };
        assert!(
            why.contains("default/nightly-purge") && why.contains("grace"),
            "{why}"
        );
        let mut f = facts(r#"{"watch":{"fleet":"nightly","job":"x"}}"#);
        f.expression = "cron(0 2 ? * ? *)".into();
        let Membership::Invalid(why) = classify(&f, "nightly", now) else {
            panic!("accepted an invalid expression")
        };
        assert!(why.contains("nightly-purge"), "{why}");
    }
}
