//! The server's side of a session, read with bounds: what a peer sends cannot grow memory
//! without a limit, and no message is assembled whole unless the client needs it whole.
//!
//! Messages are framed as PostgreSQL frames them (a type byte and a length) and, on their way to
//! the client library, reshaped where that keeps memory flat:
//! - a `CopyData` message (one row of `COPY ... TO STDOUT`, the export's data) longer than
//!   [`COPY_PIECE`] reaches the library as consecutive `CopyData` messages of at most that size
//!   (COPY's data is the concatenation of its messages, so the bytes are the same); the rows are
//!   counted here, as PostgreSQL sent them ([`Wire::copy_rows`]);
//! - while [`Wire::drop_rows`] is set (the script's statements, whose rows are counted from
//!   their command tags and never read) `DataRow` messages are skipped as they arrive;
//! - any other row the library keeps whole (the runner's own queries) may be at most
//!   [`Limits::max_row`], any other message [`MAX_CONTROL`] (an error or a notice of 1 GiB is no
//!   PostgreSQL), and before the session is ready at most [`MAX_STARTUP_NOTICES`] notices arrive
//!   (the client library keeps those until then).
//!
//! A peer that breaks a bound ends the session with an error that says what it sent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
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
/// Largest `CopyData` message handed to the client library.
pub const COPY_PIECE: u64 = 256 * 1024;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Reads that produce nothing for the library (skipped rows) before the task yields, so that
/// timers (the run's deadline) fire while a large row is skipped.
const READS_BEFORE_YIELD: u32 = 16;

/// What a session accepts from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `DataRow` message kept whole, in bytes.
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

/// What a session's reader and its client share.
#[derive(Debug, Default)]
pub struct Wire {
    /// The first bound the server broke, kept for the run's error message.
    violation: Mutex<Option<String>>,
    /// Skip `DataRow` messages (set while statements whose rows nobody reads run).
    drop_rows: AtomicBool,
    /// `CopyData` messages received, as the server sent them.
    copy_rows: AtomicU64,
    /// The transaction status of the latest `ReadyForQuery` (`I`, `T`, `E`; 0 before one).
    transaction: AtomicU8,
}

/// Where the session stands after its latest request, as the server said in `ReadyForQuery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block (`BEGIN` without its `COMMIT` yet).
    InBlock,
    /// In a failed transaction block: every statement is refused until it ends.
    Failed,
    /// No `ReadyForQuery` seen yet (or a status byte the protocol does not define).
    Unknown,
}

impl Wire {
    /// The bound the server broke, if any.
    pub fn violation(&self) -> Option<String> {
        self.violation.lock().ok().and_then(|v| v.clone())
    }

    /// Skip (`true`) or keep the rows of what is sent next. Set only between requests: the
    /// server sends rows only in answer to one.
    pub fn set_drop_rows(&self, drop: bool) {
        self.drop_rows.store(drop, Ordering::Release);
    }

    /// `CopyData` messages received so far (one per row of `COPY ... TO STDOUT`).
    pub fn copy_rows(&self) -> u64 {
        self.copy_rows.load(Ordering::Acquire)
    }

    /// The transaction status of the latest `ReadyForQuery`: read after a request has been
    /// answered, it is the status that request left.
    pub fn transaction_status(&self) -> TransactionStatus {
        match self.transaction.load(Ordering::Acquire) {
            b'I' => TransactionStatus::Idle,
            b'T' => TransactionStatus::InBlock,
            b'E' => TransactionStatus::Failed,
            _ => TransactionStatus::Unknown,
        }
    }

    fn record(&self, why: &str) {
        if let Ok(mut slot) = self.violation.lock() {
            slot.get_or_insert_with(|| why.to_string());
        }
    }
}

/// What happens to the body of the message being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Handed to the library as it came.
    Pass,
    /// Skipped (a row nobody reads).
    Skip,
    /// Handed on in `CopyData` pieces of at most [`COPY_PIECE`] bytes.
    Split,
}

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

