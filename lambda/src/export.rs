//! Extraction jobs (`EXPORT_S3_URI`): the job's one query runs as `COPY (<query>) TO STDOUT`
//! and its rows stream, optionally gzip-compressed, into an S3 multipart upload. Memory holds
//! at most two parts whatever the size; any failure aborts the upload, so no partial object is
//! ever visible under the key and no parts are left behind.

use std::io::Write;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::sha256_hex;
use crate::db::{DbFailure, Session};
use crate::error_text::explain_aws;
use crate::report::{millis, ErrorInfo, ErrorKind};

/// Size at which a part is uploaded (S3's minimum part size is 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Placeholders an `EXPORT_S3_URI` may hold.
const PLACEHOLDERS: &[&str] = &["job", "run_id", "scheduled_time", "scheduled_date"];

/// An export setting that cannot work; the message names the variable.
#[derive(Debug, Error)]
pub enum ExportConfigError {
    #[error("EXPORT_S3_URI {0:?} is not s3://bucket/key (for example s3://my-bucket/exports/{{job}}/{{scheduled_date}}/{{job}}-{{scheduled_time}}.csv.gz)")]
    Uri(String),
    #[error("EXPORT_S3_URI has an unknown placeholder {{{0}}}: use {{job}}, {{run_id}}, {{scheduled_time}} or {{scheduled_date}}")]
    Placeholder(String),
    #[error("{var} has an invalid value {value:?}: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
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

/// Validated export settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    pub bucket: String,
    /// The key with its placeholders.
    pub key_template: String,
    pub format: ExportFormat,
    pub header: bool,
    pub gzip: bool,
    pub kms_key_id: Option<String>,
    pub bucket_owner: Option<String>,
    pub manifest: bool,
}

/// The raw `EXPORT_*` variables.
#[derive(Debug, Default)]
pub struct ExportVars {
    pub uri: Option<String>,
    pub format: Option<String>,
    pub header: Option<bool>,
    pub compression: Option<String>,
    pub kms_key_id: Option<String>,
    pub bucket_owner: Option<String>,
    pub manifest: bool,
}

