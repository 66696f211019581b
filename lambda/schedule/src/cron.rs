//! Scheduler's six cron fields: `cron(minutes hours day-of-month month day-of-week year)`.
//!
//! What each field takes (EventBridge Scheduler, "Cron-based schedules"): values, names
//! (`JAN`-`DEC`, `SUN`-`SAT`), `*`, ranges `a-b`, lists `a,b`, increments `a/n`, `*/n`, `a-b/n`;
//! in day-of-month `?`, `L` (last day), `nW` (the weekday nearest day n, within the month) and
//! `LW` (the last weekday); in day-of-week `?`, `L` (Saturday, the last day of the week), `nL`
//! (the last day n of the month) and `n#k` (the k-th day n of the month). Day-of-week counts
//! from `SUN` = 1. Exactly one of day-of-month and day-of-week is `?`.

use jiff::civil::Date;

use crate::error::ScheduleError;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/// Scheduler's year range.
pub const FIRST_YEAR: i16 = 1970;
pub const LAST_YEAR: i16 = 2199;

/// The set of values a plain field takes, as bits `0..=63` (years are offset by 1970).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits(u64);

impl Bits {
    fn has(self, v: i32) -> bool {
        (0..64).contains(&v) && self.0 & (1u64 << v) != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    /// `?`: day-of-week decides.
    Any,
    Days(Bits),
    /// `L`
    Last,
    /// `LW`
    LastWeekday,
    /// `nW`
    NearestWeekday(i8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    /// Sunday = 1 ... Saturday = 7.
    Days(Bits),
    /// `nL`: the last day n of the month.
    LastOf(i8),
    /// `n#k`: the k-th day n of the month.
    Nth(i8, i8),
}

/// A parsed `cron(...)` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Bits,
    hours: Bits,
    dom: DayOfMonth,
    months: Bits,
    dow: DayOfWeek,
    /// Years as a sorted list (1970-2199 do not fit 64 bits).
    years: Vec<i16>,
    /// Every (hour, minute) of a day the schedule runs at, in order.
    times: Vec<(i8, i8)>,
}

struct Field {
    name: &'static str,
    min: i32,
    max: i32,
    names: &'static [&'static str],
    /// Value of the first name (`JAN` = 1, `SUN` = 1).
    first_name: i32,
}

const MINUTES: Field = Field {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
    first_name: 0,
};
const HOURS: Field = Field {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
    first_name: 0,
};
const DOM: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    first_name: 1,
};
const DOW: Field = Field {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &DAYS,
    first_name: 1,
};
const YEAR: Field = Field {
    name: "year",
    min: FIRST_YEAR as i32,
    max: LAST_YEAR as i32,
    names: &[],
    first_name: 0,
};

impl Field {
    fn error(&self, text: &str, why: String) -> ScheduleError {
        ScheduleError::Field {
            field: self.name,
            text: text.to_string(),
            why,
        }
    }

    fn value(&self, whole: &str, text: &str) -> Result<i32, ScheduleError> {
        let upper = text.to_ascii_uppercase();
        if let Some(i) = self.names.iter().position(|n| *n == upper) {
            return Ok(self.first_name + i as i32);
        }
        let v: i32 = text.parse().map_err(|_| {
            let names = if self.names.is_empty() {
                String::new()
            } else {
                format!(
                    " or a name ({}-{})",
                    self.names[0],
                    self.names[self.names.len() - 1]
                )
            };
            self.error(whole, format!("{text:?} is not a number{names}"))
        })?;
        if v < self.min || v > self.max {
            return Err(self.error(whole, format!("{v} is outside {}-{}", self.min, self.max)));
        }
        Ok(v)
    }

    /// Every value of a list of `*`, `a`, `a-b` and increments.
    fn values(&self, text: &str) -> Result<Vec<i32>, ScheduleError> {
        let mut out = Vec::new();
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => {
                    let step: i32 = s.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        self.error(
                            text,
                            format!("increment {s:?} is not a whole number from 1"),
                        )
                    })?;
                    (r, Some(step))
                }
                None => (item, None),
            };
            let (a, b) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(text, a)?, self.value(text, b)?);
                if a > b {
                    return Err(self.error(
                        text,
                        format!("range {range} runs backwards (write {b}-{a}, or a list)"),
                    ));
                }
                (a, b)
            } else if range.is_empty() {
                return Err(self.error(text, "an empty value".into()));
            } else {
                let a = self.value(text, range)?;
                (a, if step.is_some() { self.max } else { a })
            };
            let step = step.unwrap_or(1) as usize;
            out.extend((a..=b).step_by(step));
        }
        Ok(out)
    }

    fn bits(&self, text: &str) -> Result<Bits, ScheduleError> {
        let offset = if self.min >= 1970 { self.min } else { 0 };
        Ok(Bits(
            self.values(text)?
                .into_iter()
                .fold(0, |acc, v| acc | 1u64 << (v - offset)),
        ))
    }
}

