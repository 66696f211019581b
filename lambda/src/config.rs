//! Runner configuration: environment variables only, parsed with `envy` and validated once at
//! start-up. Every error names the variable and says what is accepted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::export::{ExportConfig, ExportConfigError, ExportVars};
use crate::rds::{DbRef, EndpointKind};
use crate::sql::{Script, ScriptError};
use crate::tls::SslMode;

/// File name of the Amazon RDS CA bundle shipped next to `bootstrap` in the Lambda package.
pub const DEFAULT_ROOT_CERT_FILE: &str = "global-bundle.pem";
/// Default connect timeout when `PGCONNECT_TIMEOUT` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default safety margin kept between the last statement timeout and the Lambda deadline.
pub const DEFAULT_DEADLINE_MARGIN_MS: u64 = 3_000;
/// PostgreSQL's largest `statement_timeout` / `lock_timeout` (an int in milliseconds).
pub const PG_MAX_MS: u64 = 2_147_483_647;
/// Longest `PGCONNECT_TIMEOUT` (Lambda's longest function timeout).
pub const MAX_CONNECT_TIMEOUT_S: u64 = 900;
/// Longest history retention (beyond it `now() - interval` leaves PostgreSQL's timestamp range).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A configuration problem; the message names the variable and the accepted values.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0} is required: {1}")]
    Missing(&'static str, &'static str),
    #[error("{var} has an invalid value {value:?}: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{var} is not supported by pg-cron-job: {hint}")]
    Unsupported { var: String, hint: String },
    #[error("SQL_FILE {path}: {source}")]
    SqlFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} holds no SQL statement (only whitespace or comments)")]
    EmptySql(String),
    #[error("{source_name} {source}")]
    Script {
        source_name: String,
        source: ScriptError,
    },
    #[error("SQL_FILE {path} has SHA-256 {actual} but SQL_SHA256 expects {expected}: the package holds another version of the file than your repository; rebuild the package (make build) and apply again")]
    StaleSql {
        path: PathBuf,
        actual: String,
        expected: String,
    },
    #[error("PGSSLROOTCERT {path} cannot be read ({source}); PGSSLMODE={mode} needs a PEM CA bundle: ship the Amazon RDS global-bundle.pem in the package or point PGSSLROOTCERT at one")]
    RootCert {
        path: PathBuf,
        mode: &'static str,
        source: std::io::Error,
    },
    #[error("environment: {0}")]
    Env(String),
    #[error(transparent)]
    Export(#[from] crate::export::ExportConfigError),
}

/// How the runner authenticates to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Username and password from the Secrets Manager secret `DB_SECRET_ID`.
    Secret,
    /// IAM database authentication token signed with the function's credentials.
    Iam,
}

/// Where run history goes (`HISTORY_TABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Schema of the table (created if missing).
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Rows older than this many days are deleted at the end of each run (0 keeps everything).
    pub retention_days: u32,
}

impl HistoryConfig {
    /// Name of one of the table's indexes: `<table>_<suffix>` when that fits PostgreSQL's
    /// 63-byte identifiers, else a shortened table name plus a hash of the full name, so two
    /// long table names never share an index name.
    pub fn index_name(&self, suffix: &str) -> String {
        let plain = format!("{}_{suffix}", self.table);
        if plain.len() <= 63 {
            return plain;
        }
        let hash = &sha256_hex(format!("{}.{}", self.schema, self.table).as_bytes())[..8];
        let keep = 63 - suffix.len() - hash.len() - 2;
        format!("{}_{hash}_{suffix}", &self.table[..keep])
    }
}

/// Connection settings that override the secret's fields (libpq variable names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub user: Option<String>,
    /// `PGHOSTADDR`: connect to this address, verify TLS against the host name.
    pub hostaddr: Option<std::net::IpAddr>,
}

/// Where the RDS API is asked for the database (`DB_CLUSTER_IDENTIFIER` /
/// `DB_INSTANCE_IDENTIFIER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsLookup {
    pub db: DbRef,
    pub endpoint: EndpointKind,
    /// `WHEN_DATABASE_UNAVAILABLE=skip` (default): a stopped database skips the run.
    pub skip_when_unavailable: bool,
}

