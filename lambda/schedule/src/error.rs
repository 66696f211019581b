//! Why an expression cannot be evaluated.

use thiserror::Error;

/// An expression Scheduler would refuse, or one this evaluator cannot follow.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("{0:?} is not a schedule expression: use cron(minutes hours day-of-month month day-of-week year), rate(value unit) or at(yyyy-mm-ddThh:mm:ss)")]
    Shape(String),
    #[error("cron() takes 6 fields (minutes hours day-of-month month day-of-week year), this one has {0}")]
    FieldCount(usize),
    #[error("cron() {field} field {text:?}: {why}")]
    Field {
        field: &'static str,
        text: String,
        why: String,
    },
    #[error("cron() day-of-month and day-of-week: {0}")]
    DayFields(&'static str),
    #[error("rate({0}): expected a whole number from 1 and minute(s), hour(s) or day(s), for example rate(5 minutes) or rate(1 hour)")]
    Rate(String),
    #[error("at({0}): expected a local date and time yyyy-mm-ddThh:mm:ss")]
    At(String),
    #[error("time zone {0:?} is not an IANA time zone name (for example Europe/Rome or UTC)")]
    TimeZone(String),
    /// A one-time start whose local time the clocks skip: Scheduler never starts it.
    #[error("at({at}) never happens in {zone}: the clocks go from {before} to {after} that night (daylight saving time); choose a time outside the gap")]
    AtInGap {
        at: String,
        zone: String,
        before: String,
        after: String,
    },
}
