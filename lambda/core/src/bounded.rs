//! The server's side of a TLS session, read with bounds: what a peer sends cannot grow memory
//! without a limit. Messages are framed as PostgreSQL frames them (a type byte and a length);
//! a row (`DataRow`, `CopyData`) may be at most [`Limits::max_row`], any other message
//! [`MAX_CONTROL`] (an error or a notice of 1 GiB is no PostgreSQL), and before the session is
//! ready at most [`MAX_STARTUP_NOTICES`] notices arrive (the client library keeps those until
//! then). A peer that breaks a bound ends the session with an error that says what it sent.
//!
//! The bounds apply to TLS sessions (every deployment: `PGSSLMODE` is at least `require`);
//! `PGSSLMODE=disable`, for local tests, reads the socket directly.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// Largest message other than a row: PostgreSQL's own errors and notices are a few kB.
pub const MAX_CONTROL: u64 = 1024 * 1024;
/// Notices accepted before the session is ready for its first query.
pub const MAX_STARTUP_NOTICES: u32 = 1_000;
/// PostgreSQL's own limit on one field; rows are bounded below it by the function's memory.
pub const PG_MAX_ROW: u64 = 1024 * 1024 * 1024;

/// What a session accepts from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `DataRow` / `CopyData` message, in bytes.
    pub max_row: u64,
}

impl Limits {
    /// The limits for this process: Lambda says the function's memory in
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` (megabytes).
    pub fn of_this_function() -> Self {
        Self::for_memory(
            std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .ok()
                .and_then(|v| v.trim().parse().ok()),
        )
    }

    /// Rows of at most a quarter of the memory a function has (`memory_mb`, Lambda's
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`): the client library holds a row whole, and a little
    /// more while it grows its buffer. Without a memory size, PostgreSQL's own limit.
    pub fn for_memory(memory_mb: Option<u64>) -> Self {
        Limits {
            max_row: memory_mb.map_or(PG_MAX_ROW, |mb| (mb * 1024 * 1024 / 4).min(PG_MAX_ROW)),
        }
    }
}

/// The first bound the server broke, kept for the run's error message.
pub type Violation = Arc<Mutex<Option<String>>>;

fn message_name(ty: u8) -> String {
    match ty {
        b'D' => "DataRow".into(),
        b'd' => "CopyData".into(),
        b'E' => "ErrorResponse".into(),
        b'N' => "NoticeResponse".into(),
        b'T' => "RowDescription".into(),
        b'A' => "NotificationResponse".into(),
        b'S' => "ParameterStatus".into(),
        b'R' => "Authentication".into(),
        other if other.is_ascii_graphic() => format!("'{}'", other as char),
        other => format!("0x{other:02x}"),
    }
}

/// A stream that checks the server's message framing as it is read.
pub struct Bounded<S> {
    inner: S,
    limits: Limits,
    violation: Violation,
    header: [u8; 5],
    header_len: usize,
    /// Bytes of the current message's body still to come.
    remaining: u64,
    ready: bool,
    notices: u32,
}

impl<S> Bounded<S> {
    pub fn new(inner: S, limits: Limits, violation: Violation) -> Self {
        Bounded {
            inner,
            limits,
            violation,
            header: [0; 5],
            header_len: 0,
            remaining: 0,
            ready: false,
            notices: 0,
        }
    }

    fn inspect(&mut self, mut bytes: &[u8]) -> Result<(), String> {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let n = (bytes.len() as u64).min(self.remaining);
                self.remaining -= n;
                bytes = &bytes[n as usize..];
                continue;
            }
            let take = (5 - self.header_len).min(bytes.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&bytes[..take]);
            self.header_len += take;
            bytes = &bytes[take..];
            if self.header_len < 5 {
                continue;
            }
            self.header_len = 0;
            let ty = self.header[0];
            let len = u64::from(u32::from_be_bytes([
                self.header[1],
                self.header[2],
                self.header[3],
                self.header[4],
            ]));
            let limit = match ty {
                b'D' | b'd' => self.limits.max_row,
                _ => MAX_CONTROL,
            };
            if len > limit {
                return Err(format!(
                    "the server sent a {len}-byte {} message, more than the {limit} bytes this client accepts{}",
                    message_name(ty),
                    if limit == MAX_CONTROL {
                        " (no PostgreSQL sends one that large: is PGHOST/PGPORT a PostgreSQL server?)"
                    } else {
                        " (a quarter of the function's memory: give the function more memory, or select less in one row)"
                    }
                ));
            }
            if len < 4 {
                return Err(format!(
                    "the server sent a {} message with an invalid length {len}: not the PostgreSQL protocol",
                    message_name(ty)
                ));
            }
            match ty {
                b'Z' => self.ready = true,
                b'N' if !self.ready => {
                    self.notices += 1;
                    if self.notices > MAX_STARTUP_NOTICES {
                        return Err(format!(
                            "the server flooded the session with more than {MAX_STARTUP_NOTICES} notices before it was ready for a query"
                        ));
                    }
                }
                _ => {}
            }
            self.remaining = len - 4;
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Bounded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Err(why) = this.inspect(&buf.filled()[before..]) {
            if let Ok(mut slot) = this.violation.lock() {
                slot.get_or_insert_with(|| why.clone());
            }
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, why)));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bounded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for Bounded<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose sessions are [`Bounded`].
#[derive(Clone)]
pub struct BoundedTls<M> {
    inner: M,
    limits: Limits,
    violation: Violation,
}

