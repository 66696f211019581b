//! State built once per cold start (configuration, TLS connector, AWS clients, cached secret)
//! and one run of the job per invocation.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use postgres_native_tls::MakeTlsConnector;
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::config::{AuthMode, Config, ConfigError};
use crate::event::InvocationEvent;
use crate::job::{self, RunContext, Target};
use crate::report::{ErrorInfo, ErrorKind, Report};
use crate::secret::{self, DbSecret};
use crate::{iam, tls};

/// Everything that is set up once and reused across invocations.
pub struct App {
    config: Config,
    tls: Option<MakeTlsConnector>,
    sdk: aws_config::SdkConfig,
    secrets: aws_sdk_secretsmanager::Client,
    lambda: Option<aws_sdk_lambda::Client>,
    cached_secret: Mutex<Option<DbSecret>>,
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
            ErrorKind::Config,
            self.to_string(),
            Instant::now(),
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
        let sdk = aws_config::load_from_env().await;
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        let lambda = config
            .continue_on_deadline
            .then(|| aws_sdk_lambda::Client::new(&sdk));
        Ok(Arc::new(App {
            config,
            tls,
            sdk,
            secrets,
            lambda,
            cached_secret: Mutex::new(None),
        }))
    }

    /// Runs the job once for `event`; `function_arn` enables continuations in Lambda mode.
    pub async fn run(
        self: &Arc<Self>,
        event: &InvocationEvent,
        limits: Limits,
        function_arn: Option<&str>,
    ) -> Report {
        let started = Instant::now();
        let run_id = uuid::Uuid::new_v4().to_string();
        let deadline = self.deadline(started, limits);
        let ctx = RunContext {
            run_id: run_id.clone(),
            event_id: event.id.clone(),
            deadline,
            continuation: event.continuation.as_ref().map_or(0, |c| c.continuation),
            chain_id: event.continuation.as_ref().map(|c| c.chain_id.clone()),
            previous_run_id: event
                .continuation
                .as_ref()
                .map(|c| c.previous_run_id.clone()),
            can_continue: self.config.continue_on_deadline && function_arn.is_some(),
            started,
        };

        let (target, from_cache) = match self.target(false).await {
            Ok(t) => t,
            Err(e) => {
                return failed_report(
                    &self.config.job_name,
                    event.id.as_deref(),
                    e.kind,
                    e.message,
                    started,
                )
            }
        };
        let mut report = self.run_blocking(target, ctx.clone()).await;
        if from_cache && is_auth_rejection(&report) {
            warn!("authentication failed with the cached secret (rotated?): fetching it again and retrying once");
            match self.target(true).await {
                Ok((target, _)) => report = self.run_blocking(target, ctx).await,
                Err(e) => {
                    return failed_report(
                        &self.config.job_name,
                        event.id.as_deref(),
                        e.kind,
                        e.message,
                        started,
                    )
                }
            }
        }
        if report.continuation_requested == Some(true) {
            if let Some(arn) = function_arn {
                self.request_continuation(arn, event, &mut report).await;
            }
        }
        report
    }

    fn deadline(&self, started: Instant, limits: Limits) -> Option<Instant> {
        let from_lambda = limits.lambda_deadline.map(|d| {
            let left = d
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
            started + left.saturating_sub(Duration::from_millis(self.config.deadline_margin_ms))
        });
        let from_config = self
            .config
            .max_runtime_ms
            .map(|ms| started + Duration::from_millis(ms));
        match (from_lambda, from_config) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn run_blocking(self: &Arc<Self>, target: Target, ctx: RunContext) -> Report {
        let app = Arc::clone(self);
        let job_name = self.config.job_name.clone();
        let event_id = ctx.event_id.clone();
        let started = ctx.started;
        match tokio::task::spawn_blocking(move || {
            job::run(&app.config, app.tls.as_ref(), &target, &ctx)
        })
        .await
        {
            Ok(report) => report,
            Err(e) => failed_report(
                &job_name,
                event_id.as_deref(),
                ErrorKind::Internal,
                format!("job thread failed: {e}"),
                started,
            ),
        }
    }

    /// Resolves where to connect and with which password or token; returns whether the secret
    /// came from the cold-start cache.
    async fn target(&self, refresh: bool) -> Result<(Target, bool), ErrorInfo> {
        let (secret, from_cache) = match &self.config.secret_id {
            Some(id) => {
                let mut cached = self.cached_secret.lock().await;
                match cached.as_ref() {
                    Some(s) if !refresh => (Some(s.clone()), true),
                    _ => {
                        let fetched =
                            secret::fetch(&self.secrets, id)
                                .await
                                .map_err(|e| ErrorInfo {
                                    kind: ErrorKind::Secret,
                                    message: e.to_string(),
                                    code: None,
                                    statement: None,
                                })?;
                        info!(secret_id = %id, "fetched database credentials from Secrets Manager");
                        *cached = Some(fetched.clone());
                        (Some(fetched), false)
                    }
                }
            }
            None => (None, false),
        };
        let mut target = Target::resolve(&self.config, secret.as_ref())?;
        if self.config.auth_mode == AuthMode::Iam {
            target.password =
                iam::generate_token(&self.sdk, &target.host, target.port, &target.user)
                    .await
                    .map_err(|e| ErrorInfo {
                        kind: ErrorKind::Iam,
                        message: e.to_string(),
                        code: None,
                        statement: None,
                    })?;
            info!(host = %target.host, user = %target.user, "generated an IAM database authentication token");
        }
        Ok((target, from_cache))
    }

    async fn request_continuation(
        &self,
        function_arn: &str,
        event: &InvocationEvent,
        report: &mut Report,
    ) {
        let Some(client) = &self.lambda else { return };
        let payload = event.continuation_payload(&report.run_id);
        let result = client
            .invoke()
            .function_name(function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => info!(function_arn, next = %payload, "requested a continuation"),
            Err(e) => {
                report.continuation_requested = Some(false);
                report.fail(ErrorInfo {
                    kind: ErrorKind::Internal,
                    message: format!(
                        "partial run could not invoke its continuation ({}); the next scheduled run continues the work",
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    ),
                    code: None,
                    statement: None,
                });
            }
        }
    }
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
    kind: ErrorKind,
    message: String,
    started: Instant,
) -> Report {
    let mut report = Report::start(job, &uuid::Uuid::new_v4().to_string(), event_id, 0, false);
    report.fail(ErrorInfo {
        kind,
        message,
        code: None,
        statement: None,
    });
    report.finish(started, &[]);
    report
}
