//! What an import produces: the jobs, the refused entries and where the output goes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use thiserror::Error;

use super::cron::Schedule;

/// A problem with the command line, the input or the output directory.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0} (pg-cron-job import --help)")]
    Usage(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not an IANA time zone name (e.g. UTC, Europe/Rome, America/New_York)")]
    TimeZone(String),
    #[error("{0}")]
    Dump(String),
    #[error("{} already exists: choose another --out, or pass --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("reading cron.job: {0}")]
    Database(String),
}

/// Where a job's SQL comes from in the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSql {
    /// One statement, inline (`sql = "..."`).
    Inline(String),
    /// `sql/<key>.sql` written with this text (`sql_file` + `sql_source_path`).
    File(String),
}

/// One converted job (one or more `jobs` entries: one per schedule).
#[derive(Debug, Clone)]
pub struct Job {
    /// Wanted key (made unique and suffixed later).
    pub key: String,
    /// Where it came from, e.g. `crontab line 12` or `cron.job jobid 3`.
    pub origin: String,
    /// The original line / row, for the report and the comment in main.tf.
    pub original: String,
    pub schedules: Vec<Schedule>,
    pub timezone: String,
    pub sql: JobSql,
    pub transaction: bool,
    pub enabled: bool,
    pub database_name: Option<String>,
    pub database_host: Option<String>,
    pub database_user: Option<String>,
    /// Converted, but worth reading.
    pub notes: Vec<String>,
    /// Why the entry is emitted with `schedule_enabled = false` until a human acts.
    pub human: Vec<String>,
}

/// An entry that was not converted.
#[derive(Debug, Clone)]
pub struct Refused {
    pub origin: String,
    pub original: String,
    pub reason: String,
}

/// The result of reading a crontab or cron.job.
#[derive(Debug, Default)]
pub struct Import {
    /// Human description of the input, e.g. `crontab /etc/cron.d/jobs`.
    pub source: String,
    pub jobs: Vec<Job>,
    pub refused: Vec<Refused>,
    /// Things about the input as a whole (MAILTO, environment lines, credentials).
    pub notes: Vec<String>,
    pub alarm_emails: Vec<String>,
    /// Logins the old jobs used (their passwords must go into Secrets Manager).
    pub users: BTreeSet<String>,
    /// The jobs come from pg_cron (which steps through UTC minutes), not a host's cron.
    pub pg_cron: bool,
}

/// Output options.
#[derive(Debug, Clone)]
pub struct Output {
    pub dir: PathBuf,
    pub module_source: String,
    pub name: String,
    /// The command line, for the header of main.tf and the report.
    pub command: String,
    /// Daylight-saving notes cover the 12 months from this instant.
    pub as_of: jiff::Timestamp,
}

/// IANA names, from the module's own list (modules/pg_cron_job/timezones.tf) so that the
/// importer and the module's validation accept the same names.
pub fn is_time_zone(name: &str) -> bool {
    const LIST: &str = include_str!("../../../../modules/pg_cron_job/timezones.tf");
    let quoted = format!("\"{name}\"");
    !name.is_empty()
        && !name.contains('"')
        && LIST
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains(&quoted))
}
