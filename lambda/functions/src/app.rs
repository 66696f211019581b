//! State built once per cold start (configuration, TLS connector, AWS clients, cached secret)
//! and one run of the job per invocation.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use postgres_native_tls::MakeTlsConnector;
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::aws::{sdk_config, AWS_CONNECT_TIMEOUT, AWS_OPERATION_TIMEOUT};
use crate::config::{AuthMode, Config, ConfigError};
use crate::event::InvocationEvent;
use crate::job::{self, Target};
use crate::rds::{self, DbRef, EndpointKind, Resolved};
use crate::report::{now_rfc3339, ErrorInfo, ErrorKind, Report};
use crate::run::RunContext;
use crate::secret::{self, DbSecret};
use crate::{iam, metrics};
use pg_cron_job_core::tls;

/// Between the hard deadline and Lambda's own, to return the result (at most half of
/// `DEADLINE_MARGIN_MS`).
const REPORT_GUARD: Duration = Duration::from_millis(1_000);
/// The least time a run needs after the margin: a secret fetch, a connection, a statement.
const MIN_RUN_TIME: Duration = Duration::from_millis(1_000);

/// Everything that is set up once and reused across invocations.
pub struct App {
    config: Config,
    tls: Option<MakeTlsConnector>,
    sdk: aws_config::SdkConfig,
    secrets: aws_sdk_secretsmanager::Client,
    lambda: Option<aws_sdk_lambda::Client>,
    s3: Option<aws_sdk_s3::Client>,
    rds: Option<aws_sdk_rds::Client>,
    /// The RDS API's last answer (`DB_CLUSTER_IDENTIFIER` / `DB_INSTANCE_IDENTIFIER`).
    located: Mutex<Option<Resolved>>,
    cached_secret: Mutex<Option<DbSecret>>,
    history_ready: Arc<AtomicBool>,
}

/// Start-up failure: the configuration or the TLS root bundle is unusable.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

impl StartupError {
    /// The report every run returns while the configuration is broken.
    pub fn report(&self, job: &str) -> Report {
        failed_report(
            job,
            None,
            ErrorInfo::new(ErrorKind::Config, self.to_string()),
            Instant::now(),
            &now_rfc3339(),
        )
    }
}

/// Where the run's time limit comes from.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lambda's invocation deadline, when running under Lambda.
    pub lambda_deadline: Option<SystemTime>,
}

impl App {
    /// Builds the cold-start state from the process environment.
    pub async fn from_env() -> Result<Arc<Self>, StartupError> {
        let config = Config::from_env()?;
        let tls = tls::connector(config.ssl_mode, config.ssl_root_cert.as_deref())?;
        let sdk = sdk_config().await;
        let secrets = crate::aws::secrets_client(&sdk);
        let lambda = config
            .continue_on_deadline
            .then(|| aws_sdk_lambda::Client::new(&sdk));
        let s3 = config.export.is_some().then(|| s3_client(&sdk));
        let rds = config.rds.is_some().then(|| aws_sdk_rds::Client::new(&sdk));
        Ok(Arc::new(App {
            s3,
            rds,
            located: Mutex::new(None),
            config,
            tls,
            sdk,
            secrets,
            lambda,
            cached_secret: Mutex::new(None),
            history_ready: Arc::new(AtomicBool::new(false)),
        }))
    }

    /// Runs the job once for `event`; `function_arn` enables continuations in Lambda mode.
    /// Every run, whatever phase it ends in, writes one "job finished" line (with its metrics).
    pub async fn run(
        self: &Arc<Self>,
        event: &InvocationEvent,
        limits: Limits,
        function_arn: Option<&str>,
    ) -> Report {
        let report = self.run_job(event, limits, function_arn).await;
        eprintln!(
            "{}",
            metrics::job_finished(
                &report,
                &self.config.metrics_namespace,
                event.scheduled_time
            )
        );
        report
    }

