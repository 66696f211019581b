//! `pg-cron-job import`: turns a crontab or pg_cron's `cron.job` into a Terraform directory for
//! the `jobs` map of modules/pg_cron_jobs (main.tf, sql/*.sql, REPORT.md). No AWS access.
//!
//! The options are in `cli.rs` (`pg-cron-job import crontab --help`).

mod cron;
mod crontab;
mod job_sql;
mod maintenance;
mod model;
mod pg_cron;
mod psql;
mod terraform;

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{CrontabArgs, ImportOptions, ImportSource, PgCronArgs, TranslateArgs};
use model::{is_time_zone, ImportError, Output};

/// Runs `pg-cron-job import ...`; `raw` are the arguments after `import`, as given (the
/// generated files say which command made them).
pub fn main(source: ImportSource, raw: &[String]) -> ExitCode {
    let result = match source {
        ImportSource::Schedule(args) => return schedule_command(&args),
        ImportSource::Crontab(args) => run(Source::Crontab(&args), &args.options, raw),
        ImportSource::PgCron(args) => run(Source::PgCron(&args), &args.options, raw),
    };
    match result {
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
fn schedule_command(args: &TranslateArgs) -> ExitCode {
    let options = cron::Options {
        pg_cron: args.pg_cron,
        split_or: args.split_or,
    };
    let mut exprs = args.expressions.clone();
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

/// What to import (clap has checked the arguments' shape: a crontab FILE; a dump FILE or
/// --from-database, not both).
enum Source<'a> {
    Crontab(&'a CrontabArgs),
    PgCron(&'a PgCronArgs),
}

/// The checks clap cannot make: a known time zone, a valid fleet name.
fn check_options(options: &ImportOptions) -> Result<(), ImportError> {
    if let Some(tz) = &options.timezone {
        if !is_time_zone(tz) {
            return Err(ImportError::TimeZone(tz.clone()));
        }
    }
    if let Some(name) = &options.name {
        if !terraform::valid_fleet_name(name) {
            return Err(ImportError::Usage(format!(
                "--name {name:?}: 1-40 letters, digits, '-' or '_'"
            )));
        }
    }
    Ok(())
}

/// `--module-source` as Terraform takes it: a local path must start with `./` or `../` (an
/// absolute one is read as a registry address and fails `terraform init`), so an absolute path
/// becomes the path from the output directory to it; other sources are kept as given.
fn module_source(source: &str, out: &Path) -> Result<String, ImportError> {
    let path = Path::new(source);
    if !path.is_absolute() {
        return Ok(source.to_string());
    }
    let from = std::path::absolute(out).map_err(|source| ImportError::Read {
        path: out.to_path_buf(),
        source,
    })?;
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = path.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    let relative = parts.join("/");
    Ok(if relative.starts_with("..") {
        relative
    } else {
        format!("./{relative}")
    })
}

fn read(path: &Path) -> Result<String, ImportError> {
    std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn run(source: Source<'_>, a: &ImportOptions, raw: &[String]) -> Result<String, ImportError> {
    check_options(a)?;
    if !a.force && a.out.join("main.tf").exists() {
        return Err(ImportError::Exists(a.out.join("main.tf")));
    }
    let (import, default_name) = match source {
        Source::Crontab(c) => (
            crontab::import(
                &read(&c.file)?,
                &format!("crontab {}", c.file.display()),
                &crontab::Options {
                    timezone: a.timezone.clone(),
                    scripts_root: c.scripts_root.clone(),
                    system: c.system,
                    split_or: a.split_or,
                },
            ),
            "cron",
        ),
        Source::PgCron(PgCronArgs {
            file: Some(file), ..
        }) => {
            let rows = pg_cron::parse_dump(&read(file)?)?;
            (
                pg_cron::import(
                    rows,
                    &format!("cron.job dump {}", file.display()),
                    a.timezone.as_deref(),
                    None,
                    a.split_or,
                ),
                "pgcron",
            )
        }
        Source::PgCron(_) => {
            let (rows, zone, source) = pg_cron::read_database()?;
            (
                pg_cron::import(rows, &source, a.timezone.as_deref(), zone, a.split_or),
                "pgcron",
            )
        }
    };
    let output = Output {
        dir: a.out.clone(),
        module_source: module_source(&a.module_source, &a.out)?,
        name: a.name.clone().unwrap_or_else(|| default_name.into()),
        command: format!("pg-cron-job import {}", raw.join(" ")),
        as_of: a
            .as_of
            .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
            .map_or_else(jiff::Timestamp::now, |z| z.timestamp()),
    };
    terraform::write(&import, &output)
}

#[cfg(test)]
mod tests {
    use super::job_sql::*;
    use super::*;

    use crate::cli::{Cli, Command};
    use clap::Parser;
    use std::path::PathBuf;

    /// `pg-cron-job import <s>` parsed and checked as main() does.
    fn import(s: &str) -> Result<ImportSource, String> {
        let argv = ["pg-cron-job", "import"]
            .into_iter()
            .chain(s.split_whitespace());
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let Command::Import { source } = cli.command else {
            return Err("not import".into());
        };
        match &source {
            ImportSource::Crontab(c) => check_options(&c.options),
            ImportSource::PgCron(p) => check_options(&p.options),
            ImportSource::Schedule(_) => Ok(()),
        }
        .map_err(|e| e.to_string())?;
        Ok(source)
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
    fn absolute_module_sources_become_relative_to_the_output() {
        let out = Path::new("/work/infra/jobs");
        assert_eq!(
            module_source("/work/pg_cron_job/modules/pg_cron_jobs", out).unwrap(),
            "../../pg_cron_job/modules/pg_cron_jobs"
        );
        assert_eq!(
            module_source("/work/infra/jobs/modules/m", out).unwrap(),
            "./modules/m"
        );
        assert_eq!(module_source("../m", out).unwrap(), "../m");
        let git = "git::https://example.com/m.git//modules/pg_cron_jobs?ref=v1";
        assert_eq!(module_source(git, out).unwrap(), git);
    }

    #[test]
    fn command_line() {
        let Ok(ImportSource::Crontab(a)) =
            import("crontab jobs.cron --timezone Europe/Rome --out x --split-or")
        else {
            panic!("crontab")
        };
        assert_eq!(a.file, PathBuf::from("jobs.cron"));
        assert_eq!(a.options.timezone.as_deref(), Some("Europe/Rome"));
        assert!(a.options.split_or);
        assert_eq!(a.options.out, PathBuf::from("x"));
        let Ok(ImportSource::PgCron(a)) = import("pg-cron --from-database --module-source=../m")
        else {
            panic!("pg-cron")
        };
        assert!(a.from_database && a.file.is_none());
        assert_eq!(a.options.module_source, "../m");
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
            assert!(import(bad).is_err(), "{bad}");
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
