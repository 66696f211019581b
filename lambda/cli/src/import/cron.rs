//! Translating Vixie cron / pg_cron schedules into EventBridge Scheduler expressions, exactly or
//! not at all.
//!
//! Vixie cron: `minute hour day-of-month month day-of-week`, day-of-week 0-7 with Sunday 0 and 7;
//! when both day fields are restricted (neither starts with `*`) a day matches if EITHER matches;
//! when one of them starts with `*` (even `*/2`) both must match. Scheduler:
//! `cron(minutes hours day-of-month month day-of-week year)`, day-of-week 1-7 with SUN=1, one of the
//! day fields `?` (so it can only restrict one of them), `rate(n minutes)` with a one-minute
//! granularity. Each field is expanded to the set of values it selects and written back in a
//! canonical form, so names, `7` for Sunday, steps over ranges and the like cannot be copied
//! wrongly.

use thiserror::Error;

/// EventBridge Scheduler's limit on `ScheduleExpression`.
const MAX_EXPRESSION_LEN: usize = 256;

/// Why a schedule is refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CronError {
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {0}")]
    FieldCount(usize),
    #[error("@reboot runs at system start: EventBridge Scheduler has no such event; run the job once by hand (pg-cron-job's one-shot mode) after a restart instead")]
    Reboot,
    #[error("@restart is pg_cron's @reboot (it runs when pg_cron starts, after the database server restarts): EventBridge Scheduler has no such event; run the job once by hand (pg-cron-job's one-shot mode) after a restart, or keep it in pg_cron")]
    Restart,
    #[error("unknown macro {0} (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot, pg_cron's @restart)")]
    UnknownMacro(String),
    #[error("{field} field {text:?}: {problem}")]
    Field {
        field: &'static str,
        text: String,
        problem: String,
    },
    #[error("day-of-month {dom:?} and day-of-week {dow:?} are both restricted and one starts with '*', so cron runs only on days matching both (e.g. odd days that are Mondays); a Scheduler expression restricts one of the two only")]
    DayAnd { dom: String, dow: String },
    #[error("day-of-month {dom:?} and day-of-week {dow:?} are both restricted: cron runs on days matching either; Scheduler restricts one of the two only (pass --split-or to emit one schedule per field)")]
    DayOr { dom: String, dow: String },
    #[error("never fires: no month among {months:?} has a day {days:?}")]
    Never { months: String, days: String },
    #[error("{0:?} is not a pg_cron interval ('N seconds' with N from 1 to 59)")]
    BadInterval(String),
    #[error("pg_cron runs it every {0} seconds: EventBridge Scheduler's finest schedule is rate(1 minute); keep it in pg_cron, or accept once a minute: schedule it as '* * * * *' (pg_cron's 'N seconds' takes 1 to 59 seconds)")]
    SubMinute(u64),
    #[error("the expression would be {0} characters, over Scheduler's {MAX_EXPRESSION_LEN}")]
    TooLong(usize),
}

/// One Scheduler schedule of a translated cron entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// `cron(...)` or `rate(...)`.
    pub expression: String,
    /// Key suffix when an entry needs more than one schedule (`dom` / `dow`).
    pub suffix: Option<&'static str>,
}

/// A translated entry: one schedule, or two for Vixie's day-of-month OR day-of-week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub schedules: Vec<Schedule>,
    /// Something a human should know although the translation is exact.
    pub notes: Vec<String>,
}

/// Options of the translation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Emit two schedules for a day-of-month OR day-of-week entry instead of refusing it.
    pub split_or: bool,
    /// pg_cron syntax: `$` (last day of the month) in day-of-month and `N seconds`.
    pub pg_cron: bool,
}

struct FieldSpec {
    name: &'static str,
    lo: u32,
    hi: u32,
    names: &'static [&'static str],
    /// First value the names stand for.
    names_base: u32,
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    lo: 0,
    hi: 59,
    names: &[],
    names_base: 0,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    lo: 0,
    hi: 23,
    names: &[],
    names_base: 0,
};
const DOM: FieldSpec = FieldSpec {
    name: "day-of-month",
    lo: 1,
    hi: 31,
    names: &[],
    names_base: 0,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    lo: 1,
    hi: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    names_base: 1,
};
const DOW: FieldSpec = FieldSpec {
    name: "day-of-week",
    lo: 0,
    hi: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    names_base: 0,
};

