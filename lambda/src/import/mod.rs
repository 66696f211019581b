//! `pg-cron-job import`: turns a crontab or pg_cron's `cron.job` into a Terraform directory for
//! the `jobs` map of modules/pg_cron_jobs (main.tf, sql/*.sql, REPORT.md). No AWS access.
//!
//! Usage:
//!   pg-cron-job import crontab FILE [--timezone ZONE] [--out DIR] [--scripts-root DIR]
//!                                   [--system] [--split-or] [--module-source SRC] [--name NAME] [--force]
//!   pg-cron-job import pg-cron (FILE | --from-database) [--timezone ZONE] [--out DIR]
//!                                   [--split-or] [--module-source SRC] [--name NAME] [--force]

mod cron;
mod crontab;
mod pg_cron;
mod psql;
mod terraform;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use thiserror::Error;

pub use cron::Schedule;

/// Where the generated main.tf finds the jobs module unless `--module-source` says otherwise.
pub const DEFAULT_MODULE_SOURCE: &str =
    "git::https://github.com/pg-cron-job/pg_cron_job.git//modules/pg_cron_jobs?ref=v0.2.0";

const USAGE: &str = "usage:
  pg-cron-job import crontab FILE [--timezone ZONE] [--out DIR] [--scripts-root DIR] [--system]
                                  [--split-or] [--module-source SRC] [--name NAME] [--force]
  pg-cron-job import pg-cron (FILE | --from-database) [--timezone ZONE] [--out DIR]
                                  [--split-or] [--module-source SRC] [--name NAME] [--force]
  pg-cron-job import schedule [--pg-cron] [--split-or] [EXPR...]

FILE for pg-cron is a CSV (with header) or COPY text dump of cron.job. --from-database reads
cron.job and cron.timezone with PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE and
PGSSLROOTCERT. --split-or emits two schedules for an entry restricting both day-of-month and
day-of-week (cron runs it when either matches) instead of refusing it. --system reads the
/etc/crontab format (a user field after the schedule). The output directory (default
./pg_cron_jobs) gets main.tf, sql/ and REPORT.md; an existing main.tf is kept unless --force.";

/// A problem with the command line, the input or the output directory.
#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{0}\n\n{USAGE}")]
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
}

/// Output options.
#[derive(Debug, Clone)]
pub struct Output {
    pub dir: PathBuf,
    pub module_source: String,
    pub name: String,
    /// The command line, for the header of main.tf and the report.
    pub command: String,
}

/// IANA names, from the module's own list (modules/pg_cron_job/timezones.tf) so that the
/// importer and the module's validation accept the same names.
pub fn is_time_zone(name: &str) -> bool {
    const LIST: &str = include_str!("../../../modules/pg_cron_job/timezones.tf");
    let quoted = format!("\"{name}\"");
    !name.is_empty()
        && !name.contains('"')
        && LIST
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains(&quoted))
}

/// Runs `pg-cron-job import ARGS...`; `args` starts after `import`.
pub fn main(args: &[String]) -> ExitCode {
    if args.first().map(String::as_str) == Some("schedule") {
        return schedule_command(&args[1..]);
    }
    match run(args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pg-cron-job import: {e}");
            ExitCode::from(2)
        }
    }
}