impl Cron {
    /// Parses the six fields inside `cron(...)`.
    pub fn parse(fields: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = fields.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = parts.as_slice() else {
            return Err(ScheduleError::FieldCount(parts.len()));
        };
        let dom = parse_dom(dom)?;
        let dow = parse_dow(dow)?;
        match (&dom, &dow) {
            (DayOfMonth::Any, DayOfWeek::Any) => {
                return Err(ScheduleError::DayFields(
                    "both are ?: set one of them (for example * in day-of-month)",
                ))
            }
            (DayOfMonth::Any, _) | (_, DayOfWeek::Any) => {}
            _ => {
                return Err(ScheduleError::DayFields(
                    "one of them must be ? (Scheduler does not combine them)",
                ))
            }
        }
        let mut years: Vec<i16> = YEAR.values(year)?.into_iter().map(|y| y as i16).collect();
        years.sort_unstable();
        years.dedup();
        let (minutes, hours) = (MINUTES.bits(minutes)?, HOURS.bits(hours)?);
        let times = (0..24i8)
            .filter(|h| hours.has(i32::from(*h)))
            .flat_map(|h| {
                (0..60i8)
                    .filter(move |m| minutes.has(i32::from(*m)))
                    .map(move |m| (h, m))
            })
            .collect();
        Ok(Cron {
            minutes,
            hours,
            dom,
            months: MONTH.bits(month)?,
            dow,
            years,
            times,
        })
    }

    /// Whether the schedule can run in `year`.
    pub fn in_year(&self, year: i16) -> bool {
        self.years.binary_search(&year).is_ok()
    }

    /// The first year after `year` the schedule can run in.
    pub fn next_year(&self, year: i16) -> Option<i16> {
        self.years.iter().copied().find(|y| *y > year)
    }

    /// Whether the schedule runs on `date` (month, day-of-month or day-of-week; not the year).
    pub fn on_day(&self, date: Date) -> bool {
        if !self.months.has(i32::from(date.month())) {
            return false;
        }
        let day = date.day();
        let last = date.days_in_month();
        match &self.dom {
            DayOfMonth::Any => {}
            DayOfMonth::Days(bits) => return bits.has(i32::from(day)),
            DayOfMonth::Last => return day == last,
            DayOfMonth::LastWeekday => return day == nearest_weekday(date, last),
            DayOfMonth::NearestWeekday(n) => return day == nearest_weekday(date, (*n).min(last)),
        }
        let weekday = date.weekday().to_sunday_one_offset();
        match &self.dow {
            DayOfWeek::Any => false,
            DayOfWeek::Days(bits) => bits.has(i32::from(weekday)),
            DayOfWeek::LastOf(n) => weekday == *n && day + 7 > last,
            DayOfWeek::Nth(n, k) => weekday == *n && (day - 1) / 7 + 1 == *k,
        }
    }

    /// The hours and minutes of a day the schedule runs at, in order, from `from` on.
    pub fn times_from(&self, from: (i8, i8)) -> &[(i8, i8)] {
        let i = self.times.partition_point(|t| *t < from);
        &self.times[i..]
    }
}

/// The weekday nearest day `target` of `date`'s month, never leaving the month (Quartz's `W`).
fn nearest_weekday(date: Date, target: i8) -> i8 {
    let last = date.days_in_month();
    let Ok(d) = Date::new(date.year(), date.month(), target) else {
        return target;
    };
    match d.weekday().to_sunday_one_offset() {
        // Saturday: Friday before, unless that leaves the month (then Monday after).
        7 => {
            if target > 1 {
                target - 1
            } else {
                target + 2
            }
        }
        // Sunday: Monday after, unless that leaves the month (then Friday before).
        1 => {
            if target < last {
                target + 1
            } else {
                target - 2
            }
        }
        _ => target,
    }
}

