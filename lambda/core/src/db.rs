//! One PostgreSQL session per run, on `tokio-postgres` (the engine under the `postgres` crate)
//! so that every wait can be bounded: the connect budget covers TCP, TLS handshake, start-up
//! and authentication; statement results are counted from command tags while rows are
//! discarded as they arrive; every call takes a limit after which the session gives up.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::{pin_mut, StreamExt};
use postgres_native_tls::MakeTlsConnector;
use socket2::{SockRef, TcpKeepalive};
use tokio::time::Sleep;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, NoTls, SimpleQueryMessage};
use tracing::warn;

use crate::bounded::{Bounded, BoundedTls, Limits, TransactionStatus, Wire};
use crate::notices::{NoticeSummary, Notices};

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
    /// The connection could not be made (sessions without TLS, which connect themselves).
    Io(String),
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

/// Turns row skipping off when the call that turned it on ends (or is abandoned).
struct KeepRowsOnDrop<'a>(&'a Wire);

impl Drop for KeepRowsOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set_drop_rows(false);
    }
}

/// How long [`Session::close`] waits for the server to take the goodbye.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// An open session. [`Session::close`] says goodbye (a Terminate message, as psql does, so the
/// server logs no "connection reset"); dropping it cuts the connection.
pub struct Session {
    client: Client,
    /// What the session's reader shares with it (see [`crate::bounded`]).
    wire: Arc<Wire>,
    /// The server's notices, as the connection task hears them.
    notices: Arc<Notices>,
    /// `None` once [`Session::close`] took it.
    connection: Option<tokio::task::JoinHandle<()>>,
    timer: LimitTimer,
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
    let wire = Arc::new(Wire::default());
    match tls {
        Some(tls) => {
            pg.ssl_mode(tokio_postgres::config::SslMode::Require);
            let bounded = BoundedTls::new(tls.clone(), params.limits, Arc::clone(&wire));
            let (client, connection) = tokio::time::timeout(params.budget, pg.connect(bounded))
                .await
                .map_err(|_| DbFailure::NoAnswer)??;
            Ok(Session::start(client, connection, wire))
        }
        None => {
            // Without TLS the library would read the socket itself: connect here so that the
            // session is read through the same bounds.
            pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
            let plain = async {
                let socket = plain_socket(params).await?;
                let bounded = Bounded::new(socket, params.limits, Arc::clone(&wire));
                Ok::<_, DbFailure>(pg.connect_raw(bounded, NoTls).await?)
            };
            let (client, connection) = tokio::time::timeout(params.budget, plain)
                .await
                .map_err(|_| DbFailure::NoAnswer)??;
            Ok(Session::start(client, connection, wire))
        }
    }
}

/// A TCP connection to `params.hostaddr` or the addresses `params.host` resolves to (tried in
/// order), with the keepalive and user-timeout settings TLS sessions get from the library.
async fn plain_socket(params: &ConnectParams<'_>) -> Result<tokio::net::TcpStream, DbFailure> {
    let addresses: Vec<std::net::SocketAddr> = match params.hostaddr {
        Some(ip) => vec![(ip, params.port).into()],
        None => tokio::net::lookup_host((params.host, params.port))
            .await
            .map_err(|e| DbFailure::Io(format!("cannot resolve {}: {e}", params.host)))?
            .collect(),
    };
    let mut last = format!("{} resolves to no address", params.host);
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => {
                let configure = || -> std::io::Result<()> {
                    stream.set_nodelay(true)?;
                    let socket = SockRef::from(&stream);
                    #[cfg(target_os = "linux")]
                    socket.set_tcp_user_timeout(Some(TCP_USER_TIMEOUT))?;
                    socket.set_tcp_keepalive(
                        &TcpKeepalive::new()
                            .with_time(KEEPALIVE_IDLE)
                            .with_interval(KEEPALIVE_INTERVAL)
                            .with_retries(KEEPALIVE_RETRIES),
                    )
                };
                configure()
                    .map_err(|e| DbFailure::Io(format!("cannot set up the connection: {e}")))?;
                return Ok(stream);
            }
            Err(e) => last = format!("cannot connect to {address}: {e}"),
        }
    }
    Err(DbFailure::Io(last))
}

/// The session's deadline timer. A run's statements share one deadline, so the timer is armed
/// once and polled by each call in turn instead of being registered with the runtime's timer
/// and cancelled again for every statement. A call takes it for its length (a call made while
/// another holds it gets a timer of its own), so each timer is polled by one call at a time and
/// wakes the call waiting on it.
#[derive(Default)]
struct LimitTimer(Mutex<Option<(Instant, Pin<Box<Sleep>>)>>);

