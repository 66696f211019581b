//! `pg-cron-job`, the workstation command: `import` turns a crontab or pg_cron's `cron.job` into
//! a Terraform directory for the jobs map; `schedule next` prints the start times of a Scheduler
//! expression as Scheduler computes them; `check` reads SQL files as the job runner does. It
//! needs no AWS access and carries no AWS SDK (`cargo install --path lambda/cli`).

mod check;
mod cli;
mod import;
mod schedule;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> ExitCode {
    // The arguments as given, for the generated files' "made by" line.
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // clap prints help and version on stdout (exit 0), a usage error with the failing command's
    // usage on stderr (exit 2).
    let cli = Cli::parse();
    match cli.command {
        Command::Import { source } => import::main(source, raw.get(1..).unwrap_or_default()),
        Command::Schedule { command } => schedule::main(command),
        Command::Check(args) => check::main(&args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "pg-cron-job",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
    }
}