/// Validated runner configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub job_name: String,
    pub auth_mode: AuthMode,
    pub secret_id: Option<String>,
    /// The job's script (statements and psql meta-commands), parsed once at start-up.
    pub script: Arc<Script>,
    pub overrides: ConnOverrides,
    pub ssl_mode: SslMode,
    pub ssl_root_cert: Option<PathBuf>,
    pub app_name: String,
    pub connect_timeout: Duration,
    pub transaction: bool,
    pub statement_timeout_ms: Option<u64>,
    pub lock_timeout_ms: Option<u64>,
    pub allow_overlap: bool,
    pub max_runtime_ms: Option<u64>,
    pub deadline_margin_ms: u64,
    pub history: Option<HistoryConfig>,
    pub repeat_until_zero: bool,
    pub continue_on_deadline: bool,
    pub max_continuations: u32,
    /// RDS API lookup of the endpoint, when the job names its cluster or instance.
    pub rds: Option<RdsLookup>,
    /// The job only reads (`READ_ONLY=true` or `DB_ENDPOINT=reader`): no writer check.
    pub read_only: bool,
    /// Export settings and the query (without `;`) when `EXPORT_S3_URI` is set.
    pub export: Option<(ExportConfig, String)>,
}

/// The environment as `envy` sees it; every value is checked by hand to give precise messages.
#[derive(Debug, Default, Deserialize)]
struct RawEnv {
    db_secret_id: Option<String>,
    sql: Option<String>,
    sql_file: Option<String>,
    job_name: Option<String>,
    aws_lambda_function_name: Option<String>,
    lambda_task_root: Option<String>,
    pghost: Option<String>,
    pgport: Option<String>,
    pgdatabase: Option<String>,
    pguser: Option<String>,
    pgsslmode: Option<String>,
    pgsslrootcert: Option<String>,
    pgappname: Option<String>,
    pgconnect_timeout: Option<String>,
    auth_mode: Option<String>,
    transaction: Option<String>,
    statement_timeout_ms: Option<String>,
    lock_timeout_ms: Option<String>,
    allow_overlap: Option<String>,
    max_runtime_ms: Option<String>,
    deadline_margin_ms: Option<String>,
    history_table: Option<String>,
    history_retention_days: Option<String>,
    repeat_until_zero: Option<String>,
    continue_on_deadline: Option<String>,
    max_continuations: Option<String>,
    sql_sha256: Option<String>,
    export_s3_uri: Option<String>,
    export_format: Option<String>,
    export_header: Option<String>,
    export_compression: Option<String>,
    export_kms_key_id: Option<String>,
    export_bucket_owner: Option<String>,
    export_manifest: Option<String>,
    db_cluster_identifier: Option<String>,
    db_instance_identifier: Option<String>,
    db_endpoint: Option<String>,
    pghostaddr: Option<String>,
    when_database_unavailable: Option<String>,
    read_only: Option<String>,
}

/// Every variable the runner reads (besides Lambda's own `AWS_*`/`LAMBDA_*`).
pub const KNOWN_VARIABLES: &[&str] = &[
    "DB_SECRET_ID",
    "SQL",
    "SQL_FILE",
    "JOB_NAME",
    "PGHOST",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "AUTH_MODE",
    "TRANSACTION",
    "STATEMENT_TIMEOUT_MS",
    "LOCK_TIMEOUT_MS",
    "ALLOW_OVERLAP",
    "MAX_RUNTIME_MS",
    "DEADLINE_MARGIN_MS",
    "HISTORY_TABLE",
    "HISTORY_RETENTION_DAYS",
    "REPEAT_UNTIL_ZERO",
    "CONTINUE_ON_DEADLINE",
    "MAX_CONTINUATIONS",
    "SQL_SHA256",
    "EXPORT_S3_URI",
    "EXPORT_FORMAT",
    "EXPORT_HEADER",
    "EXPORT_COMPRESSION",
    "EXPORT_KMS_KEY_ID",
    "EXPORT_BUCKET_OWNER",
    "EXPORT_MANIFEST",
    "DB_CLUSTER_IDENTIFIER",
    "DB_INSTANCE_IDENTIFIER",
    "DB_ENDPOINT",
    "PGHOSTADDR",
    "WHEN_DATABASE_UNAVAILABLE",
    "READ_ONLY",
];

