//! `pg-cron-job schedule next EXPR [--timezone TZ] [--after RFC3339] [--count N]`: the next start
//! times of a Scheduler expression, as Scheduler computes them (daylight saving time included),
//! one per line: the UTC instant, then the local time with its offset.

use std::process::ExitCode;

use jiff::Timestamp;
use pg_cron_job_schedule::Schedule;

pub const USAGE: &str = "usage: pg-cron-job schedule next 'EXPR' [--timezone TZ] [--after RFC3339] [--count N]
  EXPR      cron(minutes hours day-of-month month day-of-week year), rate(n unit) or at(yyyy-mm-ddThh:mm:ss)
  --timezone an IANA time zone (default UTC), as the schedule's ScheduleExpressionTimezone
  --after    start after this instant (default now); a rate() counts from it
  --count    how many start times (default 10, at most 10000)";

/// Most start times one call prints.
const MAX_COUNT: usize = 10_000;

struct Args {
    expression: String,
    zone: String,
    after: Option<Timestamp>,
    count: usize,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let Some((first, rest)) = args.split_first() else {
        return Err("schedule: a subcommand is required".into());
    };
    if first != "next" {
        return Err(format!(
            "schedule: unknown subcommand {first:?} (only `next`)"
        ));
    }
    let mut expression = None;
    let mut zone = "UTC".to_string();
    let mut after = None;
    let mut count = 10;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--timezone" => zone = value("--timezone")?,
            "--after" => {
                let v = value("--after")?;
                after = Some(v.parse::<Timestamp>().map_err(|e| {
                    format!("--after {v:?} is not an RFC 3339 instant such as 2026-12-02T06:00:00Z: {e}")
                })?);
            }
            "--count" => {
                let v = value("--count")?;
                count = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| {
                        format!("--count {v:?}: a whole number from 1 to {MAX_COUNT}")
                    })?;
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            expr if expression.is_none() => expression = Some(expr.to_string()),
            extra => return Err(format!("one expression only, got another: {extra:?}")),
        }
    }
    let expression = expression.ok_or("schedule next: the expression is required")?;
    Ok(Args {
        expression,
        zone,
        after,
        count,
    })
}

/// Runs `schedule ...`; exit 2 for a bad expression or argument.
pub fn main(args: &[String]) -> ExitCode {
    let args = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("pg-cron-job: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut schedule = match Schedule::parse(&args.expression, &args.zone) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            return ExitCode::from(2);
        }
    };
    let after = args.after.unwrap_or_else(Timestamp::now);
    schedule.anchor = Some(after);
    let mut out = String::new();
    for t in schedule.iter_after(after).take(args.count) {
        let local = t.to_zoned_datetime(schedule.zone.clone());
        out.push_str(&format!("{t} {}\n", local.strftime("%Y-%m-%dT%H:%M:%S%:z")));
    }
    print!("{out}");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        let a = parse_args(&args(&[
            "next",
            "rate(5 minutes)",
            "--count",
            "3",
            "--timezone",
            "Europe/Rome",
        ]))
        .unwrap();
        assert_eq!((a.count, a.zone.as_str()), (3, "Europe/Rome"));
        for bad in [
            vec![],
            vec!["last", "rate(5 minutes)"],
            vec!["next"],
            vec!["next", "rate(5 minutes)", "--count", "0"],
            vec!["next", "rate(5 minutes)", "--after", "yesterday"],
            vec!["next", "a", "b"],
        ] {
            assert!(parse_args(&args(&bad)).is_err(), "{bad:?}");
        }
    }
}
