//! The run-time error vocabulary: what kind of thing failed and the message a person reads.
//! A leaf module: it depends on nothing else in the workspace.

use serde::Serialize;

/// Category of a failure, so alarms and humans can tell configuration from SQL problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad or missing environment variable.
    Config,
    /// Secrets Manager could not be read, or the secret is malformed.
    Secret,
    /// IAM token could not be produced.
    Iam,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// PostgreSQL rejected the credentials.
    Auth,
    /// TCP connection or server start-up problem.
    Connect,
    /// A statement failed.
    Sql,
    /// PostgreSQL cancelled a statement at its timeout (SQLSTATE 57014).
    Timeout,
    /// Not enough time was left before the invocation deadline to start a statement.
    Deadline,
    /// The run history table could not be written.
    History,
    /// An export could not be written to S3.
    Export,
    /// Anything else (a bug).
    Internal,
}

impl ErrorKind {
    /// The snake_case name used in JSON and in the history table.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Secret => "secret",
            ErrorKind::Iam => "iam",
            ErrorKind::Tls => "tls",
            ErrorKind::Auth => "auth",
            ErrorKind::Connect => "connect",
            ErrorKind::Sql => "sql",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Deadline => "deadline",
            ErrorKind::History => "history",
            ErrorKind::Export => "export",
            ErrorKind::Internal => "internal",
        }
    }
}

/// What failed, with PostgreSQL's SQLSTATE when it gave one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorInfo {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// 1-based index of the statement that failed, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    /// Line of that statement in the script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl ErrorInfo {
    /// An error without SQLSTATE or statement index.
    pub fn new(kind: ErrorKind, message: String) -> Self {
        ErrorInfo {
            kind,
            message,
            code: None,
            statement: None,
            line: None,
        }
    }

    /// Whether PostgreSQL itself reported it (SQLSTATE), so the session is still usable.
    pub fn reported_by_server(&self) -> bool {
        self.code.is_some()
    }
}

/// Whole milliseconds of a duration, saturating.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