impl<M> BoundedTls<M> {
    pub fn new(inner: M, limits: Limits, violation: Violation) -> Self {
        BoundedTls {
            inner,
            limits,
            violation,
        }
    }
}

impl<S, M> MakeTlsConnect<S> for BoundedTls<M>
where
    M: MakeTlsConnect<S>,
    <M::TlsConnect as TlsConnect<S>>::Future: Send + 'static,
{
    type Stream = Bounded<M::Stream>;
    type TlsConnect = BoundedConnect<M::TlsConnect>;
    type Error = M::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        Ok(BoundedConnect {
            inner: self.inner.make_tls_connect(domain)?,
            limits: self.limits,
            violation: Arc::clone(&self.violation),
        })
    }
}

/// One connection's [`BoundedTls`].
pub struct BoundedConnect<T> {
    inner: T,
    limits: Limits,
    violation: Violation,
}

type ConnectFuture<S, E> = Pin<Box<dyn Future<Output = Result<Bounded<S>, E>> + Send>>;

impl<S, T> TlsConnect<S> for BoundedConnect<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
{
    type Stream = Bounded<T::Stream>;
    type Error = T::Error;
    type Future = ConnectFuture<T::Stream, T::Error>;

    fn connect(self, stream: S) -> Self::Future {
        let (limits, violation) = (self.limits, self.violation);
        let handshake = self.inner.connect(stream);
        Box::pin(async move { Ok(Bounded::new(handshake.await?, limits, violation)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, body_len: u32) -> Vec<u8> {
        let mut v = vec![ty];
        v.extend_from_slice(&(body_len + 4).to_be_bytes());
        v.extend(std::iter::repeat_n(b'x', body_len as usize));
        v
    }

    fn bounded(max_row: u64) -> Bounded<()> {
        Bounded::new((), Limits { max_row }, Violation::default())
    }

    #[test]
    fn frames_across_reads_are_followed() {
        let mut b = bounded(100);
        let mut stream = frame(b'R', 4);
        stream.extend(frame(b'Z', 1));
        stream.extend(frame(b'D', 100 - 4));
        // Byte by byte: the framing survives any split.
        for byte in &stream {
            b.inspect(std::slice::from_ref(byte)).unwrap();
        }
        assert!(b.ready);
        let e = b.inspect(&frame(b'D', 200)[..5]).unwrap_err();
        assert!(
            e.contains("204-byte DataRow") && e.contains("100 bytes"),
            "{e}"
        );
    }

    #[test]
    fn huge_errors_and_notice_floods_are_refused() {
        let mut b = bounded(PG_MAX_ROW);
        let mut header = vec![b'E'];
        header.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let e = b.inspect(&header).unwrap_err();
        assert!(
            e.contains("ErrorResponse") && e.contains("PostgreSQL server"),
            "{e}"
        );
        let mut b = bounded(PG_MAX_ROW);
        let notice = frame(b'N', 20);
        for _ in 0..MAX_STARTUP_NOTICES {
            b.inspect(&notice).unwrap();
        }
        let e = b.inspect(&notice).unwrap_err();
        assert!(e.contains("flooded"), "{e}");
        // After ReadyForQuery notices are the client library's to log and drop.
        let mut b = bounded(PG_MAX_ROW);
        b.inspect(&frame(b'Z', 1)).unwrap();
        for _ in 0..(MAX_STARTUP_NOTICES + 10) {
            b.inspect(&notice).unwrap();
        }
    }

    #[test]
    fn rows_are_bounded_by_memory() {
        assert_eq!(Limits::for_memory(Some(128)).max_row, 32 * 1024 * 1024);
        assert_eq!(Limits::for_memory(None).max_row, PG_MAX_ROW);
        assert_eq!(Limits::for_memory(Some(10_240)).max_row, PG_MAX_ROW);
    }
}
