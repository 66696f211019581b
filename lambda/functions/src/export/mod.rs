//! Extraction jobs (`EXPORT_S3_URI`): the job's one query runs as `COPY (<query>) TO STDOUT`
//! and its rows stream, optionally gzip-compressed, into an S3 multipart upload. Memory holds
//! at most two parts whatever the size; any failure aborts the upload, so no partial object is
//! ever visible under the key and no parts are left behind.

use std::io::Write;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tracing::{info, warn};

mod settings;

pub use settings::{export_query, ExportConfig, ExportConfigError, ExportFormat};

use crate::aws::explain_aws;
use pg_cron_job_core::db::{DbFailure, Session};
use pg_cron_job_core::digest::sha256_hex;
use pg_cron_job_core::outcome::{millis, ErrorInfo, ErrorKind};

/// Size at which a part is uploaded (S3's minimum part size is 5 MiB).
const PART_SIZE: usize = 8 * 1024 * 1024;
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

/// Rows from PostgreSQL into parts; one part uploads while the next fills, and gzip runs on its
/// own thread in parallel with reading rows.
async fn stream(
    session: &Session,
    run: &ExportRun<'_>,
    upload_id: &str,
) -> Result<(Vec<CompletedPart>, ExportResult), ErrorInfo> {
    let copy = copy_statement(run.query, run.config.format, run.config.header);
    let mut parts = Parts::new(run, upload_id);
    let mut rows: u64 = 0;
    let mut uncompressed: u64 = 0;
    let mut header_pending = run.config.header;
    let mut messages = session
        .copy_out(&copy, run.limit)
        .await
        .map_err(copy_error)?;
    let limit = async {
        match run.limit {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(limit);
    let mut gzip = run.config.gzip.then(Compressor::spawn);
    // A row read but not yet accepted by the compressor.
    let mut pending: Option<Bytes> = None;
    let mut copy_done = false;
    loop {
        match &mut gzip {
            None => {
                let next = tokio::select! {
                    next = messages.next() => next,
                    () = &mut limit => return Err(copy_error(DbFailure::NoAnswer)),
                };
                let Some(chunk) = next else { break };
                let chunk = chunk.map_err(|e| copy_error(DbFailure::Pg(e)))?;
                count_row(&mut header_pending, &mut rows);
                uncompressed += chunk.len() as u64;
                parts.push(&chunk).await?;
            }
            Some(compressor) => {
                tokio::select! {
                    out = compressor.output.recv() => match out {
                        Some(bytes) => parts.push(&bytes).await?,
                        None => break,
                    },
                    permit = compressor.input.reserve(), if pending.is_some() => {
                        let permit = permit.map_err(|_| compress_error("the gzip thread stopped"))?;
                        if let Some(chunk) = pending.take() {
                            permit.send(chunk);
                        }
                    }
                    next = messages.next(), if pending.is_none() && !copy_done => match next {
                        Some(chunk) => {
                            let chunk = chunk.map_err(|e| copy_error(DbFailure::Pg(e)))?;
                            count_row(&mut header_pending, &mut rows);
                            uncompressed += chunk.len() as u64;
                            pending = Some(chunk);
                        }
                        None => copy_done = true,
                    },
                    () = &mut limit => return Err(copy_error(DbFailure::NoAnswer)),
                }
                if copy_done && pending.is_none() {
                    compressor.close_input();
                }
            }
        }
    }
    if let Some(compressor) = gzip {
        compressor.join()?;
    }
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
            gzip: run.config.gzip,
            throughput_mb_per_s: 0.0,
            manifest_uri: None,
        },
    ))
}

/// PostgreSQL sends exactly one CopyData message per row (and one for the CSV header).
fn count_row(header_pending: &mut bool, rows: &mut u64) {
    if *header_pending {
        *header_pending = false;
    } else {
        *rows += 1;
    }
}

