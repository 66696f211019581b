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

use jiff::{SignedDuration, Timestamp};

use crate::Schedule;

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
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Up => "up",
            State::Late => "late",
            State::Paused => "paused",
            State::Ended => "ended",
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
}

impl Watched {
    /// How long after an expected start its run may begin.
    pub fn start_window(&self) -> SignedDuration {
        START_PRECISION + self.flexible_window + self.grace
    }

    /// How long after an expected start its run must have been seen.
    pub fn allowance(&self) -> SignedDuration {
        self.start_window() + self.timeout
    }

    /// The runs' start times the watchdog needs for a verdict at `now` (checking every
    /// `period`): those at or after this instant.
    pub fn evidence_from(&self, now: Timestamp, period: SignedDuration) -> Timestamp {
        let cutoff = sub(now, self.allowance());
        let from = match self.latest_start(cutoff) {
            Some(t) => t.min(sub(cutoff, period + START_PRECISION)),
            None => sub(cutoff, period + START_PRECISION),
        };
        sub(from, self.start_window()).max(self.since)
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
        };
        if !self.enabled {
            return quiet(State::Paused);
        }
        let cutoff = sub(now, self.allowance());
        let Some(expected) = self.latest_start(cutoff) else {
            let seen = runs.iter().any(|r| *r >= self.since);
            return quiet(if seen { State::Up } else { State::New });
        };
        // Starts judged since the previous check (with a minute of slack for the check's own
        // start jitter), and the latest judged one.
        let window_from = sub(cutoff, period + START_PRECISION);
        let match_from = sub(expected.min(window_from), self.start_window()).max(self.since);
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
        let matched = self.match_runs(&starts, &runs);
        // Late now: a start judged since the previous check has no run (even if later runs
        // came), or the latest judged start has none and no run has started since.
        let recent_missed = starts
            .iter()
            .zip(&matched)
            .find(|(t, m)| !**m && **t > window_from && **t <= cutoff)
            .map(|(t, _)| *t);
        let expected_missed = starts
            .iter()
            .zip(&matched)
            .any(|(t, m)| *t == expected && !*m);
        let latest_missed = expected_missed && !runs.iter().any(|r| *r > expected);
        let missed = recent_missed.or(latest_missed.then_some(expected));
        let late = missed.is_some();
        if let (true, Some(first)) = (late, missed) {
            return Verdict {
                state: State::Late,
                expected: Some(expected),
                missed: Some(first),
                late_by: now.duration_since(first) - self.allowance(),
                next,
            };
        }
        Verdict {
            state: if next.is_none() {
                State::Ended
            } else {
                State::Up
            },
            expected: Some(expected),
            missed: None,
            late_by: SignedDuration::ZERO,
            next,
        }
    }

    /// For each start (in order), whether a run belongs to it: each run goes to the latest
    /// start before it that has no run yet and whose start window holds it. (A run belongs to
    /// the start just before it unless that start has one: a run delayed past the next start by
    /// Scheduler's jitter still counts, and a missing run is not covered by later runs shifting
    /// back one start each.)
    fn match_runs(&self, starts: &[Timestamp], runs: &[Timestamp]) -> Vec<bool> {
        let window = self.start_window();
        let mut matched = vec![false; starts.len()];
        for run in runs {
            let before = starts.partition_point(|s| s <= run);
            if let Some(i) = (0..before)
                .rev()
                .take_while(|i| starts[*i] + window >= *run)
                .find(|i| !matched[*i])
            {
                matched[i] = true;
            }
        }
        matched
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
}
