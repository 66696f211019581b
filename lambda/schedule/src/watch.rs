//! Whether a job ran when its schedule said it would: the watchdog's verdict for one job, with
//! healthchecks.io's states (new, up, late, paused) plus ended.
//!
//! A start is expected at every time the schedule gives (exactly as Scheduler computes them, so
//! a local time skipped by daylight saving time is not expected, and a repeated one is expected
//! once). Scheduler invokes the target within the minute (60 s precision) and, with a flexible
//! window, up to the window later; delivery and a cold start add a little. So the run of an
//! expected start `t` is a run that started within `t + start window`, where
//! `start window = 60 s + flexible window + grace` (`grace`: the job's own grace time); each run
//! goes to the latest start before it that has no run yet. The run's
//! evidence (its "job finished" line) appears when it ends, at most the function's timeout
//! later: a start is judged once `t + start window + timeout` (its *allowance*) has passed.
//!
//! A job is *late* when a start judged since the previous check (the watchdog's period) has no
//! run, and stays late until a run starts after the latest judged start. Nothing is expected
//! before `since` (the schedule's creation, last change or last enabling): a new or re-enabled
//! schedule never pages before its first expected start.
//!
//! A `rate()` without a start date is counted by Scheduler from a moment its API does not give
//! (the creation or an update): for it the watchdog follows the runs, as a healthchecks.io
//! simple check does: the next start is due a rate after the latest run, and the job is late
//! when that start's allowance has passed without a run.

use jiff::{SignedDuration, Timestamp};

use crate::{Expression, Schedule};

/// Scheduler's precision: a target is invoked within the minute of its start time.
pub const START_PRECISION: SignedDuration = SignedDuration::from_secs(60);

/// A job's schedule as the watchdog sees it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub schedule: Schedule,
    /// `false`: the schedule is disabled (paused).
    pub enabled: bool,
    /// Nothing is expected before this instant (creation, last change or enabling).
    pub since: Timestamp,
    /// The schedule's flexible time window (0 when off).
    pub flexible_window: SignedDuration,
    /// The job's grace time: how much later than Scheduler's window a run may still start.
    pub grace: SignedDuration,
    /// The function's timeout: how long after its start a run's evidence may appear.
    pub timeout: SignedDuration,
}

/// Runs as CloudWatch returns them: how many runs started within one metric period (a minute
/// for the last 15 days, 5 minutes up to 63 days, an hour beyond; CloudWatch keeps no finer
/// time of an older run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start: Timestamp,
    pub length: SignedDuration,
    pub runs: u32,
}

/// At most this many runs are taken from one bucket (a schedule starts at most once a minute).
const MAX_RUNS_PER_BUCKET: u32 = 60;

/// The state of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No start expected yet since `since`, and none seen.
    New,
    /// Every judged start has its run.
    Up,
    /// A judged start has no run.
    Late,
    /// The schedule is disabled.
    Paused,
    /// The schedule will not start again (end date or a past `at()`), and nothing is missing.
    Ended,
    /// The latest judged start ran, off its time by a whole number of quarter hours: Scheduler's
    /// idea of the local time differs (time zone data, a repeated hour). Not late.
    Drift,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Up => "up",
            State::Late => "late",
            State::Paused => "paused",
            State::Ended => "ended",
            State::Drift => "drift",
        }
    }
}

/// The watchdog's verdict for one job at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    /// The latest judged start (its allowance has passed).
    pub expected: Option<Timestamp>,
    /// The earliest judged start without a run, when late.
    pub missed: Option<Timestamp>,
    /// How long past its allowance that start is, when late.
    pub late_by: SignedDuration,
    /// The next expected start after now.
    pub next: Option<Timestamp>,
    /// When the latest judged start ran off its time by a whole number of quarter hours (time
    /// zone data that differs from Scheduler's, a repeated local time run at its second
    /// occurrence): how far (positive: later).
    pub drift: Option<SignedDuration>,
    /// Runs in the evidence that belong to no expected start (scheduled at times the watchdog
    /// did not expect, or started by hand).
    pub unexpected_runs: usize,
}