    async fn run_job(
        self: &Arc<Self>,
        event: &InvocationEvent,
        limits: Limits,
        function_arn: Option<&str>,
    ) -> Report {
        let started = Instant::now();
        let run_id = uuid::Uuid::new_v4().to_string();
        let (deadline, hard_deadline) = self.deadlines(started, limits);
        let ctx = RunContext {
            run_id: run_id.clone(),
            event_id: event.id.clone(),
            deadline,
            hard_deadline,
            continuation: event.continuation.as_ref().map_or(0, |c| c.continuation),
            chain_id: event.continuation.as_ref().map(|c| c.chain_id.clone()),
            previous_run_id: event
                .continuation
                .as_ref()
                .map(|c| c.previous_run_id.clone()),
            can_continue: self.config.continue_on_deadline && function_arn.is_some(),
            started,
            started_at: now_rfc3339(),
            scheduled_time: event
                .scheduled_time
                .unwrap_or_else(time::OffsetDateTime::now_utc),
            history_ready: Arc::clone(&self.history_ready),
        };
        let fail = |e: ErrorInfo| {
            failed_report(
                &self.config.job_name,
                event.id.as_deref(),
                e,
                started,
                &ctx.started_at,
            )
        };

        // A function timeout within the margin leaves the run no time at all: say so, rather
        // than let the first call fail as an unreachable service.
        if let Some(left) = limits
            .lambda_deadline
            .and_then(|d| d.duration_since(SystemTime::now()).ok())
        {
            let margin = Duration::from_millis(self.config.deadline_margin_ms);
            if left <= margin + MIN_RUN_TIME {
                return fail(ErrorInfo::new(
                    ErrorKind::Config,
                    format!(
                        "the invocation has {} ms before Lambda's deadline, which DEADLINE_MARGIN_MS ({} ms, kept to report the result) leaves no time to run in: raise the function's timeout (the module's `timeout`, in seconds) to at least {} s, or lower DEADLINE_MARGIN_MS",
                        left.as_millis(),
                        margin.as_millis(),
                        (margin + MIN_RUN_TIME).as_secs() + 2
                    ),
                ));
            }
        }

        // At most one retry for each: a rotated secret (login refused with the cached one), a
        // moved endpoint (connect failure with a cached location), a failover (reached a reader).
        let mut refresh_secret = false;
        let mut refresh_location = false;
        let mut writer: Option<Resolved> = None;
        let mut report = loop {
            let (located, location_cached) = match &writer {
                Some(w) => (Some(w.clone()), false),
                None => match self.locate(refresh_location, &ctx).await {
                    Ok(l) => l,
                    Err(e) => return fail(e),
                },
            };
            if let Some(r) = located.as_ref().filter(|r| r.unavailable()) {
                return self.unavailable_report(r, event, &ctx);
            }
            let (target, _from_cache) =
                match self.target(refresh_secret, &ctx, located.as_ref()).await {
                    Ok(t) => t,
                    Err(e) => return fail(e),
                };
            let report = job::run(
                &self.config,
                self.tls.as_ref(),
                self.s3.as_ref(),
                &target,
                &ctx,
            )
            .await;
            if self.config.auth_mode == AuthMode::Secret
                && !refresh_secret
                && is_auth_rejection(&report)
            {
                warn!("authentication failed with the secret (rotated?): fetching it again and retrying once");
                refresh_secret = true;
            } else if location_cached && !refresh_location && is_connect_failure(&report) {
                warn!("cannot connect to the cached endpoint: asking the RDS API again and retrying once");
                refresh_location = true;
            } else if report.reached_reader && writer.is_none() {
                match self.writer_instance(&ctx).await {
                    Some(Ok(w)) => {
                        warn!(host = %w.host, port = w.port, "reached a reader: connecting to the cluster's writer instance");
                        writer = Some(w);
                    }
                    Some(Err(e)) => {
                        warn!(error = %e.message, "reached a reader and cannot look the writer up");
                        break report;
                    }
                    None => break report,
                }
            } else {
                break report;
            }
        };
        if report.continuation_requested == Some(true) {
            if let Some(arn) = function_arn {
                self.request_continuation(arn, event, &ctx, &mut report)
                    .await;
            }
        }
        report
    }