fn parse_dom(text: &str) -> Result<DayOfMonth, ScheduleError> {
    let upper = text.to_ascii_uppercase();
    Ok(match upper.as_str() {
        "?" => DayOfMonth::Any,
        "L" => DayOfMonth::Last,
        "LW" => DayOfMonth::LastWeekday,
        w if w.ends_with('W') => {
            let n = DOM.value(text, &w[..w.len() - 1])?;
            DayOfMonth::NearestWeekday(n as i8)
        }
        _ if upper.contains('L') => {
            return Err(DOM.error(
                text,
                "L stands alone (the last day) or as LW (the last weekday)".into(),
            ))
        }
        _ => DayOfMonth::Days(DOM.bits(text)?),
    })
}

fn parse_dow(text: &str) -> Result<DayOfWeek, ScheduleError> {
    let upper = text.to_ascii_uppercase();
    if upper == "?" {
        return Ok(DayOfWeek::Any);
    }
    if upper == "L" {
        return Ok(DayOfWeek::Days(Bits(1 << 7)));
    }
    if let Some(day) = upper.strip_suffix('L') {
        return Ok(DayOfWeek::LastOf(DOW.value(text, day)? as i8));
    }
    if let Some((day, k)) = upper.split_once('#') {
        let day = DOW.value(text, day)?;
        let k: i8 = k
            .parse()
            .ok()
            .filter(|k| (1..=5).contains(k))
            .ok_or_else(|| DOW.error(text, format!("#{k}: the week of the month is 1 to 5")))?;
        return Ok(DayOfWeek::Nth(day as i8, k));
    }
    Ok(DayOfWeek::Days(DOW.bits(text)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn fields_and_their_errors() {
        let c = Cron::parse("0/15 8-18/2 ? * MON-FRI *").unwrap();
        assert_eq!(c.times_from((0, 0)).len(), 6 * 4);
        assert_eq!(c.times_from((18, 1)), &[(18, 15), (18, 30), (18, 45)]);
        assert!(c.on_day(date(2026, 12, 4)), "a Friday");
        assert!(!c.on_day(date(2026, 12, 5)), "a Saturday");
        for (bad, needle) in [
            ("0 2 * * *", "6 fields"),
            ("60 2 * * ? *", "60 is outside 0-59"),
            ("0 2 ? * 8 *", "day-of-week"),
            ("0 2 * * MON *", "one of them must be ?"),
            ("0 2 ? * ? *", "both are ?"),
            ("0 2 31 FEB-JAN ? *", "runs backwards"),
            ("0 2 * * ? 1969", "outside 1970-2199"),
            ("0 2 ? * 2#6 *", "week of the month"),
            ("0 2 * * ? */0", "increment"),
        ] {
            let e = Cron::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn last_weekday_and_nth_days() {
        let last = Cron::parse("30 23 L * ? *").unwrap();
        assert!(last.on_day(date(2028, 2, 29)) && !last.on_day(date(2028, 2, 28)));
        let lw = Cron::parse("0 0 LW * ? *").unwrap();
        assert!(lw.on_day(date(2026, 1, 30)), "31 Jan 2026 is a Saturday");
        let w = Cron::parse("0 0 1W * ? *").unwrap();
        assert!(
            w.on_day(date(2026, 8, 3)),
            "1 Aug 2026 is a Saturday: Monday the 3rd"
        );
        let w = Cron::parse("0 0 15W * ? *").unwrap();
        assert!(
            w.on_day(date(2026, 11, 16)),
            "15 Nov 2026 is a Sunday: Monday"
        );
        assert!(
            w.on_day(date(2026, 8, 14)),
            "15 Aug 2026 is a Saturday: Friday"
        );
        let second_tuesday = Cron::parse("0 0 ? * 3#2 *").unwrap();
        assert!(second_tuesday.on_day(date(2026, 12, 8)));
        assert!(!second_tuesday.on_day(date(2026, 12, 1)));
        let last_friday = Cron::parse("0 0 ? * 6L *").unwrap();
        assert!(last_friday.on_day(date(2026, 12, 25)) && !last_friday.on_day(date(2026, 12, 18)));
        let saturday = Cron::parse("0 0 ? * L *").unwrap();
        assert!(saturday.on_day(date(2026, 12, 5)));
    }
}
