//! The runs the runner recorded: its "job finished" line's `Runs` metric (Embedded Metric
//! Format, timestamped at the start Scheduler meant, dimension `Job`), read with GetMetricData.
//!
//! Each job asks for its own lookback (from its latest judged start, so a monthly job reaches
//! back a month and an every-minute job a few minutes). The queries are planned so that no call
//! should need a second page: jobs sorted by lookback, at most 500 queries and 100,800 data
//! points per call (GetMetricData's limits; CloudWatch returns only the periods that have data,
//! so a job's points are bounded by its periods and by its starts: a monthly job has a point or
//! two in 14 days), calls made a few at a time. Should a call page anyway (runs by hand), its
//! next pages are read, up to a bound. A call that fails (after the SDK's
//! retries with backoff on throttling) leaves only its own jobs unjudged.
//!
//! CloudWatch keeps one-minute data for 15 days, five-minute data for 63 days and hourly data
//! beyond, and GetMetricData wants the period to match the age of its start time, so older
//! evidence is asked for in coarser periods.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use jiff::{SignedDuration, Timestamp};
use pg_cron_job_schedule::watch::Bucket;

use super::calls::ApiCalls;

use crate::aws::explain_aws;

/// Queries per GetMetricData call (CloudWatch's limit).
pub const QUERIES_PER_CALL: usize = 500;
/// Data points one GetMetricData call returns at most (more would need a second page).
pub const POINTS_PER_CALL: i64 = 100_800;
/// Pages read per call at most: a bound on memory, should CloudWatch page anyway.
const MAX_PAGES: usize = 4;
/// GetMetricData calls in flight at once.
const CONCURRENT_CALLS: usize = 4;
/// Evidence is never looked for further back than this.
pub const MAX_LOOKBACK: SignedDuration = SignedDuration::from_hours(24 * 400);

/// One age range of the metric data and the period GetMetricData allows for it (with a day of
/// margin on the retention boundaries).
struct Range {
    /// Ages (before now) this range covers: from `newest` back to `oldest`.
    newest: SignedDuration,
    oldest: SignedDuration,
    period: i32,
}

const RANGES: &[Range] = &[
    Range {
        newest: SignedDuration::ZERO,
        oldest: SignedDuration::from_hours(24 * 14),
        period: 60,
    },
    Range {
        newest: SignedDuration::from_hours(24 * 14),
        oldest: SignedDuration::from_hours(24 * 62),
        period: 300,
    },
    Range {
        newest: SignedDuration::from_hours(24 * 62),
        oldest: MAX_LOOKBACK,
        period: 3_600,
    },
];

/// What one job needs: its `Job` dimension, the earliest run start of interest and the
/// shortest gap between two of its starts (how dense its data can be).
#[derive(Debug, Clone)]
pub struct Need {
    pub job: String,
    pub from: Timestamp,
    pub min_gap: SignedDuration,
}

/// The runs found, per job, and the jobs whose runs could not be read (with the reason).
#[derive(Debug, Default)]
pub struct Evidence {
    pub buckets: HashMap<String, Vec<Bucket>>,
    pub failed: HashMap<String, String>,
}

/// One planned GetMetricData call: the jobs (indexes into the needs) and its time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub jobs: Vec<usize>,
    pub from: Timestamp,
    /// The latest `from` of its jobs (the first one planned).
    pub newest: Timestamp,
    pub to: Timestamp,
    pub period: i32,
}

fn datetime(t: Timestamp) -> DateTime {
    DateTime::from_secs(t.as_second())
}

/// Data points one query returns at most over `[from, to)` in periods of `period` seconds.
fn points(from: Timestamp, to: Timestamp, period: i32) -> i64 {
    let span = to.as_second() - from.as_second();
    (span.max(0) + i64::from(period) - 1) / i64::from(period)
}

/// The points a job's query is planned for: its periods, or twice its starts in the span plus
/// ten (retries, continuations, runs by hand), whichever is fewer.
fn job_points(need: &Need, from: Timestamp, to: Timestamp, period: i32) -> i64 {
    let gap = need.min_gap.as_secs().max(60);
    let span = (to.as_second() - from.as_second()).max(0);
    points(from, to, period).min(2 * (span / gap + 1) + 10)
}

