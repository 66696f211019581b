//! EventBridge Scheduler's schedule expressions, evaluated as Scheduler evaluates them: the
//! start times of `cron(...)`, `rate(...)` and `at(...)` in an IANA time zone, within a start and
//! end date. Shared by the watchdog (which compares them with the runs) and the workstation CLI
//! (`pg-cron-job schedule next`).
//!
//! Daylight saving time follows Scheduler's rules (AWS knowledge center, "EventBridge Scheduler
//! and daylight saving time"): a local time skipped when the clocks go forward does not fire,
//! and a local time repeated when they go back fires once, at its first occurrence. Time zones
//! come from jiff's bundled copy of the IANA database, the same on every machine.
//!
//! ```
//! use pg_cron_job_schedule::Schedule;
//! let s = Schedule::parse("cron(30 2 * * ? *)", "Europe/Rome").unwrap();
//! let after = "2026-03-27T12:00:00Z".parse().unwrap();
//! let next: Vec<String> = s.iter_after(after).take(2).map(|t| t.to_string()).collect();
//! // 29 March 2026: 02:30 does not exist in Rome (02:00 -> 03:00), so that day is skipped.
//! assert_eq!(next, ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]);
//! ```

mod cron;
pub mod dst;
mod error;
pub mod watch;

pub use cron::Cron;
pub use error::ScheduleError;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// What kind of expression a schedule has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    Cron(Cron),
    /// A fixed interval, counted from the schedule's start (its start date or creation).
    Rate(SignedDuration),
    /// One local date and time.
    At(DateTime),
}

/// A schedule as Scheduler holds it: expression, time zone and optional start and end dates.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub expression: Expression,
    pub zone: TimeZone,
    /// No start before this instant (Scheduler's `StartDate`).
    pub start: Option<Timestamp>,
    /// No start after this instant (`EndDate`).
    pub end: Option<Timestamp>,
    /// Where a `rate()` counts from: the start date, else the schedule's creation.
    pub anchor: Option<Timestamp>,
}

impl Expression {
    /// Parses `cron(...)`, `rate(...)` or `at(...)`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let t = text.trim();
        let inner = |prefix: &str| {
            t.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(fields) = inner("cron(") {
            return Cron::parse(fields).map(Expression::Cron);
        }
        if let Some(rate) = inner("rate(") {
            return parse_rate(rate).map(Expression::Rate);
        }
        if let Some(at) = inner("at(") {
            return at
                .parse::<DateTime>()
                .ok()
                .filter(|dt| dt.subsec_nanosecond() == 0 && at.len() == 19)
                .map(Expression::At)
                .ok_or_else(|| ScheduleError::At(at.to_string()));
        }
        Err(ScheduleError::Shape(t.to_string()))
    }
}

fn parse_rate(text: &str) -> Result<SignedDuration, ScheduleError> {
    let error = || ScheduleError::Rate(text.to_string());
    let (n, unit) = text.split_once(' ').ok_or_else(error)?;
    let n: i64 = n.parse().ok().filter(|n| *n >= 1).ok_or_else(error)?;
    let seconds = match (unit.trim(), n) {
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3_600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => return Err(error()),
    };
    Ok(SignedDuration::from_secs(
        n.checked_mul(seconds).ok_or_else(error)?,
    ))
}

/// An IANA time zone by name (Scheduler's default is UTC).
pub fn time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|_| ScheduleError::TimeZone(name.to_string()))
}

