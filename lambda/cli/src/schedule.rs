//! `pg-cron-job schedule next EXPR [--timezone TZ] [--after RFC3339] [--count N]` (options in
//! `cli.rs`): the next start
//! times of a Scheduler expression, as Scheduler computes them (daylight saving time included),
//! one per line: the UTC instant, then the local time with its offset.

use std::process::ExitCode;

use jiff::Timestamp;
use pg_cron_job_schedule::Schedule;

use crate::cli::ScheduleCommand;

/// Runs `schedule next ...`; exit 2 for a bad expression or time zone.
pub fn main(command: ScheduleCommand) -> ExitCode {
    let ScheduleCommand::Next(args) = command;
    let mut schedule = match Schedule::parse(&args.expression, &args.timezone) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pg-cron-job: {e}");
            return ExitCode::from(2);
        }
    };
    let after = args.after.unwrap_or_else(Timestamp::now);
    schedule.anchor = Some(after);
    let mut out = String::new();
    for t in schedule.iter_after(after).take(args.count as usize) {
        let local = t.to_zoned_datetime(schedule.zone.clone());
        out.push_str(&format!("{t} {}\n", local.strftime("%Y-%m-%dT%H:%M:%S%:z")));
    }
    print!("{out}");
    ExitCode::SUCCESS
}
