//! The job's SQL: `SQL` (inline) or `SQL_FILE` (a file in the package, optionally pinned by
//! `SQL_SHA256`), read and checked like `psql -f` at start-up.

use std::path::{Path, PathBuf};

use pg_cron_job_core::digest::sha256_hex;
use pg_cron_job_core::libpq::resolve_path;
use pg_cron_job_core::sql::Script;

use super::error::ConfigError;
use crate::contract;
use crate::env::Env;

/// Reads and parses the job's script.
pub fn parse(env: &Env, task_root: Option<&Path>) -> Result<Script, ConfigError> {
    let expected_sha256 = env
        .text(&contract::SQL_SHA256)
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            if v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit()) {
                Ok(v)
            } else {
                Err(ConfigError::Invalid {
                    var: "SQL_SHA256",
                    value: v,
                    expected: "the SHA-256 of the SQL file as 64 hex digits (the module sets it)",
                })
            }
        })
        .transpose()?;
    match (env.text(&contract::SQL), env.text(&contract::SQL_FILE)) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict(
            "SQL and SQL_FILE are both set: set exactly one (SQL for one inline statement, SQL_FILE for a .sql file in the package)".into(),
        )),
        (None, None) => Err(ConfigError::Missing(
            "SQL or SQL_FILE",
            "set SQL to one SQL statement or SQL_FILE to the path of a .sql file in the package",
        )),
        (Some(sql), None) => parse_text("SQL".into(), sql),
        (None, Some(file)) => {
            let path: PathBuf = resolve_path(&file, task_root);
            let text = pg_cron_job_core::file::read_text(&path, MAX_SQL_FILE_BYTES).map_err(|source| ConfigError::SqlFile {
                path: path.clone(),
                source,
            })?;
            if let Some(expected) = expected_sha256 {
                let actual = sha256_hex(text.as_bytes());
                if actual != expected {
                    return Err(ConfigError::StaleSql {
                        path,
                        actual,
                        expected,
                    });
                }
            }
            parse_text(format!("SQL_FILE {file}"), text)
        }
    }
}

/// The largest SQL file (declared with the script reader).
pub const MAX_SQL_FILE_BYTES: u64 = pg_cron_job_core::sql::MAX_SCRIPT_BYTES;

fn parse_text(source_name: String, text: String) -> Result<Script, ConfigError> {
    Script::parse_job(text).map_err(|source| ConfigError::Script {
        source_name,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;

    fn env(pairs: &[(&str, &str)]) -> Env {
        crate::env::test_env(pairs, Program::Job)
    }

    #[test]
    fn exactly_one_source_with_a_statement() {
        assert!(parse(&env(&[]), None)
            .unwrap_err()
            .to_string()
            .contains("SQL or SQL_FILE"));
        assert!(parse(&env(&[("SQL", "x"), ("SQL_FILE", "y")]), None).is_err());
        assert!(parse(&env(&[("SQL", "-- nothing")]), None)
            .unwrap_err()
            .to_string()
            .contains("no SQL statement"));
        let m = parse(&env(&[("SQL_FILE", "/nonexistent/job.sql")]), None)
            .unwrap_err()
            .to_string();
        assert!(m.starts_with("SQL_FILE /nonexistent/job.sql"), "{m}");
        assert!(parse(&env(&[("SQL", "SELECT 1"), ("SQL_SHA256", "abc")]), None).is_err());
        assert_eq!(
            parse(&env(&[("SQL", "SELECT 1")]), None)
                .unwrap()
                .statement_count(),
            1
        );
    }
}