/// The calls that read every need's evidence, each within GetMetricData's limits.
pub fn plan(needs: &[Need], now: Timestamp) -> Vec<Call> {
    let end = now + SignedDuration::from_mins(1);
    let mut calls = Vec::new();
    for range in RANGES {
        let to = if range.newest.is_zero() {
            end
        } else {
            now - range.newest
        };
        let oldest = now - range.oldest;
        // The jobs that need evidence from before this range's newest instant, newest first:
        // a call's span is that of its earliest job.
        let mut wanted: Vec<(usize, Timestamp)> = needs
            .iter()
            .enumerate()
            .filter(|(_, n)| n.from < to)
            .map(|(i, n)| (i, floor(n.from.max(oldest), range.period)))
            .filter(|(_, from)| *from < to)
            .collect();
        wanted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut current: Option<Call> = None;
        for (i, from) in wanted {
            if let Some(call) = current.as_mut() {
                // Widening the call to this job's start widens every query of it.
                let total: i64 = call
                    .jobs
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|j| job_points(&needs[*j], from, to, range.period))
                    .sum();
                // Jobs of like lookback share a call: none asks for more than twice its own
                // span (plus ten minutes), so a monthly job does not widen minutes-long queries.
                let newest = call.newest;
                let alike = to.duration_since(from)
                    <= to.duration_since(newest) * 2 + SignedDuration::from_mins(10);
                if call.jobs.len() < QUERIES_PER_CALL && total <= POINTS_PER_CALL && alike {
                    call.jobs.push(i);
                    call.from = from;
                    continue;
                }
            }
            if let Some(done) = current.take() {
                calls.push(done);
            }
            current = Some(Call {
                jobs: vec![i],
                from,
                newest: from,
                to,
                period: range.period,
            });
        }
        calls.extend(current);
    }
    calls
}

/// The runs of each job (by job name) since its `from`, as buckets; `calls` counts the API
/// calls made; calls not answered by `deadline` leave their jobs unjudged.
pub async fn runs(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    needs: &[Need],
    now: Timestamp,
    deadline: tokio::time::Instant,
    calls: &ApiCalls,
) -> Evidence {
    use futures_util::stream::{self, StreamExt};
    let planned = plan(needs, now);
    let results: Vec<(Call, CallResult)> = stream::iter(planned)
        .map(|call| async move {
            let result = match tokio::time::timeout_at(
                deadline,
                read_call(client, namespace, needs, &call, calls),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => {
                    Err("CloudWatch: GetMetricData not answered before the check's deadline".into())
                }
            };
            (call, result)
        })
        .buffer_unordered(CONCURRENT_CALLS)
        .collect()
        .await;
    let mut evidence = Evidence::default();
    for (call, result) in results {
        match result {
            Ok(found) => {
                for (i, bucket) in found {
                    evidence
                        .buckets
                        .entry(needs[i].job.clone())
                        .or_default()
                        .push(bucket);
                }
            }
            Err(why) => {
                for i in call.jobs {
                    evidence
                        .failed
                        .entry(needs[i].job.clone())
                        .or_insert_with(|| why.clone());
                }
            }
        }
    }
    evidence
}

/// The buckets one call found (need index, bucket), or why it failed.
type CallResult = Result<Vec<(usize, Bucket)>, String>;

