//! Running the job: connect over TLS, take the overlap lock, execute the statements under the
//! deadline-bounded statement timeout, and fill in the report. Synchronous: call it from a
//! blocking thread, never from the async runtime's worker threads.

use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls, SimpleQueryMessage};
use postgres_native_tls::MakeTlsConnector;
use tracing::{info, warn};

use crate::config::Config;
use crate::history::History;
use crate::report::{millis, ErrorInfo, ErrorKind, Report, Status, StepResult};
use crate::secret::DbSecret;
use crate::tls::explain_handshake_error;

/// Below this much time left before the deadline no statement is started.
pub const MIN_STATEMENT_BUDGET: Duration = Duration::from_millis(200);

/// Where and as whom to connect, after merging the secret with the `PG*` overrides.
#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
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
    /// Merges the secret (if any) with the overrides; the overrides win.
    pub fn resolve(config: &Config, secret: Option<&DbSecret>) -> Result<Self, ErrorInfo> {
        let o = &config.overrides;
        let host = o
            .host
            .clone()
            .or_else(|| secret.and_then(|s| s.host.clone()))
            .ok_or_else(|| {
                config_error("no database host: set PGHOST or add `host` to the secret")
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
                .or_else(|| secret.and_then(|s| s.port))
                .unwrap_or(5432),
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

/// Per-invocation facts the job needs besides its configuration.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub run_id: String,
    pub event_id: Option<String>,
    /// When the last statement must be finished (Lambda deadline minus margin, or `MAX_RUNTIME_MS`).
    pub deadline: Option<Instant>,
    /// Position in a continuation chain (0 for a scheduled run).
    pub continuation: u32,
    /// Run id of the chain's first run (continuations only).
    pub chain_id: Option<String>,
    /// Run id of the run that requested this continuation.
    pub previous_run_id: Option<String>,
    /// Whether a partial run may ask for a continuation (Lambda mode with `CONTINUE_ON_DEADLINE`).
    pub can_continue: bool,
    pub started: Instant,
}

/// Runs the job once and returns its report (never panics on job errors).
pub fn run(
    config: &Config,
    tls: Option<&MakeTlsConnector>,
    target: &Target,
    ctx: &RunContext,
) -> Report {
    let mut report = Report::start(
        &config.job_name,
        &ctx.run_id,
        ctx.event_id.as_deref(),
        config.statements.len(),
        config.transaction,
    );
    if config.repeat_until_zero {
        report.batches = Some(0);
    }
    if ctx.continuation > 0 {
        report.continuation = Some(ctx.continuation);
    }
    info!(job = %config.job_name, run_id = %ctx.run_id, event_id = ctx.event_id.as_deref().unwrap_or(""),
          continuation = ctx.continuation, statements = config.statements.len(), "job started");

    match connect(config, tls, target) {
        Err(e) => report.fail(e),
        Ok(mut client) => {
            if let Err(e) = run_connected(&mut client, config, ctx, &mut report) {
                report.fail(e);
            }
        }
    }
    report.finish(ctx.started, &[&target.password]);
    let error = report
        .error
        .as_ref()
        .map(|e| e.message.as_str())
        .unwrap_or("");
    info!(job = %report.job, run_id = %report.run_id, status = report.status.as_str(),
          statements = report.statements, rows_affected = report.rows_affected,
          duration_ms = report.duration_ms, error, "job finished");
    report
}

fn connect(
    config: &Config,
    tls: Option<&MakeTlsConnector>,
    target: &Target,
) -> Result<Client, ErrorInfo> {
    let started = Instant::now();
    let mut pg = postgres::Config::new();
    pg.host(&target.host)
        .port(target.port)
        .user(&target.user)
        .password(&target.password)
        .dbname(&target.dbname)
        .application_name(&config.app_name)
        .connect_timeout(config.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(30));
    let result = match tls {
        Some(tls) => {
            pg.ssl_mode(postgres::config::SslMode::Require);
            pg.connect(tls.clone())
        }
        None => {
            pg.ssl_mode(postgres::config::SslMode::Disable);
            pg.connect(NoTls)
        }
    };
    match result {
        Ok(client) => {
            info!(host = %target.host, port = target.port, dbname = %target.dbname, user = %target.user,
                  sslmode = config.ssl_mode.as_str(), duration_ms = millis(started.elapsed()), "connected");
            Ok(client)
        }
        Err(e) => Err(classify_connect_error(&e, config, target)),
    }
}

fn classify_connect_error(e: &postgres::Error, config: &Config, target: &Target) -> ErrorInfo {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = if code.starts_with("28") {
            ErrorKind::Auth
        } else {
            ErrorKind::Connect
        };
        let mut message = format!("{}: {}", db.severity(), db.message());
        if kind == ErrorKind::Auth {
            message.push_str(" (check the secret's username/password, or the role's IAM grant for AUTH_MODE=iam)");
        }
        return ErrorInfo {
            kind,
            message,
            code: Some(code.into()),
            statement: None,
        };
    }
    let chain = error_chain(e);
    if has_source::<native_tls::Error>(e) {
        return ErrorInfo {
            kind: ErrorKind::Tls,
            message: explain_handshake_error(
                &chain,
                config.ssl_mode,
                &target.host,
                config.ssl_root_cert.as_deref(),
            ),
            code: None,
            statement: None,
        };
    }
    ErrorInfo {
        kind: ErrorKind::Connect,
        message: format!("cannot connect to {}:{}: {chain} (check PGHOST/PGPORT, the security groups and PGCONNECT_TIMEOUT)", target.host, target.port),
        code: None,
        statement: None,
    }
}

fn run_connected(
    client: &mut Client,
    config: &Config,
    ctx: &RunContext,
    report: &mut Report,
) -> Result<(), ErrorInfo> {
    if let Some(ms) = config.lock_timeout_ms {
        client
            .batch_execute(&format!("SET lock_timeout = {ms}"))
            .map_err(|e| sql_error(&e, None))?;
    }
    if let Some(ms) = config.statement_timeout_ms {
        client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .map_err(|e| sql_error(&e, None))?;
    }
    let lock_key = advisory_lock_key(&config.job_name);
    if !config.allow_overlap {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key])
            .map_err(|e| sql_error(&e, None))?
            .get(0);
        if !got {
            warn!(job = %config.job_name, lock_key, "another run of this job holds the overlap lock; skipping");
            report.skip("overlap");
            return Ok(());
        }
    }
    let history = match &config.history {
        Some(h) => Some(History::begin(client, h, config, ctx)?),
        None => None,
    };
    if let Some(h) = &history {
        if let Some(reason) = h.skip_reason() {
            report.skip(reason);
            return h.finish(client, report);
        }
    }
    let outcome = if config.repeat_until_zero {
        run_batches(client, config, ctx, report)
    } else if config.transaction {
        run_in_transaction(client, config, ctx, report)
    } else {
        run_autocommit(client, config, ctx, report)
    };
    if let Err(e) = outcome {
        report.fail(e);
    }
    if let Some(h) = &history {
        if let Err(e) = h.finish(client, report) {
            if report.status != Status::Failed {
                report.fail(e);
            } else {
                warn!(error = %e.message, "cannot record the failed run in the history table");
            }
        }
    }
    if !config.allow_overlap {
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&lock_key]);
    }
    Ok(())
}