impl Schedule {
    /// `expression` in the time zone `zone`, without start or end date.
    /// An `at()` whose local time falls in a daylight-saving gap of `zone` is refused (it would
    /// never start).
    pub fn parse(expression: &str, zone: &str) -> Result<Self, ScheduleError> {
        let schedule = Schedule {
            expression: Expression::parse(expression)?,
            zone: time_zone(zone)?,
            start: None,
            end: None,
            anchor: None,
        };
        if let Expression::At(dt) = &schedule.expression {
            if let AmbiguousOffset::Gap { before, after } =
                schedule.zone.to_ambiguous_timestamp(*dt).offset()
            {
                // The change itself: the first transition after a day before the gap.
                let day_before = after
                    .to_timestamp(*dt)
                    .ok()
                    .and_then(|t| t.checked_sub(SignedDuration::from_hours(24)).ok());
                let change = day_before.and_then(|t| schedule.zone.following(t).next());
                let (from, to) = change.map_or_else(
                    || (before.to_string(), after.to_string()),
                    |c| {
                        let t = c.timestamp();
                        (
                            before.to_datetime(t).time().to_string(),
                            after.to_datetime(t).time().to_string(),
                        )
                    },
                );
                return Err(ScheduleError::AtInGap {
                    at: dt.to_string(),
                    zone: zone.to_string(),
                    before: from,
                    after: to,
                });
            }
        }
        Ok(schedule)
    }

    /// How much later than `t` the same local time comes again when `t` is the first
    /// occurrence of a local time the clocks repeat (the night they go back); zero otherwise.
    /// Scheduler documents the first occurrence; the watchdog waits for the second one too
    /// before it calls the start missed.
    pub fn repeat_after(&self, t: Timestamp) -> SignedDuration {
        let local = self.zone.to_datetime(t);
        match self.zone.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Fold { before, after }
                if before.to_timestamp(local).ok() == Some(t) =>
            {
                after
                    .to_timestamp(local)
                    .map_or(SignedDuration::ZERO, |second| second.duration_since(t))
            }
            _ => SignedDuration::ZERO,
        }
    }

    /// The first start strictly after `after`, if any.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let from = match self.start {
            // The start date itself may be a start time.
            Some(s) if s > after => s.checked_sub(SignedDuration::from_nanos(1)).ok()?,
            _ => after,
        };
        let next = match &self.expression {
            Expression::Cron(cron) => self.next_cron(cron, from),
            Expression::Rate(every) => {
                let anchor = self.start.or(self.anchor).unwrap_or(from);
                next_rate(anchor, *every, from)
            }
            Expression::At(dt) => self.instant(*dt).filter(|t| *t > from),
        }?;
        match self.end {
            Some(end) if next > end => None,
            _ => Some(next),
        }
    }

    /// The starts after `after`, in order.
    pub fn iter_after(&self, after: Timestamp) -> impl Iterator<Item = Timestamp> + '_ {
        std::iter::successors(self.next_after(after), move |t| self.next_after(*t))
    }

    /// The last start at or before `at` and at or after `since`, if any.
    pub fn last_at_or_before(&self, since: Timestamp, at: Timestamp) -> Option<Timestamp> {
        let from = since.checked_sub(SignedDuration::from_nanos(1)).ok()?;
        match &self.expression {
            // One step back from the next start after `at` would need an inverse evaluator;
            // a rate is arithmetic, cron and at are walked forward from `since`.
            Expression::Rate(every) => {
                let at = self.end.map_or(at, |e| at.min(e));
                let anchor = self.start.or(self.anchor).unwrap_or(since);
                let next = next_rate(anchor, *every, at)?;
                let last = next.checked_sub(*every).ok()?;
                (last >= since && last >= anchor && self.end.is_none_or(|e| last <= e))
                    .then_some(last)
            }
            _ => {
                let mut last = None;
                let mut cursor = from;
                while let Some(t) = self.next_after(cursor) {
                    if t > at {
                        break;
                    }
                    last = Some(t);
                    cursor = t;
                }
                last
            }
        }
    }

    /// The instant Scheduler starts at for a local date and time: none in a gap, the first
    /// occurrence in a fold.
    fn instant(&self, dt: DateTime) -> Option<Timestamp> {
        let offset = match self.zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Gap { .. } => return None,
            AmbiguousOffset::Fold { before, .. } => before,
        };
        offset.to_timestamp(dt).ok()
    }

    fn next_cron(&self, cron: &Cron, after: Timestamp) -> Option<Timestamp> {
        let local = self.zone.to_datetime(after);
        let mut day = local.date();
        // On the first day, times before `after`'s local time are all earlier than `after`
        // (a repeated local time maps to its first, earlier occurrence).
        let mut from = (local.hour(), local.minute());
        loop {
            let year = day.year();
            if year > cron::LAST_YEAR {
                return None;
            }
            if !cron.in_year(year) {
                let next = cron.next_year(year)?;
                day = Date::new(next, 1, 1).ok()?;
                from = (0, 0);
                continue;
            }
            if cron.on_day(day) {
                for &(h, m) in cron.times_from(from) {
                    if let Some(t) = self.instant(day.at(h, m, 0, 0)) {
                        if t > after {
                            return Some(t);
                        }
                    }
                }
            }
            from = (0, 0);
            day = day.tomorrow().ok()?;
        }
    }
}

