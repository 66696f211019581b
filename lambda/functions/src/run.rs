//! Per-invocation facts shared by the job runner and the run history.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session set-up, locks and history writes never wait longer than this.
pub const BOOKKEEPING_TIMEOUT: Duration = Duration::from_secs(10);

/// What one run needs to know besides the configuration.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub event_id: Option<String>,
    /// When the last statement must be finished (Lambda deadline minus margin, or
    /// `MAX_RUNTIME_MS`); statement timeouts never reach past it.
    pub deadline: Option<Instant>,
    /// No wait of this run goes past this instant (a stalled server or network): shortly
    /// before Lambda's own deadline, so there is always time to report.
    pub hard_deadline: Option<Instant>,
    /// Position in a continuation chain (0 for a scheduled run).
    pub continuation: u32,
    /// Run id of the chain's first run (continuations only).
    pub chain_id: Option<String>,
    /// Run id of the run that requested this continuation.
    pub previous_run_id: Option<String>,
    /// Whether a partial run may ask for a continuation (Lambda mode with `CONTINUE_ON_DEADLINE`).
    pub can_continue: bool,
    pub started: Instant,
    /// Wall-clock start of the run (RFC 3339), for the report.
    pub started_at: String,
    /// Scheduler's scheduled time for this run (or the start time): the same on a re-delivery.
    pub scheduled_time: time::OffsetDateTime,
    /// Set once the history table is known to exist with the expected layout (per cold start).
    pub history_ready: Arc<AtomicBool>,
}

impl RunContext {
    /// The earlier of the run's deadline and `now + max`.
    pub fn limit(&self, max: Duration) -> Instant {
        let cap = Instant::now() + max;
        self.deadline.map_or(cap, |d| d.min(cap))
    }

    /// The earlier of the hard deadline and `now + max`.
    pub fn hard_limit(&self, max: Duration) -> Instant {
        let cap = Instant::now() + max;
        self.hard_deadline.map_or(cap, |d| d.min(cap))
    }
}