impl Config {
    /// Reads and validates the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads and validates the given variables (the process environment in production).
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        check_unknown_variables(vars.keys())?;
        let raw: RawEnv = envy::from_iter(
            vars.iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.clone(), v.clone())),
        )
        .map_err(|e| ConfigError::Env(e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawEnv) -> Result<Self, ConfigError> {
        let job_name = raw
            .job_name
            .or(raw.aws_lambda_function_name)
            .unwrap_or_else(|| "pg-cron-job".to_string());

        let auth_mode = match raw
            .auth_mode
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("secret") => AuthMode::Secret,
            Some("iam") => AuthMode::Iam,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "AUTH_MODE",
                    value: other.to_string(),
                    expected: "`secret` (default) or `iam`",
                })
            }
        };

        let overrides = ConnOverrides {
            host: raw.pghost,
            port: port(raw.pgport.as_deref())?,
            dbname: raw.pgdatabase,
            user: raw.pguser,
            hostaddr: raw
                .pghostaddr
                .as_deref()
                .map(|v| {
                    v.trim().parse().map_err(|_| ConfigError::Invalid {
                        var: "PGHOSTADDR",
                        value: v.to_string(),
                        expected: "an IPv4 or IPv6 address (the host name stays PGHOST's or the RDS endpoint's, for TLS)",
                    })
                })
                .transpose()?,
        };
        let rds = rds_lookup(
            raw.db_cluster_identifier,
            raw.db_instance_identifier,
            raw.db_endpoint.as_deref(),
            raw.when_database_unavailable.as_deref(),
        )?;
        let read_only = parse_bool("READ_ONLY", raw.read_only.as_deref())?
            || rds
                .as_ref()
                .is_some_and(|r| r.endpoint == EndpointKind::Reader);

        let secret_id = raw.db_secret_id;
        match auth_mode {
            AuthMode::Secret if secret_id.is_none() => {
                return Err(ConfigError::Missing(
                    "DB_SECRET_ID",
                    "set it to the ARN or name of a Secrets Manager secret with RDS credentials JSON (username, password, host, port, dbname), or set AUTH_MODE=iam",
                ))
            }
            AuthMode::Iam => {
                for (var, missing) in [
                    ("PGHOST", overrides.host.is_none() && rds.is_none()),
                    ("PGPORT", overrides.port.is_none() && rds.is_none()),
                    ("PGUSER", overrides.user.is_none()),
                ] {
                    if missing && secret_id.is_none() {
                        return Err(ConfigError::Conflict(format!(
                            "AUTH_MODE=iam needs {var} (or a DB_SECRET_ID whose secret holds it): the IAM token is signed for host, port and user"
                        )));
                    }
                }
            }
            AuthMode::Secret => {}
        }

        let task_root = raw.lambda_task_root.map(PathBuf::from);
        let expected_sha256 = raw
            .sql_sha256
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                if v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit()) {
                    Ok(v)
                } else {
                    Err(ConfigError::Invalid {
                        var: "SQL_SHA256",
                        value: v,
                        expected:
                            "the SHA-256 of the SQL file as 64 hex digits (the module sets it)",
                    })
                }
            })
            .transpose()?;
        let script = match (raw.sql, raw.sql_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict(
                    "SQL and SQL_FILE are both set: set exactly one (SQL for one inline statement, SQL_FILE for a .sql file in the package)".into(),
                ))
            }
            (None, None) => {
                return Err(ConfigError::Missing(
                    "SQL or SQL_FILE",
                    "set SQL to one SQL statement or SQL_FILE to the path of a .sql file in the package",
                ))
            }
            (Some(sql), None) => parse_script("SQL".into(), sql)?,
            (None, Some(file)) => {
                let path = resolve_path(&file, task_root.as_deref());
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::SqlFile {
                    path: path.clone(),
                    source,
                })?;
                if let Some(expected) = expected_sha256 {
                    let actual = sha256_hex(text.as_bytes());
                    if actual != expected {
                        return Err(ConfigError::StaleSql {
                            path,
                            actual,
                            expected,
                        });
                    }
                }
                parse_script(format!("SQL_FILE {file}"), text)?
            }
        };
        let statement_count = script.statement_count();

        let (ssl_mode, ssl_root_cert) = tls_settings(
            raw.pgsslmode.as_deref(),
            raw.pgsslrootcert.as_deref(),
            task_root.as_deref(),
        )?;
        let connect_timeout = connect_timeout(raw.pgconnect_timeout.as_deref())?;

        let positive_ms = |var: &'static str,
                           v: Option<String>|
         -> Result<Option<u64>, ConfigError> {
            const EXPECTED: &str = "a whole number of milliseconds from 1 to 2147483647 (PostgreSQL's limit; unset it for no limit)";
            match parse_num::<u64>(var, v.as_deref(), EXPECTED)? {
                Some(ms) if ms == 0 || ms > PG_MAX_MS => Err(ConfigError::Invalid {
                    var,
                    value: ms.to_string(),
                    expected: EXPECTED,
                }),
                other => Ok(other),
            }
        };

        let history = match raw.history_table {
            None => None,
            Some(name) => {
                let (schema, table) = parse_table_name(&name)?;
                const EXPECTED: &str = "a whole number of days from 0 (keep all rows) to 36500";
                let retention_days = parse_num::<u32>(
                    "HISTORY_RETENTION_DAYS",
                    raw.history_retention_days.as_deref(),
                    EXPECTED,
                )?
                .unwrap_or(30);
                if retention_days > MAX_RETENTION_DAYS {
                    return Err(ConfigError::Invalid {
                        var: "HISTORY_RETENTION_DAYS",
                        value: retention_days.to_string(),
                        expected: EXPECTED,
                    });
                }
                Some(HistoryConfig {
                    schema,
                    table,
                    retention_days,
                })
            }
        };

        let repeat_until_zero = parse_bool("REPEAT_UNTIL_ZERO", raw.repeat_until_zero.as_deref())?;
        if repeat_until_zero && statement_count != 1 {
            return Err(ConfigError::Conflict(format!(
                "REPEAT_UNTIL_ZERO=true repeats exactly one statement, but the job has {statement_count}: use SQL with one batched DELETE/UPDATE ... LIMIT statement"
            )));
        }
        let transaction = parse_bool("TRANSACTION", raw.transaction.as_deref())?;
        if transaction
            && script
                .items()
                .contains(&crate::sql::Item::OnErrorStop(false))
        {
            return Err(ConfigError::Conflict(
                "TRANSACTION=true runs the script as one transaction, which cannot go on after a failed statement, but the script sets ON_ERROR_STOP off: remove that \\set or unset TRANSACTION".into(),
            ));
        }
        if repeat_until_zero && transaction {
            return Err(ConfigError::Conflict(
                "REPEAT_UNTIL_ZERO=true commits each batch on its own: unset TRANSACTION or set it to false".into(),
            ));
        }
        let continue_on_deadline =
            parse_bool("CONTINUE_ON_DEADLINE", raw.continue_on_deadline.as_deref())?;
        if continue_on_deadline && !repeat_until_zero {
            return Err(ConfigError::Conflict(
                "CONTINUE_ON_DEADLINE=true only applies to REPEAT_UNTIL_ZERO=true jobs: set REPEAT_UNTIL_ZERO=true or unset CONTINUE_ON_DEADLINE".into(),
            ));
        }
        if continue_on_deadline && history.is_none() {
            return Err(ConfigError::Conflict(
                "CONTINUE_ON_DEADLINE=true needs HISTORY_TABLE: the chain's hand-off is recorded there so scheduled runs do not race a continuation".into(),
            ));
        }
        let max_continuations = parse_num::<u32>(
            "MAX_CONTINUATIONS",
            raw.max_continuations.as_deref(),
            "a whole number from 0 to 1000",
        )?
        .unwrap_or(10);
        if max_continuations > 1000 {
            return Err(ConfigError::Invalid {
                var: "MAX_CONTINUATIONS",
                value: max_continuations.to_string(),
                expected: "a whole number from 0 to 1000",
            });
        }
        let deadline_margin_ms = parse_num::<u64>(
            "DEADLINE_MARGIN_MS",
            raw.deadline_margin_ms.as_deref(),
            "a whole number of milliseconds from 0 to 60000",
        )?
        .unwrap_or(DEFAULT_DEADLINE_MARGIN_MS);
        if deadline_margin_ms > 60_000 {
            return Err(ConfigError::Invalid {
                var: "DEADLINE_MARGIN_MS",
                value: deadline_margin_ms.to_string(),
                expected: "a whole number of milliseconds from 0 to 60000",
            });
        }

        let export = ExportConfig::parse(ExportVars {
            uri: raw.export_s3_uri,
            format: raw.export_format,
            header: raw
                .export_header
                .as_deref()
                .map(|v| parse_bool("EXPORT_HEADER", Some(v)))
                .transpose()?,
            compression: raw.export_compression,
            kms_key_id: raw.export_kms_key_id,
            bucket_owner: raw.export_bucket_owner,
            manifest: parse_bool("EXPORT_MANIFEST", raw.export_manifest.as_deref())?,
        })?;
        let export = match export {
            None => None,
            Some(e) => {
                if statement_count != 1 {
                    return Err(ExportConfigError::NotAQuery(format!(
                        "the job has {statement_count} statements"
                    ))
                    .into());
                }
                if repeat_until_zero || transaction {
                    return Err(ConfigError::Conflict(
                        "EXPORT_S3_URI runs one query once: unset REPEAT_UNTIL_ZERO and TRANSACTION".into(),
                    ));
                }
                let query =
                    crate::export::export_query(script.statements().next().unwrap_or_default())?;
                Some((e, query))
            }
        };

        Ok(Config {
            export,
            rds,
            read_only,
            app_name: raw.pgappname.unwrap_or_else(|| job_name.clone()),
            job_name,
            auth_mode,
            secret_id,
            script: Arc::new(script),
            overrides,
            ssl_mode,
            ssl_root_cert,
            connect_timeout,
            transaction,
            statement_timeout_ms: positive_ms("STATEMENT_TIMEOUT_MS", raw.statement_timeout_ms)?,
            lock_timeout_ms: positive_ms("LOCK_TIMEOUT_MS", raw.lock_timeout_ms)?,
            allow_overlap: parse_bool("ALLOW_OVERLAP", raw.allow_overlap.as_deref())?,
            max_runtime_ms: positive_ms("MAX_RUNTIME_MS", raw.max_runtime_ms)?,
            deadline_margin_ms,
            history,
            repeat_until_zero,
            continue_on_deadline,
            max_continuations,
        })
    }
}

