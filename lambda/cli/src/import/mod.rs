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
mod job_sql;
mod model;
mod pg_cron;
mod psql;
mod terraform;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use model::{is_time_zone, ImportError, Output};

/// Where the generated main.tf finds the jobs module unless `--module-source` says otherwise.
pub const DEFAULT_MODULE_SOURCE: &str =
    "git::https://github.com/pg-cron-job/pg_cron_job.git//modules/pg_cron_jobs?ref=v0.2.0";

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
    /// Daylight-saving notes cover the 12 months from this date (default: today).
    as_of: Option<jiff::civil::Date>,
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
        as_of: None,
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
            "--as-of" => {
                let v = value()?;
                parsed.as_of = Some(v.parse().map_err(|_| {
                    ImportError::Usage(format!("--as-of {v:?}: a date yyyy-mm-dd"))
                })?);
            }
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
