//! A job's configuration: environment variables only, read through the contract
//! ([`crate::contract`]) and validated once at start-up. One small parser per concern; every
//! error names the variable and says what is accepted.

mod connection;
mod database;
mod error;
mod history;
mod script;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pg_cron_job_core::sql::{Item, Script};
use pg_cron_job_core::tls::SslMode;

pub use connection::Connection;
pub use database::{AuthMode, ConnOverrides, Database, RdsLookup};
pub use error::ConfigError;
pub use history::HistoryConfig;

use crate::contract;
use crate::env::Env;
use crate::export::{export_query, ExportConfig, ExportConfigError};
use crate::program::Program;

/// Validated runner configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub job_name: String,
    pub auth_mode: AuthMode,
    pub secret_id: Option<String>,
    /// The job's script (statements and psql meta-commands), parsed once at start-up.
    pub script: Arc<Script>,
    pub overrides: ConnOverrides,
    pub ssl_mode: SslMode,
    pub ssl_root_cert: Option<PathBuf>,
    pub app_name: String,
    pub connect_timeout: Duration,
    pub transaction: bool,
    pub statement_timeout_ms: Option<u64>,
    pub lock_timeout_ms: Option<u64>,
    pub allow_overlap: bool,
    pub max_runtime_ms: Option<u64>,
    pub deadline_margin_ms: u64,
    pub history: Option<HistoryConfig>,
    pub repeat_until_zero: bool,
    pub continue_on_deadline: bool,
    pub max_continuations: u32,
    /// RDS API lookup of the endpoint, when the job names its cluster or instance.
    pub rds: Option<RdsLookup>,
    /// The job only reads (`READ_ONLY=true` or `DB_ENDPOINT=reader`): no writer check.
    pub read_only: bool,
    /// Export settings and the query (without `;`) when `EXPORT_S3_URI` is set.
    pub export: Option<(ExportConfig, String)>,
    /// CloudWatch namespace of the run metrics (`METRICS_NAMESPACE`).
    pub metrics_namespace: String,
}

/// Longest job name: it is the metrics' `Job` dimension (CloudWatch allows 1,024 characters),
/// a history column under a B-tree index (entries of at most about 2,700 bytes) and part of the
/// overlap lock's key; the module's `job_name` has the same limit.
pub const MAX_JOB_NAME_CHARS: usize = 255;

fn check_job_name(name: &str) -> Result<(), ConfigError> {
    let chars = name.chars().count();
    if chars <= MAX_JOB_NAME_CHARS && !name.chars().any(char::is_control) {
        return Ok(());
    }
    let shown: String = name.chars().take(40).collect();
    Err(ConfigError::Invalid {
        var: "JOB_NAME",
        value: if chars > 40 {
            format!("{shown}... ({chars} characters)")
        } else {
            name.to_string()
        },
        expected: "at most 255 characters, none of them control characters (the job's name in logs, metrics and history)",
    })
}

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads and validates the given variables (the process environment in production).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env::new(vars, Program::Job)?;
        let job_name = env
            .text(&contract::JOB_NAME)
            .or_else(|| env.lambda("AWS_LAMBDA_FUNCTION_NAME"))
            .unwrap_or_else(|| "pg-cron-job".to_string());
        check_job_name(&job_name)?;
        let task_root = env.lambda("LAMBDA_TASK_ROOT").map(PathBuf::from);
        let database = Database::parse(&env)?;
        let script = script::parse(&env, task_root.as_deref())?;
        let connection = Connection::parse(&env, task_root.as_deref())?;
        let history = HistoryConfig::parse(&env)?;
        let modes = Modes::parse(&env, &script, history.is_some())?;
        let export = match ExportConfig::parse(&env)? {
            None => None,
            Some(e) => Some((e, export_statement(&script, &modes)?)),
        };
        Ok(Config {
            metrics_namespace: env
                .text(&contract::METRICS_NAMESPACE)
                .unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.to_string()),
            export,
            rds: database.rds,
            read_only: database.read_only,
            app_name: connection.app_name.unwrap_or_else(|| job_name.clone()),
            job_name,
            auth_mode: database.auth_mode,
            secret_id: database.secret_id,
            script: Arc::new(script),
            overrides: database.overrides,
            ssl_mode: connection.ssl_mode,
            ssl_root_cert: connection.ssl_root_cert,
            connect_timeout: connection.connect_timeout,
            transaction: modes.transaction,
            statement_timeout_ms: env.int(&contract::STATEMENT_TIMEOUT_MS)?,
            lock_timeout_ms: env.int(&contract::LOCK_TIMEOUT_MS)?,
            allow_overlap: env.flag(&contract::ALLOW_OVERLAP)?,
            max_runtime_ms: env.int(&contract::MAX_RUNTIME_MS)?,
            deadline_margin_ms: env.int(&contract::DEADLINE_MARGIN_MS)?.unwrap_or_default(),
            history,
            repeat_until_zero: modes.repeat_until_zero,
            continue_on_deadline: modes.continue_on_deadline,
            max_continuations: env.int(&contract::MAX_CONTINUATIONS)?.unwrap_or_default(),
        })
    }
}