/// How far off its expected time a run may be to be taken as that start's, run at a time
/// Scheduler's time zone data gives (zone offsets differ by quarter hours, at most a few).
pub const MAX_DRIFT: SignedDuration = SignedDuration::from_hours(3);
const QUARTER_HOUR: i64 = 900;

impl Watched {
    /// How long after an expected start its run may begin.
    pub fn start_window(&self) -> SignedDuration {
        START_PRECISION + self.flexible_window + self.grace
    }

    /// How long after an expected start its run must have been seen.
    pub fn allowance(&self) -> SignedDuration {
        self.start_window() + self.timeout
    }

    /// A `rate()` without a start date: judged from the latest run (see the module's notes).
    pub fn follows_runs(&self) -> Option<SignedDuration> {
        match self.schedule.expression {
            Expression::Rate(every) if self.schedule.start.is_none() => Some(every),
            _ => None,
        }
    }

    /// The runs' start times the watchdog needs for a verdict at `now` (checking every
    /// `period`): those at or after this instant.
    pub fn evidence_from(&self, now: Timestamp, period: SignedDuration) -> Timestamp {
        if let Some(every) = self.follows_runs() {
            let back = (every + self.allowance() + period + START_PRECISION) * 2;
            return sub(now, back).max(self.since);
        }
        let cutoff = sub(now, self.allowance());
        let (from, reach) = match self.latest_judged(cutoff) {
            // One start further back: the drift learned from it.
            Some(t) => {
                let back = self
                    .latest_start(sub(t, SignedDuration::from_nanos(1)))
                    .unwrap_or(t);
                (
                    back.min(sub(cutoff, period + START_PRECISION)),
                    drift_reach(back, t),
                )
            }
            None => (sub(cutoff, period + START_PRECISION), SignedDuration::ZERO),
        };
        sub(from, self.start_window().max(reach)).max(self.since)
    }

    /// The verdict at `now` for a watchdog that checks every `period`, given the start times of
    /// the runs seen (at least those since [`Watched::evidence_from`]; any order).
    pub fn verdict(&self, now: Timestamp, period: SignedDuration, runs: &[Timestamp]) -> Verdict {
        let next = self.schedule.next_after(now);
        let quiet = |state| Verdict {
            state,
            expected: None,
            missed: None,
            late_by: SignedDuration::ZERO,
            next,
            drift: None,
            unexpected_runs: 0,
        };
        if !self.enabled {
            return quiet(State::Paused);
        }
        let cutoff = sub(now, self.allowance());
        let Some(mut expected) = self.latest_judged(cutoff) else {
            let seen = runs.iter().any(|r| *r >= self.since);
            return quiet(if seen { State::Up } else { State::New });
        };
        // Starts judged since the previous check (with a minute of slack for the check's own
        // start jitter), and the latest judged one; evidence from one start before it (a drift
        // is learned from the previous start) and up to MAX_DRIFT before (an earlier drift).
        let window_from = sub(cutoff, period + START_PRECISION);
        let back = self
            .latest_start(sub(expected, SignedDuration::from_nanos(1)))
            .unwrap_or(expected);
        let reach = self.start_window().max(drift_reach(back, expected));
        let match_from = sub(back.min(window_from), reach).max(self.since);
        let mut starts: Vec<Timestamp> = Vec::new();
        let mut cursor = match_from;
        // Starts up to now, so that recent runs find their own starts; only those up to the
        // cutoff are judged.
        while let Some(t) = self.schedule.next_after(cursor) {
            if t > now {
                break;
            }
            starts.push(t);
            cursor = t;
        }
        let mut runs: Vec<Timestamp> = runs.iter().copied().filter(|r| *r >= match_from).collect();
        runs.sort_unstable();
        let (mut matched, mut used) = self.match_runs(&starts, &runs);
        let drifts = self.match_drift(&starts, &runs, &mut matched, &mut used);
        let unexpected_runs = used.iter().filter(|u| !**u).count();
        // A job that ran late by a drift at its previous start is expected that much later
        // (time zone data that differs pages once, not at every start).
        let learned = |i: usize| {
            drifts[..i]
                .iter()
                .rev()
                .find_map(|d| *d)
                .filter(|d| d.is_positive())
                .unwrap_or(SignedDuration::ZERO)
        };
        let judged_at =
            |i: usize| starts[i] + self.schedule.repeat_after(starts[i]).max(learned(i));
        if let Some(i) = starts.iter().position(|t| *t == expected) {
            if !matched[i] && judged_at(i) > cutoff {
                if let Some(j) = (0..i).rev().find(|j| judged_at(*j) <= cutoff) {
                    expected = starts[j];
                }
            }
        }
        // Late now: a start judged since the previous check has no run (even if later runs
        // came), or the latest judged start has none and no run has started since.
        let recent_missed = (0..starts.len())
            .find(|i| !matched[*i] && judged_at(*i) > window_from && judged_at(*i) <= cutoff)
            .map(|i| starts[i]);
        let expected_index = starts.iter().position(|t| *t == expected);
        let expected_missed = expected_index.is_some_and(|i| !matched[i]);
        let latest_missed = expected_missed && !runs.iter().any(|r| *r > expected);
        let missed = recent_missed.or(latest_missed.then_some(expected));
        let drift = expected_index.and_then(|i| drifts[i]);
        if let Some(first) = missed {
            return Verdict {
                state: State::Late,
                expected: Some(expected),
                missed: Some(first),
                late_by: now.duration_since(first) - self.allowance(),
                next,
                drift,
                unexpected_runs,
            };
        }
        Verdict {
            state: if drift.is_some() {
                State::Drift
            } else if next.is_none() {
                State::Ended
            } else {
                State::Up
            },
            expected: Some(expected),
            missed: None,
            late_by: SignedDuration::ZERO,
            next,
            drift,
            unexpected_runs,
        }
    }

