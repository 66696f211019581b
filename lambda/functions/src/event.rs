//! The invocation event. It never carries SQL: only an id (for logs, history and duplicate
//! detection) and, for self-invoked continuations, the chain marker.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::warn;

/// Key of the continuation marker in a self-invocation payload.
pub const CONTINUATION_KEY: &str = "pg_cron_job_continuation";

/// Marker a partial run puts in the payload of the continuation it invokes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// 1 for the first continuation, 2 for the next, ...
    pub continuation: u32,
    /// Run id of the chain's first run.
    pub chain_id: String,
    /// Run id of the run that asked for this one.
    pub previous_run_id: String,
}

/// What the runner takes from an event: EventBridge Scheduler (with the module's input
/// template), an EventBridge rule event, `{}`, or a continuation payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationEvent {
    pub id: Option<String>,
    /// Scheduler's `scheduled_time` (the module's input template sends it), when valid RFC 3339.
    pub scheduled_time: Option<OffsetDateTime>,
    pub continuation: Option<Continuation>,
}

impl InvocationEvent {
    /// Reads the id and continuation marker; anything else in the payload is ignored.
    pub fn from_value(value: &Value) -> Self {
        let Some(obj) = value.as_object() else {
            return Self::default();
        };
        for key in obj.keys() {
            if key.eq_ignore_ascii_case("sql") || key.eq_ignore_ascii_case("sql_file") {
                warn!(field = %key, "ignoring event field: the event cannot change what runs (SQL comes from the function's configuration)");
            }
        }
        let id = obj.get("id").and_then(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let continuation = obj
            .get(CONTINUATION_KEY)
            .and_then(|v| serde_json::from_value::<Continuation>(v.clone()).ok());
        let scheduled_time = obj
            .get("scheduled_time")
            .and_then(Value::as_str)
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        InvocationEvent {
            id,
            scheduled_time,
            continuation,
        }
    }

    /// The payload for the continuation after `run_id`.
    pub fn continuation_payload(&self, run_id: &str) -> Value {
        let next = Continuation {
            continuation: self.continuation.as_ref().map_or(1, |c| c.continuation + 1),
            chain_id: self
                .continuation
                .as_ref()
                .map_or_else(|| run_id.to_string(), |c| c.chain_id.clone()),
            previous_run_id: run_id.to_string(),
        };
        let mut payload = serde_json::Map::new();
        if let Some(id) = &self.id {
            payload.insert("id".into(), Value::String(id.clone()));
        }
        if let Some(at) = self.scheduled_time.and_then(|t| t.format(&Rfc3339).ok()) {
            payload.insert("scheduled_time".into(), Value::String(at));
        }
        payload.insert(
            CONTINUATION_KEY.into(),
            serde_json::to_value(next).unwrap_or(Value::Null),
        );
        Value::Object(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_scheduler_and_eventbridge_ids() {
        let e = InvocationEvent::from_value(
            &json!({"id": "exec-1", "scheduled_time": "2026-01-01T00:00:00Z"}),
        );
        assert_eq!(e.id.as_deref(), Some("exec-1"));
        assert_eq!(
            e.scheduled_time,
            Some(time::macros::datetime!(2026-01-01 00:00:00 UTC))
        );
        assert_eq!(
            InvocationEvent::from_value(&json!({})),
            InvocationEvent::default()
        );
        assert_eq!(
            InvocationEvent::from_value(&json!("text")),
            InvocationEvent::default()
        );
    }

    #[test]
    fn sql_in_the_event_is_ignored() {
        let e = InvocationEvent::from_value(&json!({"id": "x", "sql": "DROP TABLE users"}));
        assert_eq!(
            e,
            InvocationEvent {
                id: Some("x".into()),
                ..InvocationEvent::default()
            }
        );
    }

    #[test]
    fn continuation_payload_chains() {
        let first = InvocationEvent {
            id: Some("evt".into()),
            ..InvocationEvent::default()
        };
        let p1 = first.continuation_payload("run-a");
        let second = InvocationEvent::from_value(&p1);
        assert_eq!(second.id.as_deref(), Some("evt"));
        let c = second.continuation.clone().unwrap();
        assert_eq!(
            (
                c.continuation,
                c.chain_id.as_str(),
                c.previous_run_id.as_str()
            ),
            (1, "run-a", "run-a")
        );
        let third = InvocationEvent::from_value(&second.continuation_payload("run-b"));
        let c = third.continuation.unwrap();
        assert_eq!(
            (
                c.continuation,
                c.chain_id.as_str(),
                c.previous_run_id.as_str()
            ),
            (2, "run-a", "run-b")
        );
    }
}
