//! The export's settings (`EXPORT_*`): where the object goes, its format and compression.

use serde::Serialize;
use thiserror::Error;
use time::OffsetDateTime;

use crate::contract;
use crate::env::{Env, EnvError};

/// Placeholders an `EXPORT_S3_URI` may hold.
const PLACEHOLDERS: &[&str] = &["job", "run_id", "scheduled_time", "scheduled_date"];

/// An export setting that cannot work; the message names the variable.
#[derive(Debug, Error)]
pub enum ExportConfigError {
    #[error("EXPORT_S3_URI {0:?} is not s3://bucket/key (for example s3://my-bucket/exports/{{job}}/{{scheduled_date}}/{{job}}-{{scheduled_time}}.csv.gz)")]
    Uri(String),
    #[error("EXPORT_S3_URI has an unknown placeholder {{{0}}}: use {{job}}, {{run_id}}, {{scheduled_time}} or {{scheduled_date}}")]
    Placeholder(String),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error("EXPORT_COMPRESSION_LEVEL {0} is past gzip's highest level, 9 (levels up to 19 are for EXPORT_COMPRESSION=zstd)")]
    GzipLevel(u32),
    #[error("EXPORT_S3_URI makes the job an export, which runs exactly one query (SELECT, WITH, TABLE or VALUES): {0}")]
    NotAQuery(String),
}

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// RFC 4180 CSV as PostgreSQL's `COPY ... (FORMAT csv)` writes it.
    Csv,
    /// PostgreSQL's COPY text format (tab-separated, `\N` for NULL).
    Text,
    /// One JSON object per line (`row_to_json`).
    Jsonl,
}

/// How the object is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// The level used when `EXPORT_COMPRESSION_LEVEL` is unset: the command-line tools' own.
    pub fn default_level(self) -> u32 {
        match self {
            Compression::Gzip => 6,
            Compression::Zstd => 3,
            Compression::None => 0,
        }
    }

    /// The object's `Content-Encoding` (HTTP's registered codings).
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
            Compression::None => None,
        }
    }
}

/// Validated export settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    pub bucket: String,
    /// The key with its placeholders.
    pub key_template: String,
    pub format: ExportFormat,
    pub header: bool,
    pub compression: Compression,
    /// The compression level (0 without compression).
    pub level: u32,
    /// Threads compressing blocks.
    pub threads: usize,
    pub kms_key_id: Option<String>,
    pub bucket_owner: Option<String>,
    pub manifest: bool,
}

impl ExportConfig {
    /// `None` when `EXPORT_S3_URI` is not set (a plain job).
    pub fn parse(env: &Env) -> Result<Option<Self>, ExportConfigError> {
        // Checked even without a URI, so a wrong value never waits for the day it matters.
        let header = env.flag(&contract::EXPORT_HEADER)?;
        let manifest = env.flag(&contract::EXPORT_MANIFEST)?;
        let format = env.choice(&contract::EXPORT_FORMAT)?;
        let compression = env.choice(&contract::EXPORT_COMPRESSION)?;
        let level: Option<u32> = env.int(&contract::EXPORT_COMPRESSION_LEVEL)?;
        let threads: Option<usize> = env.int(&contract::EXPORT_THREADS)?;
        let Some(uri) = env.text(&contract::EXPORT_S3_URI) else {
            return Ok(None);
        };
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| ExportConfigError::Uri(uri.clone()))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| ExportConfigError::Uri(uri.clone()))?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
        if !bucket_ok || key.is_empty() || key.ends_with('/') {
            return Err(ExportConfigError::Uri(uri));
        }
        check_placeholders(key)?;
        let format = match format {
            Some("text") => ExportFormat::Text,
            Some("jsonl") => ExportFormat::Jsonl,
            _ => ExportFormat::Csv,
        };
        let compression = match compression {
            Some("gzip") => Compression::Gzip,
            Some("zstd") => Compression::Zstd,
            Some(_) => Compression::None,
            None if key.ends_with(".gz") => Compression::Gzip,
            None if key.ends_with(".zst") => Compression::Zstd,
            None => Compression::None,
        };
        let level = match (compression, level) {
            (Compression::None, _) => 0,
            (Compression::Gzip, Some(n)) if n > 9 => return Err(ExportConfigError::GzipLevel(n)),
            (c, n) => n.unwrap_or_else(|| c.default_level()),
        };
        let threads = threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        Ok(Some(ExportConfig {
            bucket: bucket.into(),
            key_template: key.into(),
            format,
            header: header && format == ExportFormat::Csv,
            compression,
            level,
            threads,
            kms_key_id: env.text(&contract::EXPORT_KMS_KEY_ID),
            bucket_owner: env.text(&contract::EXPORT_BUCKET_OWNER),
            manifest,
        }))
    }

    /// The object key for one run: placeholders filled from the job and the scheduled time, so a
    /// re-delivered event writes the same key.
    pub fn key(&self, job: &str, run_id: &str, scheduled: OffsetDateTime) -> String {
        let s = scheduled.to_offset(time::UtcOffset::UTC);
        let time = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            s.year(),
            u8::from(s.month()),
            s.day(),
            s.hour(),
            s.minute(),
            s.second()
        );
        let date = format!("{:04}-{:02}-{:02}", s.year(), u8::from(s.month()), s.day());
        self.key_template
            .replace("{job}", job)
            .replace("{run_id}", run_id)
            .replace("{scheduled_time}", &time)
            .replace("{scheduled_date}", &date)
    }
}

