//! What every function of the package shares to call AWS: one SDK configuration with bounded
//! waits, and AWS failures explained by what failed and what to check.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use pg_cron_job_core::error_text::chain;

/// AWS API calls: time to open a connection, to wait for a response, per attempt, and in all
/// (attempts included). A silent endpoint fails the call in seconds instead of hanging.
pub const AWS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const AWS_READ_TIMEOUT: Duration = Duration::from_secs(5);
const AWS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(6);
pub const AWS_OPERATION_TIMEOUT: Duration = Duration::from_secs(15);
const AWS_MAX_ATTEMPTS: u32 = 3;
/// The AWS SDK configuration shared by every client: bounded connect, read, attempt and
/// operation times, standard retries.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::from_env()
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(AWS_CONNECT_TIMEOUT)
                .read_timeout(AWS_READ_TIMEOUT)
                .operation_attempt_timeout(AWS_ATTEMPT_TIMEOUT)
                .operation_timeout(AWS_OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS))
        .load()
        .await
}

/// The Secrets Manager client, its responses capped (a secret is at most 64 KB; an endless
/// body from something posing as Secrets Manager ends the call).
pub fn secrets_client(sdk: &aws_config::SdkConfig) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk)
        .interceptor(crate::capped_body::CapResponseBody {
            limit: SECRETS_RESPONSE_BYTES,
        })
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// The largest Secrets Manager response read: a secret's value is at most 65,536 bytes, JSON
/// escaping can double it, plus the response's other fields.
pub const SECRETS_RESPONSE_BYTES: usize = 256 * 1024;

/// Error codes AWS uses for throttling.
fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestThrottled"
            | "ProvisionedThroughputExceededException"
    )
}

/// HTTPS for every AWS call (and the credential providers): rustls with ring, the system's
/// root certificates.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// What went wrong calling `service`, and what to check; `access` says which resource and
/// permission the call needs.
pub fn explain_aws<E>(e: &SdkError<E, HttpResponse>, service: &str, access: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let network = format!(
        "check the route from the function to {service}: a VPC interface endpoint (its security group must admit the function's) or a NAT gateway, and AWS_ENDPOINT_URL if set"
    );
    match e {
        SdkError::TimeoutError(_) => {
            format!("no answer from {service} in time ({network})")
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "timed out connecting"
            } else if d.is_io() {
                "network error"
            } else if d.is_user() {
                "request rejected before sending"
            } else {
                "cannot send the request"
            };
            let detail = std::error::Error::source(e).map(chain).unwrap_or_default();
            format!("cannot reach {service}: {what}: {detail} ({network})")
        }
        SdkError::ServiceError(s) if s.err().code().is_none() => {
            let raw = s.raw();
            let content_type = raw
                .headers()
                .get("content-type")
                .unwrap_or("no content type");
            format!(
                "{service} sent a response that cannot be read: HTTP {} ({content_type}) without an AWS error code; a proxy or another service may be answering ({network})",
                raw.status().as_u16()
            )
        }
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("error");
            let message = err.message().unwrap_or("no message");
            let hint = match code {
                "AccessDeniedException" | "AccessDenied" | "UnrecognizedClientException" => {
                    format!("the function's role needs {access}")
                }
                "ResourceNotFoundException" => format!("check that {access} names an existing resource in this account and region"),
                "DecryptionFailure" | "KMSAccessDeniedException" => {
                    "the role needs kms:Decrypt on the key that encrypts it".to_string()
                }
                _ if is_throttling(code) => format!(
                    "{service} is limiting this account's request rate; the call was tried {AWS_MAX_ATTEMPTS} times with backoff (not a permission problem)"
                ),
                _ if s.raw().status().is_server_error() => format!(
                    "HTTP {}: a failure on {service}'s side, tried {AWS_MAX_ATTEMPTS} times (not a permission problem; an endpoint that is not {service} answers like this too: check AWS_ENDPOINT_URL and proxies)",
                    s.raw().status().as_u16()
                ),
                _ => format!("the request was for {access}"),
            };
            format!("{service} refused the request: {code}: {message} ({hint})")
        }
        SdkError::ResponseError(_) => format!(
            "{service} sent a response that cannot be read: {} ({network}; a proxy or another service may be answering)",
            std::error::Error::source(e).map(chain).unwrap_or_default()
        ),
        SdkError::ConstructionFailure(_) => format!(
            "cannot build the request to {service}: {} (are AWS credentials and AWS_REGION available?)",
            std::error::Error::source(e).map(chain).unwrap_or_default()
        ),
        _ => chain(e),
    }
}
