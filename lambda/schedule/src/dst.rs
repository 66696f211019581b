//! Where daylight saving time changes what a schedule does, per Scheduler's rules: a start
//! whose local time does not exist that day is skipped, a start whose local time happens twice
//! runs once (cron on a host ran the first and, for hourly-or-faster jobs, both passes).

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::{Expression, Schedule};

/// What a clock change does to one start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The local time does not exist that day: no run.
    Skipped,
    /// The local time happens twice that day: one run (the first).
    RunsOnce,
}

/// One clock change that touches the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DstEffect {
    pub date: Date,
    /// The local times (hh:mm) affected.
    pub times: Vec<(i8, i8)>,
    pub effect: Effect,
}

impl Schedule {
    /// The clock changes between `from` and `to` that skip a start or run it once. Only cron
    /// schedules have local times (`rate()` is a fixed interval; `at()` is one start).
    pub fn dst_effects(&self, from: Timestamp, to: Timestamp) -> Vec<DstEffect> {
        let Expression::Cron(cron) = &self.expression else {
            return Vec::new();
        };
        let from = self.start.map_or(from, |s| from.max(s));
        let to = self.end.map_or(to, |e| to.min(e));
        let mut out = Vec::new();
        for transition in self.zone.following(from) {
            let at = transition.timestamp();
            if at > to {
                break;
            }
            let before = self
                .zone
                .to_offset(at.checked_sub(SignedDuration::from_secs(1)).unwrap_or(at));
            let after = transition.offset();
            let shift = after.seconds() - before.seconds();
            if shift == 0 {
                continue;
            }
            // The civil times between the two readings of the clock at the transition.
            let old_local = at
                .to_zoned_datetime(jiff::tz::TimeZone::fixed(before))
                .datetime();
            let new_local = at
                .to_zoned_datetime(jiff::tz::TimeZone::fixed(after))
                .datetime();
            let (start, end, effect) = if shift > 0 {
                (old_local, new_local, Effect::Skipped)
            } else {
                (new_local, old_local, Effect::RunsOnce)
            };
            let date = start.date();
            if !cron.on_day(date) || !cron.in_year(date.year()) {
                continue;
            }
            let times: Vec<(i8, i8)> = cron
                .times_from((start.hour(), start.minute()))
                .iter()
                .copied()
                .filter(|(h, m)| {
                    let t = date.at(*h, *m, 0, 0);
                    t >= start && t < end
                })
                .collect();
            if !times.is_empty() {
                out.push(DstEffect {
                    date,
                    times,
                    effect,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rome_at_half_past_two() {
        let s = Schedule::parse("cron(30 2 * * ? *)", "Europe/Rome").unwrap();
        let effects = s.dst_effects(
            "2026-12-02T00:00:00Z".parse().unwrap(),
            "2027-12-02T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            effects,
            vec![
                DstEffect {
                    date: Date::new(2027, 3, 28).unwrap(),
                    times: vec![(2, 30)],
                    effect: Effect::Skipped
                },
                DstEffect {
                    date: Date::new(2027, 10, 31).unwrap(),
                    times: vec![(2, 30)],
                    effect: Effect::RunsOnce
                },
            ]
        );
        let safe = Schedule::parse("cron(30 4 * * ? *)", "Europe/Rome").unwrap();
        assert!(safe
            .dst_effects(
                "2026-12-02T00:00:00Z".parse().unwrap(),
                "2027-12-02T00:00:00Z".parse().unwrap()
            )
            .is_empty());
        let weekdays = Schedule::parse("cron(30 2 ? * MON-FRI *)", "Europe/Rome").unwrap();
        assert!(
            weekdays
                .dst_effects(
                    "2026-12-02T00:00:00Z".parse().unwrap(),
                    "2027-12-02T00:00:00Z".parse().unwrap()
                )
                .is_empty(),
            "both changes fall on Sundays"
        );
    }
}
