//! The export's calls to S3, each bounded by the run's deadline and explained when refused.

use std::time::Instant;

use crate::aws::explain_aws;
use pg_cron_job_core::outcome::{ErrorInfo, ErrorKind};

/// `fut`'s output, or `None` when `limit` passes first.
pub async fn until<T>(
    limit: Option<Instant>,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    match limit {
        None => Some(fut.await),
        Some(at) => tokio::time::timeout_at(at.into(), fut).await.ok(),
    }
}

/// An S3 call bounded by the run's deadline.
pub async fn bounded<T>(
    limit: Option<Instant>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ErrorInfo> {
    until(limit, fut).await.ok_or_else(|| {
        ErrorInfo::new(
            ErrorKind::Export,
            "no answer from S3 before the run's deadline (check the S3 gateway endpoint or NAT route)".into(),
        )
    })
}

pub fn s3_error<E>(
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