impl ExportConfig {
    /// `None` when `EXPORT_S3_URI` is not set (a plain job).
    pub fn parse(vars: ExportVars) -> Result<Option<Self>, ExportConfigError> {
        let Some(uri) = vars.uri else {
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
        let format = match vars
            .format
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("csv") => ExportFormat::Csv,
            Some("text") => ExportFormat::Text,
            Some("jsonl") => ExportFormat::Jsonl,
            Some(other) => {
                return Err(ExportConfigError::Invalid {
                    var: "EXPORT_FORMAT",
                    value: other.into(),
                    expected: "`csv` (default), `text` or `jsonl`",
                })
            }
        };
        let gzip = match vars
            .compression
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => key.ends_with(".gz"),
            Some("gzip") => true,
            Some("none") => false,
            Some(other) => {
                return Err(ExportConfigError::Invalid {
                    var: "EXPORT_COMPRESSION",
                    value: other.into(),
                    expected: "`gzip` or `none` (default: gzip when the key ends in .gz)",
                })
            }
        };
        Ok(Some(ExportConfig {
            bucket: bucket.into(),
            key_template: key.into(),
            format,
            header: vars.header.unwrap_or(true) && format == ExportFormat::Csv,
            gzip,
            kms_key_id: vars.kms_key_id,
            bucket_owner: vars.bucket_owner,
            manifest: vars.manifest,
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
    let first = crate::sql::leading_keyword(query);
    if matches!(first.as_str(), "SELECT" | "WITH" | "TABLE" | "VALUES") {
        Ok(query.to_string())
    } else {
        Err(ExportConfigError::NotAQuery(format!(
            "the statement starts with {first:?}"
        )))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportResult {
    pub s3_uri: String,
    pub rows_exported: u64,
    /// Bytes of the object (compressed when gzip is on).
    pub bytes_written: u64,
    /// Bytes of the rows before compression.
    pub bytes_uncompressed: u64,
    pub sha256: String,
    pub format: ExportFormat,
    pub gzip: bool,
    pub throughput_mb_per_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_uri: Option<String>,
}

/// Everything one export needs besides the session.
pub struct ExportRun<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub config: &'a ExportConfig,
    pub query: &'a str,
    pub key: String,
    pub run_id: &'a str,
    pub scheduled_time: &'a str,
    /// No S3 call or read waits past this.
    pub limit: Option<Instant>,
}

/// The `COPY` statement for `query` in `format`.
pub fn copy_statement(query: &str, format: ExportFormat, header: bool) -> String {
    match format {
        ExportFormat::Csv => {
            format!("COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER {header})")
        }
        ExportFormat::Text => format!("COPY ({query}) TO STDOUT"),
        // CSV with quote and delimiter bytes that JSON text never holds unescaped: each line is
        // the JSON object exactly as row_to_json wrote it.
        ExportFormat::Jsonl => format!(
            "COPY (SELECT row_to_json(pg_cron_job_row)::text FROM ({query}) AS pg_cron_job_row) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
        ),
    }
}

/// Runs the export; on any failure the multipart upload is aborted.
pub async fn run(session: &Session, run: ExportRun<'_>) -> Result<ExportResult, ErrorInfo> {
    let started = Instant::now();
    let uri = format!("s3://{}/{}", run.config.bucket, run.key);
    let upload_id = create_upload(&run).await?;
    info!(s3_uri = %uri, "export started");
    match stream(session, &run, &upload_id).await {
        Ok((parts, mut result)) => {
            let complete = run
                .s3
                .complete_multipart_upload()
                .bucket(&run.config.bucket)
                .key(&run.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .set_expected_bucket_owner(run.config.bucket_owner.clone());
            if let Err(e) = bounded(run.limit, complete.send())
                .await
                .and_then(|r| r.map_err(|e| s3_error(&e, "complete the multipart upload")))
            {
                abort(&run, &upload_id).await;
                return Err(e);
            }
            let secs = started.elapsed().as_secs_f64().max(0.001);
            result.s3_uri = uri;
            result.throughput_mb_per_s =
                ((result.bytes_uncompressed as f64 / 1e6 / secs) * 10.0).round() / 10.0;
            if run.config.manifest {
                result.manifest_uri = Some(write_manifest(&run, &result).await?);
            }
            info!(s3_uri = %result.s3_uri, rows = result.rows_exported, bytes = result.bytes_written,
                  duration_ms = millis(started.elapsed()), "export finished");
            Ok(result)
        }
        Err(e) => {
            abort(&run, &upload_id).await;
            Err(e)
        }
    }
}

async fn create_upload(run: &ExportRun<'_>) -> Result<String, ErrorInfo> {
    let mut create = run
        .s3
        .create_multipart_upload()
        .bucket(&run.config.bucket)
        .key(&run.key)
        .content_type(content_type(run.config))
        .set_expected_bucket_owner(run.config.bucket_owner.clone());
    if run.config.gzip {
        create = create.content_encoding("gzip");
    }
    create = match &run.config.kms_key_id {
        Some(key) => create
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(key),
        None => create.server_side_encryption(ServerSideEncryption::Aes256),
    };
    let out = bounded(run.limit, create.send())
        .await?
        .map_err(|e| s3_error(&e, "start the multipart upload"))?;
    out.upload_id()
        .map(str::to_string)
        .ok_or_else(|| ErrorInfo::new(ErrorKind::Export, "S3 returned no upload id".into()))
}

fn content_type(config: &ExportConfig) -> &'static str {
    match config.format {
        ExportFormat::Csv => "text/csv",
        ExportFormat::Text => "text/tab-separated-values",
        ExportFormat::Jsonl => "application/x-ndjson",
    }
}

/// Rows from PostgreSQL into parts; one part uploads while the next fills.
async fn stream(
    session: &Session,
    run: &ExportRun<'_>,
    upload_id: &str,
) -> Result<(Vec<CompletedPart>, ExportResult), ErrorInfo> {
    let copy = copy_statement(run.query, run.config.format, run.config.header);
    let mut sink = Sink::new(run.config.gzip);
    let mut rows: u64 = 0;
    let mut header_pending = run.config.header;
    let mut parts = Vec::new();
    let mut in_flight: Option<JoinHandle<Result<CompletedPart, ErrorInfo>>> = None;
    let mut messages = session
        .copy_out(&copy, run.limit)
        .await
        .map_err(copy_error)?;
    loop {
        let next = match run.limit {
            None => messages.next().await,
            Some(at) => tokio::time::timeout_at(at.into(), messages.next())
                .await
                .map_err(|_| copy_error(DbFailure::NoAnswer))?,
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| copy_error(DbFailure::Pg(e)))?;
        // PostgreSQL sends exactly one CopyData message per row (and one for the header).
        if header_pending {
            header_pending = false;
        } else {
            rows += 1;
        }
        sink.write(&chunk)?;
        if sink.buffered() >= PART_SIZE {
            if let Some(previous) = in_flight.take() {
                parts.push(join(previous).await?);
            }
            let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
            in_flight = Some(spawn_part(run, upload_id, number, sink.take()));
        }
    }
    if let Some(previous) = in_flight.take() {
        parts.push(join(previous).await?);
    }
    let (last, bytes_uncompressed, bytes_written, sha256) = sink.finish()?;
    if !last.is_empty() || parts.is_empty() {
        let number = i32::try_from(parts.len() + 1).unwrap_or(i32::MAX);
        parts.push(join(spawn_part(run, upload_id, number, last)).await?);
    }
    Ok((
        parts,
        ExportResult {
            s3_uri: String::new(),
            rows_exported: rows,
            bytes_written,
            bytes_uncompressed,
            sha256,
            format: run.config.format,
            gzip: run.config.gzip,
            throughput_mb_per_s: 0.0,
            manifest_uri: None,
        },
    ))
}

fn spawn_part(
    run: &ExportRun<'_>,
    upload_id: &str,
    number: i32,
    body: Vec<u8>,
) -> JoinHandle<Result<CompletedPart, ErrorInfo>> {
    let call = run
        .s3
        .upload_part()
        .bucket(&run.config.bucket)
        .key(&run.key)
        .upload_id(upload_id)
        .part_number(number)
        .body(ByteStream::from(body))
        .set_expected_bucket_owner(run.config.bucket_owner.clone())
        .send();
    let limit = run.limit;
    tokio::spawn(async move {
        let out = bounded(limit, call)
            .await?
            .map_err(|e| s3_error(&e, "upload a part"))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_string))
            .build())
    })
}

async fn join(
    handle: JoinHandle<Result<CompletedPart, ErrorInfo>>,
) -> Result<CompletedPart, ErrorInfo> {
    handle
        .await
        .map_err(|e| ErrorInfo::new(ErrorKind::Internal, format!("part upload task failed: {e}")))?
}

async fn abort(run: &ExportRun<'_>, upload_id: &str) {
    let call = run
        .s3
        .abort_multipart_upload()
        .bucket(&run.config.bucket)
        .key(&run.key)
        .upload_id(upload_id)
        .set_expected_bucket_owner(run.config.bucket_owner.clone())
        .send();
    // The abort gets its own short budget: it must run even when the deadline has passed.
    match tokio::time::timeout(std::time::Duration::from_secs(10), call).await {
        Ok(Ok(_)) => info!("multipart upload aborted: no object and no parts left"),
        Ok(Err(e)) => warn!(error = %explain_aws(&e, "S3", "s3:AbortMultipartUpload on the export prefix"),
                            "could not abort the multipart upload; an S3 lifecycle rule (AbortIncompleteMultipartUpload) removes its parts"),
        Err(_) => warn!("no answer from S3 to the abort; an S3 lifecycle rule (AbortIncompleteMultipartUpload) removes the parts"),
    }
}

async fn write_manifest(run: &ExportRun<'_>, result: &ExportResult) -> Result<String, ErrorInfo> {
    let key = format!("{}.manifest.json", run.key);
    let manifest = serde_json::json!({
        "s3_uri": result.s3_uri,
        "rows": result.rows_exported,
        "bytes": result.bytes_written,
        "bytes_uncompressed": result.bytes_uncompressed,
        "sha256": result.sha256,
        "format": result.format,
        "gzip": result.gzip,
        "query_sha256": sha256_hex(run.query.as_bytes()),
        "run_id": run.run_id,
        "scheduled_time": run.scheduled_time,
    });
    let mut put = run
        .s3
        .put_object()
        .bucket(&run.config.bucket)
        .key(&key)
        .content_type("application/json")
        .body(ByteStream::from(manifest.to_string().into_bytes()))
        .set_expected_bucket_owner(run.config.bucket_owner.clone());
    put = match &run.config.kms_key_id {
        Some(k) => put
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(k),
        None => put.server_side_encryption(ServerSideEncryption::Aes256),
    };
    bounded(run.limit, put.send())
        .await?
        .map_err(|e| s3_error(&e, "write the manifest"))?;
    Ok(format!("s3://{}/{key}", run.config.bucket))
}

/// The bytes on their way to S3: compressed or not, hashed, counted.
struct Sink {
    gzip: Option<GzEncoder<Vec<u8>>>,
    plain: Vec<u8>,
    hash: Sha256,
    uncompressed: u64,
    written: u64,
}

impl Sink {
    fn new(gzip: bool) -> Self {
        Sink {
            gzip: gzip
                .then(|| GzEncoder::new(Vec::with_capacity(PART_SIZE), Compression::default())),
            plain: Vec::with_capacity(if gzip { 0 } else { PART_SIZE }),
            hash: Sha256::new(),
            uncompressed: 0,
            written: 0,
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), ErrorInfo> {
        self.uncompressed += data.len() as u64;
        match &mut self.gzip {
            Some(gz) => gz.write_all(data).map_err(compress_error),
            None => {
                self.plain.extend_from_slice(data);
                Ok(())
            }
        }
    }

    fn buffer(&mut self) -> &mut Vec<u8> {
        match &mut self.gzip {
            Some(gz) => gz.get_mut(),
            None => &mut self.plain,
        }
    }

    fn buffered(&self) -> usize {
        self.gzip
            .as_ref()
            .map_or(self.plain.len(), |gz| gz.get_ref().len())
    }

    /// The bytes ready for a part (hashed and counted).
    fn take(&mut self) -> Vec<u8> {
        let part = std::mem::replace(self.buffer(), Vec::with_capacity(PART_SIZE));
        self.hash.update(&part);
        self.written += part.len() as u64;
        part
    }

    /// The last part, and the totals.
    fn finish(mut self) -> Result<(Vec<u8>, u64, u64, String), ErrorInfo> {
        let last = match self.gzip.take() {
            Some(gz) => gz.finish().map_err(compress_error)?,
            None => std::mem::take(&mut self.plain),
        };
        self.hash.update(&last);
        self.written += last.len() as u64;
        let sha = self
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((last, self.uncompressed, self.written, sha))
    }
}

fn compress_error(e: std::io::Error) -> ErrorInfo {
    ErrorInfo::new(ErrorKind::Export, format!("gzip: {e}"))
}

fn copy_error(e: DbFailure) -> ErrorInfo {
    match e {
        DbFailure::Pg(e) => crate::job::sql_error(&e, Some(1)),
        DbFailure::NoAnswer => ErrorInfo {
            statement: Some(1),
            ..ErrorInfo::new(
                ErrorKind::Timeout,
                "no rows from the database before the run's deadline; the export was abandoned and its upload aborted".into(),
            )
        },
    }
}

fn s3_error<E, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    what: &str,
) -> ErrorInfo
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    ErrorInfo::new(
        ErrorKind::Export,
        format!(
            "cannot {what}: {}",
            explain_aws(
                e,
                "S3",
                "s3:PutObject and s3:AbortMultipartUpload on the export prefix (and kms:GenerateDataKey on EXPORT_KMS_KEY_ID)"
            )
        ),
    )
}

