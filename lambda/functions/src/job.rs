//! Running the job: connect over TLS within one budget, take the overlap lock, execute the
//! script under a deadline-bounded statement timeout, and fill in the report.

use std::time::{Duration, Instant};

use postgres_native_tls::MakeTlsConnector;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::export::{self, ExportConfig, ExportRun};
use crate::history::History;
use crate::rds::Resolved;
use crate::report::{millis, ErrorInfo, ErrorKind, Report, Status, StepResult};
use crate::run::{RunContext, BOOKKEEPING_TIMEOUT};
use crate::secret::DbSecret;
use pg_cron_job_core::bounded::TransactionStatus;
use pg_cron_job_core::db::{self, ConnectParams, DbFailure, Session};
use pg_cron_job_core::pg_error::{connect_error, failure, ConnectTarget};
use pg_cron_job_core::sql::{leading_keyword, Item};

/// Below this much time left before the deadline no statement is started.
pub const MIN_STATEMENT_BUDGET: Duration = Duration::from_millis(200);
/// A statement may end this much after the deadline before `statement_timeout` is set again.
const TIMEOUT_TOLERANCE_MS: u64 = 500;
/// How long a COMMIT may take to answer before its outcome is reported unknown.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Interval of the `progress` log line during long scripts.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// `client_connection_check_interval` set on every session (ms).
const CONNECTION_CHECK_INTERVAL_MS: u32 = 2_000;

/// Where and as whom to connect, after merging the secret with the `PG*` overrides.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// `PGHOSTADDR`: the address to connect to (TLS still verifies `host`).
    pub hostaddr: Option<std::net::IpAddr>,
    pub dbname: String,
    pub user: String,
    /// The password or IAM token; never logged.
    pub password: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.dbname
        )
    }
}

impl Target {
    /// Merges the overrides, the RDS API's answer (`located`) and the secret, in that order.
    pub fn resolve(
        config: &Config,
        secret: Option<&DbSecret>,
        located: Option<&Resolved>,
    ) -> Result<Self, ErrorInfo> {
        let o = &config.overrides;
        let host = o
            .host
            .clone()
            .or_else(|| located.map(|r| r.host.clone()))
            .or_else(|| secret.and_then(|s| s.host.clone()))
            .ok_or_else(|| {
                config_error("no database host: set PGHOST or DB_CLUSTER_IDENTIFIER / DB_INSTANCE_IDENTIFIER, or add `host` to the secret")
            })?;
        let user = o
            .user
            .clone()
            .or_else(|| secret.map(|s| s.username.clone()))
            .ok_or_else(|| {
                config_error("no database user: set PGUSER or use a secret with `username`")
            })?;
        Ok(Target {
            host,
            port: o
                .port
                .or_else(|| located.map(|r| r.port))
                .or_else(|| secret.and_then(|s| s.port))
                .unwrap_or(5432),
            hostaddr: o.hostaddr,
            dbname: o
                .dbname
                .clone()
                .or_else(|| secret.and_then(|s| s.dbname.clone()))
                .unwrap_or_else(|| "postgres".into()),
            user,
            password: secret.map(|s| s.password.clone()).unwrap_or_default(),
        })
    }
}