/// A stream that checks and reshapes the server's messages as they are read.
pub struct Bounded<S> {
    inner: S,
    limits: Limits,
    wire: Arc<Wire>,
    /// Bytes read from `inner` and not yet handled: `raw[start..end]`.
    raw: Box<[u8]>,
    start: usize,
    end: usize,
    header: [u8; 5],
    header_len: usize,
    body: Body,
    /// Bytes of the current message's body still to come.
    remaining: u64,
    /// Bytes left in the current `CopyData` piece ([`Body::Split`]).
    piece_left: u64,
    /// A message header owed to the library: `emit[emit_pos..emit_len]`.
    emit: [u8; 5],
    emit_pos: usize,
    emit_len: usize,
    ready: bool,
    notices: u32,
    /// The body being read is a `ReadyForQuery`'s: its byte is the transaction status.
    status_next: bool,
}

impl<S> Bounded<S> {
    pub fn new(inner: S, limits: Limits, wire: Arc<Wire>) -> Self {
        Bounded {
            inner,
            limits,
            wire,
            raw: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            header: [0; 5],
            header_len: 0,
            body: Body::Pass,
            remaining: 0,
            piece_left: 0,
            emit: [0; 5],
            emit_pos: 0,
            emit_len: 0,
            ready: false,
            notices: 0,
            status_next: false,
        }
    }

    fn owe_header(&mut self, ty: u8, body_len: u64) {
        self.emit[0] = ty;
        // Body lengths here come from a u32 length field or COPY_PIECE: they fit.
        let len = u32::try_from(body_len + 4).unwrap_or(u32::MAX);
        self.emit[1..].copy_from_slice(&len.to_be_bytes());
        self.emit_pos = 0;
        self.emit_len = 5;
    }

    /// A complete header: checks it and decides what happens to the body.
    fn start_message(&mut self) -> Result<(), String> {
        let ty = self.header[0];
        let len = u64::from(u32::from_be_bytes([
            self.header[1],
            self.header[2],
            self.header[3],
            self.header[4],
        ]));
        if len < 4 {
            return Err(format!(
                "the server sent a {} message with an invalid length {len}: not the PostgreSQL protocol",
                message_name(ty)
            ));
        }
        let body = match ty {
            b'd' => {
                self.wire.copy_rows.fetch_add(1, Ordering::AcqRel);
                if len - 4 > COPY_PIECE {
                    Body::Split
                } else {
                    Body::Pass
                }
            }
            b'D' if self.wire.drop_rows.load(Ordering::Acquire) => Body::Skip,
            _ => Body::Pass,
        };
        let limit = match ty {
            b'D' | b'd' => self.limits.max_row,
            _ => MAX_CONTROL,
        };
        if body == Body::Pass && len > limit {
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
        match ty {
            b'Z' => {
                self.ready = true;
                self.status_next = true;
            }
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
        self.body = body;
        self.remaining = len - 4;
        self.piece_left = 0;
        if body == Body::Pass {
            self.owe_header(ty, len - 4);
        }
        Ok(())
    }

    /// Handles `input` into `out` as far as `out` has room; returns the bytes of `input` used.
    fn transform(&mut self, input: &[u8], out: &mut ReadBuf<'_>) -> Result<usize, String> {
        let mut used = 0;
        loop {
            if self.emit_pos < self.emit_len {
                let n = (self.emit_len - self.emit_pos).min(out.remaining());
                if n == 0 {
                    return Ok(used);
                }
                out.put_slice(&self.emit[self.emit_pos..self.emit_pos + n]);
                self.emit_pos += n;
                continue;
            }
            let rest = &input[used..];
            if rest.is_empty() {
                return Ok(used);
            }
            if self.remaining > 0 {
                if self.body == Body::Split && self.piece_left == 0 {
                    self.piece_left = self.remaining.min(COPY_PIECE);
                    self.owe_header(b'd', self.piece_left);
                    continue;
                }
                let mut n = (rest.len() as u64).min(self.remaining);
                if self.body != Body::Skip {
                    n = n.min(out.remaining() as u64);
                    if self.body == Body::Split {
                        n = n.min(self.piece_left);
                        self.piece_left -= n;
                    }
                    if n == 0 {
                        return Ok(used);
                    }
                    out.put_slice(&rest[..n as usize]);
                }
                if self.status_next {
                    self.status_next = false;
                    self.wire.transaction.store(rest[0], Ordering::Release);
                }
                self.remaining -= n;
                used += n as usize;
                continue;
            }
            let take = (5 - self.header_len).min(rest.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&rest[..take]);
            self.header_len += take;
            used += take;
            if self.header_len == 5 {
                self.header_len = 0;
                self.start_message()?;
            }
        }
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
        let mut idle_reads = 0;
        loop {
            if this.start == this.end && this.emit_pos == this.emit_len {
                if idle_reads == READS_BEFORE_YIELD {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                let mut raw = ReadBuf::new(&mut this.raw);
                ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw))?;
                this.start = 0;
                this.end = raw.filled().len();
                idle_reads += 1;
                if this.end == 0 {
                    // End of stream.
                    return Poll::Ready(Ok(()));
                }
            }
            let (start, end) = (this.start, this.end);
            let input = std::mem::take(&mut this.raw);
            let result = this.transform(&input[start..end], buf);
            this.raw = input;
            match result {
                Ok(used) => this.start += used,
                Err(why) => {
                    this.wire.record(&why);
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, why)));
                }
            }
            if buf.filled().len() > before || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
        }
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
    wire: Arc<Wire>,
}