fn rds_lookup(
    cluster: Option<String>,
    instance: Option<String>,
    endpoint: Option<&str>,
    when_unavailable: Option<&str>,
) -> Result<Option<RdsLookup>, ConfigError> {
    let db = match (cluster, instance) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Conflict(
                "DB_CLUSTER_IDENTIFIER and DB_INSTANCE_IDENTIFIER are both set: name the Aurora cluster or the instance, not both".into(),
            ))
        }
        (Some(c), None) => Some(DbRef::Cluster(c)),
        (None, Some(i)) => Some(DbRef::Instance(i)),
        (None, None) => None,
    };
    let endpoint_kind = match endpoint.map(str::to_ascii_lowercase).as_deref() {
        None | Some("writer") => EndpointKind::Writer,
        Some("reader") => EndpointKind::Reader,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "DB_ENDPOINT",
                value: other.into(),
                expected: "`writer` (default) or `reader` (read-only jobs)",
            })
        }
    };
    let skip = match when_unavailable.map(str::to_ascii_lowercase).as_deref() {
        None | Some("skip") => true,
        Some("fail") => false,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "WHEN_DATABASE_UNAVAILABLE",
                value: other.into(),
                expected: "`skip` (default: a stopped database skips the run) or `fail`",
            })
        }
    };
    match db {
        None if endpoint.is_some() || when_unavailable.is_some() => Err(ConfigError::Conflict(
            "DB_ENDPOINT and WHEN_DATABASE_UNAVAILABLE need DB_CLUSTER_IDENTIFIER or DB_INSTANCE_IDENTIFIER (the runner asks the RDS API)".into(),
        )),
        None => Ok(None),
        Some(DbRef::Instance(_)) if endpoint_kind == EndpointKind::Reader => Err(ConfigError::Conflict(
            "DB_ENDPOINT=reader needs DB_CLUSTER_IDENTIFIER (an instance has one endpoint)".into(),
        )),
        Some(db) => Ok(Some(RdsLookup {
            db,
            endpoint: endpoint_kind,
            skip_when_unavailable: skip,
        })),
    }
}