/// `import schedule`: prints what each expression translates to, one JSON object a line:
/// `{"input":..,"schedules":[..],"notes":[..]}` or `{"input":..,"error":..}`. Exit 1 if any
/// expression was refused.
fn schedule_command(args: &[String]) -> ExitCode {
    let mut options = cron::Options::default();
    let mut exprs = Vec::new();
    for a in args {
        match a.as_str() {
            "--pg-cron" => options.pg_cron = true,
            "--split-or" => options.split_or = true,
            _ => exprs.push(a.clone()),
        }
    }
    if exprs.is_empty() {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if !l.trim().is_empty() => exprs.push(l),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("pg-cron-job import schedule: reading stdin: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let mut refused = false;
    for e in exprs {
        let line = match cron::translate(&e, options) {
            Ok(t) => serde_json::json!({
                "input": e,
                "schedules": t.schedules.iter().map(|s| serde_json::json!({"expression": s.expression, "suffix": s.suffix})).collect::<Vec<_>>(),
                "notes": t.notes,
            }),
            Err(err) => {
                refused = true;
                serde_json::json!({"input": e, "error": err.to_string()})
            }
        };
        println!("{line}");
    }
    if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

struct Args {
    kind: String,
    file: Option<PathBuf>,
    timezone: Option<String>,
    out: PathBuf,
    scripts_root: Option<PathBuf>,
    system: bool,
    split_or: bool,
    from_database: bool,
    module_source: String,
    name: Option<String>,
    force: bool,
}

fn parse_args(args: &[String]) -> Result<Args, ImportError> {
    let mut it = args.iter();
    let kind = it
        .next()
        .ok_or_else(|| ImportError::Usage("what to import: crontab or pg-cron".into()))?
        .clone();
    if kind == "-h" || kind == "--help" {
        return Err(ImportError::Usage("help".into()));
    }
    if kind != "crontab" && kind != "pg-cron" {
        return Err(ImportError::Usage(format!(
            "unknown source {kind:?}: crontab or pg-cron"
        )));
    }
    let mut parsed = Args {
        kind,
        file: None,
        timezone: None,
        out: PathBuf::from("pg_cron_jobs"),
        scripts_root: None,
        system: false,
        split_or: false,
        from_database: false,
        module_source: DEFAULT_MODULE_SOURCE.into(),
        name: None,
        force: false,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, ImportError> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| ImportError::Usage(format!("{flag} needs a value"))),
            }
        };
        match flag {
            "--timezone" => parsed.timezone = Some(value()?),
            "--out" => parsed.out = PathBuf::from(value()?),
            "--scripts-root" => parsed.scripts_root = Some(PathBuf::from(value()?)),
            "--module-source" => parsed.module_source = value()?,
            "--name" => parsed.name = Some(value()?),
            "--system" => parsed.system = true,
            "--split-or" => parsed.split_or = true,
            "--from-database" => parsed.from_database = true,
            "--force" => parsed.force = true,
            f if f.starts_with('-') && f != "-" => {
                return Err(ImportError::Usage(format!("unknown option {f}")))
            }
            _ if parsed.file.is_none() => parsed.file = Some(PathBuf::from(arg)),
            _ => return Err(ImportError::Usage(format!("unexpected argument {arg:?}"))),
        }
    }
    if let Some(tz) = &parsed.timezone {
        if !is_time_zone(tz) {
            return Err(ImportError::TimeZone(tz.clone()));
        }
    }
    if parsed.kind == "crontab" && (parsed.file.is_none() || parsed.from_database) {
        return Err(ImportError::Usage(
            "import crontab needs the crontab FILE".into(),
        ));
    }
    if parsed.kind == "pg-cron" && parsed.file.is_some() == parsed.from_database {
        return Err(ImportError::Usage(
            "import pg-cron needs a dump FILE or --from-database (one of them)".into(),
        ));
    }
    if parsed.kind == "pg-cron" && (parsed.system || parsed.scripts_root.is_some()) {
        return Err(ImportError::Usage(
            "--system and --scripts-root are for crontabs".into(),
        ));
    }
    if let Some(name) = &parsed.name {
        if !terraform::valid_fleet_name(name) {
            return Err(ImportError::Usage(format!(
                "--name {name:?}: 1-40 letters, digits, '-' or '_'"
            )));
        }
    }
    Ok(parsed)
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn run(args: &[String]) -> Result<String, ImportError> {
    let a = parse_args(args)?;
    if !a.force && a.out.join("main.tf").exists() {
        return Err(ImportError::Exists(a.out.join("main.tf")));
    }
    let import = match (a.kind.as_str(), &a.file) {
        ("crontab", Some(file)) => crontab::import(
            &read(file)?,
            &format!("crontab {}", file.display()),
            &crontab::Options {
                timezone: a.timezone.clone(),
                scripts_root: a.scripts_root.clone(),
                system: a.system,
                split_or: a.split_or,
            },
        ),
        (_, Some(file)) => {
            let rows = pg_cron::parse_dump(&read(file)?)?;
            pg_cron::import(
                rows,
                &format!("cron.job dump {}", file.display()),
                a.timezone.as_deref(),
                None,
                a.split_or,
            )
        }
        _ => {
            let (rows, zone, source) = pg_cron::read_database()?;
            pg_cron::import(rows, &source, a.timezone.as_deref(), zone, a.split_or)
        }
    };
    let output = Output {
        dir: a.out.clone(),
        module_source: a.module_source.clone(),
        name: a.name.clone().unwrap_or_else(|| {
            if a.kind == "crontab" {
                "cron"
            } else {
                "pgcron"
            }
            .into()
        }),
        command: format!("pg-cron-job import {}", args.join(" ")),
    };
    terraform::write(&import, &output)
}

/// The SQL of a job as the output holds it: one short statement inline, anything else a file.
pub fn job_sql(text: &str, statements: usize) -> JobSql {
    let trimmed = text.trim().trim_end_matches(';').trim();
    if statements == 1 && !trimmed.contains('\n') && trimmed.len() <= 500 && !trimmed.is_empty() {
        JobSql::Inline(trimmed.to_string())
    } else {
        let mut text = text.trim_end().to_string();
        text.push('\n');
        JobSql::File(text)
    }
}

/// A lowercase key made of letters, digits and `_`, at most 32 characters (cut at a word).
pub fn slug(text: &str) -> String {
    const MAX: usize = 32;
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    if out.len() > MAX {
        let cut = match out[..=MAX].rfind('_') {
            Some(i) if i > 0 => i,
            _ => MAX,
        };
        out.truncate(cut);
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        "job".into()
    } else {
        out
    }
}

/// A key for a job from its SQL: the verb and the object, e.g. `DELETE FROM app.sessions ...`
/// gives `delete_sessions`, `VACUUM (ANALYZE) public.orders` gives `vacuum_orders`.
pub fn sql_key(sql: &str) -> String {
    const SKIP: &[&str] = &[
        "from",
        "into",
        "only",
        "table",
        "materialized",
        "view",
        "concurrently",
        "analyze",
        "verbose",
        "full",
        "freeze",
        "index",
        "if",
        "exists",
        "distinct",
        "all",
        "*",
        "with",
    ];
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty());
    let Some(verb) = words.next() else {
        return "job".into();
    };
    let mut depth = 0i32;
    let object = words.find(|w| {
        let starts_in = depth > 0;
        depth += w.matches('(').count() as i32 - w.matches(')').count() as i32;
        !starts_in && !w.starts_with('(') && !SKIP.contains(&w.to_ascii_lowercase().as_str())
    });
    let object = object
        .map(|o| {
            let o = o.split('(').next().unwrap_or(o);
            o.rsplit('.')
                .next()
                .unwrap_or(o)
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_default();
    slug(&format!("{verb} {object}"))
}

/// What a job's statements say about transactions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TransactionUse {
    /// BEGIN / COMMIT / ROLLBACK / START TRANSACTION / END written in the SQL.
    pub explicit_control: bool,
    /// Statements PostgreSQL refuses inside a transaction block (VACUUM, ... CONCURRENTLY).
    pub not_in_transaction: Vec<String>,
}

/// Looks at each statement's first words (comments skipped by the runner's reader).
pub fn transaction_use(text: &str) -> TransactionUse {
    let mut out = TransactionUse::default();
    let Ok(script) = crate::sql::Script::parse(text.to_string()) else {
        return out;
    };
    for statement in script.statements() {
        let words: Vec<String> = statement
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .flat_map(str::split_whitespace)
            .map(|w| {
                w.trim_end_matches(';')
                    .trim_start_matches('(')
                    .to_ascii_uppercase()
            })
            .take(6)
            .collect();
        let first = words.first().map(String::as_str).unwrap_or("");
        if matches!(
            first,
            "BEGIN" | "COMMIT" | "ROLLBACK" | "END" | "ABORT" | "START"
        ) {
            out.explicit_control = true;
        }
        let concurrently = words.iter().any(|w| w == "CONCURRENTLY");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        let blocked = match first {
            "VACUUM" => true,
            "CREATE" | "DROP" | "REINDEX" => {
                concurrently || matches!(second, "DATABASE" | "TABLESPACE")
            }
            "ALTER" => second == "SYSTEM",
            _ => false,
        };
        if blocked {
            let label = match first {
                "VACUUM" => "VACUUM".to_string(),
                _ if concurrently => format!("{first} {second} CONCURRENTLY"),
                _ => format!("{first} {second}"),
            };
            if !out.not_in_transaction.contains(&label) {
                out.not_in_transaction.push(label);
            }
        }
    }
    out
}

/// Whether a job must run in one transaction because psql -c / pg_cron sent its statements as
/// one query (PostgreSQL runs them in one implicit transaction). Statements that cannot run in a
/// transaction made the old job fail every time: the job is then left in autocommit and flagged.
pub fn one_query_transaction(
    text: &str,
    statements: usize,
    what: &str,
    notes: &mut Vec<String>,
    human: &mut Vec<String>,
) -> bool {
    if statements < 2 {
        return false;
    }
    let t = transaction_use(text);
    if t.explicit_control {
        notes.push(format!(
            "the {what} controls its transactions (BEGIN/COMMIT): transaction = false keeps that"
        ));
        return false;
    }
    if !t.not_in_transaction.is_empty() {
        human.push(format!(
            "the {what} sent several statements as one query, so they ran in one transaction, where {} fails (\"cannot run inside a transaction block\"): the old job could not have succeeded. Here it runs in autocommit (transaction = false); check that this is what was meant",
            t.not_in_transaction.join(", ")
        ));
        return false;
    }
    notes.push(format!(
        "several statements in one {what} ran in one transaction: transaction = true keeps that"
    ));
    true
}

/// Checks a job's SQL the way the runner will read it; `Ok(statement count)`.
pub fn check_sql(text: &str) -> Result<usize, String> {
    crate::sql::Script::parse(text.to_string())
        .map(|s| s.statement_count())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn time_zones_come_from_the_module_list() {
        assert!(is_time_zone("UTC"));
        assert!(is_time_zone("Europe/Rome"));
        assert!(is_time_zone("America/New_York"));
        assert!(is_time_zone("Etc/GMT+5"));
        assert!(!is_time_zone("Europe/Atlantis"));
        assert!(!is_time_zone("europe/rome"));
        assert!(!is_time_zone(""));
    }

    #[test]
    fn command_line() {
        let a = parse_args(&args(
            "crontab jobs.cron --timezone Europe/Rome --out x --split-or",
        ))
        .unwrap();
        assert_eq!(a.file, Some(PathBuf::from("jobs.cron")));
        assert_eq!(a.timezone.as_deref(), Some("Europe/Rome"));
        assert!(a.split_or);
        assert_eq!(a.out, PathBuf::from("x"));
        let a = parse_args(&args("pg-cron --from-database --module-source=../m")).unwrap();
        assert!(a.from_database);
        assert_eq!(a.module_source, "../m");
        for bad in [
            "",
            "systemd",
            "crontab",
            "crontab a b",
            "crontab a --timezone Mars/Base",
            "crontab a --bogus",
            "pg-cron",
            "pg-cron dump.csv --from-database",
            "pg-cron dump.csv --system",
            "crontab a --out",
            "crontab a --name has.dot",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn transaction_use_of_statements() {
        let t =
            transaction_use("VACUUM (ANALYZE) a; SELECT 1; CREATE INDEX CONCURRENTLY i ON t (x);");
        assert!(!t.explicit_control);
        assert_eq!(
            t.not_in_transaction,
            vec![
                "VACUUM".to_string(),
                "CREATE INDEX CONCURRENTLY".to_string()
            ]
        );
        let t = transaction_use("BEGIN; DELETE FROM t; COMMIT;");
        assert!(t.explicit_control && t.not_in_transaction.is_empty());
        assert_eq!(
            transaction_use("REFRESH MATERIALIZED VIEW CONCURRENTLY v"),
            TransactionUse::default()
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("purge_events.sql"), "purge_events_sql");
        assert_eq!(
            slug("VACUUM (ANALYZE) public.events"),
            "vacuum_analyze_public_events"
        );
        assert_eq!(
            slug("refresh materialized view concurrently x"),
            "refresh_materialized_view"
        );
        assert_eq!(slug(&"a".repeat(40)), "a".repeat(32));
        assert_eq!(slug("***"), "job");
        assert_eq!(
            sql_key("DELETE FROM app.sessions WHERE x < now()"),
            "delete_sessions"
        );
        assert_eq!(sql_key("VACUUM (ANALYZE) public.orders"), "vacuum_orders");
        assert_eq!(
            sql_key("REFRESH MATERIALIZED VIEW CONCURRENTLY r.daily_sales"),
            "refresh_daily_sales"
        );
        assert_eq!(sql_key("CALL shop.rebuild(1)"), "call_rebuild");
        assert_eq!(sql_key("SELECT pg_stat_reset()"), "select_pg_stat_reset");
        assert_eq!(sql_key("SELECT * FROM t"), "select_t");
        assert_eq!(sql_key(""), "job");
    }
}