/// Runs the job once and returns its report (never panics on job errors).
pub async fn run(
    config: &Config,
    tls: Option<&MakeTlsConnector>,
    s3: Option<&aws_sdk_s3::Client>,
    target: &Target,
    ctx: &RunContext,
) -> Report {
    let mut report = Report::start(
        &config.job_name,
        &ctx.run_id,
        ctx.event_id.as_deref(),
        config.script.statement_count(),
        config.transaction,
        &ctx.started_at,
    );
    if config.repeat_until_zero {
        report.batches = Some(0);
    }
    if ctx.continuation > 0 {
        report.continuation = Some(ctx.continuation);
    }
    info!(job = %config.job_name, run_id = %ctx.run_id, event_id = ctx.event_id.as_deref().unwrap_or(""),
          continuation = ctx.continuation, statements = config.script.statement_count(), "job started");

    match connect(config, tls, target, ctx).await {
        Err(e) => report.fail(e),
        Ok(session) => {
            let mut runner = Runner {
                session: &session,
                tls,
                target,
                config,
                ctx,
                s3,
                timeout_ms: config.statement_timeout_ms,
                last_progress: Instant::now(),
            };
            runner.run(&mut report).await;
            // The server broke a bound (a huge message, a flood): that is the failure, whatever
            // the statement saw of the connection ending.
            if let (Some(why), Some(info)) = (session.violation(), report.error.as_mut()) {
                info.message = format!("{why}; the session was ended");
            }
            // Say goodbye (no "connection reset" in the server's log): at most 1 s and never past
            // the hard deadline, so a server that stopped answering is cut at once.
            session
                .close(Some(ctx.hard_limit(Duration::from_secs(1))))
                .await;
        }
    }
    report.finish(ctx.started, &[&target.password]);
    // The caller writes the "job finished" line (crate::metrics), once per run.
    report
}

async fn connect(
    config: &Config,
    tls: Option<&MakeTlsConnector>,
    target: &Target,
    ctx: &RunContext,
) -> Result<Session, ErrorInfo> {
    let started = Instant::now();
    let left = ctx.deadline.map(|d| d.saturating_duration_since(started));
    let budget = left.map_or(config.connect_timeout, |l| l.min(config.connect_timeout));
    if budget < MIN_STATEMENT_BUDGET {
        return Err(ErrorInfo::new(
            ErrorKind::Deadline,
            format!(
                "not connecting: only {} ms left before the run's deadline (raise the function timeout or MAX_RUNTIME_MS)",
                millis(budget)
            ),
        ));
    }
    let params = ConnectParams {
        host: &target.host,
        port: target.port,
        user: &target.user,
        password: &target.password,
        dbname: &target.dbname,
        application_name: &config.app_name,
        hostaddr: target.hostaddr,
        budget,
        limits: pg_cron_job_core::bounded::Limits::of_this_function(),
    };
    match db::connect(&params, tls).await {
        Ok(session) => {
            info!(host = %target.host, port = target.port, dbname = %target.dbname, user = %target.user,
                  sslmode = config.ssl_mode.as_str(), duration_ms = millis(started.elapsed()), "connected");
            Ok(session)
        }
        Err(DbFailure::NoAnswer) => {
            let why = if budget < config.connect_timeout {
                "the run's deadline"
            } else {
                "PGCONNECT_TIMEOUT"
            };
            Err(ErrorInfo::new(
                ErrorKind::Connect,
                format!(
                    "no answer from {}:{} within {} ms ({why}) while connecting (TCP connect, TLS handshake, start-up and authentication): check that PGHOST/PGPORT point at PostgreSQL and not at a stalled proxy or another service, the security groups, and that the database is up",
                    target.host,
                    target.port,
                    millis(budget)
                ),
            ))
        }
        Err(e) => Err(connect_error(
            &e,
            &ConnectTarget {
                host: &target.host,
                port: target.port,
                ssl_mode: config.ssl_mode,
                root_cert: config.ssl_root_cert.as_deref(),
                budget,
                auth_hint: "check the secret's username/password, or the role's IAM grant for AUTH_MODE=iam",
            },
        )),
    }
}

/// Executes the job on an open session.
struct Runner<'a> {
    session: &'a Session,
    /// To reach the database again when the session died (to record the result).
    tls: Option<&'a MakeTlsConnector>,
    target: &'a Target,
    config: &'a Config,
    ctx: &'a RunContext,
    s3: Option<&'a aws_sdk_s3::Client>,
    /// The `statement_timeout` currently set on the session (`None`: no limit).
    timeout_ms: Option<u64>,
    last_progress: Instant,
}