/// gzip on a thread of its own: rows in, compressed bytes out, both through bounded channels.
struct Compressor {
    input: tokio::sync::mpsc::Sender<Bytes>,
    output: tokio::sync::mpsc::Receiver<Vec<u8>>,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

/// Compressed bytes are handed over in pieces of about this size.
const COMPRESSED_CHUNK: usize = 256 * 1024;

impl Compressor {
    fn spawn() -> Self {
        let (input, mut rows) = tokio::sync::mpsc::channel::<Bytes>(256);
        let (out, output) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        let thread = std::thread::spawn(move || {
            let mut gz = GzEncoder::new(
                Vec::with_capacity(2 * COMPRESSED_CHUNK),
                Compression::default(),
            );
            while let Some(row) = rows.blocking_recv() {
                gz.write_all(&row)?;
                if gz.get_ref().len() >= COMPRESSED_CHUNK {
                    let chunk =
                        std::mem::replace(gz.get_mut(), Vec::with_capacity(2 * COMPRESSED_CHUNK));
                    if out.blocking_send(chunk).is_err() {
                        return Ok(());
                    }
                }
            }
            let rest = gz.finish()?;
            let _ = out.blocking_send(rest);
            Ok(())
        });
        Compressor {
            input,
            output,
            thread,
        }
    }

    /// No more rows: the thread finishes the gzip stream and closes `output` (idempotent).
    fn close_input(&mut self) {
        if !self.input.is_closed() {
            let (closed, _) = tokio::sync::mpsc::channel(1);
            drop(std::mem::replace(&mut self.input, closed));
        }
    }

    fn join(self) -> Result<(), ErrorInfo> {
        drop(self.output);
        match self.thread.join() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(compress_error(&e.to_string())),
            Err(_) => Err(compress_error("the gzip thread panicked")),
        }
    }
}

/// The bytes on their way to S3: cut into parts, hashed, counted; one part in flight.
struct Parts<'r, 'a> {
    run: &'r ExportRun<'a>,
    upload_id: &'r str,
    buffer: Vec<u8>,
    hash: Sha256,
    written: u64,
    done: Vec<CompletedPart>,
    in_flight: Option<JoinHandle<Result<CompletedPart, ErrorInfo>>>,
}

impl<'r, 'a> Parts<'r, 'a> {
    fn new(run: &'r ExportRun<'a>, upload_id: &'r str) -> Self {
        Parts {
            run,
            upload_id,
            buffer: Vec::with_capacity(PART_SIZE),
            hash: Sha256::new(),
            written: 0,
            done: Vec::new(),
            in_flight: None,
        }
    }

    async fn push(&mut self, bytes: &[u8]) -> Result<(), ErrorInfo> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PART_SIZE {
            let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
            self.send(part).await?;
        }
        Ok(())
    }

    async fn send(&mut self, part: Vec<u8>) -> Result<(), ErrorInfo> {
        if let Some(previous) = self.in_flight.take() {
            self.done.push(join(previous).await?);
        }
        self.hash.update(&part);
        self.written += part.len() as u64;
        let number = i32::try_from(self.done.len() + 1).unwrap_or(i32::MAX);
        self.in_flight = Some(spawn_part(self.run, self.upload_id, number, part));
        Ok(())
    }

    /// Uploads the last part; returns the parts, the object's size and its SHA-256.
    async fn finish(mut self) -> Result<(Vec<CompletedPart>, u64, String), ErrorInfo> {
        let last = std::mem::take(&mut self.buffer);
        if !last.is_empty() || (self.done.is_empty() && self.in_flight.is_none()) {
            self.send(last).await?;
        }
        if let Some(previous) = self.in_flight.take() {
            self.done.push(join(previous).await?);
        }
        let sha = self
            .hash
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((self.done, self.written, sha))
    }
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

fn compress_error(why: &str) -> ErrorInfo {
    ErrorInfo::new(ErrorKind::Export, format!("gzip: {why}"))
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
    }
}

fn s3_error<E>(
    e: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
    what: &str,
) -> ErrorInfo
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
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
