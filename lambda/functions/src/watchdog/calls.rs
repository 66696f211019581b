//! The API calls one watchdog check makes, counted by operation.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

/// API calls one check made, by operation (for the result, `make bench-watchdog` and the cost
/// table).
#[derive(Debug, Default)]
pub struct ApiCalls {
    pub list_schedules: AtomicU64,
    pub get_schedule: AtomicU64,
    pub get_metric_data: AtomicU64,
    /// Metrics requested by GetMetricData (what CloudWatch charges for: one per query).
    pub metrics_requested: AtomicU64,
    pub get_parameters_by_path: AtomicU64,
}

impl ApiCalls {
    pub fn json(&self) -> Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "ListSchedules": n(&self.list_schedules),
            "GetSchedule": n(&self.get_schedule),
            "GetMetricData": n(&self.get_metric_data),
            "GetMetricDataMetrics": n(&self.metrics_requested),
            "GetParametersByPath": n(&self.get_parameters_by_path),
        })
    }
}