/// Expands a macro to its five fields.
fn expand_macro(word: &str) -> Result<&'static str, CronError> {
    match word.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Ok("0 0 1 1 *"),
        "@monthly" => Ok("0 0 1 * *"),
        "@weekly" => Ok("0 0 * * 0"),
        "@daily" | "@midnight" => Ok("0 0 * * *"),
        "@hourly" => Ok("0 * * * *"),
        "@reboot" => Err(CronError::Reboot),
        "@restart" => Err(CronError::Restart),
        _ => Err(CronError::UnknownMacro(word.to_string())),
    }
}

fn field_error(spec: &FieldSpec, text: &str, problem: impl Into<String>) -> CronError {
    CronError::Field {
        field: spec.name,
        text: text.to_string(),
        problem: problem.into(),
    }
}

fn parse_value(spec: &FieldSpec, whole: &str, s: &str) -> Result<u32, CronError> {
    if let Some(i) = spec.names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
        return Ok(spec.names_base + i as u32);
    }
    let v: u32 = s
        .parse()
        .map_err(|_| field_error(spec, whole, format!("{s:?} is not a number or a name")))?;
    if v < spec.lo || v > spec.hi {
        return Err(field_error(
            spec,
            whole,
            format!("{v} is outside {}-{}", spec.lo, spec.hi),
        ));
    }
    Ok(v)
}

