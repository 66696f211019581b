//! `HISTORY_TABLE` and `HISTORY_RETENTION_DAYS`: where run history goes and how long it stays.

use pg_cron_job_core::digest::sha256_hex;

use super::error::ConfigError;
use crate::contract;
use crate::env::Env;

/// Where run history goes (`HISTORY_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Schema of the table (created if missing).
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Rows older than this many days are deleted at the end of each run (0 keeps everything).
    pub retention_days: u32,
}

impl HistoryConfig {
    /// `None` when `HISTORY_TABLE` is not set.
    pub fn parse(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(name) = env.text(&contract::HISTORY_TABLE) else {
            return Ok(None);
        };
        let (schema, table) = parse_table_name(&name)?;
        let retention_days = env
            .int::<u32>(&contract::HISTORY_RETENTION_DAYS)?
            .unwrap_or_default();
        Ok(Some(HistoryConfig {
            schema,
            table,
            retention_days,
        }))
    }

    /// Name of one of the table's indexes: `<table>_<suffix>` when that fits PostgreSQL's
    /// 63-byte identifiers, else a shortened table name plus a hash of the full name, so two
    /// long table names never share an index name.
    pub fn index_name(&self, suffix: &str) -> String {
        let plain = format!("{}_{suffix}", self.table);
        if plain.len() <= 63 {
            return plain;
        }
        let hash = &sha256_hex(format!("{}.{}", self.schema, self.table).as_bytes())[..8];
        let keep = 63 - suffix.len() - hash.len() - 2;
        format!("{}_{hash}_{suffix}", &self.table[..keep])
    }
}

/// Parses `schema.table` (or `table`, in schema `cron_jobs`) made of plain identifiers.
fn parse_table_name(value: &str) -> Result<(String, String), ConfigError> {
    let invalid = |expected: &'static str| ConfigError::Invalid {
        var: "HISTORY_TABLE",
        value: value.to_string(),
        expected,
    };
    let parts: Vec<&str> = value.trim().split('.').collect();
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    match parts.as_slice() {
        [schema, _] if schema.starts_with("pg_") => Err(invalid(
            "a schema whose name does not start with pg_ (PostgreSQL reserves those), for example cron_jobs.job_run_details",
        )),
        [table] if ident_ok(table) => Ok(("cron_jobs".into(), table.to_string())),
        [schema, table] if ident_ok(schema) && ident_ok(table) => {
            Ok((schema.to_string(), table.to_string()))
        }
        _ => Err(invalid(
            "`schema.table` or `table` (schema cron_jobs) made of lower-case letters, digits and _",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        assert_eq!(
            parse_table_name("ops.runs").unwrap(),
            ("ops".into(), "runs".into())
        );
        assert_eq!(
            parse_table_name("runs").unwrap(),
            ("cron_jobs".into(), "runs".into())
        );
        assert!(parse_table_name("pg_x.runs")
            .unwrap_err()
            .to_string()
            .contains("pg_"));
        for bad in ["a.b.c", "Runs", "1x", "a-b", ""] {
            assert!(parse_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_history_table_names_get_distinct_index_names() {
        let h = |table: &str| HistoryConfig {
            schema: "ops".into(),
            table: table.into(),
            retention_days: 30,
        };
        let a = h(&format!("{}a", "x".repeat(61)));
        let b = h(&format!("{}b", "x".repeat(61)));
        for suffix in ["job_started_idx", "event_once_idx"] {
            assert!(a.index_name(suffix).len() <= 63);
            assert_ne!(a.index_name(suffix), b.index_name(suffix));
        }
        assert_eq!(
            h("runs").index_name("event_once_idx"),
            "runs_event_once_idx"
        );
    }
}