impl<M> BoundedTls<M> {
    pub fn new(inner: M, limits: Limits, wire: Arc<Wire>) -> Self {
        BoundedTls {
            inner,
            limits,
            wire,
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
            wire: Arc::clone(&self.wire),
        })
    }
}

/// One connection's [`BoundedTls`].
pub struct BoundedConnect<T> {
    inner: T,
    limits: Limits,
    wire: Arc<Wire>,
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
        let (limits, wire) = (self.limits, self.wire);
        let handshake = self.inner.connect(stream);
        Box::pin(async move { Ok(Bounded::new(handshake.await?, limits, wire)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ty];
        v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn filler(ty: u8, body_len: usize) -> Vec<u8> {
        frame(ty, &vec![b'x'; body_len])
    }

    fn bounded(max_row: u64) -> Bounded<()> {
        Bounded::new((), Limits { max_row }, Arc::default())
    }

    /// Feeds `input` in pieces of `step` bytes through a library buffer of `room` bytes.
    fn run(b: &mut Bounded<()>, input: &[u8], step: usize, room: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for piece in input.chunks(step) {
            let mut used = 0;
            while used < piece.len() || b.emit_pos < b.emit_len {
                let mut space = vec![0u8; room];
                let mut buf = ReadBuf::new(&mut space);
                let n = b.transform(&piece[used..], &mut buf)?;
                used += n;
                out.extend_from_slice(buf.filled());
                if n == 0 && buf.filled().is_empty() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The messages of a byte stream: (type, body).
    fn messages(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut v = Vec::new();
        while !bytes.is_empty() {
            let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
            v.push((bytes[0], bytes[5..1 + len].to_vec()));
            bytes = &bytes[1 + len..];
        }
        v
    }

    #[test]
    fn frames_across_reads_are_followed_and_passed_unchanged() {
        let mut stream = filler(b'R', 4);
        stream.extend(filler(b'Z', 1));
        stream.extend(filler(b'D', 100 - 4));
        for (step, room) in [(1, 1), (1, 7), (3, 2), (1000, 1000), (7, 64)] {
            let mut b = bounded(100);
            assert_eq!(run(&mut b, &stream, step, room).unwrap(), stream);
            assert!(b.ready);
        }
        let mut b = bounded(100);
        let e = run(&mut b, &filler(b'D', 200)[..5], 5, 10).unwrap_err();
        assert!(
            e.contains("204-byte DataRow") && e.contains("100 bytes"),
            "{e}"
        );
    }

    #[test]
    fn large_copy_rows_reach_the_library_in_pieces_with_the_same_bytes() {
        let big: Vec<u8> = (0..(2 * COPY_PIECE as usize + 17))
            .map(|i| (i % 251) as u8)
            .collect();
        let mut stream = frame(b'H', &[0, 0, 0]);
        stream.extend(frame(b'd', b"a,b\n"));
        stream.extend(frame(b'd', &big));
        stream.extend(frame(b'd', b""));
        stream.extend(frame(b'c', b""));
        for (step, room) in [(65_536, 8192), (1, 3), (4099, 100_000)] {
            // Rows larger than max_row are fine: none is kept whole.
            let mut b = bounded(1024);
            let out = messages(&run(&mut b, &stream, step, room).unwrap());
            let copy: Vec<&Vec<u8>> = out
                .iter()
                .filter(|(t, _)| *t == b'd')
                .map(|(_, m)| m)
                .collect();
            assert_eq!(
                copy.len(),
                1 + 3 + 1,
                "pieces: {:?}",
                copy.iter().map(|m| m.len()).collect::<Vec<_>>()
            );
            assert!(copy.iter().all(|m| m.len() as u64 <= COPY_PIECE));
            let joined: Vec<u8> = copy.iter().flat_map(|m| m.iter().copied()).collect();
            assert_eq!(joined, [b"a,b\n".as_slice(), &big].concat());
            assert_eq!(b.wire.copy_rows(), 3);
            assert_eq!(out.first().unwrap().0, b'H');
            assert_eq!(out.last().unwrap().0, b'c');
        }
    }

    #[test]
    fn rows_nobody_reads_are_skipped_whatever_their_size() {
        let mut stream = filler(b'T', 30);
        stream.extend(filler(b'D', 10_000));
        stream.extend(filler(b'D', 3));
        stream.extend(frame(b'C', b"SELECT 2\0"));
        stream.extend(filler(b'Z', 1));
        let mut b = bounded(100);
        b.wire.set_drop_rows(true);
        let out = messages(&run(&mut b, &stream, 1000, 64).unwrap());
        let types: Vec<u8> = out.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, b"TCZ");
        assert_eq!(out[1].1, b"SELECT 2\0");
        // Kept again once the flag is off, and bounded.
        b.wire.set_drop_rows(false);
        assert_eq!(
            run(&mut b, &filler(b'D', 50), 9, 9).unwrap(),
            filler(b'D', 50)
        );
        assert!(run(&mut b, &filler(b'D', 200), 9, 9).is_err());
    }

    #[test]
    fn huge_errors_and_notice_floods_are_refused() {
        let mut b = bounded(PG_MAX_ROW);
        let mut header = vec![b'E'];
        header.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let e = run(&mut b, &header, 5, 5).unwrap_err();
        assert!(
            e.contains("ErrorResponse") && e.contains("PostgreSQL server"),
            "{e}"
        );
        let mut b = bounded(PG_MAX_ROW);
        let notice = filler(b'N', 20);
        for _ in 0..MAX_STARTUP_NOTICES {
            run(&mut b, &notice, 25, 25).unwrap();
        }
        let e = run(&mut b, &notice, 25, 25).unwrap_err();
        assert!(e.contains("flooded"), "{e}");
        // After ReadyForQuery notices are the client library's to log and drop.
        let mut b = bounded(PG_MAX_ROW);
        run(&mut b, &filler(b'Z', 1), 6, 6).unwrap();
        for _ in 0..(MAX_STARTUP_NOTICES + 10) {
            run(&mut b, &notice, 25, 25).unwrap();
        }
        let mut b = bounded(PG_MAX_ROW);
        let e = run(&mut b, &[b'D', 0, 0, 0, 2], 5, 5).unwrap_err();
        assert!(e.contains("invalid length 2"), "{e}");
    }

    #[test]
    fn ready_for_query_tells_the_transaction_status() {
        let mut b = bounded(PG_MAX_ROW);
        assert_eq!(b.wire.transaction_status(), TransactionStatus::Unknown);
        for (byte, status) in [
            (b'T', TransactionStatus::InBlock),
            (b'E', TransactionStatus::Failed),
            (b'I', TransactionStatus::Idle),
        ] {
            // Split anywhere (even between header and status byte), the message passes whole.
            let input = [filler(b'C', 7), frame(b'Z', &[byte])].concat();
            for step in [1, 3, 64] {
                assert_eq!(run(&mut b, &input, step, 4).unwrap(), input);
                assert_eq!(b.wire.transaction_status(), status);
            }
        }
    }

    #[test]
    fn rows_are_bounded_by_memory() {
        assert_eq!(Limits::for_memory(Some(128)).max_row, 32 * 1024 * 1024);
        assert_eq!(Limits::for_memory(None).max_row, PG_MAX_ROW);
        assert_eq!(Limits::for_memory(Some(10_240)).max_row, PG_MAX_ROW);
    }
}
