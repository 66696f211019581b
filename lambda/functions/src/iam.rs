//! IAM database authentication: the token `aws_sdk_rds::auth_token` signs (a SigV4-presigned
//! `rds-db:connect` URL), used as the password.

use std::time::Duration;

use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config};
use thiserror::Error;

/// Lifetime of a token; PostgreSQL checks it only at login.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// A problem producing the IAM token.
#[derive(Debug, Error)]
pub enum IamTokenError {
    #[error("AUTH_MODE=iam needs an AWS region (AWS_REGION is set by Lambda; set it when running locally)")]
    NoRegion,
    #[error("AUTH_MODE=iam: cannot sign the token (are the function's role credentials available?): {0}")]
    Sign(String),
}

/// Generates a token for `user` at `host:port`, valid for [`TOKEN_LIFETIME`].
pub async fn generate_token(
    sdk: &aws_config::SdkConfig,
    host: &str,
    port: u16,
    user: &str,
) -> Result<String, IamTokenError> {
    let region = sdk.region().ok_or(IamTokenError::NoRegion)?.clone();
    let config = Config::builder()
        .hostname(host)
        .port(u64::from(port))
        .username(user)
        .region(region)
        .expires_in(TOKEN_LIFETIME.as_secs())
        .build()
        .map_err(|e| IamTokenError::Sign(e.to_string()))?;
    AuthTokenGenerator::new(config)
        .auth_token(sdk)
        .await
        .map(|t| t.as_str().to_string())
        .map_err(|e| IamTokenError::Sign(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{
        self, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    use aws_smithy_async::time::StaticTimeSource;
    use aws_smithy_runtime_api::client::identity::Identity;

    use super::*;

    fn query(token: &str) -> Vec<(String, String)> {
        let (_, q) = token.split_once("/?").unwrap();
        q.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                let v = percent_decode(v);
                (k.to_string(), v)
            })
            .collect()
    }

    fn percent_decode(v: &str) -> String {
        let b = v.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// A verifier as RDS would do it: recompute the presigned URL's signature from the same
    /// credentials at the token's own X-Amz-Date, and check host, port, user and expiry.
    #[tokio::test]
    async fn token_verifies_against_a_recomputed_sigv4_signature() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "secret/key",
            Some("tok+en=".into()),
            None,
            "test",
        );
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
            .time_source(StaticTimeSource::new(now))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let token = generate_token(&sdk, "db.example", 5432, "job_user")
            .await
            .unwrap();
        assert!(token.starts_with("db.example:5432/?"), "{token}");
        let q = query(&token);
        let get = |k: &str| {
            q.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("Action"), "connect");
        assert_eq!(get("DBUser"), "job_user");
        assert_eq!(get("X-Amz-Expires"), "900");
        assert_eq!(get("X-Amz-Date"), "20231114T221320Z");
        assert_eq!(
            get("X-Amz-Credential"),
            "AKIDEXAMPLE/20231114/eu-west-1/rds-db/aws4_request"
        );
        assert_eq!(get("X-Amz-Security-Token"), "tok+en=");
        assert!(!token.contains("secret/key") && !token.contains("secret%2Fkey"));

        let mut settings = SigningSettings::default();
        settings.expires_in = Some(TOKEN_LIFETIME);
        settings.signature_location = SignatureLocation::QueryParams;
        let identity: Identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("rds-db")
            .time(now)
            .settings(settings)
            .build()
            .unwrap();
        let url = "https://db.example:5432/?Action=connect&DBUser=job_user";
        let request =
            SignableRequest::new("GET", url, std::iter::empty(), SignableBody::empty()).unwrap();
        let (_, signature) = http_request::sign(request, &params.into())
            .unwrap()
            .into_parts();
        assert_eq!(get("X-Amz-Signature"), signature);
        let other = query(
            &generate_token(&sdk, "db.example", 5433, "job_user")
                .await
                .unwrap(),
        );
        let other_signature = other
            .iter()
            .find(|(n, _)| n == "X-Amz-Signature")
            .map(|(_, v)| v);
        assert_ne!(other_signature, Some(&signature), "the port is signed");
    }
}
