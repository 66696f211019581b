//! The libpq settings jobs and the rotation function share: TLS mode and CA bundle, connect
//! timeout, application name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pg_cron_job_core::libpq;
use pg_cron_job_core::tls::SslMode;

use super::error::ConfigError;
use crate::contract;
use crate::env::Env;

/// How to reach PostgreSQL, besides where.
#[derive(Debug, Clone)]
pub struct Connection {
    pub ssl_mode: SslMode,
    /// The CA bundle, for the verifying modes.
    pub ssl_root_cert: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// `PGAPPNAME`, when set.
    pub app_name: Option<String>,
}

impl Connection {
    pub fn parse(env: &Env, task_root: Option<&Path>) -> Result<Self, ConfigError> {
        let ssl_mode = env
            .choice(&contract::PGSSLMODE)?
            .and_then(SslMode::parse)
            .unwrap_or(SslMode::VerifyFull);
        let root = env.text(&contract::PGSSLROOTCERT);
        let ssl_root_cert = libpq::root_cert(ssl_mode, root.as_deref(), task_root)?;
        let seconds = env
            .int::<u64>(&contract::PGCONNECT_TIMEOUT)?
            .unwrap_or_default();
        Ok(Connection {
            ssl_mode,
            ssl_root_cert,
            connect_timeout: Duration::from_secs(seconds),
            app_name: env.text(&contract::PGAPPNAME),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::Program;

    #[test]
    fn defaults_and_the_root_bundle() {
        let env = |pairs: &[(&str, &str)]| crate::env::test_env(pairs, Program::Rotation);
        let c = Connection::parse(&env(&[("PGSSLMODE", "require")]), None).unwrap();
        assert_eq!(c.ssl_mode, SslMode::Require);
        assert_eq!(c.connect_timeout, Duration::from_secs(15));
        let m = Connection::parse(&env(&[("PGSSLROOTCERT", "/nonexistent.pem")]), None)
            .unwrap_err()
            .to_string();
        assert!(m.contains("PGSSLMODE=verify-full"), "{m}");
        assert!(Connection::parse(&env(&[("PGSSLMODE", "prefer")]), None).is_err());
    }
}
