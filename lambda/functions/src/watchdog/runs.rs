//! The runs the runner recorded: its "job finished" line's `Runs` metric (Embedded Metric
//! Format, timestamped at the run's start, dimension `Job`), read with GetMetricData, up to 500
//! jobs per call.
//!
//! CloudWatch keeps one-minute data for 15 days, five-minute data for 63 days and hourly data
//! beyond, and GetMetricData wants the period to match the age of its start time, so older
//! evidence is asked for in coarser periods.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>

use std::collections::HashMap;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use jiff::{SignedDuration, Timestamp};
use pg_cron_job_schedule::watch::Bucket;

use super::config::WatchdogError;
use crate::aws::explain_aws;

/// Queries per GetMetricData call (CloudWatch's limit).
const QUERIES_PER_CALL: usize = 500;
/// Pages read per call at most (each holds up to 100,800 data points): a bound on memory.
const MAX_PAGES: usize = 20;
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

/// What one job needs: its `Job` dimension and the earliest run start of interest.
#[derive(Debug, Clone)]
pub struct Need {
    pub job: String,
    pub from: Timestamp,
}

fn datetime(t: Timestamp) -> DateTime {
    DateTime::from_secs(t.as_second())
}

/// The runs of each job (by job name) since its `from`, as buckets.
pub async fn runs(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    needs: &[Need],
    now: Timestamp,
) -> Result<HashMap<String, Vec<Bucket>>, WatchdogError> {
    let mut out: HashMap<String, Vec<Bucket>> = HashMap::new();
    let end = now + SignedDuration::from_mins(1);
    for range in RANGES {
        let to = if range.newest.is_zero() {
            end
        } else {
            now - range.newest
        };
        // The jobs that need evidence from before this range's newest instant.
        let wanted: Vec<&Need> = needs.iter().filter(|n| n.from < to).collect();
        let Some(earliest) = wanted.iter().map(|n| n.from).min() else {
            continue;
        };
        // Periods begin on whole multiples of the period, as CloudWatch rounds start times.
        let from = floor(earliest.max(now - range.oldest), range.period);
        if from >= to {
            continue;
        }
        let length = SignedDuration::from_secs(i64::from(range.period));
        for chunk in wanted.chunks(QUERIES_PER_CALL) {
            let queries: Vec<MetricDataQuery> = chunk
                .iter()
                .enumerate()
                .map(|(i, need)| query(i, namespace, &need.job, range.period))
                .collect();
            let mut token: Option<String> = None;
            for page in 0.. {
                if page == MAX_PAGES {
                    return Err(WatchdogError::Metrics(format!(
                        "GetMetricData returned more than {MAX_PAGES} pages for {} jobs",
                        chunk.len()
                    )));
                }
                let resp = client
                    .get_metric_data()
                    .set_metric_data_queries(Some(queries.clone()))
                    .start_time(datetime(from))
                    .end_time(datetime(to))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| {
                        WatchdogError::Metrics(explain_aws(
                            &e,
                            "CloudWatch",
                            "cloudwatch:GetMetricData",
                        ))
                    })?;
                for result in resp.metric_data_results() {
                    let Some(need) = result
                        .id()
                        .and_then(|id| id.strip_prefix('r'))
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| chunk.get(i))
                    else {
                        continue;
                    };
                    let buckets = out.entry(need.job.clone()).or_default();
                    for (t, v) in result.timestamps().iter().zip(result.values()) {
                        let Ok(start) = Timestamp::from_second(t.secs()) else {
                            continue;
                        };
                        if *v < 0.5 {
                            continue;
                        }
                        buckets.push(Bucket {
                            start,
                            length,
                            runs: v.round().min(f64::from(u32::MAX)) as u32,
                        });
                    }
                }
                match resp.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
    }
    Ok(out)
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