fn parse_script(source_name: String, text: String) -> Result<Script, ConfigError> {
    let script = Script::parse(text).map_err(|source| ConfigError::Script {
        source_name: source_name.clone(),
        source,
    })?;
    if script.statement_count() == 0 {
        return Err(ConfigError::EmptySql(source_name));
    }
    Ok(script)
}

/// Lower-case hex SHA-256 (what Terraform's `filesha256` gives).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `PGSSLMODE` (default `verify-full`) and, for the verifying modes, the readable CA bundle
/// (`PGSSLROOTCERT`, else `global-bundle.pem` in the package); shared by jobs and rotation.
pub fn tls_settings(
    mode: Option<&str>,
    root_cert: Option<&str>,
    task_root: Option<&Path>,
) -> Result<(SslMode, Option<PathBuf>), ConfigError> {
    let ssl_mode = match mode {
        None => SslMode::VerifyFull,
        Some(v) => SslMode::parse(v).ok_or_else(|| ConfigError::Invalid {
            var: "PGSSLMODE",
            value: v.to_string(),
            expected: "`disable`, `require`, `verify-ca` or `verify-full` (default)",
        })?,
    };
    if !ssl_mode.verifies_chain() {
        return Ok((ssl_mode, None));
    }
    let path = match root_cert {
        Some(p) => resolve_path(p, task_root),
        None => default_root_cert(task_root),
    };
    std::fs::metadata(&path).map_err(|source| ConfigError::RootCert {
        path: path.clone(),
        mode: ssl_mode.as_str(),
        source,
    })?;
    Ok((ssl_mode, Some(path)))
}

