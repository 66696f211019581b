//! Optional run history in a PostgreSQL table (`HISTORY_TABLE`), like pg_cron's
//! `cron.job_run_details`, plus duplicate-delivery and continuation-chain checks built on it.

use std::sync::atomic::Ordering;

use tracing::{info, warn};

use crate::config::{Config, HistoryConfig};
use crate::report::{ErrorInfo, ErrorKind, Report};
use crate::run::{RunContext, BOOKKEEPING_TIMEOUT};
use pg_cron_job_core::db::{DbFailure, Session};

/// Continuation requests older than this no longer hold off scheduled runs.
pub const PENDING_CONTINUATION_EXPIRY_MINUTES: i32 = 15;

/// Advisory lock held while creating the history table, so many jobs' first runs at the
/// same moment do not race `CREATE ... IF NOT EXISTS` (FNV-1a of `pg_cron_job:history-ddl`).
const DDL_LOCK_KEY: i64 = 0x5047_434a_4444_4c31;

/// Columns every run reads or writes; a table named by `HISTORY_TABLE` without them belongs to
/// something else.
const REQUIRED_COLUMNS: &[&str] = &[
    "run_id",
    "job_name",
    "event_id",
    "chain_id",
    "continuation",
    "status",
    "reason",
    "statements",
    "rows_affected",
    "batches",
    "started_at",
    "finished_at",
    "duration_ms",
    "error_kind",
    "error_code",
    "error_message",
    "continuation_pending",
    "backend_pid",
    "backend_start",
];

/// The DDL run when the table is missing (also printed in the README for DBAs).
pub fn ddl(h: &HistoryConfig) -> String {
    let (schema, table) = (&h.schema, &h.table);
    let started_idx = h.index_name("job_started_idx");
    let event_idx = h.index_name("event_once_idx");
    format!(
        r#"CREATE SCHEMA IF NOT EXISTS "{schema}";
CREATE TABLE IF NOT EXISTS "{schema}"."{table}" (
    run_id                text PRIMARY KEY,
    job_name              text NOT NULL,
    event_id              text,
    chain_id              text,
    continuation          integer NOT NULL DEFAULT 0,
    status                text NOT NULL CHECK (status IN ('running', 'succeeded', 'skipped', 'partial', 'failed', 'interrupted')),
    reason                text,
    statements            integer,
    rows_affected         bigint,
    batches               bigint,
    started_at            timestamptz NOT NULL DEFAULT now(),
    finished_at           timestamptz,
    duration_ms           bigint,
    error_kind            text,
    error_code            text,
    error_message         text,
    continuation_pending  boolean NOT NULL DEFAULT false,
    backend_pid           integer NOT NULL DEFAULT pg_backend_pid(),
    backend_start         timestamptz,
    output_uri            text
);
CREATE INDEX IF NOT EXISTS "{started_idx}" ON "{schema}"."{table}" (job_name, started_at DESC);
CREATE UNIQUE INDEX IF NOT EXISTS "{event_idx}" ON "{schema}"."{table}" (job_name, event_id, continuation)
    WHERE event_id IS NOT NULL AND status IN ('running', 'succeeded', 'partial');"#
    )
}

/// One run's row in the history table.
pub struct History {
    table: String,
    run_id: String,
    job: String,
    retention_days: u32,
    skip: Option<&'static str>,
    can_continue: bool,
    max_continuations: u32,
    continuation: u32,
}

fn history_error(e: DbFailure, what: &str) -> ErrorInfo {
    match e {
        DbFailure::Pg(e) => {
            let detail = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |db| db.message().to_string());
            ErrorInfo {
                code: e.code().map(|c| c.code().to_string()),
                ..ErrorInfo::new(
                    ErrorKind::History,
                    format!("HISTORY_TABLE: cannot {what}: {detail}"),
                )
            }
        }
        DbFailure::NoAnswer => ErrorInfo::new(
            ErrorKind::History,
            format!("HISTORY_TABLE: cannot {what}: no answer from the database in time"),
        ),
        DbFailure::Io(why) => ErrorInfo::new(
            ErrorKind::History,
            format!("HISTORY_TABLE: cannot {what}: {why}"),
        ),
    }
}