/// How the script runs: one transaction, repeated batches, continued past the deadline.
struct Modes {
    transaction: bool,
    repeat_until_zero: bool,
    continue_on_deadline: bool,
}

impl Modes {
    fn parse(env: &Env, script: &Script, history: bool) -> Result<Self, ConfigError> {
        let statement_count = script.statement_count();
        let repeat_until_zero = env.flag(&contract::REPEAT_UNTIL_ZERO)?;
        if repeat_until_zero && statement_count != 1 {
            return Err(ConfigError::Conflict(format!(
                "REPEAT_UNTIL_ZERO=true repeats exactly one statement, but the job has {statement_count}: use SQL with one batched DELETE/UPDATE ... LIMIT statement"
            )));
        }
        let transaction = env.flag(&contract::TRANSACTION)?;
        if transaction && script.items().contains(&Item::OnErrorStop(false)) {
            return Err(ConfigError::Conflict(
                "TRANSACTION=true runs the script as one transaction, which cannot go on after a failed statement, but the script sets ON_ERROR_STOP off: remove that \\set or unset TRANSACTION".into(),
            ));
        }
        if repeat_until_zero && transaction {
            return Err(ConfigError::Conflict(
                "REPEAT_UNTIL_ZERO=true commits each batch on its own: unset TRANSACTION or set it to false".into(),
            ));
        }
        let continue_on_deadline = env.flag(&contract::CONTINUE_ON_DEADLINE)?;
        if continue_on_deadline && !repeat_until_zero {
            return Err(ConfigError::Conflict(
                "CONTINUE_ON_DEADLINE=true only applies to REPEAT_UNTIL_ZERO=true jobs: set REPEAT_UNTIL_ZERO=true or unset CONTINUE_ON_DEADLINE".into(),
            ));
        }
        if continue_on_deadline && !history {
            return Err(ConfigError::Conflict(
                "CONTINUE_ON_DEADLINE=true needs HISTORY_TABLE: the chain's hand-off is recorded there so scheduled runs do not race a continuation".into(),
            ));
        }
        Ok(Modes {
            transaction,
            repeat_until_zero,
            continue_on_deadline,
        })
    }
}