    /// The verdict at `now` from the runs as CloudWatch counts them (see [`Bucket`]), and the
    /// latest run's start as far as it is known.
    pub fn judge(
        &self,
        now: Timestamp,
        period: SignedDuration,
        buckets: &[Bucket],
    ) -> (Verdict, Option<Timestamp>) {
        if let Some(every) = self.follows_runs() {
            return self.judge_by_latest_run(now, every, buckets);
        }
        let runs = self.runs_from_buckets(buckets);
        (self.verdict(now, period, &runs), runs.iter().max().copied())
    }

    /// A rate counted from the latest run: its next start is due a rate after the end of the
    /// period the run started in (the run started within it), or after `since` without a run.
    fn judge_by_latest_run(
        &self,
        now: Timestamp,
        every: SignedDuration,
        buckets: &[Bucket],
    ) -> (Verdict, Option<Timestamp>) {
        let latest = buckets
            .iter()
            .filter(|b| b.runs > 0 && b.start + b.length > self.since && b.start <= now)
            .max_by_key(|b| b.start);
        let base = latest.map_or(self.since, |b| {
            (b.start + b.length - SignedDuration::from_nanos(1)).min(now)
        });
        let due = base + every;
        let mut verdict = Verdict {
            state: State::Up,
            expected: latest.map(|_| base),
            missed: None,
            late_by: SignedDuration::ZERO,
            next: Some(due),
            drift: None,
            unexpected_runs: 0,
        };
        let ended = self.schedule.end.is_some_and(|e| due > e);
        if !self.enabled {
            verdict.state = State::Paused;
        } else if due + self.allowance() < now && !ended {
            verdict.state = State::Late;
            verdict.missed = Some(due);
            verdict.late_by = now.duration_since(due) - self.allowance();
        } else if ended {
            verdict.state = State::Ended;
            verdict.next = None;
        } else if latest.is_none() {
            verdict.state = State::New;
        }
        if verdict.next.is_some_and(|n| n <= now) {
            verdict.next = self.schedule.next_after(now);
        }
        (verdict, latest.map(|b| b.start))
    }

