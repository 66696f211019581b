//! The four rotation steps against Secrets Manager and PostgreSQL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use postgres_native_tls::MakeTlsConnector;
use serde_json::{Map, Value};
use tracing::{info, warn};

use super::config::{RotationConfig, RotationError};
use super::protocol::{
    alternate_username, base_username, current_version, gate, password_clause, quote_ident, Gate,
    RotationEvent, Step, Strategy, CURRENT, EXCLUDED_PASSWORD_CHARACTERS, PASSWORD_LENGTH, PENDING,
    PREVIOUS,
};
use crate::aws::explain_aws;
use crate::secret::DbSecret;
use pg_cron_job_core::db::{self, ConnectParams, DbFailure, Session};
use pg_cron_job_core::error_text::chain;
use pg_cron_job_core::pg_error::{connect_error, ConnectTarget};

/// Longest wait for one Secrets Manager call (its own timeouts and retries apply within).
const AWS_CALL_LIMIT: Duration = crate::aws::AWS_OPERATION_TIMEOUT;
/// Longest wait for one SQL statement of a step.
const STATEMENT_LIMIT: Duration = Duration::from_secs(15);

/// One version of the secret: its JSON (all fields kept when a new version is written) and the
/// credentials read from it.
struct Version {
    json: Map<String, Value>,
    creds: DbSecret,
}

/// The cold-start state of the rotation function.
pub struct Rotator {
    config: RotationConfig,
    tls: Option<MakeTlsConnector>,
    sm: aws_sdk_secretsmanager::Client,
}

/// One step being performed: the event and the invocation's deadline.
struct Ctx<'a> {
    event: &'a RotationEvent,
    deadline: Option<Instant>,
}

impl Ctx<'_> {
    fn fail(&self, message: impl Into<String>) -> RotationError {
        RotationError::Step {
            step: self.event.step,
            secret: self.event.secret_id.clone(),
            message: message.into(),
        }
    }

    fn limit(&self, max: Duration) -> Instant {
        let cap = Instant::now() + max;
        self.deadline.map_or(cap, |d| d.min(cap))
    }

    fn id(&self) -> &str {
        &self.event.secret_id
    }

    fn token(&self) -> &str {
        &self.event.token
    }
}

impl Rotator {
    pub fn new(
        config: RotationConfig,
        tls: Option<MakeTlsConnector>,
        sm: aws_sdk_secretsmanager::Client,
    ) -> Self {
        Rotator { config, tls, sm }
    }