impl LimitTimer {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Pin<Box<Sleep>>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A timer that fires at `at`: the session's (re-armed if its deadline differs) or a new one.
    fn take(&self, at: Instant) -> Pin<Box<Sleep>> {
        match self.slot().take() {
            Some((armed, sleep)) if armed == at => sleep,
            Some((_, mut sleep)) => {
                sleep.as_mut().reset(at.into());
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(at.into())),
        }
    }
}

/// Gives the timer back to the session when the call ends (or is abandoned).
struct TimerLoan<'a> {
    timer: &'a LimitTimer,
    at: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Drop for TimerLoan<'_> {
    fn drop(&mut self) {
        if let Some(sleep) = self.sleep.take() {
            *self.timer.slot() = Some((self.at, sleep));
        }
    }
}

impl Session {
    fn start<S, T>(
        client: Client,
        connection: tokio_postgres::Connection<S, T>,
        wire: Arc<Wire>,
    ) -> Session
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let notices = Arc::new(Notices::default());
        let heard = Arc::clone(&notices);
        let connection = tokio::spawn(async move {
            // The connection's messages outside any query's answer: notices are logged and kept
            // (tokio-postgres would hand them to the `log` crate, which nothing here reads);
            // notifications (LISTEN) have no reader in a job.
            let mut connection = connection;
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notice(n)) => {
                        heard.record(n.severity(), n.code().code(), n.message())
                    }
                    Ok(_) => {}
                    Err(e) => {
                        warn!(error = %e, "database connection ended with an error");
                        break;
                    }
                }
            }
        });
        Session {
            client,
            wire,
            notices,
            connection: Some(connection),
            timer: LimitTimer::default(),
        }
    }

    /// Waits for `fut` until `limit` (no limit when `None`); the call is polled before the
    /// timer, as `tokio::time::timeout` does.
    async fn bounded<T>(
        &self,
        limit: Option<Instant>,
        fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbFailure> {
        let Some(at) = limit else {
            return Ok(fut.await?);
        };
        let mut fut = pin!(fut);
        let mut loan = TimerLoan {
            timer: &self.timer,
            at,
            sleep: Some(self.timer.take(at)),
        };
        std::future::poll_fn(|cx| {
            if let Poll::Ready(result) = fut.as_mut().poll(cx) {
                return Poll::Ready(result.map_err(DbFailure::Pg));
            }
            match loan.sleep.as_mut().map(|sleep| sleep.as_mut().poll(cx)) {
                Some(Poll::Pending) => Poll::Pending,
                _ => Poll::Ready(Err(DbFailure::NoAnswer)),
            }
        })
        .await
    }

    /// The bound the server broke (the session was ended for it), if any.
    pub fn violation(&self) -> Option<String> {
        self.wire.violation()
    }

    /// Rows of `COPY ... TO STDOUT` received so far in this session, as the server sent them.
    pub fn copy_rows(&self) -> u64 {
        self.wire.copy_rows()
    }

    /// Where the latest answered request left the session (`ReadyForQuery`'s status): a script
    /// that ends `InBlock` opened a transaction it did not commit.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.wire.transaction_status()
    }

    /// The statement of the script whose notices come next (`None` between statements).
    pub fn set_statement(&self, statement: Option<usize>) {
        self.notices.set_statement(statement);
    }

    /// The notices the server sent in this session: how many, and the last few.
    pub fn notices(&self) -> Option<NoticeSummary> {
        self.notices.summary()
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
        // The rows are skipped by the session's reader as they arrive, whatever their size.
        self.wire.set_drop_rows(true);
        let _keep_rows_after = KeepRowsOnDrop(&self.wire);
        self.bounded(limit, async {
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
        self.bounded(limit, async {
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

    /// Starts `COPY ... TO STDOUT`; the stream yields the data as it arrives, a row or a piece
    /// of one at a time (count rows with [`Session::copy_rows`]).
    pub async fn copy_out(
        &self,
        sql: &str,
        limit: Option<Instant>,
    ) -> Result<std::pin::Pin<Box<tokio_postgres::CopyOutStream>>, DbFailure> {
        self.bounded(limit, async {
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
        self.bounded(limit, self.client.execute(sql, params)).await
    }

    /// Runs one parameterised query and returns its single row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        limit: Option<Instant>,
    ) -> Result<tokio_postgres::Row, DbFailure> {
        self.bounded(limit, self.client.query_one(sql, params))
            .await
    }
}
