//! The command line: every command, option and help text, parsed by clap (derive). `--help` /
//! `-h` on every command exit 0; a usage error prints the failing command's usage and exits 2.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Where the generated main.tf finds the jobs module unless `--module-source` says otherwise.
pub const DEFAULT_MODULE_SOURCE: &str =
    "git::https://github.com/pg-cron-job/pg_cron_job.git//modules/pg_cron_jobs?ref=v0.2.0";

/// What `import --help` adds after the commands.
const IMPORT_HELP: &str =
    "FILE for pg-cron is a CSV (with header) or COPY text dump of cron.job. --from-database reads
cron.job and cron.timezone with PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE and
PGSSLROOTCERT. --split-or emits two schedules for an entry restricting both day-of-month and
day-of-week (cron runs it when either matches) instead of refusing it. --system reads the
/etc/crontab format (a user field after the schedule). The output directory (default
./pg_cron_jobs) gets main.tf, sql/ and REPORT.md; an existing main.tf is kept unless --force.
REPORT.md names each job whose start Scheduler skips or runs once when the clocks change, in
the 12 months from --as-of (default today).";

/// Most start times `schedule next` prints.
pub const MAX_COUNT: u32 = 10_000;

#[derive(Debug, Parser)]
#[command(
    name = "pg-cron-job",
    version,
    about = "Workstation tools for pg_cron_job: import crontabs and pg_cron jobs, preview Scheduler expressions, check SQL files as the job runner reads them. No AWS access.",
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Turn a crontab or pg_cron's cron.job into a Terraform directory for the jobs map
    /// (main.tf, sql/*.sql, REPORT.md).
    #[command(arg_required_else_help = true, after_help = IMPORT_HELP)]
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
    /// Start times of an EventBridge Scheduler expression, as Scheduler computes them.
    #[command(arg_required_else_help = true)]
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Read SQL files exactly as the job runner does at start-up; exit 1 if any would be refused.
    Check(CheckArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// A crontab (a user's, or /etc/crontab-style with --system).
    Crontab(CrontabArgs),
    /// pg_cron's cron.job: a dump file (psql's unaligned or CSV output) or the database itself.
    #[command(name = "pg-cron")]
    PgCron(PgCronArgs),
    /// Translate cron expressions only: one JSON object a line; reads stdin when none are given;
    /// exit 1 if any was refused.
    Schedule(TranslateArgs),
}

/// Options every import takes.
#[derive(Debug, Args)]
pub struct ImportOptions {
    /// IANA time zone of the schedules (default: CRON_TZ/TZ lines, else the database's
    /// cron.timezone, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Directory to write (main.tf, sql/, REPORT.md).
    #[arg(long, value_name = "DIR", default_value = "pg_cron_jobs")]
    pub out: PathBuf,
    /// A line restricting both day fields (cron runs on days matching either) becomes two
    /// schedules, each a job of its own, instead of being refused.
    #[arg(long)]
    pub split_or: bool,
    /// Where main.tf finds modules/pg_cron_jobs (a relative path or a Terraform module address).
    #[arg(long, value_name = "SRC", default_value = DEFAULT_MODULE_SOURCE)]
    pub module_source: String,
    /// The fleet's name (1-40 letters, digits, '-' or '_'; default cron or pgcron).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite an existing main.tf in --out.
    #[arg(long)]
    pub force: bool,
    /// Daylight-saving notes cover the 12 months from this date (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<jiff::civil::Date>,
}

#[derive(Debug, Args)]
pub struct CrontabArgs {
    /// The crontab file.
    pub file: PathBuf,
    /// Resolve the scripts the lines run (psql -f, sh scripts) under this directory.
    #[arg(long, value_name = "DIR")]
    pub scripts_root: Option<PathBuf>,
    /// A system crontab: a user field after the five time fields.
    #[arg(long)]
    pub system: bool,
    #[command(flatten)]
    pub options: ImportOptions,
}

#[derive(Debug, Args)]
pub struct PgCronArgs {
    /// A dump of cron.job (psql -c 'SELECT * FROM cron.job' --csv > jobs.csv).
    #[arg(
        required_unless_present = "from_database",
        conflicts_with = "from_database"
    )]
    pub file: Option<PathBuf>,
    /// Read cron.job from the database libpq's PG* variables name (PGHOST, PGDATABASE, ...).
    #[arg(long)]
    pub from_database: bool,
    #[command(flatten)]
    pub options: ImportOptions,
}

#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// Read pg_cron's dialect (`N seconds`, `$` for the last day of the month).
    #[arg(long)]
    pub pg_cron: bool,
    /// Split a line restricting both day fields into two schedules.
    #[arg(long)]
    pub split_or: bool,
    /// The cron expressions (stdin, one a line, when none are given).
    pub expressions: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// The next start times, one a line: the UTC instant, then the local time with its offset.
    Next(NextArgs),
}

#[derive(Debug, Args)]
pub struct NextArgs {
    /// cron(minutes hours day-of-month month day-of-week year), rate(n unit) or
    /// at(yyyy-mm-ddThh:mm:ss).
    pub expression: String,
    /// An IANA time zone, as the schedule's ScheduleExpressionTimezone.
    #[arg(long, value_name = "TZ", default_value = "UTC")]
    pub timezone: String,
    /// Start after this instant (RFC 3339, default now); a rate() counts from it.
    #[arg(long, value_name = "RFC3339")]
    pub after: Option<jiff::Timestamp>,
    /// How many start times.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    pub count: u32,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The SQL files (as SQL_FILE names them in the package, or your repository's copies).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One JSON object per file on stdout: {"file", "ok", "statements", "line", "error"}.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_take_inline_and_separate_values() {
        let a = Cli::try_parse_from([
            "pg-cron-job",
            "schedule",
            "next",
            "rate(5 minutes)",
            "--count=3",
            "--timezone",
            "Europe/Rome",
        ])
        .unwrap();
        let Command::Schedule {
            command: ScheduleCommand::Next(n),
        } = a.command
        else {
            panic!("{a:?}")
        };
        assert_eq!((n.count, n.timezone.as_str()), (3, "Europe/Rome"));
        for bad in [
            vec!["pg-cron-job", "schedule", "last", "rate(5 minutes)"],
            vec!["pg-cron-job", "schedule", "next"],
            vec![
                "pg-cron-job",
                "schedule",
                "next",
                "rate(5 minutes)",
                "--count",
                "0",
            ],
            vec![
                "pg-cron-job",
                "schedule",
                "next",
                "rate(5 minutes)",
                "--after",
                "yesterday",
            ],
            vec!["pg-cron-job", "schedule", "next", "a", "b"],
            vec![
                "pg-cron-job",
                "import",
                "pg-cron",
                "dump.csv",
                "--from-database",
            ],
            vec!["pg-cron-job", "import", "pg-cron"],
            vec!["pg-cron-job", "check"],
        ] {
            assert!(Cli::try_parse_from(&bad).is_err(), "{bad:?}");
        }
    }
}