fn next_rate(anchor: Timestamp, every: SignedDuration, after: Timestamp) -> Option<Timestamp> {
    if after < anchor {
        return Some(anchor);
    }
    let every_s = every.as_secs().max(1);
    let elapsed = after.as_second().checked_sub(anchor.as_second())?;
    let n = elapsed / every_s + 1;
    let next = n.checked_mul(every_s)?.checked_add(anchor.as_second())?;
    Timestamp::from_second(next).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(expr: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
        Schedule::parse(expr, zone)
            .unwrap()
            .iter_after(ts(after))
            .take(n)
            .map(|t| t.to_string())
            .collect()
    }

    #[test]
    fn an_at_in_a_daylight_saving_gap_is_refused() {
        let e = Schedule::parse("at(2027-03-28T02:30:00)", "Europe/Rome").unwrap_err();
        assert_eq!(
            e.to_string(),
            "at(2027-03-28T02:30:00) never happens in Europe/Rome: the clocks go from 02:00:00 to 03:00:00 that night (daylight saving time); choose a time outside the gap"
        );
        assert!(Schedule::parse("at(2027-03-28T03:30:00)", "Europe/Rome").is_ok());
        // A repeated local time happens (its first occurrence).
        assert!(Schedule::parse("at(2026-10-25T02:30:00)", "Europe/Rome").is_ok());
    }

    #[test]
    fn spring_forward_skips_and_fall_back_runs_once() {
        // Europe/Rome, 29 March 2026 02:00 -> 03:00; 25 October 2026 03:00 -> 02:00.
        assert_eq!(
            next(
                "cron(30 2 * * ? *)",
                "Europe/Rome",
                "2026-03-27T12:00:00Z",
                2
            ),
            ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]
        );
        assert_eq!(
            next(
                "cron(30 2 * * ? *)",
                "Europe/Rome",
                "2026-10-24T12:00:00Z",
                3
            ),
            [
                "2026-10-25T00:30:00Z",
                "2026-10-26T01:30:00Z",
                "2026-10-27T01:30:00Z"
            ],
            "02:30 on 25 October happens twice; Scheduler runs the first"
        );
        // America/New_York, 8 March 2026 02:00 -> 03:00: hourly skips 02:00.
        assert_eq!(
            next(
                "cron(0 * * * ? *)",
                "America/New_York",
                "2026-03-08T05:30:00Z",
                3
            ),
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T08:00:00Z"
            ]
        );
    }

    #[test]
    fn half_hour_shifts_and_a_skipped_day() {
        // Australia/Lord_Howe moves 30 minutes: 5 April 2026 02:00 (+11) -> 01:30 (+10:30).
        assert_eq!(
            next(
                "cron(45 1 * * ? *)",
                "Australia/Lord_Howe",
                "2026-04-03T00:00:00Z",
                3
            ),
            [
                "2026-04-03T14:45:00Z",
                "2026-04-04T14:45:00Z",
                "2026-04-05T15:15:00Z"
            ]
        );
        // Pacific/Apia skipped 30 December 2011 (crossed the date line).
        assert_eq!(
            next(
                "cron(0 12 * * ? *)",
                "Pacific/Apia",
                "2011-12-28T00:00:00Z",
                3
            ),
            [
                "2011-12-28T22:00:00Z",
                "2011-12-29T22:00:00Z",
                "2011-12-30T22:00:00Z"
            ]
        );
    }

    #[test]
    fn a_zone_that_abolished_dst() {
        // America/Sao_Paulo has had no DST since 2019: 03:00 UTC all year.
        assert_eq!(
            next(
                "cron(0 0 1 * ? *)",
                "America/Sao_Paulo",
                "2026-01-15T00:00:00Z",
                2
            ),
            ["2026-02-01T03:00:00Z", "2026-03-01T03:00:00Z"]
        );
    }

    #[test]
    fn rate_at_start_and_end() {
        let mut s = Schedule::parse("rate(1 day)", "Europe/Rome").unwrap();
        s.anchor = Some(ts("2026-10-24T10:00:00Z"));
        let got: Vec<String> = s
            .iter_after(ts("2026-10-24T12:00:00Z"))
            .take(2)
            .map(|t| t.to_string())
            .collect();
        assert_eq!(
            got,
            ["2026-10-25T10:00:00Z", "2026-10-26T10:00:00Z"],
            "24 hours, not a calendar day"
        );
        let mut s = Schedule::parse("cron(0 * * * ? *)", "UTC").unwrap();
        s.start = Some(ts("2026-01-01T05:00:00Z"));
        s.end = Some(ts("2026-01-01T07:00:00Z"));
        let got: Vec<Timestamp> = s.iter_after(ts("2025-12-31T00:00:00Z")).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            next(
                "at(2026-12-24T18:00:00)",
                "Europe/Rome",
                "2026-01-01T00:00:00Z",
                5
            ),
            ["2026-12-24T17:00:00Z"]
        );
        // An at() in a gap would never start: refused, not an empty preview.
        assert!(matches!(
            Schedule::parse("at(2026-03-29T02:30:00)", "Europe/Rome"),
            Err(ScheduleError::AtInGap { .. })
        ));
        assert_eq!(
            s.last_at_or_before(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T06:30:00Z")),
            Some(ts("2026-01-01T06:00:00Z"))
        );
        // A rate() that ended: its last start, not nothing.
        let mut r = Schedule::parse("rate(1 minute)", "UTC").unwrap();
        r.start = Some(ts("2026-01-01T10:00:00Z"));
        r.end = Some(ts("2026-01-01T10:05:00Z"));
        assert_eq!(
            r.last_at_or_before(ts("2026-01-01T00:00:00Z"), ts("2026-01-01T11:00:00Z")),
            Some(ts("2026-01-01T10:05:00Z"))
        );
        // A huge rate() neither overflows nor panics: no start fits the time range.
        let huge = Schedule::parse("rate(106751991167300 days)", "UTC").unwrap();
        assert_eq!(huge.next_after(ts("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn bad_expressions_say_why() {
        for (bad, needle) in [
            ("cron(0 2 * * ?)", "6 fields"),
            ("rate(0 minutes)", "rate(0 minutes)"),
            ("rate(2 minute)", "rate(2 minute)"),
            ("at(2026-12-24 18:00)", "yyyy-mm-ddThh:mm:ss"),
            ("every day", "not a schedule expression"),
        ] {
            let e = Expression::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn years_and_sparse_days() {
        assert_eq!(
            next(
                "cron(0 0 29 2 ? 2027-2030)",
                "UTC",
                "2026-01-01T00:00:00Z",
                2
            ),
            ["2028-02-29T00:00:00Z"]
        );
        assert!(next("cron(0 0 * * ? 2020)", "UTC", "2026-01-01T00:00:00Z", 1).is_empty());
    }
}