    /// Performs `event`'s step; returns what was done (for the log and the response).
    pub async fn step(
        &self,
        event: &RotationEvent,
        deadline: Option<Instant>,
    ) -> Result<&'static str, RotationError> {
        let cx = Ctx { event, deadline };
        let (enabled, versions) = self.describe(&cx).await?;
        match gate(enabled, &versions, cx.token()) {
            Err(refusal) => return Err(cx.fail(format!("{refusal}; refusing the step"))),
            Ok(Gate::AlreadyCurrent) => return Ok("already AWSCURRENT: rotation complete"),
            Ok(Gate::Proceed) => {}
        }
        match event.step {
            Step::Create => self.create(&cx).await,
            Step::Set => self.set(&cx).await,
            Step::Test => self.test(&cx).await,
            Step::Finish => self.finish(&cx, &versions).await,
        }
    }

    // --- the steps ------------------------------------------------------------------------

    async fn create(&self, cx: &Ctx<'_>) -> Result<&'static str, RotationError> {
        let current = self.required(cx, CURRENT, None).await?;
        if self
            .version(cx, cx.id(), PENDING, Some(cx.token()))
            .await?
            .is_some()
        {
            return Ok("AWSPENDING already holds a password for this token");
        }
        let username = match self.config.strategy {
            Strategy::SingleUser => current.creds.username.clone(),
            Strategy::AlternatingUsers => {
                master_arn(cx, &current)?;
                alternate_username(&current.creds.username)
            }
        };
        let password = self.random_password(cx).await?;
        let mut json = current.json;
        json.insert("username".into(), Value::String(username));
        json.insert("password".into(), Value::String(password));
        let text = Value::Object(json).to_string();
        let call = self
            .sm
            .put_secret_value()
            .secret_id(cx.id())
            .client_request_token(cx.token())
            .secret_string(text)
            .version_stages(PENDING)
            .send();
        self.aws(cx, call, "secretsmanager:PutSecretValue on the secret")
            .await?;
        Ok("stored a new password as AWSPENDING")
    }

    async fn set(&self, cx: &Ctx<'_>) -> Result<&'static str, RotationError> {
        let pending = self.required(cx, PENDING, Some(cx.token())).await?;
        let current = self.required(cx, CURRENT, None).await?;
        let allowed = match self.config.strategy {
            Strategy::SingleUser => vec![current.creds.username.clone()],
            Strategy::AlternatingUsers => vec![
                current.creds.username.clone(),
                alternate_username(&current.creds.username),
            ],
        };
        if !allowed.contains(&pending.creds.username) {
            return Err(cx.fail(format!(
                "AWSPENDING names user {:?}, but {} rotation of AWSCURRENT's user {:?} only sets {}",
                pending.creds.username,
                self.config.strategy.as_str(),
                current.creds.username,
                allowed.join(" or ")
            )));
        }
        if pending.creds.host != current.creds.host || pending.creds.port != current.creds.port {
            return Err(cx.fail(
                "AWSPENDING names another host or port than AWSCURRENT; refusing to set a password elsewhere",
            ));
        }
        if self.login(cx, &pending.creds, None).await?.is_some() {
            return Ok("AWSPENDING already logs in: password already set");
        }
        match self.config.strategy {
            Strategy::SingleUser => self.set_single(cx, &pending, &current).await,
            Strategy::AlternatingUsers => self.set_alternating(cx, &pending, &current).await,
        }
    }

    async fn set_single(
        &self,
        cx: &Ctx<'_>,
        pending: &Version,
        current: &Version,
    ) -> Result<&'static str, RotationError> {
        let session = match self.login(cx, &current.creds, None).await? {
            Some(s) => s,
            None => {
                let previous = self.version(cx, cx.id(), PREVIOUS, None).await?;
                let previous = previous.filter(|p| p.creds.username == current.creds.username);
                let session = match &previous {
                    Some(p) => self.login(cx, &p.creds, None).await?,
                    None => None,
                };
                session.ok_or_else(|| {
                    cx.fail(format!(
                        "cannot log in as {:?} with the AWSPENDING, AWSCURRENT or AWSPREVIOUS password: the database password matches none of the secret's versions; set it to AWSCURRENT's by hand and rotate again",
                        current.creds.username
                    ))
                })?
            }
        };
        let sql = format!(
            "ALTER ROLE {} {}",
            quote_ident(&pending.creds.username),
            password_clause(&pending.creds.password)
        );
        self.sql(cx, &session, &sql, "ALTER ROLE ... PASSWORD")
            .await?;
        session.close(cx.deadline).await;
        Ok("changed the user's password (SCRAM-SHA-256 verifier)")
    }

    async fn set_alternating(
        &self,
        cx: &Ctx<'_>,
        pending: &Version,
        current: &Version,
    ) -> Result<&'static str, RotationError> {
        let arn = master_arn(cx, current)?;
        let master = self
            .version(cx, &arn, CURRENT, None)
            .await?
            .ok_or_else(|| {
                cx.fail(format!(
                    "the master secret {arn} (masterarn) has no AWSCURRENT value"
                ))
            })?;
        if master.creds.host.is_some() && master.creds.host != current.creds.host {
            return Err(cx.fail(format!(
                "the master secret {arn} names another host than the secret; refusing to use it"
            )));
        }
        // The master logs in where the user's secret points (RDS-managed master secrets hold
        // only username and password).
        let session = self
            .login(cx, &master.creds, Some(&current.creds))
            .await?
            .ok_or_else(|| {
                cx.fail(format!(
                    "the master secret {arn} (masterarn) is refused by the database for user {:?}",
                    master.creds.username
                ))
            })?;
        let user = &pending.creds.username;
        let exists = session
            .query_one(
                "SELECT count(*)::int4 FROM pg_catalog.pg_roles WHERE rolname = $1",
                &[user],
                Some(cx.limit(STATEMENT_LIMIT)),
            )
            .await
            .map_err(|e| self.db_error(cx, e, "looking the role up"))?
            .try_get::<_, i32>(0)
            .map_err(|e| self.db_error(cx, DbFailure::Pg(e), "looking the role up"))?
            > 0;
        let password = password_clause(&pending.creds.password);
        if exists {
            let sql = format!("ALTER ROLE {} WITH LOGIN {password}", quote_ident(user));
            self.sql(cx, &session, &sql, "ALTER ROLE ... PASSWORD")
                .await?;
            session.close(cx.deadline).await;
            return Ok("changed the alternate user's password (SCRAM-SHA-256 verifier)");
        }
        // A new clone: the base user's privileges (GRANT base TO clone) and its memberships,
        // created in one transaction so that a failure leaves nothing half made.
        let base = base_username(user);
        let roles: Vec<String> = session
            .query_one(
                "SELECT coalesce(array_agg(r.rolname::text ORDER BY r.rolname), '{}') \
                 FROM pg_catalog.pg_auth_members m \
                 JOIN pg_catalog.pg_roles r ON r.oid = m.roleid \
                 JOIN pg_catalog.pg_roles u ON u.oid = m.member \
                 WHERE u.rolname = $1",
                &[&base],
                Some(cx.limit(STATEMENT_LIMIT)),
            )
            .await
            .map_err(|e| self.db_error(cx, e, "reading the user's memberships"))?
            .try_get(0)
            .map_err(|e| self.db_error(cx, DbFailure::Pg(e), "reading the user's memberships"))?;
        let mut sql = format!(
            "BEGIN; CREATE ROLE {} WITH LOGIN {password}; GRANT {} TO {};",
            quote_ident(user),
            quote_ident(base),
            quote_ident(user)
        );
        for role in &roles {
            sql.push_str(&format!(
                " GRANT {} TO {};",
                quote_ident(role),
                quote_ident(user)
            ));
        }
        sql.push_str(" COMMIT;");
        self.sql(cx, &session, &sql, "CREATE ROLE ... / GRANT")
            .await?;
        session.close(cx.deadline).await;
        info!(role = %user, base = %base, memberships = roles.len(), "created the alternate user");
        Ok("created the alternate user with the user's privileges and memberships")
    }

    async fn test(&self, cx: &Ctx<'_>) -> Result<&'static str, RotationError> {
        let pending = self.required(cx, PENDING, Some(cx.token())).await?;
        let session = self.login(cx, &pending.creds, None).await?.ok_or_else(|| {
            cx.fail(format!(
                "the database refuses AWSPENDING's password for user {:?} (has setSecret run?)",
                pending.creds.username
            ))
        })?;
        self.sql(cx, &session, "SELECT 1", "SELECT 1").await?;
        session.close(cx.deadline).await;
        Ok("AWSPENDING logs in and runs a query")
    }

    async fn finish(
        &self,
        cx: &Ctx<'_>,
        versions: &HashMap<String, Vec<String>>,
    ) -> Result<&'static str, RotationError> {
        let mut call = self
            .sm
            .update_secret_version_stage()
            .secret_id(cx.id())
            .version_stage(CURRENT)
            .move_to_version_id(cx.token());
        if let Some(old) = current_version(versions) {
            call = call.remove_from_version_id(old);
        }
        self.aws(
            cx,
            call.send(),
            "secretsmanager:UpdateSecretVersionStage on the secret",
        )
        .await?;
        Ok("moved AWSCURRENT to the new version")
    }

    // --- Secrets Manager --------------------------------------------------------------------

    async fn describe(
        &self,
        cx: &Ctx<'_>,
    ) -> Result<(bool, HashMap<String, Vec<String>>), RotationError> {
        let call = self.sm.describe_secret().secret_id(cx.id()).send();
        let out = self
            .aws(cx, call, "secretsmanager:DescribeSecret on the secret")
            .await?;
        Ok((
            out.rotation_enabled().unwrap_or(false),
            out.version_ids_to_stages().cloned().unwrap_or_default(),
        ))
    }

    /// The version of secret `id` with `stage` (and `version`), `None` when it has no value.
    async fn version(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        stage: &str,
        version: Option<&str>,
    ) -> Result<Option<Version>, RotationError> {
        let call = self
            .sm
            .get_secret_value()
            .secret_id(id)
            .version_stage(stage)
            .set_version_id(version.map(str::to_string))
            .send();
        let out = match tokio::time::timeout_at(cx.limit(AWS_CALL_LIMIT).into(), call).await {
            Err(_) => return Err(cx.fail(no_answer())),
            Ok(Err(e))
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Ok(Err(e)) => {
                return Err(cx.fail(explain_aws(
                    &e,
                    "Secrets Manager",
                    &format!("secretsmanager:GetSecretValue on {id}"),
                )))
            }
            Ok(Ok(out)) => out,
        };
        let text = out.secret_string().ok_or_else(|| {
            cx.fail(format!(
                "{stage} of {id} has no SecretString (binary secrets cannot be rotated)"
            ))
        })?;
        let creds = DbSecret::parse(id, text).map_err(|e| cx.fail(format!("{stage}: {e}")))?;
        let json = match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => return Err(cx.fail(format!("{stage} of {id} is not a JSON object"))),
        };
        Ok(Some(Version { json, creds }))
    }

    async fn required(
        &self,
        cx: &Ctx<'_>,
        stage: &str,
        version: Option<&str>,
    ) -> Result<Version, RotationError> {
        self.version(cx, cx.id(), stage, version)
            .await?
            .ok_or_else(|| match stage {
                PENDING => {
                    cx.fail("the token's AWSPENDING version has no value: run createSecret first")
                }
                _ => cx.fail(format!("the secret has no {stage} value")),
            })
    }

    async fn random_password(&self, cx: &Ctx<'_>) -> Result<String, RotationError> {
        let call = self
            .sm
            .get_random_password()
            .password_length(PASSWORD_LENGTH)
            .exclude_characters(EXCLUDED_PASSWORD_CHARACTERS)
            .send();
        let out = self
            .aws(cx, call, "secretsmanager:GetRandomPassword")
            .await?;
        out.random_password()
            .map(str::to_string)
            .ok_or_else(|| cx.fail("GetRandomPassword returned no password"))
    }

    /// One Secrets Manager call, bounded by the step's limit.
    async fn aws<T, E>(
        &self,
        cx: &Ctx<'_>,
        call: impl std::future::Future<
            Output = Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        >,
        access: &str,
    ) -> Result<T, RotationError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match tokio::time::timeout_at(cx.limit(AWS_CALL_LIMIT).into(), call).await {
            Err(_) => Err(cx.fail(no_answer())),
            Ok(Err(e)) => Err(cx.fail(explain_aws(&e, "Secrets Manager", access))),
            Ok(Ok(out)) => Ok(out),
        }
    }

    // --- PostgreSQL -------------------------------------------------------------------------

    /// Logs in with `creds` at `creds`' (or `at`'s) host, port and database, `PGHOST`/`PGPORT`/
    /// `PGDATABASE` overriding; `None` when the server refuses the password (SQLSTATE class 28).
    async fn login(
        &self,
        cx: &Ctx<'_>,
        creds: &DbSecret,
        at: Option<&DbSecret>,
    ) -> Result<Option<Session>, RotationError> {
        let place = at.unwrap_or(creds);
        let host = self
            .config
            .host
            .clone()
            .or_else(|| place.host.clone())
            .ok_or_else(|| {
                cx.fail("no database host: the secret has no `host` and PGHOST is not set")
            })?;
        let port = self.config.port.or(place.port).unwrap_or(5432);
        let dbname = self
            .config
            .dbname
            .clone()
            .or_else(|| place.dbname.clone())
            .unwrap_or_else(|| "postgres".into());
        let left = cx
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        let budget = left.map_or(self.config.connect_timeout, |l| {
            l.min(self.config.connect_timeout)
        });
        let params = ConnectParams {
            host: &host,
            port,
            user: &creds.username,
            password: &creds.password,
            dbname: &dbname,
            application_name: &self.config.app_name,
            hostaddr: None,
            budget,
            limits: pg_cron_job_core::bounded::Limits::of_this_function(),
        };
        match db::connect(&params, self.tls.as_ref()).await {
            Ok(session) => Ok(Some(session)),
            Err(DbFailure::Pg(e))
                if e.as_db_error()
                    .is_some_and(|d| d.code().code().starts_with("28")) =>
            {
                warn!(user = %creds.username, host = %host, "login refused");
                Ok(None)
            }
            Err(e) => Err(cx.fail(format!(
                "as {:?}: {}",
                creds.username,
                connect_error(
                    &e,
                    &ConnectTarget {
                        host: &host,
                        port,
                        ssl_mode: self.config.ssl_mode,
                        root_cert: self.config.ssl_root_cert.as_deref(),
                        budget,
                        auth_hint: "",
                    },
                )
                .message
            ))),
        }
    }

    async fn sql(
        &self,
        cx: &Ctx<'_>,
        session: &Session,
        sql: &str,
        what: &str,
    ) -> Result<(), RotationError> {
        session
            .simple(sql, Some(cx.limit(STATEMENT_LIMIT)))
            .await
            .map(|_| ())
            .map_err(|e| self.db_error(cx, e, what))
    }

    fn db_error(&self, cx: &Ctx<'_>, e: DbFailure, what: &str) -> RotationError {
        match e {
            DbFailure::NoAnswer => cx.fail(format!("{what}: no answer from the database in time")),
            DbFailure::Io(why) => cx.fail(format!("{what}: {why}")),
            DbFailure::Pg(e) => match e.as_db_error() {
                Some(db) => cx.fail(format!(
                    "{what}: {}: {} (SQLSTATE {})",
                    db.severity(),
                    db.message(),
                    db.code().code()
                )),
                None => cx.fail(format!("{what}: {}", chain(&e))),
            },
        }
    }
}

fn master_arn(cx: &Ctx<'_>, current: &Version) -> Result<String, RotationError> {
    match current.json.get("masterarn") {
        Some(Value::String(arn)) if !arn.is_empty() => Ok(arn.clone()),
        _ => Err(cx.fail(
            "alternating-users needs the ARN of a master secret in the secret's `masterarn` field (a user allowed to create roles and set their passwords)",
        )),
    }
}

fn no_answer() -> String {
    "no answer from Secrets Manager in time (check the route from the function to Secrets Manager: a VPC interface endpoint or a NAT gateway, and AWS_ENDPOINT_URL if set)".into()
}
