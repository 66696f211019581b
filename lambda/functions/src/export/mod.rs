//! Extraction jobs (`EXPORT_S3_URI`): the job's one query runs as `COPY (<query>) TO STDOUT`
//! and its rows stream, optionally compressed on several threads ([`compress`]), into an S3
//! multipart upload ([`parts`]). Memory holds a few blocks and parts whatever the size; any
//! failure aborts the upload, so no partial object is ever visible under the key and no parts
//! are left behind.

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use futures_util::StreamExt;
use serde::Serialize;
use tracing::{info, warn};

mod calls;
mod compress;
mod parts;
mod settings;

use calls::{bounded, s3_error, until};
use compress::{CompressError, Pool, BLOCK};
use parts::{Parts, UploadTarget};
pub use settings::{export_query, Compression, ExportConfig, ExportConfigError, ExportFormat};

use crate::aws::explain_aws;
use pg_cron_job_core::db::{DbFailure, Session};
use pg_cron_job_core::digest::sha256_hex;
use pg_cron_job_core::outcome::{millis, ErrorInfo, ErrorKind};

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
    /// Whether the object is gzip (kept beside `compression` for readers of earlier results).
    pub gzip: bool,
    pub compression: Compression,
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
    if let Some(encoding) = run.config.compression.content_encoding() {
        create = create.content_encoding(encoding);
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

/// Rows from PostgreSQL into blocks, blocks compressed in parallel, compressed blocks in order
/// into parts, parts uploaded while the next fill.
async fn stream(
    session: &Session,
    run: &ExportRun<'_>,
    upload_id: &str,
) -> Result<(Vec<CompletedPart>, ExportResult), ErrorInfo> {
    let copy = copy_statement(run.query, run.config.format, run.config.header);
    let mut parts = Parts::new(UploadTarget {
        s3: run.s3,
        bucket: &run.config.bucket,
        key: &run.key,
        upload_id,
        bucket_owner: run.config.bucket_owner.as_deref(),
        limit: run.limit,
    });
    let mut pool = (run.config.compression != Compression::None)
        .then(|| Pool::new(run.config.compression, run.config.level, run.config.threads));
    let mut uncompressed: u64 = 0;
    let rows_before = session.copy_rows();
    let mut messages = session
        .copy_out(&copy, run.limit)
        .await
        .map_err(copy_error)?;
    // Blocks are for the compressors; without compression the parts are the only buffer.
    let mut block = Vec::with_capacity(if pool.is_some() { BLOCK } else { 0 });
    loop {
        let next = until(run.limit, messages.next())
            .await
            .ok_or_else(|| copy_error(DbFailure::NoAnswer))?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| copy_error(DbFailure::Pg(e)))?;
        uncompressed += chunk.len() as u64;
        let Some(pool) = &mut pool else {
            parts.push(&chunk).await?;
            continue;
        };
        block.extend_from_slice(&chunk);
        if block.len() >= BLOCK {
            let full = std::mem::replace(&mut block, Vec::with_capacity(BLOCK));
            hand_on(pool, &mut parts, full, run.limit).await?;
        }
    }
    if let Some(pool) = &mut pool {
        if !block.is_empty() {
            hand_on(pool, &mut parts, block, run.limit).await?;
        }
        while let Some(compressed) = until(run.limit, pool.next())
            .await
            .ok_or_else(compress_deadline)?
        {
            parts.push(&compressed.map_err(compress_error)?).await?;
        }
    }
    // PostgreSQL sends one CopyData message per row, and one for the CSV header.
    let messages = session.copy_rows().saturating_sub(rows_before);
    let rows = messages.saturating_sub(u64::from(run.config.header));
    let (parts, bytes_written, sha256) = parts.finish().await?;
    Ok((
        parts,
        ExportResult {
            s3_uri: String::new(),
            rows_exported: rows,
            bytes_written,
            bytes_uncompressed: uncompressed,
            sha256,
            format: run.config.format,
            gzip: run.config.compression == Compression::Gzip,
            compression: run.config.compression,
            throughput_mb_per_s: 0.0,
            manifest_uri: None,
        },
    ))
}

/// A full block to the compressors (waiting for the oldest when all are busy); compressed
/// blocks that are ready go on to the parts in order.
async fn hand_on(
    pool: &mut Pool,
    parts: &mut Parts<'_>,
    block: Vec<u8>,
    limit: Option<Instant>,
) -> Result<(), ErrorInfo> {
    while !pool.has_room() || pool.oldest_done() {
        match until(limit, pool.next())
            .await
            .ok_or_else(compress_deadline)?
        {
            Some(compressed) => parts.push(&compressed.map_err(compress_error)?).await?,
            None => break,
        }
    }
    pool.start(block);
    Ok(())
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
        "compression": result.compression,
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

fn compress_error(e: CompressError) -> ErrorInfo {
    ErrorInfo::new(ErrorKind::Export, format!("compression: {e}"))
}

fn copy_error(e: DbFailure) -> ErrorInfo {
    match e {
        DbFailure::Pg(e) => pg_cron_job_core::pg_error::sql_error(&e, Some(1)),
        DbFailure::NoAnswer => ErrorInfo {
            statement: Some(1),
            ..ErrorInfo::new(
                ErrorKind::Timeout,
                "no rows from the database before the run's deadline; the export was abandoned and its upload aborted".into(),
            )
        },
        DbFailure::Io(why) => ErrorInfo {
            statement: Some(1),
            ..ErrorInfo::new(ErrorKind::Export, why)
        },
    }
}

fn compress_deadline() -> ErrorInfo {
    compress_error(CompressError::Thread(
        "a block was still being compressed at the run's deadline".into(),
    ))
}