/// `PGCONNECT_TIMEOUT`: 1-900 seconds, default [`DEFAULT_CONNECT_TIMEOUT`].
pub fn connect_timeout(value: Option<&str>) -> Result<Duration, ConfigError> {
    const EXPECTED: &str =
        "a whole number of seconds from 1 to 900 (a Lambda job must not wait forever, and 900 s is Lambda's longest timeout)";
    match parse_num::<u64>("PGCONNECT_TIMEOUT", value, EXPECTED)? {
        None => Ok(DEFAULT_CONNECT_TIMEOUT),
        Some(s) if (1..=MAX_CONNECT_TIMEOUT_S).contains(&s) => Ok(Duration::from_secs(s)),
        Some(s) => Err(ConfigError::Invalid {
            var: "PGCONNECT_TIMEOUT",
            value: s.to_string(),
            expected: EXPECTED,
        }),
    }
}

/// `PGPORT`: 1-65535.
pub fn port(value: Option<&str>) -> Result<Option<u16>, ConfigError> {
    match parse_num::<u16>("PGPORT", value, "a TCP port 1-65535")? {
        Some(0) => Err(ConfigError::Invalid {
            var: "PGPORT",
            value: "0".into(),
            expected: "a TCP port 1-65535",
        }),
        other => Ok(other),
    }
}

fn resolve_path(value: &str, task_root: Option<&Path>) -> PathBuf {
    let path = PathBuf::from(value);
    match task_root {
        Some(root) if path.is_relative() => root.join(path),
        _ => path,
    }
}

fn default_root_cert(task_root: Option<&Path>) -> PathBuf {
    let dir = task_root.map(Path::to_path_buf).or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
    });
    dir.unwrap_or_default().join(DEFAULT_ROOT_CERT_FILE)
}

fn parse_bool(var: &'static str, value: Option<&str>) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
        Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            var,
            value: other.to_string(),
            expected: "`true` or `false`",
        }),
    }
}

fn parse_num<T: std::str::FromStr>(
    var: &'static str,
    value: Option<&str>,
    expected: &'static str,
) -> Result<Option<T>, ConfigError> {
    value
        .map(|v| {
            v.trim().parse::<T>().map_err(|_| ConfigError::Invalid {
                var,
                value: v.to_string(),
                expected,
            })
        })
        .transpose()
}

/// Parses `schema.table` (or `table`, in schema `pg_cron_job`) made of plain identifiers.
fn parse_table_name(value: &str) -> Result<(String, String), ConfigError> {
    let invalid = || ConfigError::Invalid {
        var: "HISTORY_TABLE",
        value: value.to_string(),
        expected:
            "`schema.table` or `table` (schema cron_jobs) made of lower-case letters, digits and _",
    };
    let parts: Vec<&str> = value.trim().split('.').collect();
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    match parts.as_slice() {
        [schema, _] if schema.starts_with("pg_") => Err(ConfigError::Invalid {
            var: "HISTORY_TABLE",
            value: value.to_string(),
            expected: "a schema whose name does not start with pg_ (PostgreSQL reserves those), for example cron_jobs.job_run_details",
        }),
        [table] if ident_ok(table) => Ok(("cron_jobs".into(), table.to_string())),
        [schema, table] if ident_ok(schema) && ident_ok(table) => {
            Ok((schema.to_string(), table.to_string()))
        }
        _ => Err(invalid()),
    }
}