async fn bounded<T>(
    limit: Option<Instant>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ErrorInfo> {
    match limit {
        None => Ok(fut.await),
        Some(at) => tokio::time::timeout_at(at.into(), fut).await.map_err(|_| {
            ErrorInfo::new(
                ErrorKind::Export,
                "no answer from S3 before the run's deadline (check the S3 gateway endpoint or NAT route)".into(),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(uri: &str) -> ExportVars {
        ExportVars {
            uri: Some(uri.into()),
            ..ExportVars::default()
        }
    }

    #[test]
    fn uri_placeholders_and_defaults() {
        let c = ExportConfig::parse(vars(
            "s3://my-bucket/exports/{job}/{scheduled_date}/{job}-{scheduled_time}.csv.gz",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.bucket, "my-bucket");
        assert!(c.gzip && c.header && c.format == ExportFormat::Csv);
        let at = time::macros::datetime!(2026-11-29 02:30:00 UTC);
        assert_eq!(
            c.key("purge", "r1", at),
            "exports/purge/2026-11-29/purge-20261129T023000Z.csv.gz"
        );
        assert!(ExportConfig::parse(ExportVars::default())
            .unwrap()
            .is_none());
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
                ExportConfig::parse(vars(bad))
                    .unwrap_err()
                    .to_string()
                    .contains("EXPORT_S3_URI"),
                "{bad}"
            );
        }
        let e = ExportConfig::parse(vars("s3://bucket/{date}/x.csv")).unwrap_err();
        assert!(e.to_string().contains("{date}"), "{e}");
        let e = ExportConfig::parse(ExportVars {
            format: Some("parquet".into()),
            ..vars("s3://bucket/x")
        })
        .unwrap_err();
        assert!(e.to_string().contains("EXPORT_FORMAT"));
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

    #[test]
    fn sink_hashes_what_it_hands_out() {
        let mut sink = Sink::new(false);
        sink.write(b"a,b\n").unwrap();
        let first = sink.take();
        sink.write(b"c,d\n").unwrap();
        let (last, uncompressed, written, sha) = sink.finish().unwrap();
        assert_eq!([first, last].concat(), b"a,b\nc,d\n");
        assert_eq!((uncompressed, written), (8, 8));
        assert_eq!(sha, sha256_hex(b"a,b\nc,d\n"));
    }
}