impl Runner<'_> {
    async fn run(&mut self, report: &mut Report) {
        let (config, ctx, session) = (self.config, self.ctx, self.session);
        let setup_limit = Some(ctx.limit(BOOKKEEPING_TIMEOUT));
        if let Err(e) = session
            .simple(&session_setup(config, ctx), setup_limit)
            .await
        {
            report.fail(failure(e, None, "set up the session"));
            return;
        }
        if !config.read_only {
            let check =
                "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool";
            match session.scalar(check, setup_limit).await {
                Ok(Some(v)) if v == "t" => {
                    report.reached_reader = true;
                    report.fail(ErrorInfo::new(
                        ErrorKind::Connect,
                        "reached a read-only server (an Aurora reader, a standby, or default_transaction_read_only): after a failover the cluster endpoint can point at the old writer for a while; with DB_CLUSTER_IDENTIFIER the runner looks the writer up, else point PGHOST at the writer (or set READ_ONLY=true for a read-only job)".into(),
                    ));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    report.fail(failure(e, None, "check that the server is the writer"));
                    return;
                }
            }
        }
        let lock_key = advisory_lock_key(&config.job_name);
        let mut skip = None;
        if !config.allow_overlap {
            let sql = format!("SELECT pg_try_advisory_lock({lock_key})");
            match session.scalar(&sql, setup_limit).await {
                Ok(Some(got)) if got == "t" => {}
                Ok(_) => {
                    warn!(job = %config.job_name, lock_key, "another run of this job holds the overlap lock; skipping");
                    skip = Some("overlap");
                }
                Err(e) => {
                    report.fail(failure(e, None, "take the overlap lock"));
                    return;
                }
            }
        }
        let history = match &config.history {
            Some(h) => match History::begin(session, h, config, ctx, skip).await {
                Ok(history) => Some(history),
                Err(e) => {
                    report.fail(e);
                    return;
                }
            },
            None => None,
        };
        if let Some(reason) = history.as_ref().and_then(History::skip_reason).or(skip) {
            report.skip(reason);
        } else {
            let outcome = if let Some((export, query)) = &config.export {
                self.run_export(export, query, report).await
            } else if config.repeat_until_zero {
                self.run_batches(report).await
            } else if config.transaction {
                self.run_in_transaction(report).await
            } else {
                self.run_script(report).await
            };
            if let Err(e) = outcome {
                report.fail(e);
            }
        }
        report.notices = session.notices();
        if let Some(h) = &history {
            let mut recorded = h.finish(session, ctx, report).await;
            if recorded.is_err() && session.is_closed() {
                // The backend is gone (terminated, the server restarted): record the result,
                // the real error with it, from a new session.
                if let Ok(fresh) = connect(config, self.tls, self.target, ctx).await {
                    recorded = h.finish(&fresh, ctx, report).await;
                    fresh
                        .close(Some(ctx.hard_limit(Duration::from_secs(1))))
                        .await;
                }
            }
            if let Err(e) = recorded {
                warn!(error = %e.message, "the run's result could not be recorded in the history table; the next run repairs its row");
                report.warnings.push(e.message);
            }
        }
        if !config.allow_overlap && skip.is_none() {
            let sql = format!("SELECT pg_advisory_unlock({lock_key})");
            if session
                .simple(&sql, Some(ctx.hard_limit(BOOKKEEPING_TIMEOUT)))
                .await
                .is_err()
            {
                warn!("could not release the overlap lock; it ends with the connection");
            }
        }
    }

    /// `EXPORT_S3_URI`: the query's rows streamed to S3.
    async fn run_export(
        &mut self,
        export: &ExportConfig,
        query: &str,
        report: &mut Report,
    ) -> Result<(), ErrorInfo> {
        let Some(s3) = self.s3 else {
            return Err(ErrorInfo::new(
                ErrorKind::Internal,
                "export configured without an S3 client".into(),
            ));
        };
        if let Some(budget) = self.config.statement_timeout_ms {
            self.timeout_ms = Some(budget);
        }
        let started = Instant::now();
        self.statement_timeout_for_deadline(1).await?;
        let ctx = self.ctx;
        let scheduled = ctx
            .scheduled_time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let result = export::run(
            self.session,
            ExportRun {
                s3,
                config: export,
                query,
                key: export.key(&self.config.job_name, &ctx.run_id, ctx.scheduled_time),
                run_id: &ctx.run_id,
                scheduled_time: &scheduled,
                limit: ctx.hard_deadline,
            },
        )
        .await?;
        report.record_step(StepResult {
            statement: 1,
            rows: result.rows_exported,
            duration_ms: millis(started.elapsed()),
        });
        report.export = Some(result);
        Ok(())
    }

    /// Runs the script's items in order; a failed statement stops it unless the script set
    /// `ON_ERROR_STOP off` (then the run still ends `failed`).
    async fn run_script(&mut self, report: &mut Report) -> Result<(), ErrorInfo> {
        let script = &self.config.script;
        // With TRANSACTION=true the block is the runner's own (run_in_transaction ends it).
        let own_block = self.config.transaction;
        let mut open: Option<OpenBlock> = None;
        let mut stop_on_error = true;
        let mut n = 0;
        for item in script.items() {
            match item {
                Item::OnErrorStop(on) => stop_on_error = *on,
                Item::Echo { line, text } => info!(line, echo = %text, "\\echo"),
                Item::Sql { text, line } => {
                    n += 1;
                    let sql = script.text(text);
                    let (rows, failed) = match self.statement(n, sql).await.map_err(|e| ErrorInfo {
                        line: Some(*line),
                        ..e
                    }) {
                        Ok(step) => {
                            let rows = step.rows;
                            report.record_step(step);
                            (rows, false)
                        }
                        Err(e) if !stop_on_error && e.reported_by_server() => {
                            warn!(statement = n, error = %e.message, "statement failed; going on (ON_ERROR_STOP off)");
                            report.record_statement_error(e);
                            (0, true)
                        }
                        Err(e) => return Err(e),
                    };
                    if !own_block {
                        // After an error the answer ends at ErrorResponse, before its
                        // ReadyForQuery is read: the status is the one before, and a failed
                        // statement inside a block fails the block.
                        let status = match self.session.transaction_status() {
                            TransactionStatus::InBlock if failed => TransactionStatus::Failed,
                            status => status,
                        };
                        track_block(&mut open, status, *line, sql, rows, report);
                    }
                    self.progress(n, report);
                }
            }
        }
        match open {
            Some(block) => Err(self.end_open_block(block, report).await),
            None => Ok(()),
        }
    }

    /// The script ended inside a transaction block it opened: psql would exit and the server roll
    /// the block back. The runner rolls it back now (so that the history row and the lock's
    /// release are not part of it), counts none of its rows and fails the run with where the
    /// block began.
    async fn end_open_block(&mut self, block: OpenBlock, report: &mut Report) -> ErrorInfo {
        report.rows_affected = report.rows_affected.saturating_sub(block.rows);
        let hard = Some(self.ctx.hard_limit(BOOKKEEPING_TIMEOUT));
        if self.session.simple("ROLLBACK", hard).await.is_err() {
            warn!("ROLLBACK got no answer; the server rolls back when the connection closes");
        }
        warn!(
            line = block.line,
            statements = block.statements,
            rows = block.rows,
            "the script ended inside a transaction block: rolled back"
        );
        ErrorInfo {
            line: Some(block.line),
            ..ErrorInfo::new(
                ErrorKind::Sql,
                format!(
                    "the script ended inside the transaction block that began at line {} (no COMMIT): PostgreSQL rolled back the work of its {} statement{} ({} row{}), as it does when psql exits there; end the block with COMMIT, or set TRANSACTION=true to run the whole script as one transaction",
                    block.line,
                    block.statements,
                    if block.statements == 1 { "" } else { "s" },
                    block.rows,
                    if block.rows == 1 { "" } else { "s" },
                ),
            )
        }
    }

    /// `TRANSACTION=true`: the script between `BEGIN` and `COMMIT`, rolled back on any error.
    async fn run_in_transaction(&mut self, report: &mut Report) -> Result<(), ErrorInfo> {
        let limit = Some(self.ctx.limit(BOOKKEEPING_TIMEOUT));
        self.session
            .simple("BEGIN", limit)
            .await
            .map_err(|e| failure(e, None, "begin the transaction"))?;
        if let Err(e) = self.run_script(report).await {
            report.roll_back();
            warn!("transaction rolled back");
            let hard = Some(self.ctx.hard_limit(BOOKKEEPING_TIMEOUT));
            if self.session.simple("ROLLBACK", hard).await.is_err() {
                warn!("ROLLBACK got no answer; the server rolls back when the connection closes");
            }
            return Err(e);
        }
        match self
            .session
            .simple("COMMIT", Some(self.ctx.hard_limit(COMMIT_TIMEOUT)))
            .await
        {
            Ok(_) => Ok(()),
            Err(DbFailure::NoAnswer) => Err(ErrorInfo::new(
                ErrorKind::Timeout,
                "COMMIT was sent but no answer came back: whether the transaction committed is unknown; check the data (and the history row) before running the job again".into(),
            )),
            Err(e) => {
                report.roll_back();
                Err(failure(e, None, "commit"))
            }
        }
    }

    /// `REPEAT_UNTIL_ZERO=true`: one statement, repeated (each run its own transaction) until it
    /// affects no rows or the deadline is near.
    async fn run_batches(&mut self, report: &mut Report) -> Result<(), ErrorInfo> {
        let script = &self.config.script;
        let statement = script.statements().next().unwrap_or_default();
        let mut batches = 0u64;
        let mut last_batch = Duration::ZERO;
        loop {
            if let Some(deadline) = self.ctx.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left < MIN_STATEMENT_BUDGET + last_batch * 2 {
                    report.status = Status::Partial;
                    report.reason = Some("deadline".into());
                    info!(
                        batches,
                        rows_affected = report.rows_affected,
                        "deadline near: stopping with rows left"
                    );
                    break;
                }
            }
            let started = Instant::now();
            let step = self.statement(1, statement).await.inspect_err(|_| {
                report.batches = Some(batches);
            })?;
            last_batch = started.elapsed();
            batches += 1;
            report.rows_affected += step.rows;
            if step.rows == 0 {
                break;
            }
        }
        report.statements = 1;
        report.batches = Some(batches);
        Ok(())
    }

    /// Runs statement `n`; under a deadline, first lowers `statement_timeout` when the one set
    /// would let the statement run past it.
    async fn statement(&mut self, n: usize, sql: &str) -> Result<StepResult, ErrorInfo> {
        self.statement_timeout_for_deadline(n).await?;
        let started = Instant::now();
        self.session.set_statement(Some(n));
        let rows = self.session.simple(sql, self.ctx.hard_deadline).await;
        self.session.set_statement(None);
        let rows = rows.map_err(|e| failure(e, Some(n), "run the statement"))?;
        let step = StepResult {
            statement: n,
            rows,
            duration_ms: millis(started.elapsed()),
        };
        debug!(
            statement = n,
            rows,
            duration_ms = step.duration_ms,
            "statement finished"
        );
        Ok(step)
    }

    /// Under a deadline, lowers `statement_timeout` when the one in force would let statement
    /// `n` run past it; refuses to start with too little time left.
    async fn statement_timeout_for_deadline(&mut self, n: usize) -> Result<(), ErrorInfo> {
        if let Some(deadline) = self.ctx.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let budget =
                statement_budget(self.config.statement_timeout_ms, left).ok_or_else(|| ErrorInfo {
                    statement: Some(n),
                    ..ErrorInfo::new(ErrorKind::Deadline, format!(
                        "statement {n} not started: only {} ms left before the run's deadline (raise the function timeout or MAX_RUNTIME_MS, or split the job)",
                        millis(left)
                    ))
                })?;
            if needs_new_timeout(self.timeout_ms, millis(left)) {
                self.session
                    .simple(
                        &format!("SET statement_timeout = {budget}"),
                        self.ctx.hard_deadline,
                    )
                    .await
                    .map_err(|e| failure(e, Some(n), "set statement_timeout"))?;
                self.timeout_ms = Some(budget);
            }
        }
        Ok(())
    }

    fn progress(&mut self, n: usize, report: &Report) {
        if self.last_progress.elapsed() >= PROGRESS_EVERY {
            self.last_progress = Instant::now();
            info!(
                statements_done = n,
                statements_total = report.statements_total,
                rows_affected = report.rows_affected,
                "progress"
            );
        }
    }
}

