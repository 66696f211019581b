//! Error messages a person can act on: error chains as one sentence (never `Debug` dumps) and
//! AWS SDK failures explained by what failed and what to check.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;

/// `e` and its sources as `a: b: c`, skipping sources already quoted by their parent.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Whether `e` or one of its sources is a `T`.
pub fn has_source<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<T>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// What went wrong calling `service`, and what to check; `access` says which resource and
/// permission the call needs.
pub fn explain_aws<E, R>(e: &SdkError<E, R>, service: &str, access: &str) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
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
                _ => format!("it needs {access}"),
            };
            format!("{service} refused the request: {code}: {message} ({hint})")
        }
        SdkError::ResponseError(_) => format!(
            "{service} sent a response that cannot be read ({network}; a proxy or another service may be answering)"
        ),
        SdkError::ConstructionFailure(_) => format!(
            "cannot build the request to {service}: {} (are AWS credentials and AWS_REGION available?)",
            std::error::Error::source(e).map(chain).unwrap_or_default()
        ),
        _ => chain(e),
    }
}