fn check_placeholders(key: &str) -> Result<(), ExportConfigError> {
    let mut rest = key;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| ExportConfigError::Placeholder(after.into()))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(ExportConfigError::Placeholder(name.into()));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Checks that the export's statement is one query; returns it without its `;`.
pub fn export_query(statement: &str) -> Result<String, ExportConfigError> {
    let query = statement.trim().trim_end_matches(';').trim_end();
    let first = pg_cron_job_core::sql::leading_keyword(query);
    if matches!(first.as_str(), "SELECT" | "WITH" | "TABLE" | "VALUES") {
        Ok(query.to_string())
    } else {
        Err(ExportConfigError::NotAQuery(format!(
            "the statement starts with {first:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        crate::env::test_env(pairs, crate::program::Program::Job)
    }

    fn vars(uri: &str) -> Env {
        env(&[("EXPORT_S3_URI", uri)])
    }

    #[test]
    fn uri_placeholders_and_defaults() {
        let c = ExportConfig::parse(&vars(
            "s3://my-bucket/exports/{job}/{scheduled_date}/{job}-{scheduled_time}.csv.gz",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.bucket, "my-bucket");
        assert!(c.compression == Compression::Gzip && c.header && c.format == ExportFormat::Csv);
        assert_eq!(c.level, 6);
        assert!(c.threads >= 1);
        let at = time::macros::datetime!(2026-11-29 02:30:00 UTC);
        assert_eq!(
            c.key("purge", "r1", at),
            "exports/purge/2026-11-29/purge-20261129T023000Z.csv.gz"
        );
        assert!(ExportConfig::parse(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for bad in [
            "s3:/b/k",
            "s3://Bucket/k",
            "s3://bucket",
            "s3://bucket/",
            "https://b/k",
        ] {
            assert!(
                ExportConfig::parse(&vars(bad))
                    .unwrap_err()
                    .to_string()
                    .contains("EXPORT_S3_URI"),
                "{bad}"
            );
        }
        let e = ExportConfig::parse(&vars("s3://bucket/{date}/x.csv")).unwrap_err();
        assert!(e.to_string().contains("{date}"), "{e}");
        let e = ExportConfig::parse(&env(&[
            ("EXPORT_S3_URI", "s3://bucket/x"),
            ("EXPORT_FORMAT", "parquet"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("EXPORT_FORMAT"));
        let zst = ExportConfig::parse(&vars("s3://bucket/x.csv.zst"))
            .unwrap()
            .unwrap();
        assert_eq!((zst.compression, zst.level), (Compression::Zstd, 3));
        let e = ExportConfig::parse(&env(&[
            ("EXPORT_S3_URI", "s3://bucket/x.csv.gz"),
            ("EXPORT_COMPRESSION_LEVEL", "12"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("EXPORT_COMPRESSION_LEVEL 12"), "{e}");
        let e = ExportConfig::parse(&env(&[("EXPORT_THREADS", "0")])).unwrap_err();
        assert!(e.to_string().contains("EXPORT_THREADS"), "{e}");
        let e = ExportConfig::parse(&env(&[("EXPORT_MANIFEST", "maybe")])).unwrap_err();
        assert!(
            e.to_string().contains("EXPORT_MANIFEST"),
            "checked without a URI too: {e}"
        );
    }

    #[test]
    fn only_queries_can_be_exported() {
        assert_eq!(export_query("SELECT 1;").unwrap(), "SELECT 1");
        assert!(export_query("  with x as (select 1) table x").is_ok());
        assert!(export_query("/* c */ VALUES (1)").is_ok());
        assert!(export_query("DELETE FROM t")
            .unwrap_err()
            .to_string()
            .contains("DELETE"));
    }
}
