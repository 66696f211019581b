//! The object's bytes on their way to S3: cut into parts of [`PART_SIZE`], hashed and counted
//! in order, and uploaded with at most [`UPLOADS`] parts in flight (memory holds those and the
//! part being filled, whatever the export's size).

use std::collections::VecDeque;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::CompletedPart;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::calls::{bounded, s3_error};
use pg_cron_job_core::outcome::{ErrorInfo, ErrorKind};

/// The multipart upload the parts belong to.
#[derive(Clone, Copy)]
pub struct UploadTarget<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    pub bucket: &'a str,
    pub key: &'a str,
    pub upload_id: &'a str,
    pub bucket_owner: Option<&'a str>,
    /// No upload waits past this.
    pub limit: Option<Instant>,
}

/// Size at which a part is uploaded (S3's minimum part size is 5 MiB; 10,000 parts of 8 MiB
/// make objects of up to 78 GiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading at once.
pub const UPLOADS: usize = 3;

type Upload = JoinHandle<Result<CompletedPart, ErrorInfo>>;

pub struct Parts<'a> {
    target: UploadTarget<'a>,
    buffer: Vec<u8>,
    hash: Sha256,
    written: u64,
    numbered: i32,
    done: Vec<CompletedPart>,
    in_flight: VecDeque<Upload>,
}

impl<'a> Parts<'a> {
    pub fn new(target: UploadTarget<'a>) -> Self {
        Parts {
            target,
            buffer: Vec::with_capacity(PART_SIZE),
            hash: Sha256::new(),
            written: 0,
            numbered: 0,
            done: Vec::new(),
            in_flight: VecDeque::new(),
        }
    }

    pub async fn push(&mut self, bytes: &[u8]) -> Result<(), ErrorInfo> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PART_SIZE {
            let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(PART_SIZE));
            self.send(part).await?;
        }
        Ok(())
    }

    async fn send(&mut self, part: Vec<u8>) -> Result<(), ErrorInfo> {
        while self.in_flight.len() >= UPLOADS {
            self.complete_oldest().await?;
        }
        self.hash.update(&part);
        self.written += part.len() as u64;
        self.numbered += 1;
        self.in_flight
            .push_back(spawn_part(&self.target, self.numbered, part));
        Ok(())
    }

    async fn complete_oldest(&mut self) -> Result<(), ErrorInfo> {
        if let Some(oldest) = self.in_flight.pop_front() {
            let part = oldest.await.map_err(|e| {
                ErrorInfo::new(ErrorKind::Internal, format!("part upload task failed: {e}"))
            })??;
            self.done.push(part);
        }
        Ok(())
    }

    /// Uploads the last part; returns the parts, the object's size and its SHA-256.
    pub async fn finish(mut self) -> Result<(Vec<CompletedPart>, u64, String), ErrorInfo> {
        let last = std::mem::take(&mut self.buffer);
        if !last.is_empty() || self.numbered == 0 {
            self.send(last).await?;
        }
        while !self.in_flight.is_empty() {
            self.complete_oldest().await?;
        }
        let sha = std::mem::take(&mut self.hash)
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok((std::mem::take(&mut self.done), self.written, sha))
    }
}

impl Drop for Parts<'_> {
    /// A failed export stops its uploads before the multipart upload is aborted.
    fn drop(&mut self) {
        for upload in &self.in_flight {
            upload.abort();
        }
    }
}

fn spawn_part(target: &UploadTarget<'_>, number: i32, body: Vec<u8>) -> Upload {
    let call = target
        .s3
        .upload_part()
        .bucket(target.bucket)
        .key(target.key)
        .upload_id(target.upload_id)
        .part_number(number)
        .body(ByteStream::from(body))
        .set_expected_bucket_owner(target.bucket_owner.map(str::to_string))
        .send();
    let limit = target.limit;
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
