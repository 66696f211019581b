//! The pure part of Secrets Manager's rotation protocol: the event, the checks every step makes
//! before acting, the user-name flip of alternating users and SQL quoting. No I/O here, so the
//! state machine is unit-tested.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

pub const CURRENT: &str = "AWSCURRENT";
pub const PENDING: &str = "AWSPENDING";
pub const PREVIOUS: &str = "AWSPREVIOUS";
/// Suffix of the second role of `alternating-users`.
pub const CLONE_SUFFIX: &str = "_clone";
/// Characters `GetRandomPassword` must not produce: they break connection strings and URIs
/// (`/ @ " ' \`, space) or shells and `.pgpass` lines (`: ; $ `` ` `` `).
pub const EXCLUDED_PASSWORD_CHARACTERS: &str = "/@\"'\\ :;$`";
pub const PASSWORD_LENGTH: i64 = 32;

/// `ROTATION_STRATEGY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The secret's user changes its own password.
    SingleUser,
    /// A master user sets the password of `<user>` or `<user>_clone`, in turns.
    AlternatingUsers,
}

impl Strategy {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "single-user" => Some(Self::SingleUser),
            "alternating-users" => Some(Self::AlternatingUsers),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleUser => "single-user",
            Self::AlternatingUsers => "alternating-users",
        }
    }
}

/// The four steps, in the order Secrets Manager calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Step {
    #[serde(rename = "createSecret")]
    Create,
    #[serde(rename = "setSecret")]
    Set,
    #[serde(rename = "testSecret")]
    Test,
    #[serde(rename = "finishSecret")]
    Finish,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Create => "createSecret",
            Self::Set => "setSecret",
            Self::Test => "testSecret",
            Self::Finish => "finishSecret",
        })
    }
}

/// The event Secrets Manager sends to a rotation function.
#[derive(Debug, Clone, Deserialize)]
pub struct RotationEvent {
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    #[serde(rename = "ClientRequestToken")]
    pub token: String,
    #[serde(rename = "Step")]
    pub step: Step,
}

/// What the checks common to every step decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The token is the pending version: perform the step.
    Proceed,
    /// The token is already `AWSCURRENT`: the rotation is complete, nothing to do.
    AlreadyCurrent,
}

/// Why a step is refused before it does anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    RotationDisabled,
    UnknownVersion,
    NotPending,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RotationDisabled => "rotation is not enabled on the secret",
            Self::UnknownVersion => {
                "the ClientRequestToken is not a version of the secret (no stage for rotation)"
            }
            Self::NotPending => "the ClientRequestToken's version is not AWSPENDING",
        })
    }
}

/// The checks every step makes on `DescribeSecret`'s answer, as Secrets Manager's rotation
/// contract requires: rotation enabled, the token is a version, already current (done) or
/// pending (go on).
pub fn gate(
    rotation_enabled: bool,
    versions: &HashMap<String, Vec<String>>,
    token: &str,
) -> Result<Gate, Refusal> {
    if !rotation_enabled {
        return Err(Refusal::RotationDisabled);
    }
    let stages = versions.get(token).ok_or(Refusal::UnknownVersion)?;
    if stages.iter().any(|s| s == CURRENT) {
        Ok(Gate::AlreadyCurrent)
    } else if stages.iter().any(|s| s == PENDING) {
        Ok(Gate::Proceed)
    } else {
        Err(Refusal::NotPending)
    }
}

/// The version labelled `AWSCURRENT`.
pub fn current_version(versions: &HashMap<String, Vec<String>>) -> Option<&str> {
    versions
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
        .map(|(id, _)| id.as_str())
}

/// The other user of `alternating-users`: `app` <-> `app_clone`.
pub fn alternate_username(current: &str) -> String {
    match current.strip_suffix(CLONE_SUFFIX) {
        Some(base) if !base.is_empty() => base.to_string(),
        _ => format!("{current}{CLONE_SUFFIX}"),
    }
}

/// The base role of a pair (`app` for both `app` and `app_clone`).
pub fn base_username(name: &str) -> &str {
    match name.strip_suffix(CLONE_SUFFIX) {
        Some(base) if !base.is_empty() => base,
        _ => name,
    }
}

/// A quoted SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A quoted SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `ALTER ROLE` / `CREATE ROLE` password clause: the SCRAM-SHA-256 verifier computed here (as
/// psql's `\password` does), so the clear text is never sent to the server and never appears in
/// its log or in `pg_stat_statements`.
pub fn password_clause(password: &str) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    format!("PASSWORD {}", quote_literal(&verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(id, stages)| {
                (
                    id.to_string(),
                    stages.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_gate_follows_the_rotation_contract() {
        let v = versions(&[
            ("old", &[PREVIOUS]),
            ("cur", &[CURRENT]),
            ("tok", &[PENDING]),
            ("stray", &[]),
        ]);
        assert_eq!(gate(true, &v, "tok"), Ok(Gate::Proceed));
        assert_eq!(gate(true, &v, "cur"), Ok(Gate::AlreadyCurrent));
        assert_eq!(gate(true, &v, "old"), Err(Refusal::NotPending));
        assert_eq!(gate(true, &v, "stray"), Err(Refusal::NotPending));
        assert_eq!(gate(true, &v, "nope"), Err(Refusal::UnknownVersion));
        assert_eq!(gate(false, &v, "tok"), Err(Refusal::RotationDisabled));
        // After finishSecret the token carries both labels: every step is then a no-op.
        let done = versions(&[("old", &[PREVIOUS]), ("tok", &[CURRENT, PENDING])]);
        assert_eq!(gate(true, &done, "tok"), Ok(Gate::AlreadyCurrent));
        assert_eq!(current_version(&done), Some("tok"));
    }

    #[test]
    fn events_parse_with_the_step_names_secrets_manager_sends() {
        let e: RotationEvent = serde_json::from_str(
            r#"{"SecretId":"arn:x","ClientRequestToken":"t","Step":"setSecret"}"#,
        )
        .unwrap();
        assert_eq!(e.step, Step::Set);
        assert_eq!(e.step.to_string(), "setSecret");
        assert!(serde_json::from_str::<RotationEvent>(
            r#"{"SecretId":"a","ClientRequestToken":"t","Step":"dropSecret"}"#
        )
        .is_err());
    }

    #[test]
    fn alternating_users_flip_between_two_names() {
        assert_eq!(alternate_username("app"), "app_clone");
        assert_eq!(alternate_username("app_clone"), "app");
        assert_eq!(alternate_username(&alternate_username("app")), "app");
        assert_eq!(alternate_username("_clone"), "_clone_clone");
        assert_eq!(base_username("app_clone"), "app");
        assert_eq!(base_username("app"), "app");
    }

    #[test]
    fn the_password_clause_carries_only_a_verifier() {
        let clause = password_clause("s3cret-Passw0rd");
        assert!(
            clause.starts_with("PASSWORD 'SCRAM-SHA-256$4096:"),
            "{clause}"
        );
        assert!(!clause.contains("s3cret-Passw0rd"));
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(Strategy::parse("Single-User"), Some(Strategy::SingleUser));
        assert_eq!(Strategy::parse("multi"), None);
    }
}
