//! Which database and how to log in: the secret or IAM, the libpq overrides of the secret's
//! fields, and the RDS API lookup (`DB_CLUSTER_IDENTIFIER` / `DB_INSTANCE_IDENTIFIER`).

use super::error::ConfigError;
use crate::contract;
use crate::env::Env;
use crate::rds::{DbRef, EndpointKind};

/// How the runner authenticates to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Username and password from the Secrets Manager secret `DB_SECRET_ID`.
    Secret,
    /// IAM database authentication token signed with the function's credentials.
    Iam,
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

/// The database settings of a job.
#[derive(Debug, Clone)]
pub struct Database {
    pub auth_mode: AuthMode,
    pub secret_id: Option<String>,
    pub overrides: ConnOverrides,
    pub rds: Option<RdsLookup>,
    /// The job only reads (`READ_ONLY=true` or `DB_ENDPOINT=reader`): no writer check.
    pub read_only: bool,
}

impl Database {
    pub fn parse(env: &Env) -> Result<Self, ConfigError> {
        let auth_mode = match env.choice(&contract::AUTH_MODE)? {
            Some("iam") => AuthMode::Iam,
            _ => AuthMode::Secret,
        };
        let overrides = overrides(env)?;
        let rds = rds_lookup(env)?;
        let read_only = env.flag(&contract::READ_ONLY)?
            || rds
                .as_ref()
                .is_some_and(|r| r.endpoint == EndpointKind::Reader);
        let secret_id = env.text(&contract::DB_SECRET_ID);
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
        Ok(Database {
            auth_mode,
            secret_id,
            overrides,
            rds,
            read_only,
        })
    }
}

fn overrides(env: &Env) -> Result<ConnOverrides, ConfigError> {
    let hostaddr = env
        .text(&contract::PGHOSTADDR)
        .map(|v| {
            v.trim().parse().map_err(|_| ConfigError::Invalid {
                var: "PGHOSTADDR",
                value: v.clone(),
                expected: "an IPv4 or IPv6 address (the host name stays PGHOST's or the RDS endpoint's, for TLS)",
            })
        })
        .transpose()?;
    Ok(ConnOverrides {
        host: env.text(&contract::PGHOST),
        port: env.int(&contract::PGPORT)?,
        dbname: env.text(&contract::PGDATABASE),
        user: env.text(&contract::PGUSER),
        hostaddr,
    })
}

fn rds_lookup(env: &Env) -> Result<Option<RdsLookup>, ConfigError> {
    let db = match (
        env.text(&contract::DB_CLUSTER_IDENTIFIER),
        env.text(&contract::DB_INSTANCE_IDENTIFIER),
    ) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Conflict(
                "DB_CLUSTER_IDENTIFIER and DB_INSTANCE_IDENTIFIER are both set: name the Aurora cluster or the instance, not both".into(),
            ))
        }
        (Some(c), None) => Some(DbRef::Cluster(c)),
        (None, Some(i)) => Some(DbRef::Instance(i)),
        (None, None) => None,
    };
    let endpoint_kind = match env.choice(&contract::DB_ENDPOINT)? {
        Some("reader") => EndpointKind::Reader,
        _ => EndpointKind::Writer,
    };
    let skip = env.choice(&contract::WHEN_DATABASE_UNAVAILABLE)? != Some("fail");
    let tuned =
        env.is_set(&contract::DB_ENDPOINT) || env.is_set(&contract::WHEN_DATABASE_UNAVAILABLE);
    match db {
        None if tuned => Err(ConfigError::Conflict(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;

    fn env(pairs: &[(&str, &str)]) -> Env {
        crate::env::test_env(pairs, Program::Job)
    }

    #[test]
    fn rds_lookup_rules() {
        let d = Database::parse(&env(&[
            ("DB_SECRET_ID", "s"),
            ("DB_CLUSTER_IDENTIFIER", "app"),
            ("DB_ENDPOINT", "reader"),
        ]))
        .unwrap();
        assert!(d.read_only);
        assert_eq!(d.rds.unwrap().db, DbRef::Cluster("app".into()));
        for bad in [
            vec![
                ("DB_CLUSTER_IDENTIFIER", "a"),
                ("DB_INSTANCE_IDENTIFIER", "b"),
            ],
            vec![("DB_ENDPOINT", "reader")],
            vec![("DB_INSTANCE_IDENTIFIER", "b"), ("DB_ENDPOINT", "reader")],
            vec![("WHEN_DATABASE_UNAVAILABLE", "wait")],
            vec![("PGHOSTADDR", "db.example")],
        ] {
            let mut v = bad.clone();
            v.push(("DB_SECRET_ID", "s"));
            assert!(Database::parse(&env(&v)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn iam_needs_host_port_and_user() {
        let m = Database::parse(&env(&[
            ("AUTH_MODE", "iam"),
            ("PGHOST", "h"),
            ("PGPORT", "5432"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(m.contains("PGUSER"), "{m}");
        let d = Database::parse(&env(&[
            ("AUTH_MODE", "IAM"),
            ("PGHOST", "h"),
            ("PGPORT", "5432"),
            ("PGUSER", "u"),
        ]))
        .unwrap();
        assert_eq!(d.auth_mode, AuthMode::Iam);
    }
}
