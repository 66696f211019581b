//! One PostgreSQL session per run, on `tokio-postgres` (the engine under the `postgres` crate)
//! so that every wait can be bounded: the connect budget covers TCP, TLS handshake, start-up
//! and authentication; statement results are counted from command tags while rows are
//! discarded as they arrive; every call takes a limit after which the session gives up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, StreamExt};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, Socket};
use tracing::warn;

use crate::bounded::{BoundedTls, Limits, Violation};

/// TCP keepalive: idle time before probing, probe interval, probes before giving up. A dead
/// peer (half-open connection) is noticed within about 30 s even mid-statement.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_RETRIES: u32 = 3;
/// Sent data left unacknowledged this long closes the connection (Linux `TCP_USER_TIMEOUT`).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a database call did not return a result.
#[derive(Debug)]
pub enum DbFailure {
    /// PostgreSQL or the connection reported an error.
    Pg(tokio_postgres::Error),
    /// Nothing came back before the limit; the call was abandoned.
    NoAnswer,
}

impl From<tokio_postgres::Error> for DbFailure {
    fn from(e: tokio_postgres::Error) -> Self {
        DbFailure::Pg(e)
    }
}

/// Where and as whom to connect, with the connection's keepalive and TLS settings.
pub struct ConnectParams<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
    pub password: &'a str,
    pub dbname: &'a str,
    pub application_name: &'a str,
    /// Connect to this address instead of resolving `host` (TLS still verifies `host`).
    pub hostaddr: Option<std::net::IpAddr>,
    /// Budget for the whole connection: TCP, TLS, start-up and authentication.
    pub budget: Duration,
    /// What the server may send (see [`crate::bounded`]).
    pub limits: Limits,
}

/// How long [`Session::close`] waits for the server to take the goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// An open session. [`Session::close`] says goodbye (a Terminate message, as psql does, so the
/// server logs no "connection reset"); dropping it cuts the connection.
pub struct Session {
    client: Client,
    /// The first bound the server broke, if any.
    violation: Violation,
    /// `None` once [`Session::close`] took it.
    connection: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            connection.abort();
        }
    }
}

/// Opens a session within `params.budget`; `tls` is `None` for `PGSSLMODE=disable`.
pub async fn connect(
    params: &ConnectParams<'_>,
    tls: Option<&MakeTlsConnector>,
) -> Result<Session, DbFailure> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(params.host)
        .port(params.port)
        .user(params.user)
        .password(params.password)
        .dbname(params.dbname)
        .application_name(params.application_name)
        .connect_timeout(params.budget)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .tcp_user_timeout(TCP_USER_TIMEOUT);
    if let Some(addr) = params.hostaddr {
        pg.hostaddr(addr);
    }
    let violation = Violation::default();
    match tls {
        Some(tls) => {
            pg.ssl_mode(tokio_postgres::config::SslMode::Require);
            let bounded = BoundedTls::new(tls.clone(), params.limits, Arc::clone(&violation));
            connect_with(pg, bounded, params.budget, violation).await
        }
        None => {
            pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
            connect_with(pg, NoTls, params.budget, violation).await
        }
    }
}

async fn connect_with<T>(
    pg: tokio_postgres::Config,
    tls: T,
    budget: Duration,
    violation: Violation,
) -> Result<Session, DbFailure>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = tokio::time::timeout(budget, pg.connect(tls))
        .await
        .map_err(|_| DbFailure::NoAnswer)??;
    let connection = tokio::spawn(async move {
        if let Err(e) = connection.await {
            warn!(error = %e, "database connection ended with an error");
        }
    });
    Ok(Session {
        client,
        violation,
        connection: Some(connection),
    })
}

/// Waits for `fut` until `limit` (no limit when `None`).
async fn bounded<T>(
    limit: Option<Instant>,
    fut: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, DbFailure> {
    match limit {
        None => Ok(fut.await?),
        Some(at) => tokio::time::timeout_at(at.into(), fut)
            .await
            .map_err(|_| DbFailure::NoAnswer)?
            .map_err(DbFailure::Pg),
    }
}

impl Session {
    /// The bound the server broke (the session was ended for it), if any.
    pub fn violation(&self) -> Option<String> {
        self.violation.lock().ok().and_then(|v| v.clone())
    }

    /// Whether the connection is gone (the server closed it or terminated the backend).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Ends the session cleanly: dropping the client makes the connection send Terminate and
    /// close; waits for that at most [`CLOSE_WAIT`] and never past `limit`, then cuts the
    /// connection.
    pub async fn close(mut self, limit: Option<Instant>) {
        let connection = self.connection.take();
        drop(self);
        let wait = limit.map_or(CLOSE_WAIT, |l| {
            CLOSE_WAIT.min(l.saturating_duration_since(Instant::now()))
        });
        if let Some(mut connection) = connection {
            if tokio::time::timeout(wait, &mut connection).await.is_err() {
                connection.abort();
            }
        }
    }

    /// Runs `sql` (one or more statements) with the simple query protocol, as psql does;
    /// returns the rows affected or returned, counted from the command tags. Rows are dropped
    /// as they arrive, so memory does not grow with the result.
    pub async fn simple(&self, sql: &str, limit: Option<Instant>) -> Result<u64, DbFailure> {
        bounded(limit, async {
            let stream = self.client.simple_query_raw(sql).await?;
            pin_mut!(stream);
            let mut rows = 0u64;
            while let Some(message) = stream.next().await {
                if let SimpleQueryMessage::CommandComplete(n) = message? {
                    rows += n;
                }
            }
            Ok(rows)
        })
        .await
    }

    /// The first column of the first row `sql` returns, as text.
    pub async fn scalar(
        &self,
        sql: &str,
        limit: Option<Instant>,
    ) -> Result<Option<String>, DbFailure> {
        bounded(limit, async {
            let stream = self.client.simple_query_raw(sql).await?;
            pin_mut!(stream);
            let mut first = None;
            while let Some(message) = stream.next().await {
                if let SimpleQueryMessage::Row(row) = message? {
                    if first.is_none() {
                        first = Some(row.get(0).map(str::to_string));
                    }
                }
            }
            Ok(first.flatten())
        })
        .await
    }

    /// Starts `COPY ... TO STDOUT`; the stream yields one chunk per row as it arrives.
    pub async fn copy_out(
        &self,
        sql: &str,
        limit: Option<Instant>,
    ) -> Result<std::pin::Pin<Box<tokio_postgres::CopyOutStream>>, DbFailure> {
        bounded(limit, async {
            Ok(Box::pin(self.client.copy_out(sql).await?))
        })
        .await
    }

    /// Runs one parameterised statement; returns the rows affected.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        limit: Option<Instant>,
    ) -> Result<u64, DbFailure> {
        bounded(limit, self.client.execute(sql, params)).await
    }

    /// Runs one parameterised query and returns its single row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        limit: Option<Instant>,
    ) -> Result<tokio_postgres::Row, DbFailure> {
        bounded(limit, self.client.query_one(sql, params)).await
    }
}