    /// Start times for runs known only by their period: a run of a bucket is placed at the
    /// latest expected start within the bucket (a run does not start before its start time),
    /// else at the bucket's start, so a run is never judged earlier than it was.
    pub fn runs_from_buckets(&self, buckets: &[Bucket]) -> Vec<Timestamp> {
        let mut runs = Vec::new();
        for b in buckets {
            if b.runs == 0 {
                continue;
            }
            let end = b.start + b.length - SignedDuration::from_nanos(1);
            let from = sub(b.start, self.start_window());
            let at = match self.schedule.last_at_or_before(from, end) {
                Some(s) if s > b.start => s,
                _ => b.start,
            };
            runs.extend(std::iter::repeat_n(
                at,
                b.runs.min(MAX_RUNS_PER_BUCKET) as usize,
            ));
        }
        runs
    }

    /// For each start (in order), whether a run belongs to it: each run goes to the latest
    /// start before it that has no run yet and whose start window holds it. (A run belongs to
    /// the start just before it unless that start has one: a run delayed past the next start by
    /// Scheduler's jitter still counts, and a missing run is not covered by later runs shifting
    /// back one start each.)
    fn match_runs(&self, starts: &[Timestamp], runs: &[Timestamp]) -> (Vec<bool>, Vec<bool>) {
        let window = self.start_window();
        // A start whose local time comes again (the night the clocks go back) may run at
        // either occurrence.
        let windows: Vec<SignedDuration> = starts
            .iter()
            .map(|s| window + self.schedule.repeat_after(*s))
            .collect();
        let longest = windows.iter().copied().max().unwrap_or(window);
        let mut matched = vec![false; starts.len()];
        let mut used = vec![false; runs.len()];
        for (r, run) in runs.iter().enumerate() {
            let before = starts.partition_point(|s| s <= run);
            if let Some(i) = (0..before)
                .rev()
                .take_while(|i| starts[*i] + longest >= *run)
                .filter(|i| starts[*i] + windows[*i] >= *run)
                .find(|i| !matched[*i])
            {
                matched[i] = true;
                used[r] = true;
            }
        }
        (matched, used)
    }

    /// Gives a start without a run one that no start took and that is off it by a whole number
    /// of quarter hours, at most [`MAX_DRIFT`], and nearer to it than to any other start: the
    /// run Scheduler started at its own idea of the local time (a run is stamped at the start
    /// Scheduler meant, a whole minute; one started by hand rarely falls on a quarter hour off
    /// a start). Returns each start's drift.
    fn match_drift(
        &self,
        starts: &[Timestamp],
        runs: &[Timestamp],
        matched: &mut [bool],
        used: &mut [bool],
    ) -> Vec<Option<SignedDuration>> {
        let mut drifts = vec![None; starts.len()];
        for i in 0..starts.len() {
            if matched[i] {
                continue;
            }
            let s = starts[i];
            // The distance from a run to the nearest other start (starts are sorted).
            let nearest_other = |r: Timestamp| {
                let k = starts.partition_point(|t| *t <= r);
                [k.checked_sub(2), k.checked_sub(1), Some(k), Some(k + 1)]
                    .into_iter()
                    .flatten()
                    .filter(|j| *j != i && *j < starts.len())
                    .map(|j| r.duration_since(starts[j]).abs())
                    .min()
                    .unwrap_or(SignedDuration::MAX)
            };
            // Runs are sorted: only those within MAX_DRIFT of the start.
            let lo = runs.partition_point(|r| *r < sub(s, MAX_DRIFT));
            let hi = runs.partition_point(|r| *r <= s + MAX_DRIFT);
            let found = (lo..hi)
                .filter(|r| !used[*r])
                .map(|r| (r, runs[r].duration_since(s)))
                .filter(|(_, d)| {
                    !d.is_zero() && d.as_secs() % QUARTER_HOUR == 0 && d.subsec_nanos() == 0
                })
                .filter(|(r, d)| d.abs() < nearest_other(runs[*r]))
                .min_by_key(|(_, d)| d.abs());
            if let Some((r, d)) = found {
                matched[i] = true;
                used[r] = true;
                drifts[i] = Some(d);
            }
        }
        drifts
    }

