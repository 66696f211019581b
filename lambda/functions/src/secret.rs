//! Database credentials from AWS Secrets Manager (RDS secret JSON format).

use std::fmt;

use std::time::Instant;

use serde_json::Value;
use thiserror::Error;

/// A problem fetching or reading the secret. Messages never include the secret's value.
#[derive(Debug, Error)]
pub enum SecretError {
    #[error("cannot read secret {id} from Secrets Manager: {message}")]
    Fetch { id: String, message: String },
    #[error("secret {id} has no SecretString (binary secrets are not supported); store RDS credentials JSON")]
    NotString { id: String },
    #[error("secret {id} is not valid JSON (expected RDS credentials JSON with username, password, host, port, dbname)")]
    NotJson { id: String },
    #[error("secret {id} is JSON but not an object (expected RDS credentials JSON such as {{\"username\": ..., \"password\": ..., \"host\": ...}})")]
    NotObject { id: String },
    #[error("secret {id} is missing field `{field}` (expected RDS credentials JSON with username, password, host, port, dbname)")]
    MissingField { id: String, field: &'static str },
    #[error("secret {id} field `{field}` must be {expected}")]
    BadField {
        id: String,
        field: &'static str,
        expected: &'static str,
    },
}

/// Credentials in the format of RDS-managed and rotation-function secrets. Host, port and
/// database are optional because RDS-managed master secrets hold only username and password.
#[derive(Clone, PartialEq, Eq)]
pub struct DbSecret {
    pub username: String,
    pub password: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub engine: Option<String>,
}

impl fmt::Debug for DbSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbSecret")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("engine", &self.engine)
            .finish()
    }
}

impl DbSecret {
    /// Parses the secret string; errors name the field but never echo any value.
    pub fn parse(id: &str, text: &str) -> Result<Self, SecretError> {
        let value: Value =
            serde_json::from_str(text).map_err(|_| SecretError::NotJson { id: id.into() })?;
        let obj = value
            .as_object()
            .ok_or_else(|| SecretError::NotObject { id: id.into() })?;
        let string = |field: &'static str, required: bool| -> Result<Option<String>, SecretError> {
            match obj.get(field) {
                None | Some(Value::Null) if required => Err(SecretError::MissingField {
                    id: id.into(),
                    field,
                }),
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if required && s.is_empty() => {
                    Err(SecretError::MissingField {
                        id: id.into(),
                        field,
                    })
                }
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(SecretError::BadField {
                    id: id.into(),
                    field,
                    expected: "a string",
                }),
            }
        };
        let port = match obj.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
            Some(Value::String(s)) => s.trim().parse::<u16>().ok(),
            Some(_) => None,
        };
        if obj.get("port").is_some_and(|p| !p.is_null()) && port.is_none() {
            return Err(SecretError::BadField {
                id: id.into(),
                field: "port",
                expected: "a TCP port number (1-65535)",
            });
        }
        Ok(DbSecret {
            username: string("username", true)?.unwrap_or_default(),
            password: string("password", true)?.unwrap_or_default(),
            host: string("host", false)?,
            port,
            dbname: string("dbname", false)?,
            engine: string("engine", false)?,
        })
    }
}

/// Fetches the current version (`AWSCURRENT`) of the secret, giving up at `limit` (the SDK's
/// own timeouts and retries apply within it).
pub async fn fetch(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    limit: Instant,
) -> Result<DbSecret, SecretError> {
    fetch_stage(client, id, "AWSCURRENT", limit).await
}

/// Fetches the version of the secret that carries `stage` (`AWSCURRENT`, or `AWSPENDING` during
/// a rotation). The stage is always named: some Secrets Manager emulators answer an unqualified
/// request with the version created first rather than the one labelled `AWSCURRENT`.
pub async fn fetch_stage(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    stage: &str,
    limit: Instant,
) -> Result<DbSecret, SecretError> {
    let call = client
        .get_secret_value()
        .secret_id(id)
        .version_stage(stage)
        .send();
    let out = tokio::time::timeout_at(limit.into(), call)
        .await
        .map_err(|_| SecretError::Fetch {
            id: id.into(),
            message: "no answer from Secrets Manager before the run's deadline (check the route from the function to Secrets Manager: a VPC interface endpoint or a NAT gateway, and AWS_ENDPOINT_URL if set)".into(),
        })?
        .map_err(|e| SecretError::Fetch {
            id: id.into(),
            message: crate::aws::explain_aws(
                &e,
                "Secrets Manager",
                "secretsmanager:GetSecretValue on DB_SECRET_ID",
            ),
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| SecretError::NotString { id: id.into() })?;
    DbSecret::parse(id, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rds_format_with_numeric_or_string_port() {
        let s = DbSecret::parse(
            "s",
            r#"{"username":"job","password":"p@ss","host":"db","port":5432,"dbname":"app","engine":"postgres"}"#,
        )
        .unwrap();
        assert_eq!(s.port, Some(5432));
        assert_eq!(s.dbname.as_deref(), Some("app"));
        let s = DbSecret::parse("s", r#"{"username":"job","password":"x","port":"6432"}"#).unwrap();
        assert_eq!(s.port, Some(6432));
        assert_eq!(s.host, None);
    }

    #[test]
    fn errors_name_the_field_and_never_echo_values() {
        let e = DbSecret::parse("s", r#"{"username":"job","host":"db"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `password`"), "{e}");
        let e = DbSecret::parse(
            "s",
            r#"{"username":"job","password":"hunter2","port":"hunter2"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`port`") && !e.contains("hunter2"), "{e}");
        let e = DbSecret::parse("s", "{\"password\": \"hunter2\" oops")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid JSON") && !e.contains("hunter2"),
            "{e}"
        );
        let e = DbSecret::parse("s", r#"["hunter2"]"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not an object") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let s = DbSecret::parse("s", r#"{"username":"job","password":"hunter2"}"#).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