async fn read_call(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    needs: &[Need],
    call: &Call,
    calls: &ApiCalls,
) -> CallResult {
    let queries: Vec<MetricDataQuery> = call
        .jobs
        .iter()
        .enumerate()
        .map(|(q, i)| query(q, namespace, &needs[*i].job, call.period))
        .collect();
    let length = SignedDuration::from_secs(i64::from(call.period));
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    for page in 0.. {
        if page == MAX_PAGES {
            return Err(format!(
                "CloudWatch: GetMetricData returned more than {MAX_PAGES} pages for {} jobs",
                call.jobs.len()
            ));
        }
        calls.get_metric_data.fetch_add(1, Ordering::Relaxed);
        calls
            .metrics_requested
            .fetch_add(queries.len() as u64, Ordering::Relaxed);
        let resp = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(datetime(call.from))
            .end_time(datetime(call.to))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CloudWatch: {}",
                    explain_aws(&e, "CloudWatch", "cloudwatch:GetMetricData")
                )
            })?;
        for result in resp.metric_data_results() {
            let Some(&i) = result
                .id()
                .and_then(|id| id.strip_prefix('r'))
                .and_then(|q| q.parse::<usize>().ok())
                .and_then(|q| call.jobs.get(q))
            else {
                continue;
            };
            for (t, v) in result.timestamps().iter().zip(result.values()) {
                let Ok(start) = Timestamp::from_second(t.secs()) else {
                    continue;
                };
                if *v < 0.5 {
                    continue;
                }
                found.push((
                    i,
                    Bucket {
                        start,
                        length,
                        runs: v.round().min(f64::from(u32::MAX)) as u32,
                    },
                ));
            }
        }
        match resp.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(found)
}

fn floor(t: Timestamp, period: i32) -> Timestamp {
    let p = i64::from(period);
    Timestamp::from_second(t.as_second().div_euclid(p) * p).unwrap_or(t)
}

fn query(index: usize, namespace: &str, job: &str, period: i32) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name("Runs")
        .dimensions(Dimension::builder().name("Job").value(job).build())
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(period)
        .stat("Sum")
        .build();
    MetricDataQuery::builder()
        .id(format!("r{index}"))
        .metric_stat(stat)
        .return_data(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn each_call_stays_within_getmetricdata_limits_and_lookbacks_stay_per_job() {
        let now = ts("2026-12-07T12:00:00Z");
        let need = |job: String, back: SignedDuration, gap: SignedDuration| Need {
            job,
            from: now - back,
            min_gap: gap,
        };
        let day = SignedDuration::from_hours(24);
        // 900 every-minute jobs (20 minutes back), 99 daily (a day back), 1 monthly (31 days).
        let mut needs: Vec<Need> = (0..900)
            .map(|i| {
                need(
                    format!("m{i}"),
                    SignedDuration::from_mins(20),
                    SignedDuration::from_mins(1),
                )
            })
            .collect();
        needs.extend((0..99).map(|i| need(format!("d{i}"), SignedDuration::from_hours(25), day)));
        needs.push(need("monthly".into(), day * 31, day * 28));
        let calls = plan(&needs, now);
        let mut seen = vec![0usize; needs.len()];
        for c in &calls {
            assert!(c.jobs.len() <= QUERIES_PER_CALL);
            let total: i64 = c
                .jobs
                .iter()
                .map(|i| job_points(&needs[*i], c.from, c.to, c.period))
                .sum();
            assert!(total <= POINTS_PER_CALL, "{c:?}");
            for &i in &c.jobs {
                seen[i] += 1;
                // The estimate never undercounts a job that runs at every start.
                let starts =
                    (c.to.as_second() - c.from.as_second()) / needs[i].min_gap.as_secs() + 1;
                let periods = points(c.from, c.to, c.period);
                assert!(job_points(&needs[i], c.from, c.to, c.period) >= starts.min(periods));
                // A 1-minute call reaches back as far as its jobs need (or 14 days).
                if c.period == 60 {
                    assert!(
                        c.from <= needs[i].from.max(now - day * 14) + SignedDuration::from_mins(1)
                    );
                }
            }
        }
        // Every job in the 1-minute range once; the monthly job also in the 5-minute range.
        assert!(seen[..999].iter().all(|n| *n == 1));
        assert_eq!(seen[999], 2);
        // The every-minute jobs share two calls; the daily ones a third, the monthly one (its
        // lookback over twice theirs) a fourth; its older data a fifth.
        let minute_calls = calls
            .iter()
            .filter(|c| c.period == 60 && c.jobs.iter().any(|i| *i < 900))
            .count();
        assert_eq!(minute_calls, 2);
        assert_eq!(calls.len(), 5, "{calls:?}");
    }
}