/// Makes sure the table exists with the expected columns: created under an advisory lock when
/// missing (concurrent first runs wait for each other), refused when it has another layout.
async fn ensure_table(
    s: &Session,
    h: &HistoryConfig,
    table: &str,
    ctx: &RunContext,
    wants_output_uri: bool,
) -> Result<(), ErrorInfo> {
    if ctx.history_ready.load(Ordering::Relaxed) {
        return Ok(());
    }
    let limit = Some(ctx.limit(BOOKKEEPING_TIMEOUT));
    let columns_sql = "SELECT to_regclass($1) IS NOT NULL, \
         coalesce((SELECT array_agg(attname::text) FROM pg_attribute \
                   WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped), '{}')";
    let mut row = s
        .query_one(columns_sql, &[&table], limit)
        .await
        .map_err(|e| history_error(e, "look the table up"))?;
    if !row.get::<_, bool>(0) {
        info!(table = %table, "creating the run history table");
        let create = format!(
            "BEGIN; SET LOCAL lock_timeout = '{}s'; SELECT pg_advisory_xact_lock({DDL_LOCK_KEY}); {} COMMIT;",
            BOOKKEEPING_TIMEOUT.as_secs(),
            ddl(h)
        );
        if let Err(e) = s.simple(&create, limit).await {
            let _ = s.simple("ROLLBACK", limit).await;
            return Err(history_error(
                e,
                "create the table (pre-create it with the DDL from the README)",
            ));
        }
        row = s
            .query_one(columns_sql, &[&table], limit)
            .await
            .map_err(|e| history_error(e, "look the table up"))?;
    }
    let present: Vec<String> = row.get(1);
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.iter().any(|p| p == c))
        .collect();
    if !missing.is_empty() {
        return Err(ErrorInfo::new(
            ErrorKind::History,
            format!(
                "HISTORY_TABLE {table} exists but is not a pg_cron_job history table (it has no column {}): name another table, or rename that one",
                missing.join(", ")
            ),
        ));
    }
    if wants_output_uri && !present.iter().any(|p| p == "output_uri") {
        // Tables created before exports existed: add the column (needs ownership; without it
        // the URI is reported but not recorded).
        let alter = format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS output_uri text");
        if let Err(e) = s.simple(&alter, limit).await {
            warn!(error = %history_error(e, "add column output_uri").message, "export URIs will not be recorded in the history table");
        }
    }
    ctx.history_ready.store(true, Ordering::Relaxed);
    Ok(())
}