    /// The latest expected start judged by `cutoff` (now minus the allowance): in
    /// `(since, cutoff]`, and for a start whose local time repeats, its second occurrence too.
    fn latest_judged(&self, cutoff: Timestamp) -> Option<Timestamp> {
        let mut candidate = self.latest_start(cutoff);
        while let Some(t) = candidate {
            let repeat = self.schedule.repeat_after(t);
            if repeat.is_zero() || t + repeat <= cutoff {
                return Some(t);
            }
            candidate = self.latest_start(sub(t, SignedDuration::from_nanos(1)));
        }
        None
    }

    /// The latest expected start in `(since, cutoff]`, looking back in growing steps (a day,
    /// a month, a year, then all of it) so frequent schedules stay cheap.
    fn latest_start(&self, cutoff: Timestamp) -> Option<Timestamp> {
        // A start at `since` itself is not expected (the schedule did not exist before it).
        let first = self.since + SignedDuration::from_nanos(1);
        if cutoff < first {
            return None;
        }
        for days in [1i64, 32, 400] {
            let from = sub(cutoff, SignedDuration::from_hours(24 * days)).max(first);
            if let Some(t) = self.schedule.last_at_or_before(from, cutoff) {
                return Some(t);
            }
            if from == first {
                return None;
            }
        }
        self.schedule.last_at_or_before(first, cutoff)
    }
}

/// How far before a start its drifted run may be looked for: [`MAX_DRIFT`] when starts are more
/// than half an hour apart, else nothing (a quarter-hour drift would be nearer another start).
fn drift_reach(previous: Timestamp, start: Timestamp) -> SignedDuration {
    if start.duration_since(previous) > SignedDuration::from_mins(30) {
        MAX_DRIFT
    } else {
        SignedDuration::ZERO
    }
}

