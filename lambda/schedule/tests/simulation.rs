//! A year of a watchdog checking every 5 minutes, per schedule of a corpus: Scheduler's 0-59 s
//! start jitter, flexible windows, cold starts, runs lasting up to the function's timeout (their
//! evidence appears when they end). When every run happens nothing pages; every removed run
//! pages within its allowance plus the watchdog's period; a schedule created mid-year pages
//! nothing before its first start; a paused one never pages. The figures are printed (the module
//! README's "Alarms" table reports them): `cargo test -p pg-cron-job-schedule -- --nocapture`.

use jiff::{SignedDuration, Timestamp};
use pg_cron_job_schedule::watch::{Bucket, State, Watched};
use pg_cron_job_schedule::Schedule;

const PERIOD: SignedDuration = SignedDuration::from_mins(5);

/// xorshift64*: a deterministic random source for the simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..=max` seconds.
    fn secs(&mut self, max: i64) -> SignedDuration {
        if max <= 0 {
            return SignedDuration::ZERO;
        }
        SignedDuration::from_millis((self.next() % (max as u64 * 1000 + 1)) as i64)
    }
}

struct Case {
    expression: &'static str,
    zone: &'static str,
    flexible_minutes: i64,
    timeout_s: i64,
}

const CORPUS: &[Case] = &[
    Case {
        expression: "cron(0 6 ? * MON-FRI *)",
        zone: "America/New_York",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(0 2 1 * ? *)",
        zone: "UTC",
        flexible_minutes: 0,
        timeout_s: 900,
    },
    Case {
        expression: "cron(30 23 L * ? *)",
        zone: "Europe/Rome",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(0 8,20 * * ? *)",
        zone: "Asia/Kolkata",
        flexible_minutes: 15,
        timeout_s: 300,
    },
    Case {
        expression: "cron(30 2 * * ? *)",
        zone: "Europe/Rome",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(30 1 * * ? *)",
        zone: "America/New_York",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(0 4 ? * SUN *)",
        zone: "Europe/Rome",
        flexible_minutes: 0,
        timeout_s: 900,
    },
    Case {
        expression: "cron(0 3 ? * 2#1 *)",
        zone: "Australia/Lord_Howe",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(45 1 * * ? *)",
        zone: "Australia/Lord_Howe",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(0/15 * * * ? *)",
        zone: "Europe/London",
        flexible_minutes: 0,
        timeout_s: 300,
    },
    Case {
        expression: "cron(* 9-10 ? * MON *)",
        zone: "UTC",
        flexible_minutes: 0,
        timeout_s: 30,
    },
    Case {
        expression: "rate(5 minutes)",
        zone: "UTC",
        flexible_minutes: 0,
        timeout_s: 120,
    },
    Case {
        expression: "rate(1 day)",
        zone: "Europe/Rome",
        flexible_minutes: 60,
        timeout_s: 300,
    },
];

fn minute(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second().div_euclid(60) * 60).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

fn watched(case: &Case, since: Timestamp) -> Watched {
    let mut schedule = Schedule::parse(case.expression, case.zone).expect("corpus expression");
    schedule.anchor = Some(since);
    Watched {
        schedule,
        enabled: true,
        since,
        flexible_window: SignedDuration::from_mins(case.flexible_minutes),
        grace: SignedDuration::from_mins(5),
        timeout: SignedDuration::from_secs(case.timeout_s),
    }
}

/// One simulated run: when it started and when its evidence appeared.
#[derive(Clone, Copy)]
struct Run {
    start: Timestamp,
    seen: Timestamp,
}

fn runs_for(
    w: &Watched,
    case: &Case,
    until: Timestamp,
    rng: &mut Rng,
) -> (Vec<Timestamp>, Vec<Run>) {
    let starts: Vec<Timestamp> = w
        .schedule
        .iter_after(w.since)
        .take_while(|t| *t <= until)
        .collect();
    let runs = starts
        .iter()
        .map(|t| {
            // Scheduler's jitter, the flexible window, delivery and a cold start (up to 3 s).
            let start = *t + rng.secs(59) + rng.secs(case.flexible_minutes * 60) + rng.secs(3);
            let seen = start + rng.secs(case.timeout_s);
            Run { start, seen }
        })
        .collect();
    (starts, runs)
}