/// An export runs one query once: the script's only statement, without its `;`.
fn export_statement(script: &Script, modes: &Modes) -> Result<String, ConfigError> {
    let statement_count = script.statement_count();
    if statement_count != 1 {
        return Err(ExportConfigError::NotAQuery(format!(
            "the job has {statement_count} statements"
        ))
        .into());
    }
    if modes.repeat_until_zero || modes.transaction {
        return Err(ConfigError::Conflict(
            "EXPORT_S3_URI runs one query once: unset REPEAT_UNTIL_ZERO and TRANSACTION".into(),
        ));
    }
    Ok(export_query(
        script.statements().next().unwrap_or_default(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut v = vars(&[
            (
                "DB_SECRET_ID",
                "arn:aws:secretsmanager:eu-west-1:1:secret:db",
            ),
            ("SQL", "SELECT 1"),
            ("PGSSLMODE", "require"),
        ]);
        v.extend(vars(extra));
        v
    }

    fn err(v: HashMap<String, String>) -> String {
        Config::from_vars(v)
            .expect_err("config should be rejected")
            .to_string()
    }

    #[test]
    fn defaults_are_safe() {
        let c = Config::from_vars(base(&[])).unwrap();
        assert_eq!(c.job_name, "pg-cron-job");
        assert_eq!(c.app_name, "pg-cron-job");
        assert_eq!(c.auth_mode, AuthMode::Secret);
        assert!(!c.transaction);
        assert!(!c.allow_overlap);
        assert_eq!(c.script.statements().collect::<Vec<_>>(), vec!["SELECT 1"]);
        assert_eq!(c.connect_timeout, Duration::from_secs(15));
        assert!(c.history.is_none());
    }

    #[test]
    fn job_names_have_a_length_limit() {
        let long = "j".repeat(10_000);
        let e = err(base(&[("JOB_NAME", long.as_str())]));
        assert!(
            e.contains("JOB_NAME") && e.contains("10000 characters") && e.contains("at most 255"),
            "{e}"
        );
        assert!(e.len() < 400, "the message repeats the whole name: {e}");
        let e = err(base(&[("JOB_NAME", "a\nb")]));
        assert!(e.contains("control characters"), "{e}");
        let ok = "j".repeat(255);
        assert!(Config::from_vars(base(&[("JOB_NAME", ok.as_str())])).is_ok());
    }

    #[test]
    fn job_name_falls_back_to_function_name() {
        let c = Config::from_vars(base(&[("AWS_LAMBDA_FUNCTION_NAME", "nightly-purge")])).unwrap();
        assert_eq!(c.job_name, "nightly-purge");
        let c = Config::from_vars(base(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
            ("JOB_NAME", "purge"),
            ("PGAPPNAME", "app"),
        ]))
        .unwrap();
        assert_eq!(c.job_name, "purge");
        assert_eq!(c.app_name, "app");
    }

    #[test]
    fn missing_secret_id_names_the_variable() {
        let mut v = base(&[]);
        v.remove("DB_SECRET_ID");
        assert!(err(v).contains("DB_SECRET_ID is required"));
    }

    #[test]
    fn iam_mode_needs_host_port_user() {
        let mut v = base(&[("AUTH_MODE", "iam"), ("PGHOST", "db"), ("PGPORT", "5432")]);
        v.remove("DB_SECRET_ID");
        assert!(err(v.clone()).contains("PGUSER"));
        v.insert("PGUSER".into(), "job".into());
        assert_eq!(Config::from_vars(v).unwrap().auth_mode, AuthMode::Iam);
    }

    #[test]
    fn sql_and_sql_file_are_exclusive() {
        assert!(err(base(&[("SQL_FILE", "x.sql")])).contains("SQL and SQL_FILE are both set"));
        let mut v = base(&[]);
        v.remove("SQL");
        assert!(err(v).contains("SQL or SQL_FILE is required"));
        assert!(err(base(&[("SQL", "-- nothing\n;")])).contains("SQL holds no SQL statement"));
    }

    #[test]
    fn sql_file_resolves_against_task_root() {
        let dir = std::env::temp_dir().join(format!("pgcj-cfg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sql")).unwrap();
        std::fs::write(dir.join("sql/purge.sql"), "DELETE FROM a;\nDELETE FROM b;").unwrap();
        let mut v = base(&[
            ("SQL_FILE", "sql/purge.sql"),
            ("LAMBDA_TASK_ROOT", dir.to_str().unwrap()),
        ]);
        v.remove("SQL");
        let c = Config::from_vars(v.clone()).unwrap();
        assert_eq!(
            c.script.statements().collect::<Vec<_>>(),
            vec!["DELETE FROM a;", "DELETE FROM b;"]
        );
        v.insert("SQL_FILE".into(), "sql/missing.sql".into());
        assert!(err(v).contains("missing.sql"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(err(base(&[("PGSSLMODE", "prefer")]))
            .contains("PGSSLMODE has an invalid value \"prefer\""));
        assert!(err(base(&[("PGPORT", "54x")])).contains("PGPORT"));
        assert!(err(base(&[("PGPORT", "0")])).contains("PGPORT"));
        assert!(err(base(&[("TRANSACTION", "maybe")])).contains("TRANSACTION"));
        assert!(err(base(&[("STATEMENT_TIMEOUT_MS", "0")])).contains("STATEMENT_TIMEOUT_MS"));
        assert!(err(base(&[("LOCK_TIMEOUT_MS", "-1")])).contains("LOCK_TIMEOUT_MS"));
        assert!(err(base(&[("PGCONNECT_TIMEOUT", "0")])).contains("PGCONNECT_TIMEOUT"));
        assert!(err(base(&[("AUTH_MODE", "password")])).contains("AUTH_MODE"));
        assert!(err(base(&[("HISTORY_TABLE", "a.b.c")])).contains("HISTORY_TABLE"));
        assert!(err(base(&[("HISTORY_TABLE", "x; DROP")])).contains("HISTORY_TABLE"));
        assert!(err(base(&[("HISTORY_TABLE", "pg_jobs.runs")])).contains("reserves"));
    }

    #[test]
    fn verify_modes_need_a_readable_root_bundle() {
        let msg = err(base(&[
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/nonexistent/ca.pem"),
        ]));
        assert!(msg.contains("PGSSLROOTCERT /nonexistent/ca.pem"), "{msg}");
        assert!(msg.contains("verify-full"), "{msg}");
    }

    #[test]
    fn typos_and_unsupported_libpq_variables_are_caught() {
        assert!(err(base(&[("PGSSLMOD", "disable")])).contains("PGSSLMOD is not supported"));
        assert!(err(base(&[("PGPASSWORD", "x")])).contains("DB_SECRET_ID secret"));
        assert!(
            err(base(&[("STATEMENT_TIMEOUT", "5")])).contains("did you mean STATEMENT_TIMEOUT_MS")
        );
        assert!(err(base(&[("ALLOW_OVERLAPS", "true")])).contains("did you mean ALLOW_OVERLAP"));
        assert!(Config::from_vars(base(&[("PATH", "/bin"), ("HOME", "/root")])).is_ok());
    }

    #[test]
    fn history_and_repeat_mode() {
        let c = Config::from_vars(base(&[("HISTORY_TABLE", "job_runs")])).unwrap();
        let h = c.history.unwrap();
        assert_eq!(
            (h.schema.as_str(), h.table.as_str(), h.retention_days),
            ("cron_jobs", "job_runs", 30)
        );
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("SQL", "DELETE FROM a; DELETE FROM b")
        ]))
        .contains("exactly one statement"));
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("TRANSACTION", "true")
        ]))
        .contains("TRANSACTION"));
        assert!(err(base(&[("CONTINUE_ON_DEADLINE", "true")])).contains("REPEAT_UNTIL_ZERO"));
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("CONTINUE_ON_DEADLINE", "true")
        ]))
        .contains("needs HISTORY_TABLE"));
        let c = Config::from_vars(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("CONTINUE_ON_DEADLINE", "true"),
            ("HISTORY_TABLE", "ops.runs"),
        ]))
        .unwrap();
        assert_eq!(c.max_continuations, 10);
    }

    #[test]
    fn values_postgresql_would_refuse_are_refused_at_start_up() {
        for var in ["STATEMENT_TIMEOUT_MS", "LOCK_TIMEOUT_MS", "MAX_RUNTIME_MS"] {
            assert!(err(base(&[(var, "2147483648")])).contains(var));
            assert!(Config::from_vars(base(&[(var, "2147483647")])).is_ok());
        }
        assert!(err(base(&[
            ("HISTORY_TABLE", "t"),
            ("HISTORY_RETENTION_DAYS", "9999999")
        ]))
        .contains("HISTORY_RETENTION_DAYS"));
        assert!(err(base(&[("PGCONNECT_TIMEOUT", "100000")])).contains("PGCONNECT_TIMEOUT"));
        assert!(err(base(&[("SQL_SHA256", "abc")])).contains("SQL_SHA256"));
    }

    #[test]
    fn scripts_are_checked_at_start_up() {
        let m = err(base(&[("SQL", "SELECT 1;\nSELECT 2 \\gset")]));
        assert!(m.contains("SQL line 2") && m.contains("\\gset"), "{m}");
        assert!(err(base(&[
            ("SQL", "\\set ON_ERROR_STOP off\nSELECT 1"),
            ("TRANSACTION", "true")
        ]))
        .contains("ON_ERROR_STOP"));
    }

    #[test]
    fn a_stale_sql_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("pgcj-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("job.sql");
        std::fs::write(&file, "SELECT 1;\n").unwrap();
        let good = pg_cron_job_core::digest::sha256_hex(b"SELECT 1;\n");
        let mut v = base(&[("SQL_FILE", file.to_str().unwrap()), ("SQL_SHA256", &good)]);
        v.remove("SQL");
        assert!(Config::from_vars(v.clone()).is_ok());
        std::fs::write(&file, "SELECT 2;\n").unwrap();
        let m = err(v);
        assert!(m.contains("make build") && m.contains(&good), "{m}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
