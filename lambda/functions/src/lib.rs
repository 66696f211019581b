//! The Lambda package of pg_cron_job: the programs AWS Lambda runs, one executable for every
//! function of a fleet ([`program`] picks one from the function's handler).
//!
//! - `job` ([`runner`]): [`app`] holds the cold-start state and runs [`job`] once per
//!   invocation, with [`history`], [`export`] and the RDS lookup ([`rds`]);
//! - `rotation` ([`rotation`]): Secrets Manager's rotation protocol for the job's secret;
//! - `watchdog` ([`watchdog`]): whether every job of the fleet started when its schedule said.
//!
//! Configuration comes only from the environment, declared once in [`contract`] and read through
//! [`env`]; what every program shares without AWS lives in `pg_cron_job_core`.

pub mod app;
pub mod aws;
pub mod capped_body;
pub mod config;
pub mod contract;
pub mod env;
pub mod event;
pub mod export;
pub mod history;
pub mod iam;
pub mod job;
pub mod metrics;
pub mod program;
pub mod rds;
pub mod report;
pub mod rotation;
pub mod run;
pub mod runner;
pub mod secret;
pub mod serve;
pub mod watchdog;