/// Session settings sent once after connecting, in one round trip. The run's context is
/// visible to the job's SQL as `current_setting('pg_cron_job.scheduled_time')` (and `run_id`,
/// `job_name`), so a purge can be relative to the scheduled time and behave the same on a
/// re-delivered event.
/// The work of a transaction block the script opened (`BEGIN`) and has not ended yet.
#[derive(Debug)]
struct OpenBlock {
    /// The line of the statement that opened it.
    line: u32,
    statements: usize,
    rows: u64,
    /// A statement failed in it: whatever ends it, the block rolls back.
    failed: bool,
}

/// Follows the script's own transaction blocks from the status each statement left
/// (`ReadyForQuery`): rows of a block count as done only when its `COMMIT` commits; a block that
/// ends in `ROLLBACK`, or in a `COMMIT` of a failed block (which PostgreSQL answers with
/// ROLLBACK), takes its rows back.
fn track_block(
    open: &mut Option<OpenBlock>,
    status: TransactionStatus,
    line: u32,
    sql: &str,
    rows: u64,
    report: &mut Report,
) {
    match status {
        TransactionStatus::InBlock | TransactionStatus::Failed => {
            let block = open.get_or_insert(OpenBlock {
                line,
                statements: 0,
                rows: 0,
                failed: false,
            });
            block.statements += 1;
            block.rows += rows;
            block.failed |= status == TransactionStatus::Failed;
        }
        TransactionStatus::Idle => {
            if let Some(block) = open.take() {
                let keyword = leading_keyword(sql);
                if block.failed || matches!(keyword.as_str(), "ROLLBACK" | "ABORT") {
                    report.rows_affected = report.rows_affected.saturating_sub(block.rows);
                    info!(
                        line = block.line,
                        rows = block.rows,
                        "the transaction block was rolled back: its rows are not counted"
                    );
                }
            }
        }
        TransactionStatus::Unknown => {}
    }
}