fn run_autocommit(
    client: &mut Client,
    config: &Config,
    ctx: &RunContext,
    report: &mut Report,
) -> Result<(), ErrorInfo> {
    for (i, statement) in config.statements.iter().enumerate() {
        report.record_step(execute(client, config, ctx, i + 1, statement)?);
    }
    Ok(())
}

fn run_in_transaction(
    client: &mut Client,
    config: &Config,
    ctx: &RunContext,
    report: &mut Report,
) -> Result<(), ErrorInfo> {
    let mut tx = client.transaction().map_err(|e| sql_error(&e, None))?;
    for (i, statement) in config.statements.iter().enumerate() {
        match execute(&mut tx, config, ctx, i + 1, statement) {
            Ok(step) => report.record_step(step),
            Err(e) => {
                drop(tx);
                report.roll_back();
                warn!(statement = i + 1, "transaction rolled back");
                return Err(e);
            }
        }
    }
    tx.commit().map_err(|e| {
        report.roll_back();
        sql_error(&e, None)
    })
}

/// `REPEAT_UNTIL_ZERO=true`: one statement, repeated (each run its own transaction) until it
/// affects no rows or the deadline is near.
fn run_batches(
    client: &mut Client,
    config: &Config,
    ctx: &RunContext,
    report: &mut Report,
) -> Result<(), ErrorInfo> {
    let statement = &config.statements[0];
    let mut batches = 0u64;
    let mut last_batch = Duration::ZERO;
    loop {
        if let Some(deadline) = ctx.deadline {
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
        let step = execute(client, config, ctx, 1, statement).inspect_err(|_| {
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

fn execute<C: GenericClient>(
    client: &mut C,
    config: &Config,
    ctx: &RunContext,
    n: usize,
    statement: &str,
) -> Result<StepResult, ErrorInfo> {
    if let Some(deadline) = ctx.deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let budget = statement_budget(config.statement_timeout_ms, left).ok_or_else(|| ErrorInfo {
            kind: ErrorKind::Deadline,
            message: format!(
                "statement {n} not started: only {} ms left before the invocation deadline (raise the function timeout or MAX_RUNTIME_MS, or split the job)",
                millis(left)
            ),
            code: None,
            statement: Some(n),
        })?;
        client
            .batch_execute(&format!("SET statement_timeout = {budget}"))
            .map_err(|e| sql_error(&e, Some(n)))?;
    }
    let started = Instant::now();
    let messages = client
        .simple_query(statement)
        .map_err(|e| sql_error(&e, Some(n)))?;
    let rows = messages
        .iter()
        .map(|m| match m {
            SimpleQueryMessage::CommandComplete(rows) => *rows,
            _ => 0,
        })
        .sum();
    let step = StepResult {
        statement: n,
        rows,
        duration_ms: millis(started.elapsed()),
    };
    info!(
        statement = n,
        rows,
        duration_ms = step.duration_ms,
        "statement finished"
    );
    Ok(step)
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

/// An error from a statement (or session set-up), with SQLSTATE.
pub fn sql_error(e: &postgres::Error, statement: Option<usize>) -> ErrorInfo {
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
                kind,
                message,
                code: Some(code),
                statement,
            }
        }
        None => ErrorInfo {
            kind: ErrorKind::Connect,
            message: error_chain(e),
            code: None,
            statement,
        },
    }
}

fn config_error(message: &str) -> ErrorInfo {
    ErrorInfo {
        kind: ErrorKind::Config,
        message: message.into(),
        code: None,
        statement: None,
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn has_source<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<T>() {
            return true;
        }
        source = s.source();
    }
    false
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
        let t = Target::resolve(&config, Some(&secret)).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.dbname.as_str(), t.user.as_str()),
            ("override", 6432, "reports", "job")
        );
        assert!(!format!("{t:?}").contains("pw"));
        let bare = DbSecret::parse("s", r#"{"username":"job","password":"pw"}"#).unwrap();
        let mut config = config;
        config.overrides.host = None;
        let e = Target::resolve(&config, Some(&bare)).unwrap_err();
        assert!(e.message.contains("PGHOST"));
    }
}
