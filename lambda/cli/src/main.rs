//! `pg-cron-job`, the workstation command: `pg-cron-job import ...` turns a crontab or pg_cron's
//! `cron.job` into a Terraform directory for the jobs map; `pg-cron-job schedule next ...` prints
//! the start times of a Scheduler expression as Scheduler computes them. It needs no AWS access
//! and carries no AWS SDK (`cargo install --path lambda/cli`).

mod import;
mod schedule;

use std::process::ExitCode;

const USAGE: &str =
    "usage: pg-cron-job import (crontab | pg-cron | schedule) ...   (pg-cron-job import --help)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("import") => import::main(&args[1..]),
        Some("schedule") => schedule::main(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("pg-cron-job {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        other => {
            eprintln!(
                "pg-cron-job: unknown command {:?}\n{USAGE}",
                other.unwrap_or("")
            );
            ExitCode::from(2)
        }
    }
}