fn sub(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_sub(d).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: SignedDuration = SignedDuration::from_mins(5);

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn daily() -> Watched {
        Watched {
            schedule: Schedule::parse("cron(30 2 * * ? *)", "Europe/Rome").unwrap(),
            enabled: true,
            since: ts("2026-12-01T10:00:00Z"),
            flexible_window: SignedDuration::ZERO,
            grace: SignedDuration::from_mins(5),
            timeout: SignedDuration::from_mins(10),
        }
    }

    #[test]
    fn new_until_the_first_start_then_up_or_late() {
        let w = daily();
        assert_eq!(w.allowance(), SignedDuration::from_mins(16));
        // Created at 11:00 local: the first start is 2 December 02:30 local (01:30Z).
        let v = w.verdict(ts("2026-12-01T23:00:00Z"), PERIOD, &[]);
        assert_eq!(v.state, State::New);
        assert_eq!(v.next, Some(ts("2026-12-02T01:30:00Z")));
        // Within the allowance: still new.
        assert_eq!(
            w.verdict(ts("2026-12-02T01:45:00Z"), PERIOD, &[]).state,
            State::New
        );
        let late = w.verdict(ts("2026-12-02T01:50:00Z"), PERIOD, &[]);
        assert_eq!(late.state, State::Late);
        assert_eq!(late.late_by, SignedDuration::from_mins(4));
        let run = [ts("2026-12-02T01:30:40Z")];
        assert_eq!(
            w.verdict(ts("2026-12-02T01:50:00Z"), PERIOD, &run).state,
            State::Up
        );
        // Late all day, until the next day's run starts.
        assert_eq!(
            w.verdict(ts("2026-12-02T20:00:00Z"), PERIOD, &[]).state,
            State::Late
        );
        let next = [ts("2026-12-03T01:30:10Z")];
        assert_eq!(
            w.verdict(ts("2026-12-03T01:35:00Z"), PERIOD, &next).state,
            State::Up
        );
        // A run too late for its start (past the start window) does not count for it.
        let slow = [ts("2026-12-02T01:37:00Z")];
        assert_eq!(
            w.verdict(ts("2026-12-02T01:50:00Z"), PERIOD, &slow).state,
            State::Late
        );
    }

    #[test]
    fn a_missed_start_of_a_frequent_schedule_pages_even_when_later_runs_came() {
        let w = Watched {
            schedule: Schedule::parse("cron(* * * * ? *)", "UTC").unwrap(),
            since: ts("2026-12-01T00:00:00Z"),
            grace: SignedDuration::ZERO,
            timeout: SignedDuration::from_mins(1),
            ..daily()
        };
        // Every minute from 10:00 to 10:20, but 10:07; each run 59 s late (Scheduler's jitter).
        let runs: Vec<Timestamp> = (0..20)
            .filter(|m| *m != 7)
            .map(|m| ts("2026-12-02T10:00:59Z") + SignedDuration::from_mins(m))
            .collect();
        let v = w.verdict(ts("2026-12-02T10:10:00Z"), PERIOD, &runs);
        assert_eq!(
            (v.state, v.missed),
            (State::Late, Some(ts("2026-12-02T10:07:00Z")))
        );
        assert_eq!(
            w.verdict(ts("2026-12-02T10:20:00Z"), PERIOD, &runs).state,
            State::Up
        );
    }

    #[test]
    fn paused_and_ended_never_page() {
        let mut w = daily();
        w.enabled = false;
        assert_eq!(
            w.verdict(ts("2026-12-20T00:00:00Z"), PERIOD, &[]).state,
            State::Paused
        );
        let mut once = daily();
        once.schedule = Schedule::parse("at(2026-12-05T03:00:00)", "UTC").unwrap();
        let v = once.verdict(
            ts("2026-12-06T00:00:00Z"),
            PERIOD,
            &[ts("2026-12-05T03:00:20Z")],
        );
        assert_eq!(v.state, State::Ended);
        let v = once.verdict(ts("2026-12-06T00:00:00Z"), PERIOD, &[]);
        assert_eq!(
            v.state,
            State::Late,
            "a one-time start that never ran still pages"
        );
    }

    #[test]
    fn runs_known_by_their_period_are_not_judged_early() {
        // Monthly at 02:33 UTC; the run started 02:33:20, kept by CloudWatch in the 5-minute
        // (then hourly) period that begins 02:30 (an hour: 02:00), before the start itself.
        let mut w = daily();
        w.schedule = Schedule::parse("cron(33 2 1 * ? *)", "UTC").unwrap();
        w.since = ts("2026-10-01T00:00:00Z");
        for minutes in [5, 60] {
            let length = SignedDuration::from_mins(minutes);
            let bucket_start = if minutes == 5 {
                ts("2026-11-01T02:30:00Z")
            } else {
                ts("2026-11-01T02:00:00Z")
            };
            let runs = w.runs_from_buckets(&[Bucket {
                start: bucket_start,
                length,
                runs: 1,
            }]);
            assert_eq!(runs, vec![ts("2026-11-01T02:33:00Z")]);
            let v = w.verdict(ts("2026-11-20T00:00:00Z"), PERIOD, &runs);
            assert_eq!(v.state, State::Up, "{minutes}-minute period: {v:?}");
            // Taken at the period's start, the same run would page.
            let v = w.verdict(ts("2026-11-20T00:00:00Z"), PERIOD, &[bucket_start]);
            assert_eq!(v.state, State::Late);
        }
        // Empty and crowded periods.
        let b = |runs| Bucket {
            start: ts("2026-11-01T02:33:00Z"),
            length: SignedDuration::from_mins(1),
            runs,
        };
        assert!(w.runs_from_buckets(&[b(0)]).is_empty());
        assert_eq!(w.runs_from_buckets(&[b(2)]).len(), 2);
        assert_eq!(w.runs_from_buckets(&[b(1_000_000)]).len(), 60);
    }

    #[test]
    fn runs_stamped_at_their_scheduled_time_match_a_window_longer_than_the_period() {
        // Every 5 minutes with a 15-minute flexible window: the 10:05 start ran at 10:16, after
        // the 10:15 start's run at 10:15:30. Stamped at their scheduled times, each run is its
        // own start's (stamped at the start minute, the 10:16 run would be given to 10:15 and
        // 10:05 would page).
        let w = Watched {
            schedule: Schedule::parse("cron(0/5 * * * ? *)", "UTC").unwrap(),
            since: ts("2026-12-02T09:00:00Z"),
            flexible_window: SignedDuration::from_mins(15),
            grace: SignedDuration::ZERO,
            timeout: SignedDuration::from_mins(1),
            ..daily()
        };
        let minute = |t: &str| Bucket {
            start: ts(t),
            length: SignedDuration::from_mins(1),
            runs: 1,
        };
        let scheduled: Vec<Bucket> = (0..12)
            .map(|i| minute(&format!("2026-12-02T10:{:02}:00Z", i * 5)))
            .collect();
        for at in [
            "2026-12-02T10:25:00Z",
            "2026-12-02T10:40:00Z",
            "2026-12-02T11:10:00Z",
        ] {
            let (v, _) = w.judge(ts(at), PERIOD, &scheduled);
            assert_eq!(v.state, State::Up, "{at}: {v:?}");
        }
        // The same runs without the 10:05 one: late, naming 10:05.
        let (v, _) = w.judge(
            ts("2026-12-02T10:25:00Z"),
            PERIOD,
            &[scheduled[0], scheduled[2], scheduled[3]],
        );
        assert_eq!(
            (v.state, v.missed),
            (State::Late, Some(ts("2026-12-02T10:05:00Z")))
        );
    }

    #[test]
    fn a_start_in_a_repeated_hour_may_run_at_either_occurrence() {
        // 25 October 2026 in Rome, clocks back 03:00 -> 02:00: 02:30 is 00:30Z, then 01:30Z.
        let w = Watched {
            since: ts("2026-10-20T00:00:00Z"),
            ..daily()
        };
        let day_before = ts("2026-10-24T00:30:10Z");
        let second = ts("2026-10-25T01:30:20Z");
        // Past the first occurrence's allowance (16 min) but before the second's: not judged yet.
        let v = w.verdict(ts("2026-10-25T00:50:00Z"), PERIOD, &[day_before]);
        assert_eq!(v.state, State::Up, "{v:?}");
        assert_eq!(v.expected, Some(ts("2026-10-24T00:30:00Z")));
        // Scheduler ran the second 02:30: up, whenever it is judged.
        for at in ["2026-10-25T01:50:00Z", "2026-10-25T12:00:00Z"] {
            let v = w.verdict(ts(at), PERIOD, &[day_before, second]);
            assert_eq!(
                (v.state, v.expected),
                (State::Up, Some(ts("2026-10-25T00:30:00Z"))),
                "{at}"
            );
        }
        // The first occurrence counts as before.
        let v = w.verdict(
            ts("2026-10-25T01:50:00Z"),
            PERIOD,
            &[day_before, ts("2026-10-25T00:30:05Z")],
        );
        assert_eq!(v.state, State::Up);
        // Neither: late once the second occurrence's allowance has passed.
        let v = w.verdict(ts("2026-10-25T01:50:00Z"), PERIOD, &[day_before]);
        assert_eq!(
            (v.state, v.missed),
            (State::Late, Some(ts("2026-10-25T00:30:00Z")))
        );
        assert_eq!(
            w.schedule.repeat_after(ts("2026-10-25T00:30:00Z")),
            SignedDuration::from_hours(1)
        );
        assert_eq!(
            w.schedule.repeat_after(ts("2026-10-25T01:30:00Z")),
            SignedDuration::ZERO
        );
    }

    #[test]
    fn runs_scheduled_by_other_time_zone_data_are_drift_not_late() {
        // Scheduler's zone data puts 02:30 Rome an hour later than ours (runs stamped at the
        // time Scheduler meant: 02:30Z instead of 01:30Z).
        let w = Watched {
            since: ts("2026-11-20T00:00:00Z"),
            ..daily()
        };
        let d1 = ts("2026-12-02T01:30:00Z");
        let later = [d1 + SignedDuration::from_hours(1)];
        // The first such start pages once (nothing tells it from a missed run before its run
        // has come) and is drift as soon as it has.
        assert_eq!(
            w.verdict(ts("2026-12-02T01:50:00Z"), PERIOD, &[]).state,
            State::Late
        );
        let v = w.verdict(ts("2026-12-02T02:50:00Z"), PERIOD, &later);
        assert_eq!(
            (v.state, v.drift),
            (State::Drift, Some(SignedDuration::from_hours(1))),
            "{v:?}"
        );
        // From then on the job is expected an hour later: no page the next day.
        let d2 = [later[0], ts("2026-12-03T02:30:00Z")];
        for at in [
            "2026-12-03T01:50:00Z",
            "2026-12-03T02:20:00Z",
            "2026-12-03T02:50:00Z",
            "2026-12-03T12:00:00Z",
        ] {
            let v = w.verdict(
                ts(at),
                PERIOD,
                if at < "2026-12-03T02:30" {
                    &d2[..1]
                } else {
                    &d2
                },
            );
            assert_eq!(v.state, State::Drift, "{at}: {v:?}");
        }
        // ... but a missed start still pages, an hour later than it would have.
        assert_eq!(
            w.verdict(ts("2026-12-03T02:50:00Z"), PERIOD, &d2[..1])
                .state,
            State::Late
        );
        // Runs an hour early: drift at once, never late.
        let early = [ts("2026-12-02T00:30:00Z")];
        let v = w.verdict(ts("2026-12-02T01:50:00Z"), PERIOD, &early);
        assert_eq!(
            (v.state, v.drift),
            (State::Drift, Some(SignedDuration::from_hours(-1)))
        );
        // A run by hand at 02:47Z (not a quarter hour off the start) is no drift: an unexpected
        // run, which ends the lateness as any run after the missed start does.
        let by_hand = [ts("2026-12-02T02:47:00Z")];
        let v = w.verdict(ts("2026-12-02T03:00:00Z"), PERIOD, &by_hand);
        assert_eq!(
            (v.state, v.drift, v.unexpected_runs),
            (State::Up, None, 1),
            "{v:?}"
        );
    }

    #[test]
    fn a_rate_without_start_date_follows_its_runs() {
        let mut w = daily();
        w.schedule = Schedule::parse("rate(1 hour)", "UTC").unwrap();
        w.since = ts("2026-12-01T10:00:00Z");
        let minute = |t: &str| Bucket {
            start: ts(t),
            length: SignedDuration::from_mins(1),
            runs: 1,
        };
        // No run yet: new until an hour plus the allowance (16 min) has passed.
        let (v, _) = w.judge(ts("2026-12-01T11:15:00Z"), PERIOD, &[]);
        assert_eq!(v.state, State::New);
        let (v, _) = w.judge(ts("2026-12-01T11:17:00Z"), PERIOD, &[]);
        assert_eq!(
            (v.state, v.missed),
            (State::Late, Some(ts("2026-12-01T11:00:00Z")))
        );
        // Runs whatever the phase Scheduler chose (here 10:37): up while they keep coming.
        let runs = [
            minute("2026-12-01T10:37:00Z"),
            minute("2026-12-01T11:37:00Z"),
        ];
        let (v, last) = w.judge(ts("2026-12-01T12:50:00Z"), PERIOD, &runs);
        assert_eq!(
            (v.state, last),
            (State::Up, Some(ts("2026-12-01T11:37:00Z")))
        );
        // The 12:37 run never came: late once 12:38 + 16 min has passed.
        let (v, _) = w.judge(ts("2026-12-01T12:53:00Z"), PERIOD, &runs);
        assert_eq!(v.state, State::Up);
        let (v, _) = w.judge(ts("2026-12-01T12:55:00Z"), PERIOD, &runs);
        assert_eq!(v.state, State::Late, "{v:?}");
        w.enabled = false;
        assert_eq!(
            w.judge(ts("2026-12-01T12:55:00Z"), PERIOD, &runs).0.state,
            State::Paused
        );
    }
}
