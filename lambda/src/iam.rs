//! IAM database authentication: a SigV4-presigned `rds-db:connect` token used as the password.
//!
//! This is the algorithm of `aws_sdk_rds::auth_token` (and `aws rds generate-db-auth-token`),
//! built on `aws-sigv4` directly so the package does not compile the whole RDS API client.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    self, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use thiserror::Error;

/// Lifetime of a token; PostgreSQL checks it only at login.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// A problem producing the IAM token.
#[derive(Debug, Error)]
pub enum IamTokenError {
    #[error("AUTH_MODE=iam needs an AWS region (AWS_REGION is set by Lambda; set it when running locally)")]
    NoRegion,
    #[error(
        "AUTH_MODE=iam needs AWS credentials, but none were found in the standard credential chain"
    )]
    NoCredentialsProvider,
    #[error("AUTH_MODE=iam: cannot load AWS credentials: {0}")]
    Credentials(String),
    #[error("AUTH_MODE=iam: cannot sign the token: {0}")]
    Sign(String),
}

/// Generates a token for `user` at `host:port`, valid for [`TOKEN_LIFETIME`].
pub async fn generate_token(
    sdk: &aws_config::SdkConfig,
    host: &str,
    port: u16,
    user: &str,
) -> Result<String, IamTokenError> {
    let region = sdk.region().ok_or(IamTokenError::NoRegion)?;
    let provider = sdk
        .credentials_provider()
        .ok_or(IamTokenError::NoCredentialsProvider)?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| IamTokenError::Credentials(e.to_string()))?;
    sign_token(
        credentials.into(),
        region.as_ref(),
        host,
        port,
        user,
        SystemTime::now(),
    )
}

fn sign_token(
    identity: Identity,
    region: &str,
    host: &str,
    port: u16,
    user: &str,
    now: SystemTime,
) -> Result<String, IamTokenError> {
    let mut settings = SigningSettings::default();
    settings.expires_in = Some(TOKEN_LIFETIME);
    settings.signature_location = SignatureLocation::QueryParams;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| IamTokenError::Sign(e.to_string()))?;
    let endpoint = format!("{host}:{port}");
    let query = format!("Action=connect&DBUser={}", encode(user));
    let url = format!("https://{endpoint}/?{query}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| IamTokenError::Sign(e.to_string()))?;
    let (instructions, _) = http_request::sign(request, &params.into())
        .map_err(|e| IamTokenError::Sign(e.to_string()))?
        .into_parts();
    let mut token = format!("{endpoint}/?{query}");
    for (name, value) in instructions.params() {
        token.push('&');
        token.push_str(name);
        token.push('=');
        token.push_str(&encode(value));
    }
    Ok(token)
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    #[test]
    fn token_has_the_rds_presigned_shape() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "secret/key",
            Some("tok+en=".into()),
            None,
            "test",
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = sign_token(
            creds.into(),
            "eu-west-1",
            "db.example",
            5432,
            "job_user",
            now,
        )
        .unwrap();
        assert!(
            token.starts_with("db.example:5432/?Action=connect&DBUser=job_user&"),
            "{token}"
        );
        assert!(
            token.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            "{token}"
        );
        assert!(
            token.contains(
                "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-west-1%2Frds-db%2Faws4_request"
            ),
            "{token}"
        );
        assert!(token.contains("X-Amz-Expires=900"), "{token}");
        assert!(
            token.contains("X-Amz-Security-Token=tok%2Ben%3D"),
            "{token}"
        );
        assert!(token.contains("X-Amz-Signature="), "{token}");
        assert!(!token.contains("secret/key") && !token.contains("secret%2Fkey"));
    }
}
