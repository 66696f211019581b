//! Server notices (`RAISE NOTICE`, `WARNING`, `INFO`, ...), psql's only progress output for a
//! batch purge: each is logged as one JSON line with the statement that raised it, and the last
//! few are kept for the run's result. Bounded per session: at most [`MAX_LOGGED`] lines and
//! [`MAX_LOGGED_BYTES`] of message text are logged, the rest counted and said once; each kept
//! message is cut to [`MAX_KEPT_CHARS`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use tracing::{debug, info, warn};

/// Notices logged one line each per session; further ones are counted.
pub const MAX_LOGGED: u64 = 1_000;
/// Message bytes logged per session; further notices are counted.
pub const MAX_LOGGED_BYTES: usize = 256 * 1024;
/// The last notices the result keeps.
pub const KEPT: usize = 5;
/// Characters of a kept (and of a logged) message.
pub const MAX_KEPT_CHARS: usize = 1_000;

/// One notice as the result shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// NOTICE, WARNING, INFO, LOG or DEBUG.
    pub severity: String,
    /// The SQLSTATE (00000 for a plain `RAISE NOTICE`).
    pub code: String,
    pub message: String,
    /// The script's statement that was running (1-based), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
}

/// What the result says about a session's notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeSummary {
    /// Notices the server sent.
    pub count: u64,
    /// Of them, logged one line each.
    pub logged: u64,
    /// The last ones, oldest first.
    pub last: Vec<Notice>,
}

#[derive(Debug, Default)]
struct State {
    count: u64,
    logged: u64,
    bytes: usize,
    excess_said: bool,
    last: VecDeque<Notice>,
}

/// The notices of one session: written by its connection task, read by the run.
#[derive(Debug, Default)]
pub struct Notices {
    /// The statement running now (0: none).
    statement: AtomicUsize,
    state: Mutex<State>,
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_KEPT_CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

impl Notices {
    /// The statement whose notices come next (`None` between statements).
    pub fn set_statement(&self, statement: Option<usize>) {
        self.statement
            .store(statement.unwrap_or(0), Ordering::Release);
    }

    /// A notice from the server: logged (within the bounds) and kept among the last ones.
    pub fn record(&self, severity: &str, code: &str, message: &str) {
        let statement = match self.statement.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        };
        let notice = Notice {
            severity: severity.to_string(),
            code: code.to_string(),
            message: cut(message),
            statement,
        };
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.count += 1;
        if state.logged < MAX_LOGGED && state.bytes + notice.message.len() <= MAX_LOGGED_BYTES {
            state.logged += 1;
            state.bytes += notice.message.len();
            let (severity, code, message) = (&notice.severity, &notice.code, &notice.message);
            match severity.as_str() {
                "WARNING" => {
                    warn!(statement, severity = %severity, code = %code, notice = %message, "server notice")
                }
                "DEBUG" | "LOG" => {
                    debug!(statement, severity = %severity, code = %code, notice = %message, "server notice")
                }
                _ => {
                    info!(statement, severity = %severity, code = %code, notice = %message, "server notice")
                }
            }
        } else if !state.excess_said {
            state.excess_said = true;
            warn!(
                logged = state.logged,
                max_lines = MAX_LOGGED,
                max_bytes = MAX_LOGGED_BYTES,
                "further server notices of this run are counted, not logged"
            );
        }
        if state.last.len() == KEPT {
            state.last.pop_front();
        }
        state.last.push_back(notice);
    }

    /// The count and the last notices; `None` when the server sent none.
    pub fn summary(&self) -> Option<NoticeSummary> {
        let state = self.state.lock().ok()?;
        (state.count > 0).then(|| NoticeSummary {
            count: state.count,
            logged: state.logged,
            last: state.last.iter().cloned().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_lines_bytes_and_kept_notices() {
        let n = Notices::default();
        assert_eq!(n.summary(), None);
        n.set_statement(Some(2));
        for i in 0..(MAX_LOGGED + 10) {
            n.record(
                "NOTICE",
                "00000",
                &format!("Deleted {i} rows in this batch"),
            );
        }
        let s = n.summary().unwrap();
        assert_eq!(
            (s.count, s.logged, s.last.len()),
            (MAX_LOGGED + 10, MAX_LOGGED, KEPT)
        );
        assert_eq!(
            s.last[KEPT - 1].message,
            format!("Deleted {} rows in this batch", MAX_LOGGED + 9)
        );
        assert_eq!(s.last[0].statement, Some(2));

        let n = Notices::default();
        let big = "x".repeat(10 * MAX_KEPT_CHARS);
        for _ in 0..1_000 {
            n.record("WARNING", "01000", &big);
        }
        let s = n.summary().unwrap();
        assert_eq!(s.last[0].message.chars().count(), MAX_KEPT_CHARS + 3);
        assert!(
            s.logged * (MAX_KEPT_CHARS as u64 + 3) <= MAX_LOGGED_BYTES as u64 && s.logged < 1_000,
            "{s:?}"
        );
        n.set_statement(None);
        n.record("NOTICE", "00000", "é".repeat(2 * MAX_KEPT_CHARS).as_str());
        let last = n.summary().unwrap().last.pop().unwrap();
        assert_eq!(
            (last.statement, last.message.chars().count()),
            (None, MAX_KEPT_CHARS + 3)
        );
    }
}