fn session_setup(config: &Config, ctx: &RunContext) -> String {
    let scheduled = ctx
        .scheduled_time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut sql = format!(
        "SELECT set_config('pg_cron_job.job_name', {}, false), set_config('pg_cron_job.run_id', {}, false), \
         set_config('pg_cron_job.scheduled_time', {}, false);",
        sql_literal(&config.job_name),
        sql_literal(&ctx.run_id),
        sql_literal(&scheduled)
    );
    if let Some(ms) = config.lock_timeout_ms {
        sql.push_str(&format!("SET lock_timeout = {ms};"));
    }
    if let Some(ms) = config.statement_timeout_ms {
        sql.push_str(&format!("SET statement_timeout = {ms};"));
    }
    // PostgreSQL 14+: a statement whose client has gone (runner killed, Lambda timeout) is
    // cancelled within this interval, releasing its locks, instead of running to its end.
    sql.push_str(&format!(
        "SELECT set_config('client_connection_check_interval', '{CONNECTION_CHECK_INTERVAL_MS}', false) \
         WHERE current_setting('server_version_num')::int >= 140000;"
    ));
    sql
}

/// A string literal that means the same whatever `standard_conforming_strings` is.
fn sql_literal(value: &str) -> String {
    format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// Whether the `statement_timeout` in force (`None`: none) could let a statement starting now
/// end later than `left_ms` from now (plus a small tolerance that saves a round trip per
/// statement).
fn needs_new_timeout(current_ms: Option<u64>, left_ms: u64) -> bool {
    current_ms.is_none_or(|t| t > left_ms + TIMEOUT_TOLERANCE_MS)
}

/// The statement timeout (ms) to apply when `left` remains before the deadline: never later than
/// the deadline, never later than `STATEMENT_TIMEOUT_MS`; `None` when too little time is left.
pub fn statement_budget(configured_ms: Option<u64>, left: Duration) -> Option<u64> {
    if left < MIN_STATEMENT_BUDGET {
        return None;
    }
    let left_ms = millis(left);
    Some(configured_ms.map_or(left_ms, |c| c.min(left_ms)))
}

/// The session advisory-lock key for a job: FNV-1a 64 of `pg_cron_job:<job name>`.
pub fn advisory_lock_key(job: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("pg_cron_job:{job}").bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

fn config_error(message: &str) -> ErrorInfo {
    ErrorInfo::new(ErrorKind::Config, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_never_exceeds_the_deadline_or_the_configured_timeout() {
        assert_eq!(
            statement_budget(None, Duration::from_secs(10)),
            Some(10_000)
        );
        assert_eq!(
            statement_budget(Some(2_000), Duration::from_secs(10)),
            Some(2_000)
        );
        assert_eq!(
            statement_budget(Some(60_000), Duration::from_millis(4_500)),
            Some(4_500)
        );
        assert_eq!(
            statement_budget(Some(60_000), Duration::from_millis(199)),
            None
        );
        assert_eq!(statement_budget(None, Duration::ZERO), None);
    }

    #[test]
    fn statement_timeout_is_reset_only_when_it_could_pass_the_deadline() {
        assert!(needs_new_timeout(None, 60_000));
        assert!(!needs_new_timeout(Some(10_000), 60_000));
        assert!(!needs_new_timeout(Some(10_400), 10_000));
        assert!(needs_new_timeout(Some(10_600), 10_000));
    }

    #[test]
    fn session_setup_is_one_round_trip_with_the_configured_timeouts() {
        let vars = [
            ("DB_SECRET_ID", "s"),
            ("SQL", "SELECT 1"),
            ("PGSSLMODE", "disable"),
            ("STATEMENT_TIMEOUT_MS", "5000"),
            ("LOCK_TIMEOUT_MS", "700"),
        ];
        let config = Config::from_vars(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap();
        let ctx = RunContext {
            run_id: "run-'1".into(),
            event_id: None,
            deadline: None,
            hard_deadline: None,
            continuation: 0,
            chain_id: None,
            previous_run_id: None,
            can_continue: false,
            started: Instant::now(),
            started_at: String::new(),
            scheduled_time: time::macros::datetime!(2026-11-29 02:30:00 UTC),
            history_ready: Default::default(),
        };
        let sql = session_setup(&config, &ctx);
        assert!(
            sql.contains("set_config('pg_cron_job.run_id', E'run-''1', false)"),
            "{sql}"
        );
        assert!(sql.contains("E'2026-11-29T02:30:00Z'"), "{sql}");
        assert!(sql.contains("SET lock_timeout = 700;SET statement_timeout = 5000;"));
        assert!(sql.contains("client_connection_check_interval"));
    }

    #[test]
    fn lock_key_is_stable_and_per_job() {
        assert_eq!(advisory_lock_key("purge"), advisory_lock_key("purge"));
        assert_ne!(advisory_lock_key("purge"), advisory_lock_key("vacuum"));
    }

    #[test]
    fn target_overrides_win_over_the_secret() {
        let vars = [
            ("DB_SECRET_ID", "s"),
            ("SQL", "SELECT 1"),
            ("PGSSLMODE", "disable"),
            ("PGHOST", "override"),
            ("PGDATABASE", "reports"),
        ];
        let config = Config::from_vars(
            vars.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap();
        let secret = DbSecret::parse(
            "s",
            r#"{"username":"job","password":"pw","host":"db","port":6432,"dbname":"app"}"#,
        )
        .unwrap();
        let t = Target::resolve(&config, Some(&secret), None).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.dbname.as_str(), t.user.as_str()),
            ("override", 6432, "reports", "job")
        );
        assert!(!format!("{t:?}").contains("pw"));
        let bare = DbSecret::parse("s", r#"{"username":"job","password":"pw"}"#).unwrap();
        let mut config = config;
        config.overrides.host = None;
        let e = Target::resolve(&config, Some(&bare), None).unwrap_err();
        assert!(e.message.contains("PGHOST"));
    }
}