impl History {
    /// Creates the table if missing, marks dead runs `interrupted`, checks for a duplicate event
    /// or a pending continuation, and commits this run's start row before any job SQL runs.
    /// `skip` is a reason already known (the overlap lock is taken): the run is recorded as
    /// skipped.
    pub async fn begin(
        s: &Session,
        h: &HistoryConfig,
        config: &Config,
        ctx: &RunContext,
        skip: Option<&'static str>,
    ) -> Result<Self, ErrorInfo> {
        let table = format!(r#""{}"."{}""#, h.schema, h.table);
        ensure_table(s, h, &table, ctx, config.export.is_some()).await?;
        let limit = Some(ctx.limit(BOOKKEEPING_TIMEOUT));
        let job = config.job_name.as_str();
        let interrupted = s
            .execute(
                &format!(
                    "UPDATE {table} t SET status = 'interrupted', finished_at = now(), \
                     error_message = 'the run ended without recording a result (Lambda timeout, crash or lost connection)' \
                     WHERE t.job_name = $1 AND t.status = 'running' AND NOT EXISTS \
                     (SELECT 1 FROM pg_stat_activity a WHERE a.pid = t.backend_pid AND a.backend_start = t.backend_start)"
                ),
                &[&job],
                limit,
            )
            .await
            .map_err(|e| history_error(e, "mark dead runs interrupted"))?;
        if interrupted > 0 {
            warn!(
                job,
                interrupted, "marked earlier runs that never finished as interrupted"
            );
        }

        let mut skip = skip;
        if skip.is_none() && ctx.continuation > 0 {
            if let Some(previous) = &ctx.previous_run_id {
                s.execute(
                    &format!("UPDATE {table} SET continuation_pending = false WHERE run_id = $1"),
                    &[previous],
                    limit,
                )
                .await
                .map_err(|e| history_error(e, "take over the continuation"))?;
            }
        } else if skip.is_none() {
            let pending: bool = s
                .query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM {table} WHERE job_name = $1 AND continuation_pending \
                         AND finished_at > now() - make_interval(mins => $2))"
                    ),
                    &[&job, &PENDING_CONTINUATION_EXPIRY_MINUTES],
                    limit,
                )
                .await
                .map_err(|e| history_error(e, "check for a pending continuation"))?
                .get(0);
            if pending {
                skip = Some("continuation_in_progress");
            }
        }

        let continuation = i32::try_from(ctx.continuation).unwrap_or(i32::MAX);
        let chain_id = ctx.chain_id.clone().unwrap_or_else(|| ctx.run_id.clone());
        let status = if skip.is_some() { "skipped" } else { "running" };
        let inserted = s
            .execute(
                &format!(
                    "INSERT INTO {table} (run_id, job_name, event_id, chain_id, continuation, status, reason, backend_start) \
                     SELECT $1, $2, $3, $4, $5, $6, $7, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid() \
                     ON CONFLICT (job_name, event_id, continuation) \
                     WHERE event_id IS NOT NULL AND status IN ('running', 'succeeded', 'partial') DO NOTHING"
                ),
                &[&ctx.run_id, &job, &ctx.event_id, &chain_id, &continuation, &status, &skip],
                limit,
            )
            .await
            .map_err(|e| history_error(e, "insert the start row"))?;
        if inserted == 0 {
            skip = Some("duplicate_event");
            warn!(
                job,
                event_id = ctx.event_id.as_deref().unwrap_or(""),
                "event already delivered: not running the SQL again"
            );
            s.execute(
                &format!(
                    "INSERT INTO {table} (run_id, job_name, event_id, chain_id, continuation, status, reason) \
                     VALUES ($1, $2, $3, $4, $5, 'skipped', 'duplicate_event')"
                ),
                &[&ctx.run_id, &job, &ctx.event_id, &chain_id, &continuation],
                limit,
            )
            .await
            .map_err(|e| history_error(e, "record the duplicate delivery"))?;
        }
        Ok(History {
            table,
            run_id: ctx.run_id.clone(),
            job: job.to_string(),
            retention_days: h.retention_days,
            skip,
            can_continue: ctx.can_continue,
            max_continuations: config.max_continuations,
            continuation: ctx.continuation,
        })
    }

    /// Why this run must not execute the job, if it must not.
    pub fn skip_reason(&self) -> Option<&'static str> {
        self.skip
    }

    /// Records the final state; for a partial run that can continue, marks the continuation
    /// pending (so scheduled runs stay off) and sets `report.continuation_requested`.
    pub async fn finish(
        &self,
        s: &Session,
        ctx: &RunContext,
        report: &mut Report,
    ) -> Result<(), ErrorInfo> {
        let limit = Some(ctx.hard_limit(BOOKKEEPING_TIMEOUT));
        let pending = report.status == crate::report::Status::Partial
            && self.can_continue
            && self.continuation < self.max_continuations;
        if report.status == crate::report::Status::Partial && self.can_continue {
            report.continuation_requested = Some(pending);
            if !pending {
                report.reason = Some("max_continuations".into());
            }
        }
        let error = report.error.as_ref();
        let statements = i32::try_from(report.statements).unwrap_or(i32::MAX);
        let rows = i64::try_from(report.rows_affected).unwrap_or(i64::MAX);
        let batches = report.batches.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        s.execute(
                &format!(
                    "UPDATE {} SET status = $2, reason = $3, statements = $4, rows_affected = $5, batches = $6, \
                     finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint, \
                     error_kind = $7, error_code = $8, error_message = $9, continuation_pending = $10 WHERE run_id = $1",
                    self.table
                ),
                &[
                    &self.run_id,
                    &report.status.as_str(),
                    &report.reason,
                    &statements,
                    &rows,
                    &batches,
                    &error.map(|e| e.kind.as_str()),
                    &error.and_then(|e| e.code.clone()),
                    &error.map(|e| e.message.clone()),
                    &pending,
                ],
                limit,
            )
            .await
            .map_err(|e| history_error(e, "record the result"))?;
        if let Some(export) = &report.export {
            s.execute(
                &format!(
                    "UPDATE {} SET output_uri = $2 WHERE run_id = $1",
                    self.table
                ),
                &[&self.run_id, &export.s3_uri],
                limit,
            )
            .await
            .map_err(|e| history_error(e, "record the export's URI (column output_uri)"))?;
        }
        if self.retention_days > 0 {
            let days = i32::try_from(self.retention_days).unwrap_or(i32::MAX);
            let trimmed = s
                .execute(
                    &format!(
                        "DELETE FROM {} WHERE job_name = $1 AND started_at < now() - make_interval(days => $2) AND status <> 'running'",
                        self.table
                    ),
                    &[&self.job, &days],
                    limit,
                )
                .await
                .map_err(|e| history_error(e, "trim old rows (HISTORY_RETENTION_DAYS)"))?;
            if trimmed > 0 {
                info!(
                    trimmed,
                    retention_days = self.retention_days,
                    "trimmed old history rows"
                );
            }
        }
        Ok(())
    }
}