/// The values a field selects, as a bitmask over `spec.lo..=spec.hi`.
fn parse_field(spec: &FieldSpec, text: &str) -> Result<u64, CronError> {
    if text.is_empty() {
        return Err(field_error(spec, text, "empty"));
    }
    let mut set = 0u64;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| field_error(spec, text, format!("step {s:?} is not a number")))?;
                if step == 0 {
                    return Err(field_error(spec, text, "step 0"));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (from, to) = if range == "*" {
            (spec.lo, spec.hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (parse_value(spec, text, a)?, parse_value(spec, text, b)?);
            if a > b {
                return Err(field_error(
                    spec,
                    text,
                    format!("range {range} goes backwards (cron does not wrap around)"),
                ));
            }
            (a, b)
        } else {
            let a = parse_value(spec, text, range)?;
            // `a/n` means a-max/n (cronie, croniter). For day-of-week cronie's max is 7 (Sunday
            // again) and other crons' 6: refuse when that changes the days.
            if item.contains('/') && spec.name == DOW.name {
                let reaches_7 = a <= 7 && (7 - a) % step == 0;
                if reaches_7 {
                    return Err(field_error(
                        spec,
                        text,
                        format!("{item} includes Sunday (7) in cronie but not in other crons: write the days as a list"),
                    ));
                }
            }
            (a, if item.contains('/') { spec.hi } else { a })
        };
        let mut v = from;
        while v <= to {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn full(lo: u32, hi: u32) -> u64 {
    ((1u64 << (hi + 1)) - 1) & !((1u64 << lo) - 1)
}

/// Writes a set over `lo..=hi` in Scheduler syntax: `*`, `a/n`, or a list of values and ranges.
fn render(set: u64, lo: u32, hi: u32) -> String {
    if set == full(lo, hi) {
        return "*".into();
    }
    let values: Vec<u32> = (lo..=hi).filter(|v| set & (1 << v) != 0).collect();
    if values.len() >= 3 {
        let step = values[1] - values[0];
        let progression = values.windows(2).all(|w| w[1] - w[0] == step);
        if progression && step > 1 && values[values.len() - 1] + step > hi {
            return format!("{}/{}", values[0], step);
        }
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        match j - i {
            0 => parts.push(values[i].to_string()),
            1 => {
                parts.push(values[i].to_string());
                parts.push(values[j].to_string());
            }
            _ => parts.push(format!("{}-{}", values[i], values[j])),
        }
        i = j + 1;
    }
    parts.join(",")
}

const MONTH_DAYS: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Translates a crontab / pg_cron schedule.
pub fn translate(schedule: &str, options: Options) -> Result<Translation, CronError> {
    let schedule = schedule.trim();
    if options.pg_cron {
        if let Some(t) = translate_interval(schedule)? {
            return Ok(t);
        }
    }
    let expanded;
    let text = if schedule.starts_with('@') {
        expanded = expand_macro(schedule)?;
        expanded
    } else {
        schedule
    };
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(CronError::FieldCount(fields.len()));
    }
    let minutes = parse_field(&MINUTE, fields[0])?;
    let hours = parse_field(&HOUR, fields[1])?;
    let months = parse_field(&MONTH, fields[3])?;
    let (dom_text, dow_text) = (fields[2], fields[4]);
    // pg_cron: `$` is the last day of the month.
    let last_day = options.pg_cron && dom_text == "$";
    let doms = if last_day {
        0
    } else {
        parse_field(&DOM, dom_text)?
    };
    let dows_vixie = parse_field(&DOW, dow_text)?;
    // Vixie day-of-week 0-7 (0 and 7 Sunday) -> Scheduler 1-7 (SUN=1).
    let mut dows = 0u64;
    for v in 0..=7u32 {
        if dows_vixie & (1 << v) != 0 {
            dows |= 1 << (v % 7 + 1);
        }
    }
    let dom_full = !last_day && doms == full(1, 31);
    let dow_full = dows == full(1, 7);
    let dom_star = dom_text.starts_with('*');
    let dow_star = dow_text.starts_with('*');

    if !last_day && !dom_full && dow_full {
        let reachable = (1..=12u32)
            .filter(|m| months & (1 << m) != 0)
            .any(|m| (1..=MONTH_DAYS[m as usize]).any(|d| doms & (1 << d) != 0));
        if !reachable {
            return Err(CronError::Never {
                months: fields[3].into(),
                days: dom_text.into(),
            });
        }
    }

    let head = format!(
        "{} {}",
        render(minutes, MINUTE.lo, MINUTE.hi),
        render(hours, HOUR.lo, HOUR.hi)
    );
    let month = render(months, MONTH.lo, MONTH.hi);
    let dom_out = if last_day {
        "L".to_string()
    } else {
        render(doms, DOM.lo, DOM.hi)
    };
    let dow_out = render(dows, 1, 7);
    let make = |dom: &str, dow: &str, suffix| -> Result<Schedule, CronError> {
        let expression = format!("cron({head} {dom} {month} {dow} *)");
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(CronError::TooLong(expression.len()));
        }
        Ok(Schedule { expression, suffix })
    };
    let mut notes = Vec::new();
    let schedules = if dom_full && dow_full {
        vec![make("*", "?", None)?]
    } else if dow_full && (dom_star || dow_star || last_day) {
        vec![make(&dom_out, "?", None)?]
    } else if dom_full && (dom_star || dow_star) {
        vec![make("?", &dow_out, None)?]
    } else if dom_star || dow_star {
        return Err(CronError::DayAnd {
            dom: dom_text.into(),
            dow: dow_text.into(),
        });
    } else if dom_full || dow_full {
        // Both restricted in writing but one covers every day: OR selects every day.
        vec![make("*", "?", None)?]
    } else if options.split_or {
        notes.push(format!(
            "day-of-month {dom_text} OR day-of-week {dow_text}: split into two schedules; on a day matching both (e.g. the 1st on a Monday) both fire, so the job runs twice (each schedule is its own job, with its own name, overlap lock and watch)"
        ));
        vec![
            make(&dom_out, "?", Some("dom"))?,
            make("?", &dow_out, Some("dow"))?,
        ]
    } else {
        return Err(CronError::DayOr {
            dom: dom_text.into(),
            dow: dow_text.into(),
        });
    };
    Ok(Translation { schedules, notes })
}

/// pg_cron's `N seconds` interval (also `N second`); `None` when `schedule` is not one.
fn translate_interval(schedule: &str) -> Result<Option<Translation>, CronError> {
    let words: Vec<&str> = schedule.split_whitespace().collect();
    if words.len() != 2 || !matches!(words[1].to_ascii_lowercase().as_str(), "second" | "seconds") {
        return Ok(None);
    }
    let n: u64 = words[0]
        .parse()
        .map_err(|_| CronError::BadInterval(schedule.into()))?;
    if n == 0 {
        return Err(CronError::BadInterval(schedule.into()));
    }
    if !n.is_multiple_of(60) {
        return Err(CronError::SubMinute(n));
    }
    let minutes = n / 60;
    let expression = if minutes == 1 {
        "rate(1 minute)".to_string()
    } else {
        format!("rate({minutes} minutes)")
    };
    Ok(Some(Translation {
        schedules: vec![Schedule {
            expression,
            suffix: None,
        }],
        notes: vec![format!(
            "'{schedule}' became a rate: it counts from when the schedule is created, not from the top of the minute"
        )],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(expr: &str) -> String {
        let t = translate(expr, Options::default()).unwrap();
        assert_eq!(t.schedules.len(), 1, "{expr}");
        t.schedules[0].expression.clone()
    }

    fn pg(expr: &str) -> Result<Translation, CronError> {
        translate(
            expr,
            Options {
                pg_cron: true,
                split_or: false,
            },
        )
    }

    #[test]
    fn simple_expressions() {
        assert_eq!(one("30 2 * * *"), "cron(30 2 * * ? *)");
        assert_eq!(one("*/15 * * * *"), "cron(0/15 * * * ? *)");
        assert_eq!(one("0 9-17 * * 1-5"), "cron(0 9-17 ? * 2-6 *)");
        assert_eq!(one("0 0 1 * *"), "cron(0 0 1 * ? *)");
        assert_eq!(one("5,35 */6 * * *"), "cron(5,35 0/6 * * ? *)");
    }

    #[test]
    fn weekdays_are_renumbered() {
        assert_eq!(one("0 3 * * 0"), "cron(0 3 ? * 1 *)");
        assert_eq!(one("0 3 * * 7"), "cron(0 3 ? * 1 *)");
        assert_eq!(one("0 3 * * sun"), "cron(0 3 ? * 1 *)");
        assert_eq!(one("0 3 * * SAT"), "cron(0 3 ? * 7 *)");
        assert_eq!(one("0 3 * * mon-fri"), "cron(0 3 ? * 2-6 *)");
        assert_eq!(one("0 3 * * 5-7"), "cron(0 3 ? * 1,6,7 *)");
        assert_eq!(one("0 3 * * 0,6"), "cron(0 3 ? * 1,7 *)");
        assert_eq!(one("0 3 * * */2"), "cron(0 3 ? * 1/2 *)");
        assert_eq!(one("0 3 * * 2/2"), "cron(0 3 ? * 3/2 *)");
        assert_eq!(one("0 3 * * 0-7"), "cron(0 3 * * ? *)");
    }

    #[test]
    fn months_and_names() {
        assert_eq!(one("0 0 1 jan,jul *"), "cron(0 0 1 1,7 ? *)");
        assert_eq!(one("0 0 1 */3 *"), "cron(0 0 1 1/3 ? *)");
        assert_eq!(one("0 0 15 mar-may *"), "cron(0 0 15 3-5 ? *)");
    }

    #[test]
    fn steps_over_ranges_are_expanded() {
        assert_eq!(one("0-30/10 * * * *"), "cron(0,10,20,30 * * * ? *)");
        assert_eq!(one("10/20 * * * *"), "cron(10/20 * * * ? *)");
        assert_eq!(one("1-5,7 * * * *"), "cron(1-5,7 * * * ? *)");
        assert_eq!(one("1,2 * * * *"), "cron(1,2 * * * ? *)");
    }

    #[test]
    fn macros() {
        assert_eq!(one("@daily"), "cron(0 0 * * ? *)");
        assert_eq!(one("@midnight"), "cron(0 0 * * ? *)");
        assert_eq!(one("@hourly"), "cron(0 * * * ? *)");
        assert_eq!(one("@weekly"), "cron(0 0 ? * 1 *)");
        assert_eq!(one("@monthly"), "cron(0 0 1 * ? *)");
        assert_eq!(one("@yearly"), "cron(0 0 1 1 ? *)");
        assert_eq!(one("@annually"), "cron(0 0 1 1 ? *)");
        assert_eq!(
            translate("@reboot", Options::default()),
            Err(CronError::Reboot)
        );
        assert_eq!(
            translate("@restart", Options::default()),
            Err(CronError::Restart)
        );
        assert!(matches!(
            translate("@sometimes", Options::default()),
            Err(CronError::UnknownMacro(_))
        ));
    }

    #[test]
    fn day_or_is_refused_or_split() {
        assert!(matches!(
            translate("0 0 1 * 1", Options::default()),
            Err(CronError::DayOr { .. })
        ));
        let t = translate(
            "0 0 1,15 * mon",
            Options {
                split_or: true,
                pg_cron: false,
            },
        )
        .unwrap();
        assert_eq!(
            t.schedules,
            vec![
                Schedule {
                    expression: "cron(0 0 1,15 * ? *)".into(),
                    suffix: Some("dom")
                },
                Schedule {
                    expression: "cron(0 0 ? * 2 *)".into(),
                    suffix: Some("dow")
                },
            ]
        );
        assert_eq!(t.notes.len(), 1);
        // One field written out in full: OR makes it every day.
        assert_eq!(one("0 0 1-31 * 1"), "cron(0 0 * * ? *)");
    }

    #[test]
    fn day_and_with_star_prefix_is_refused() {
        assert!(matches!(
            translate("0 0 */2 * 1", Options::default()),
            Err(CronError::DayAnd { .. })
        ));
        // A star-prefixed field that selects every day leaves the other one.
        assert_eq!(one("0 0 */1 * 1"), "cron(0 0 ? * 2 *)");
        assert_eq!(one("0 0 */2 * *"), "cron(0 0 1/2 * ? *)");
    }

    #[test]
    fn bad_fields_are_refused() {
        for bad in [
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "5-1 * * * *",
            "*/0 * * * *",
            "* * * * * *",
            "* * * *",
            "x * * * *",
            "* * L * *",
            "* * * * 1#2",
            "* * * * 5/2",
            "* * * * 7/2",
        ] {
            assert!(translate(bad, Options::default()).is_err(), "{bad}");
        }
        assert!(matches!(
            translate("0 0 30 2 *", Options::default()),
            Err(CronError::Never { .. })
        ));
        assert_eq!(one("0 0 29 2 *"), "cron(0 0 29 2 ? *)");
    }

    #[test]
    fn pg_cron_intervals_and_last_day() {
        assert!(matches!(pg("30 seconds"), Err(CronError::SubMinute(30))));
        assert!(matches!(pg("0 seconds"), Err(CronError::BadInterval(_))));
        assert_eq!(
            pg("60 seconds").unwrap().schedules[0].expression,
            "rate(1 minute)"
        );
        assert_eq!(
            pg("300 seconds").unwrap().schedules[0].expression,
            "rate(5 minutes)"
        );
        assert_eq!(
            pg("0 3 $ * *").unwrap().schedules[0].expression,
            "cron(0 3 L * ? *)"
        );
        assert!(pg("0 3 $ * 1").is_err());
        // Not pg_cron: the interval is not a cron expression.
        assert!(translate("30 seconds", Options::default()).is_err());
    }

    #[test]
    fn output_passes_the_module_shape() {
        // One of day-of-month / day-of-week is '?', six fields.
        for expr in [
            "* * * * *",
            "0 0 1 * *",
            "0 0 * * 1",
            "@weekly",
            "0 0 */2 * *",
        ] {
            let e = one(expr);
            let inner = &e[5..e.len() - 1];
            let f: Vec<&str> = inner.split(' ').collect();
            assert_eq!(f.len(), 6, "{e}");
            assert!((f[2] == "?") ^ (f[4] == "?"), "{e}");
        }
    }
}