    /// The run's deadline (statements end by it) and hard deadline (no wait passes it).
    fn deadlines(&self, started: Instant, limits: Limits) -> (Option<Instant>, Option<Instant>) {
        let lambda_left = limits.lambda_deadline.map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
        let margin = Duration::from_millis(self.config.deadline_margin_ms);
        let from_lambda = lambda_left.map(|left| started + left.saturating_sub(margin));
        let from_config = self
            .config
            .max_runtime_ms
            .map(|ms| started + Duration::from_millis(ms));
        let deadline = earliest(from_lambda, from_config);
        let hard = earliest(
            // Half the margin at most, so the server's statement timeout (at the deadline)
            // always answers before the client gives up.
            lambda_left.map(|left| started + left.saturating_sub(REPORT_GUARD.min(margin / 2))),
            from_config.map(|d| d + margin.max(REPORT_GUARD)),
        );
        (deadline, hard.map(|h| h.max(deadline.unwrap_or(h))))
    }

    /// Resolves where to connect and with which password or token; returns whether the secret
    /// came from the cold-start cache.
    async fn target(
        &self,
        refresh: bool,
        ctx: &RunContext,
        located: Option<&Resolved>,
    ) -> Result<(Target, bool), ErrorInfo> {
        let (secret, from_cache) = match &self.config.secret_id {
            Some(id) => {
                let mut cached = self.cached_secret.lock().await;
                match cached.as_ref() {
                    Some(s) if !refresh => (Some(s.clone()), true),
                    _ => {
                        let mut fetched =
                            secret::fetch(&self.secrets, id, ctx.limit(AWS_OPERATION_TIMEOUT))
                                .await
                                .map_err(|e| ErrorInfo::new(ErrorKind::Secret, e.to_string()))?;
                        info!(secret_id = %id, "fetched database credentials from Secrets Manager");
                        let refused = cached.as_ref().map(|s| s.password.as_str());
                        if refresh && refused == Some(fetched.password.as_str()) {
                            // AWSCURRENT still holds the refused password: a single-user
                            // rotation may be between setSecret and finishSecret, when the
                            // database already has AWSPENDING's password.
                            if let Ok(pending) = secret::fetch_stage(
                                &self.secrets,
                                id,
                                "AWSPENDING",
                                ctx.limit(AWS_OPERATION_TIMEOUT),
                            )
                            .await
                            {
                                if pending.username == fetched.username
                                    && pending.host == fetched.host
                                    && pending.password != fetched.password
                                {
                                    warn!(secret_id = %id, "AWSCURRENT's password was refused: trying AWSPENDING's (a rotation in progress)");
                                    fetched = pending;
                                }
                            }
                        }
                        *cached = Some(fetched.clone());
                        (Some(fetched), false)
                    }
                }
            }
            None => (None, false),
        };
        let mut target = Target::resolve(&self.config, secret.as_ref(), located)?;
        if self.config.auth_mode == AuthMode::Iam {
            target.password = tokio::time::timeout_at(
                ctx.limit(AWS_OPERATION_TIMEOUT).into(),
                iam::generate_token(&self.sdk, &target.host, target.port, &target.user),
            )
            .await
            .map_err(|_| {
                ErrorInfo::new(
                    ErrorKind::Iam,
                    "no AWS credentials for the IAM token in time (the function's role credentials could not be loaded)".into(),
                )
            })?
            .map_err(|e| ErrorInfo::new(ErrorKind::Iam, e.to_string()))?;
            info!(host = %target.host, user = %target.user, "generated an IAM database authentication token");
        }
        Ok((target, from_cache))
    }

    /// Where the RDS API says the database is (cached per cold start), when the job names its
    /// cluster or instance and `PGHOST` does not override it; returns whether it was cached.
    async fn locate(
        &self,
        refresh: bool,
        ctx: &RunContext,
    ) -> Result<(Option<Resolved>, bool), ErrorInfo> {
        let (Some(lookup), Some(client)) = (&self.config.rds, &self.rds) else {
            return Ok((None, false));
        };
        if self.config.overrides.host.is_some() && self.config.overrides.port.is_some() {
            return Ok((None, false));
        }
        let mut cached = self.located.lock().await;
        if let (Some(r), false) = (cached.as_ref(), refresh) {
            if !r.unavailable() {
                return Ok((Some(r.clone()), true));
            }
        }
        let resolved = rds::resolve(
            client,
            &lookup.db,
            lookup.endpoint,
            ctx.limit(AWS_OPERATION_TIMEOUT),
        )
        .await?;
        info!(host = %resolved.host, port = resolved.port, status = %resolved.status, "found the database through the RDS API");
        *cached = Some(resolved.clone());
        Ok((Some(resolved), false))
    }

