//! PostgreSQL errors translated, in one place, into the run-time vocabulary: SQLSTATE errors as
//! the server sent them, lost connections and unanswered calls explained.

use tokio_postgres::Error as PgError;

use crate::db::DbFailure;
use crate::error_text::chain;
use crate::outcome::{ErrorInfo, ErrorKind};

/// An error from a database call: SQLSTATE errors as they are, the rest explained.
pub fn failure(e: DbFailure, statement: Option<usize>, what: &str) -> ErrorInfo {
    match e {
        DbFailure::Pg(e) => sql_error(&e, statement),
        DbFailure::NoAnswer => ErrorInfo {
            statement,
            ..ErrorInfo::new(
                ErrorKind::Timeout,
                format!(
                    "no answer from the database before the run's deadline while trying to {what}; the connection was closed, so the server cancels the statement (outcome unknown unless TRANSACTION=true): check the database's health and the network"
                ),
            )
        },
        DbFailure::Io(why) => ErrorInfo {
            statement,
            ..ErrorInfo::new(ErrorKind::Connect, why)
        },
    }
}

/// An error from a statement (or session set-up), with SQLSTATE.
pub fn sql_error(e: &PgError, statement: Option<usize>) -> ErrorInfo {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code().to_string();
            let kind = if code == "57014" {
                ErrorKind::Timeout
            } else {
                ErrorKind::Sql
            };
            let mut message = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                message.push_str(&format!(" DETAIL: {detail}"));
            }
            if let Some(hint) = db.hint() {
                message.push_str(&format!(" HINT: {hint}"));
            }
            if kind == ErrorKind::Timeout {
                message.push_str(
                    " (statement timeout: STATEMENT_TIMEOUT_MS or the invocation deadline)",
                );
            }
            ErrorInfo {
                code: Some(code),
                statement,
                ..ErrorInfo::new(kind, message)
            }
        }
        None => {
            let chain = chain(e);
            let message = if chain.contains("unexpected message") {
                format!("{chain}: the server answered with a COPY data stream or another reply a scheduled job cannot take (COPY ... TO STDOUT / FROM STDIN is not supported)")
            } else if e.is_closed() || chain.contains("closed") {
                format!("{chain}: the connection to the database was lost (restart, failover or network); the statement's outcome is unknown unless TRANSACTION=true")
            } else {
                chain
            };
            ErrorInfo {
                statement,
                ..ErrorInfo::new(ErrorKind::Connect, message)
            }
        }
    }
}

/// Where a failed connection was going, for [`connect_error`].
pub struct ConnectTarget<'a> {
    pub host: &'a str,
    pub port: u16,
    pub ssl_mode: crate::tls::SslMode,
    pub root_cert: Option<&'a std::path::Path>,
    /// The connect budget that ran out, for "no answer" failures.
    pub budget: std::time::Duration,
    /// What to check when the server refuses the login (SQLSTATE class 28).
    pub auth_hint: &'a str,
}

/// A failed connection attempt explained: a refused login (`auth`, with SQLSTATE), a TLS
/// handshake or certificate problem (`tls`, which check failed), or the network (`connect`).
pub fn connect_error(e: &DbFailure, target: &ConnectTarget<'_>) -> ErrorInfo {
    let (host, port) = (target.host, target.port);
    let e = match e {
        DbFailure::NoAnswer => {
            return ErrorInfo::new(
                ErrorKind::Connect,
                format!(
                    "no answer from {host}:{port} within {} ms while connecting (check the network path, the security groups and PGCONNECT_TIMEOUT)",
                    target.budget.as_millis()
                ),
            )
        }
        DbFailure::Io(why) => {
            return ErrorInfo::new(
                ErrorKind::Connect,
                format!("{why} (check PGHOST/PGPORT, the security groups and PGCONNECT_TIMEOUT)"),
            )
        }
        DbFailure::Pg(e) => e,
    };
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = if code.starts_with("28") {
            ErrorKind::Auth
        } else {
            ErrorKind::Connect
        };
        let mut message = format!("{}: {}", db.severity(), db.message());
        if kind == ErrorKind::Auth && !target.auth_hint.is_empty() {
            message.push_str(&format!(" ({})", target.auth_hint));
        }
        return ErrorInfo {
            code: Some(code.into()),
            ..ErrorInfo::new(kind, message)
        };
    }
    let chain = chain(e);
    if crate::error_text::has_source::<native_tls::Error>(e) {
        return ErrorInfo::new(
            ErrorKind::Tls,
            crate::tls::explain_handshake_error(&chain, target.ssl_mode, host, target.root_cert),
        );
    }
    ErrorInfo::new(
        ErrorKind::Connect,
        format!("cannot connect to {host}:{port}: {chain} (check PGHOST/PGPORT, the security groups and PGCONNECT_TIMEOUT)"),
    )
}
