//! What every pg_cron_job program shares, with no AWS SDK: the psql script reader, libpq-style
//! connection settings, TLS, PostgreSQL sessions with bounded waits, PostgreSQL error
//! translation and the run-time error vocabulary.
//!
//! Dependencies point one way: `outcome` and `error_text` are leaves; `pg_error` uses `db`,
//! which uses neither of the others.

pub mod bounded;
pub mod db;
pub mod digest;
pub mod error_text;
pub mod file;
pub mod libpq;
pub mod notices;
pub mod outcome;
pub mod pg_error;
pub mod sql;
pub mod tls;