    /// The cluster's current writer instance, when the job names a cluster.
    async fn writer_instance(&self, ctx: &RunContext) -> Option<Result<Resolved, ErrorInfo>> {
        let (Some(lookup), Some(client)) = (&self.config.rds, &self.rds) else {
            return None;
        };
        let DbRef::Cluster(id) = &lookup.db else {
            return None;
        };
        if lookup.endpoint == EndpointKind::Reader || self.config.overrides.host.is_some() {
            return None;
        }
        Some(rds::writer_instance(client, id, ctx.limit(AWS_OPERATION_TIMEOUT)).await)
    }

    /// The run's report when the RDS API says the database cannot take connections now.
    fn unavailable_report(
        &self,
        r: &Resolved,
        event: &InvocationEvent,
        ctx: &RunContext,
    ) -> Report {
        let reason = format!("database_{}", r.status.replace('-', "_"));
        let skip = self
            .config
            .rds
            .as_ref()
            .is_some_and(|l| l.skip_when_unavailable);
        let mut report = Report::start(
            &self.config.job_name,
            &ctx.run_id,
            event.id.as_deref(),
            self.config.script.statement_count(),
            self.config.transaction,
            &ctx.started_at,
        );
        if skip {
            warn!(status = %r.status, "the database is not available (RDS status); skipping this run");
            report.skip(&reason);
        } else {
            report.fail(ErrorInfo::new(
                ErrorKind::Connect,
                format!(
                    "the database is {} (RDS status), so no connection is possible now (WHEN_DATABASE_UNAVAILABLE=fail)",
                    r.status
                ),
            ));
        }
        report.finish(ctx.started, &[]);
        report
    }

    async fn request_continuation(
        &self,
        function_arn: &str,
        event: &InvocationEvent,
        ctx: &RunContext,
        report: &mut Report,
    ) {
        let Some(client) = &self.lambda else { return };
        let payload = event.continuation_payload(&report.run_id);
        let call = client
            .invoke()
            .function_name(function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send();
        let limit = ctx.hard_limit(AWS_OPERATION_TIMEOUT);
        let Ok(result) = tokio::time::timeout_at(limit.into(), call).await else {
            report.continuation_requested = Some(false);
            let message = "no answer from Lambda before the deadline when invoking the continuation; the next scheduled run continues the work".to_string();
            warn!(%message, "continuation not requested");
            report.warnings.push(message);
            return;
        };
        match result {
            Ok(_) => info!(function_arn, next = %payload, "requested a continuation"),
            Err(e) => {
                // The committed batches stay committed: the run is still partial, not failed.
                report.continuation_requested = Some(false);
                let message = format!(
                    "could not invoke the continuation ({}); the next scheduled run continues the work",
                    crate::aws::explain_aws(
                        &e,
                        "Lambda",
                        "lambda:InvokeFunction on the function itself",
                    )
                );
                warn!(%message, "continuation not requested");
                report.warnings.push(message);
            }
        }
    }
}

fn is_connect_failure(report: &Report) -> bool {
    report.statements == 0
        && !report.reached_reader
        && report
            .error
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::Connect)
}

fn is_auth_rejection(report: &Report) -> bool {
    report.statements == 0
        && report
            .error
            .as_ref()
            .is_some_and(|e| e.kind == ErrorKind::Auth)
}

/// A report for a run that failed before any SQL.
pub fn failed_report(
    job: &str,
    event_id: Option<&str>,
    error: ErrorInfo,
    started: Instant,
    started_at: &str,
) -> Report {
    let mut report = Report::start(
        job,
        &uuid::Uuid::new_v4().to_string(),
        event_id,
        0,
        false,
        started_at,
    );
    report.fail(error);
    report.finish(started, &[]);
    report
}

/// S3 for exports: uploads get longer per-attempt timeouts than the small API calls; a custom
/// endpoint (`AWS_ENDPOINT_URL`, an S3-compatible store or a local server) gets path-style
/// addressing.
fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(AWS_CONNECT_TIMEOUT)
                .read_timeout(Duration::from_secs(30))
                .operation_attempt_timeout(Duration::from_secs(60))
                .operation_timeout(Duration::from_secs(180))
                .build(),
        )
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
