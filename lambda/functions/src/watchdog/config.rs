//! The watchdog's settings and failures.

use std::collections::HashMap;

use jiff::SignedDuration;

use crate::contract;
use crate::env::{Env, EnvError};
use crate::metrics::DEFAULT_NAMESPACE;
use crate::program::Program;

/// Why a check could not be made, or what it could not check.
#[derive(Debug, thiserror::Error)]
pub enum WatchdogError {
    #[error("watchdog configuration: {0}")]
    Config(String),
    #[error("not a watchdog event ({0}): expected {{}} or {{\"at\": \"<RFC 3339 instant>\"}} (a preview at that instant, published nowhere)")]
    Event(String),
    #[error("EventBridge Scheduler: {0}")]
    Scheduler(String),
    #[error("CloudWatch: {0}")]
    Metrics(String),
    /// The check ran, but some schedules could not be checked (listed in the result).
    #[error("{count} schedule(s) could not be checked: {first}")]
    Unchecked { count: usize, first: String },
}

impl From<EnvError> for WatchdogError {
    fn from(e: EnvError) -> Self {
        WatchdogError::Config(e.to_string())
    }
}

/// Most Scheduler groups one watchdog lists.
pub const MAX_GROUPS: usize = 20;

/// The watchdog's settings, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// The fleet: schedules whose target input has `watch.fleet` equal to it.
    pub fleet: String,
    /// The Scheduler groups listed.
    pub groups: Vec<String>,
    /// How often the watchdog runs.
    pub period: SignedDuration,
    /// Where the runs' metrics are, and where lateness is published.
    pub namespace: String,
    /// The SSM Parameter Store path of the declared jobs, if any.
    pub declared_path: Option<String>,
}

impl WatchdogConfig {
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, WatchdogError> {
        let env = Env::new(vars, Program::Watchdog)?;
        let fleet = env
            .text(&contract::WATCH_FLEET)
            .map(|f| f.trim().to_string())
            .ok_or_else(|| {
                WatchdogError::Config(
                    "WATCH_FLEET is required: the fleet whose schedules the watchdog checks (the module sets it to the shared layer's name)".into(),
                )
            })?;
        let groups: Vec<String> = env
            .text(&contract::WATCH_SCHEDULE_GROUPS)
            .unwrap_or_else(|| "default".into())
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if groups.is_empty() || groups.len() > MAX_GROUPS {
            return Err(WatchdogError::Config(format!(
                "WATCH_SCHEDULE_GROUPS must name 1 to {MAX_GROUPS} Scheduler groups separated by commas; got {}",
                groups.len()
            )));
        }
        if let Some(bad) = groups.iter().find(|g| !valid_group(g)) {
            return Err(WatchdogError::Config(format!(
                "WATCH_SCHEDULE_GROUPS: {bad:?} is not a Scheduler group name (1-64 letters, digits, '.', '-', '_')"
            )));
        }
        let period = env
            .int::<i64>(&contract::WATCH_PERIOD_SECONDS)?
            .unwrap_or(300);
        let declared_path = env
            .text(&contract::WATCH_DECLARED_PATH)
            .map(|p| p.trim().trim_end_matches('/').to_string())
            .filter(|p| !p.is_empty());
        if let Some(bad) = declared_path
            .as_deref()
            .filter(|p| !valid_parameter_path(p))
        {
            return Err(WatchdogError::Config(format!(
                "WATCH_DECLARED_PATH {bad:?} is not an SSM parameter path: /-separated, starting with /, letters, digits and . - _ only, at most 1011 characters (for example /pg-cron-job/nightly/declared)"
            )));
        }
        Ok(WatchdogConfig {
            declared_path,
            fleet,
            groups,
            period: SignedDuration::from_secs(period),
            namespace: env
                .text(&contract::METRICS_NAMESPACE)
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
        })
    }
}

/// Parameter Store's rule for names (a path here): `a-zA-Z0-9_.-` and `/`, 1011 characters at
/// most for a fully qualified name.
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html>
fn valid_parameter_path(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 1011
        && !p.contains("//")
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// Scheduler's rule for group names: `^[0-9a-zA-Z-_.]+$`, 1 to 64 characters.
/// <https://docs.aws.amazon.com/scheduler/latest/APIReference/API_CreateScheduleGroup.html>
fn valid_group(g: &str) -> bool {
    (1..=64).contains(&g.len())
        && g.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<WatchdogConfig, WatchdogError> {
        WatchdogConfig::from_vars(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn reads_the_fleet_groups_and_period() {
        let c = config(&[
            ("WATCH_FLEET", "nightly"),
            ("WATCH_SCHEDULE_GROUPS", "default, reports"),
        ])
        .unwrap();
        assert_eq!(c.fleet, "nightly");
        assert_eq!(c.groups, ["default", "reports"]);
        assert_eq!(c.period, SignedDuration::from_mins(5));
        assert_eq!(c.namespace, "PgCronJob");
        let c = config(&[("WATCH_FLEET", "f"), ("WATCH_PERIOD_SECONDS", "600")]).unwrap();
        assert_eq!(c.groups, ["default"]);
        assert_eq!(c.period, SignedDuration::from_mins(10));
        assert_eq!(c.declared_path, None);
        let c = config(&[
            ("WATCH_FLEET", "f"),
            ("WATCH_DECLARED_PATH", "/pg-cron-job/f/declared/"),
        ])
        .unwrap();
        assert_eq!(c.declared_path.as_deref(), Some("/pg-cron-job/f/declared"));
        let e = config(&[("WATCH_FLEET", "f"), ("WATCH_DECLARED_PATH", "pg cron")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WATCH_DECLARED_PATH") && e.contains("\"pg cron\""),
            "{e}"
        );
    }

    #[test]
    fn refusals_name_the_variable() {
        let e = config(&[]).unwrap_err().to_string();
        assert!(e.contains("WATCH_FLEET is required"), "{e}");
        let e = config(&[("WATCH_FLEET", "f"), ("WATCH_PERIOD_SECONDS", "30")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("WATCH_PERIOD_SECONDS") && e.contains("60"),
            "{e}"
        );
        let e = config(&[("WATCH_FLEET", "f"), ("WATCH_SCHEDULE_GROUPS", "a b")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"a b\""), "{e}");
        let e = config(&[("WATCH_FLEET", "f"), ("SQL", "select 1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SQL") && e.contains("`watchdog`"), "{e}");
    }
}