/// Rejects variables that look like typos of ours and libpq variables we do not honour.
fn check_unknown_variables<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), ConfigError> {
    for name in names {
        let name = name.as_str();
        if KNOWN_VARIABLES.contains(&name) {
            continue;
        }
        if name == "PGPASSWORD" || name == "PGPASSFILE" {
            return Err(ConfigError::Unsupported {
                var: name.into(),
                hint: "a password in the environment is readable by anyone who can read the function's configuration; store it in the DB_SECRET_ID secret or use AUTH_MODE=iam".into(),
            });
        }
        if name.starts_with("PG")
            && name.len() > 2
            && name[2..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_')
        {
            return Err(ConfigError::Unsupported {
                var: name.into(),
                hint: format!(
                    "supported libpq variables are {}",
                    pg_variables().join(", ")
                ),
            });
        }
        if let Some(known) = KNOWN_VARIABLES
            .iter()
            .find(|k| k.len() >= 6 && edit_distance(k, name) <= if k.len() >= 12 { 3 } else { 2 })
        {
            return Err(ConfigError::Unsupported {
                var: name.into(),
                hint: format!("unknown variable; did you mean {known}?"),
            });
        }
    }
    Ok(())
}

fn pg_variables() -> Vec<&'static str> {
    KNOWN_VARIABLES
        .iter()
        .copied()
        .filter(|v| v.starts_with("PG"))
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn base(extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut v = vars(&[
            (
                "DB_SECRET_ID",
                "arn:aws:secretsmanager:eu-west-1:1:secret:db",
            ),
            ("SQL", "SELECT 1"),
            ("PGSSLMODE", "require"),
        ]);
        v.extend(vars(extra));
        v
    }

    fn err(v: HashMap<String, String>) -> String {
        Config::from_vars(v)
            .expect_err("config should be rejected")
            .to_string()
    }

    #[test]
    fn defaults_are_safe() {
        let c = Config::from_vars(base(&[])).unwrap();
        assert_eq!(c.job_name, "pg-cron-job");
        assert_eq!(c.app_name, "pg-cron-job");
        assert_eq!(c.auth_mode, AuthMode::Secret);
        assert!(!c.transaction);
        assert!(!c.allow_overlap);
        assert_eq!(c.script.statements().collect::<Vec<_>>(), vec!["SELECT 1"]);
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert!(c.history.is_none());
    }

    #[test]
    fn job_name_falls_back_to_function_name() {
        let c = Config::from_vars(base(&[("AWS_LAMBDA_FUNCTION_NAME", "nightly-purge")])).unwrap();
        assert_eq!(c.job_name, "nightly-purge");
        let c = Config::from_vars(base(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
            ("JOB_NAME", "purge"),
            ("PGAPPNAME", "app"),
        ]))
        .unwrap();
        assert_eq!(c.job_name, "purge");
        assert_eq!(c.app_name, "app");
    }

    #[test]
    fn missing_secret_id_names_the_variable() {
        let mut v = base(&[]);
        v.remove("DB_SECRET_ID");
        assert!(err(v).contains("DB_SECRET_ID is required"));
    }

    #[test]
    fn iam_mode_needs_host_port_user() {
        let mut v = base(&[("AUTH_MODE", "iam"), ("PGHOST", "db"), ("PGPORT", "5432")]);
        v.remove("DB_SECRET_ID");
        assert!(err(v.clone()).contains("PGUSER"));
        v.insert("PGUSER".into(), "job".into());
        assert_eq!(Config::from_vars(v).unwrap().auth_mode, AuthMode::Iam);
    }

    #[test]
    fn sql_and_sql_file_are_exclusive() {
        assert!(err(base(&[("SQL_FILE", "x.sql")])).contains("SQL and SQL_FILE are both set"));
        let mut v = base(&[]);
        v.remove("SQL");
        assert!(err(v).contains("SQL or SQL_FILE is required"));
        assert!(err(base(&[("SQL", "-- nothing\n;")])).contains("SQL holds no SQL statement"));
    }

    #[test]
    fn sql_file_resolves_against_task_root() {
        let dir = std::env::temp_dir().join(format!("pgcj-cfg-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sql")).unwrap();
        std::fs::write(dir.join("sql/purge.sql"), "DELETE FROM a;\nDELETE FROM b;").unwrap();
        let mut v = base(&[
            ("SQL_FILE", "sql/purge.sql"),
            ("LAMBDA_TASK_ROOT", dir.to_str().unwrap()),
        ]);
        v.remove("SQL");
        let c = Config::from_vars(v.clone()).unwrap();
        assert_eq!(
            c.script.statements().collect::<Vec<_>>(),
            vec!["DELETE FROM a;", "DELETE FROM b;"]
        );
        v.insert("SQL_FILE".into(), "sql/missing.sql".into());
        assert!(err(v).contains("missing.sql"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert!(err(base(&[("PGSSLMODE", "prefer")]))
            .contains("PGSSLMODE has an invalid value \"prefer\""));
        assert!(err(base(&[("PGPORT", "54x")])).contains("PGPORT"));
        assert!(err(base(&[("PGPORT", "0")])).contains("PGPORT"));
        assert!(err(base(&[("TRANSACTION", "maybe")])).contains("TRANSACTION"));
        assert!(err(base(&[("STATEMENT_TIMEOUT_MS", "0")])).contains("STATEMENT_TIMEOUT_MS"));
        assert!(err(base(&[("LOCK_TIMEOUT_MS", "-1")])).contains("LOCK_TIMEOUT_MS"));
        assert!(err(base(&[("PGCONNECT_TIMEOUT", "0")])).contains("PGCONNECT_TIMEOUT"));
        assert!(err(base(&[("AUTH_MODE", "password")])).contains("AUTH_MODE"));
        assert!(err(base(&[("HISTORY_TABLE", "a.b.c")])).contains("HISTORY_TABLE"));
        assert!(err(base(&[("HISTORY_TABLE", "x; DROP")])).contains("HISTORY_TABLE"));
        assert!(err(base(&[("HISTORY_TABLE", "pg_jobs.runs")])).contains("reserves"));
    }

    #[test]
    fn verify_modes_need_a_readable_root_bundle() {
        let msg = err(base(&[
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/nonexistent/ca.pem"),
        ]));
        assert!(msg.contains("PGSSLROOTCERT /nonexistent/ca.pem"), "{msg}");
        assert!(msg.contains("verify-full"), "{msg}");
    }

    #[test]
    fn typos_and_unsupported_libpq_variables_are_caught() {
        assert!(err(base(&[("PGSSLMOD", "disable")])).contains("PGSSLMOD is not supported"));
        assert!(err(base(&[("PGPASSWORD", "x")])).contains("DB_SECRET_ID secret"));
        assert!(
            err(base(&[("STATEMENT_TIMEOUT", "5")])).contains("did you mean STATEMENT_TIMEOUT_MS")
        );
        assert!(err(base(&[("ALLOW_OVERLAPS", "true")])).contains("did you mean ALLOW_OVERLAP"));
        assert!(Config::from_vars(base(&[("PATH", "/bin"), ("HOME", "/root")])).is_ok());
    }

    #[test]
    fn history_and_repeat_mode() {
        let c = Config::from_vars(base(&[("HISTORY_TABLE", "job_runs")])).unwrap();
        let h = c.history.unwrap();
        assert_eq!(
            (h.schema.as_str(), h.table.as_str(), h.retention_days),
            ("cron_jobs", "job_runs", 30)
        );
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("SQL", "DELETE FROM a; DELETE FROM b")
        ]))
        .contains("exactly one statement"));
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("TRANSACTION", "true")
        ]))
        .contains("TRANSACTION"));
        assert!(err(base(&[("CONTINUE_ON_DEADLINE", "true")])).contains("REPEAT_UNTIL_ZERO"));
        assert!(err(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("CONTINUE_ON_DEADLINE", "true")
        ]))
        .contains("needs HISTORY_TABLE"));
        let c = Config::from_vars(base(&[
            ("REPEAT_UNTIL_ZERO", "true"),
            ("CONTINUE_ON_DEADLINE", "true"),
            ("HISTORY_TABLE", "ops.runs"),
        ]))
        .unwrap();
        assert_eq!(c.max_continuations, 10);
    }

    #[test]
    fn values_postgresql_would_refuse_are_refused_at_start_up() {
        for var in ["STATEMENT_TIMEOUT_MS", "LOCK_TIMEOUT_MS", "MAX_RUNTIME_MS"] {
            assert!(err(base(&[(var, "2147483648")])).contains(var));
            assert!(Config::from_vars(base(&[(var, "2147483647")])).is_ok());
        }
        assert!(err(base(&[
            ("HISTORY_TABLE", "t"),
            ("HISTORY_RETENTION_DAYS", "9999999")
        ]))
        .contains("HISTORY_RETENTION_DAYS"));
        assert!(err(base(&[("PGCONNECT_TIMEOUT", "100000")])).contains("PGCONNECT_TIMEOUT"));
        assert!(err(base(&[("SQL_SHA256", "abc")])).contains("SQL_SHA256"));
    }

    #[test]
    fn long_history_table_names_get_distinct_index_names() {
        let h = |table: &str| HistoryConfig {
            schema: "ops".into(),
            table: table.into(),
            retention_days: 30,
        };
        let a = h(&format!("{}a", "x".repeat(61)));
        let b = h(&format!("{}b", "x".repeat(61)));
        for suffix in ["job_started_idx", "event_once_idx"] {
            assert!(a.index_name(suffix).len() <= 63);
            assert_ne!(a.index_name(suffix), b.index_name(suffix));
        }
        assert_eq!(
            h("runs").index_name("event_once_idx"),
            "runs_event_once_idx"
        );
    }

    #[test]
    fn scripts_are_checked_at_start_up() {
        let m = err(base(&[("SQL", "SELECT 1;\nSELECT 2 \\gset")]));
        assert!(m.contains("SQL line 2") && m.contains("\\gset"), "{m}");
        assert!(err(base(&[
            ("SQL", "\\set ON_ERROR_STOP off\nSELECT 1"),
            ("TRANSACTION", "true")
        ]))
        .contains("ON_ERROR_STOP"));
    }

    #[test]
    fn a_stale_sql_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("pgcj-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("job.sql");
        std::fs::write(&file, "SELECT 1;\n").unwrap();
        let good = sha256_hex(b"SELECT 1;\n");
        let mut v = base(&[("SQL_FILE", file.to_str().unwrap()), ("SQL_SHA256", &good)]);
        v.remove("SQL");
        assert!(Config::from_vars(v.clone()).is_ok());
        std::fs::write(&file, "SELECT 2;\n").unwrap();
        let m = err(v);
        assert!(m.contains("make build") && m.contains(&good), "{m}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