/// The watchdog's checks from `from` to `until` every 5 minutes (each check up to 59 s late):
/// the instants at which the job was late.
fn late_checks(
    w: &Watched,
    from: Timestamp,
    until: Timestamp,
    runs: &[Run],
    rng: &mut Rng,
) -> Vec<Timestamp> {
    let mut late = Vec::new();
    let mut tick = from;
    while tick <= until {
        let now = tick + rng.secs(59);
        // What GetMetricData returns: the runs' starts counted per whole minute (CloudWatch
        // keeps no finer time), from the minute of evidence_from (it rounds start times down).
        let evidence_from = minute(w.evidence_from(now, PERIOD));
        // Runs are in start order: only those that started between evidence_from and now.
        let lo = runs.partition_point(|r| r.start < evidence_from);
        let hi = runs.partition_point(|r| r.start <= now);
        let mut buckets: Vec<Bucket> = Vec::new();
        for r in runs[lo..hi].iter().filter(|r| r.seen <= now) {
            let start = minute(r.start);
            match buckets.last_mut() {
                Some(b) if b.start == start => b.runs += 1,
                _ => buckets.push(Bucket {
                    start,
                    length: SignedDuration::from_mins(1),
                    runs: 1,
                }),
            }
        }
        let (v, _) = w.judge(now, PERIOD, &buckets);
        if v.state == State::Late {
            late.push(now);
        }
        tick += PERIOD;
    }
    late
}

#[test]
fn a_year_of_checks_pages_for_every_missed_run_and_only_then() {
    let year_start = ts("2026-01-01T00:00:00Z");
    let year_end = ts("2027-01-01T00:00:00Z");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut total_starts = 0;
    let mut total_checks = 0;
    let mut removed = 0;
    for case in CORPUS {
        let w = watched(case, year_start);
        let (starts, runs) = runs_for(&w, case, year_end, &mut rng);
        assert!(
            starts.len() > 5,
            "{}: {} starts",
            case.expression,
            starts.len()
        );
        total_starts += starts.len();

        // Every run happens: no page all year (DST nights, jitter and flexible windows included).
        let late = late_checks(&w, year_start, year_end, &runs, &mut rng);
        assert!(
            late.is_empty(),
            "{} in {}: false pages at {:?}",
            case.expression,
            case.zone,
            &late[..late.len().min(3)]
        );
        total_checks += (year_end.duration_since(year_start).as_secs() / PERIOD.as_secs()) as usize;

        // Remove runs one at a time (up to 12 per schedule, spread over the year): each pages
        // within its allowance plus the period (and a minute of check jitter), never before.
        let picks: Vec<usize> = (0..12)
            .map(|i| (i * starts.len() / 12 + 1).min(starts.len() - 2))
            .collect();
        for &k in &picks {
            let mut kept = runs.clone();
            let missed = starts[k];
            // A rate without a start date is judged from the latest run (as healthchecks.io's
            // simple checks): the job stops; it pages a rate plus the allowance after the end of
            // the latest run's minute. Any other schedule: one run is missing.
            let latest_limit = match w.follows_runs() {
                Some(every) => {
                    kept.truncate(k);
                    minute(runs[k - 1].start) + every + w.allowance() + SignedDuration::from_mins(1)
                }
                None => {
                    kept.remove(k);
                    missed + w.allowance()
                }
            };
            let from = missed - SignedDuration::from_hours(1);
            let until = latest_limit + SignedDuration::from_hours(2);
            let late = late_checks(&w, from, until, &kept, &mut rng);
            let first = late.first().copied();
            assert!(
                first.is_some_and(|t| t >= missed + w.allowance()
                    && t <= latest_limit + PERIOD + SignedDuration::from_mins(2)),
                "{} in {}: the missed start {missed} paged at {first:?} (allowance {:?})",
                case.expression,
                case.zone,
                w.allowance()
            );
            removed += 1;
        }
    }
    println!(
        "simulation: {} schedules, {total_starts} expected starts in 2026, {total_checks} checks every 5 min, runs counted per minute as CloudWatch keeps them: 0 false pages; {removed} removed runs (for a rate without start date: the job stopped), each paged within allowance + 5 min (rate: of its due time after the latest run)",
        CORPUS.len()
    );
}

#[test]
fn created_mid_year_or_paused_pages_nothing() {
    let mut rng = Rng(42);
    for case in CORPUS {
        // Created at an odd moment mid-year; its runs start with the first expected start.
        let since = ts("2026-07-15T10:17:23Z");
        let w = watched(case, since);
        let until = ts("2026-09-01T00:00:00Z");
        let (_, runs) = runs_for(&w, case, until, &mut rng);
        let late = late_checks(&w, since, until, &runs, &mut rng);
        assert!(
            late.is_empty(),
            "{}: created mid-year, paged at {:?}",
            case.expression,
            late.first()
        );
        // Paused: no runs at all, never late.
        let mut paused = watched(case, since);
        paused.enabled = false;
        assert!(
            late_checks(&paused, since, until, &[], &mut rng).is_empty(),
            "{}: paused",
            case.expression
        );
    }
}
