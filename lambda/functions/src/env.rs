//! Reads the environment through the contract ([`crate::contract`]): values are parsed by the
//! kind the contract declares, defaults come from it, errors name the variable and say what it
//! accepts, and variables that look like ours but are not (typos, libpq variables we do not
//! honour, another program's variables) are refused before anything runs.

use std::collections::HashMap;

use thiserror::Error;

use crate::contract::{self, Kind, Var, LAMBDA_VARIABLES};
use crate::program::Program;

/// Variables of every shell or container that look like ours (`USER` is two edits from
/// `PGUSER`) but are not: never refused.
const COMMON_VARIABLES: &[&str] = &[
    "USER", "LOGNAME", "HOME", "SHELL", "HOSTNAME", "TERM", "LANG",
];

/// A variable that is set wrongly or should not be set.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("{var} has an invalid value {value:?}: expected {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: String,
    },
    #[error("{var} is not supported by pg-cron-job: {hint}")]
    Unsupported { var: String, hint: String },
}

/// The environment of one program, checked against the contract.
#[derive(Debug, Clone)]
pub struct Env {
    program: Program,
    /// Set and non-blank values only (an empty variable counts as unset).
    vars: HashMap<String, String>,
}

impl Env {
    /// Checks `vars` for variables the program does not take and keeps the rest.
    pub fn new(vars: HashMap<String, String>, program: Program) -> Result<Self, EnvError> {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        for name in vars.keys() {
            check_known(name, program)?;
        }
        Ok(Env { program, vars })
    }

    fn raw(&self, var: &Var) -> Option<&str> {
        debug_assert!(
            var.applies_to(self.program),
            "{} read by {:?}",
            var.name,
            self.program
        );
        self.vars.get(var.name).map(String::as_str)
    }

    /// A variable Lambda sets (`AWS_LAMBDA_FUNCTION_NAME`, `LAMBDA_TASK_ROOT`).
    pub fn lambda(&self, name: &str) -> Option<String> {
        debug_assert!(LAMBDA_VARIABLES.contains(&name));
        self.vars.get(name).cloned()
    }

    fn invalid(var: &Var, value: &str) -> EnvError {
        EnvError::Invalid {
            var: var.name,
            value: value.to_string(),
            expected: var.expected(),
        }
    }

    /// A text variable, as set.
    pub fn text(&self, var: &Var) -> Option<String> {
        self.raw(var).map(str::to_string)
    }

    /// A flag: its value, else the contract's default.
    pub fn flag(&self, var: &Var) -> Result<bool, EnvError> {
        let default = match var.kind {
            Kind::Flag { default } => default,
            _ => false,
        };
        match self
            .raw(var)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None => Ok(default),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some(other) => Err(Self::invalid(var, other)),
        }
    }

    /// A whole number within the contract's range, else its default (`None`: unset, no default).
    pub fn int<T: TryFrom<u64>>(&self, var: &Var) -> Result<Option<T>, EnvError> {
        let Kind::Int {
            min, max, default, ..
        } = var.kind
        else {
            return Err(Self::invalid(var, self.raw(var).unwrap_or_default()));
        };
        let value = match self.raw(var) {
            None => default,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Some(n),
                _ => return Err(Self::invalid(var, text)),
            },
        };
        value
            .map(|n| T::try_from(n).map_err(|_| Self::invalid(var, &n.to_string())))
            .transpose()
    }

    /// One of the contract's words (lower case), else its default.
    pub fn choice(&self, var: &Var) -> Result<Option<&'static str>, EnvError> {
        let Kind::OneOf { values, default } = var.kind else {
            return Err(Self::invalid(var, self.raw(var).unwrap_or_default()));
        };
        match self.raw(var) {
            None => Ok(default),
            Some(text) => {
                let lower = text.trim().to_ascii_lowercase();
                values
                    .iter()
                    .find(|v| **v == lower)
                    .map(|v| Some(*v))
                    .ok_or_else(|| Self::invalid(var, text))
            }
        }
    }

    /// Whether the variable is set (non-blank).
    pub fn is_set(&self, var: &Var) -> bool {
        self.raw(var).is_some()
    }
}

/// Refuses a variable that is ours but not this program's, a libpq variable we do not honour,
/// a password in the environment, or a near-miss of one of ours.
fn check_known(name: &str, program: Program) -> Result<(), EnvError> {
    if LAMBDA_VARIABLES.contains(&name) || COMMON_VARIABLES.contains(&name) {
        return Ok(());
    }
    let unsupported = |hint: String| EnvError::Unsupported {
        var: name.to_string(),
        hint,
    };
    if let Some(var) = contract::VARIABLES.iter().find(|v| v.name == name) {
        if var.applies_to(program) {
            return Ok(());
        }
        let owner = var.programs.first().copied().unwrap_or(Program::Job);
        return Err(unsupported(format!(
            "it configures the `{}` program, but this function's handler is `{}`",
            owner.handler(),
            program.handler()
        )));
    }
    if name == "PGPASSWORD" || name == "PGPASSFILE" {
        return Err(unsupported(
            "a password in the environment is readable by anyone who can read the function's configuration; store it in the DB_SECRET_ID secret or use AUTH_MODE=iam".into(),
        ));
    }
    if name.len() > 2
        && name.starts_with("PG")
        && name[2..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_')
    {
        let ours: Vec<&str> = contract::variables_of(program)
            .map(|v| v.name)
            .filter(|n| n.starts_with("PG"))
            .collect();
        return Err(unsupported(format!(
            "supported libpq variables are {}",
            ours.join(", ")
        )));
    }
    let near = contract::variables_of(program).find(|v| {
        v.name.len() >= 6 && edit_distance(v.name, name) <= if v.name.len() >= 12 { 3 } else { 2 }
    });
    match near {
        Some(v) => Err(unsupported(format!(
            "unknown variable; did you mean {}?",
            v.name
        ))),
        None => Ok(()),
    }
}

/// The environment `pairs` for `program`, for the parsers' tests.
#[cfg(test)]
pub(crate) fn test_env(pairs: &[(&str, &str)], program: Program) -> Env {
    let vars = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match Env::new(vars, program) {
        Ok(env) => env,
        Err(e) => panic!("test environment refused: {e}"),
    }
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
    use crate::contract::*;

    fn env(pairs: &[(&str, &str)]) -> Result<Env, EnvError> {
        Env::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            Program::Job,
        )
    }

    #[test]
    fn ranges_and_defaults_come_from_the_contract() {
        let e = env(&[("PGCONNECT_TIMEOUT", "901")]).unwrap();
        let err = e.int::<u64>(&PGCONNECT_TIMEOUT).unwrap_err();
        assert!(err.to_string().contains("from 1 to 900"), "{err}");
        let e = env(&[]).unwrap();
        assert_eq!(e.int::<u64>(&PGCONNECT_TIMEOUT), Ok(Some(15)));
        assert_eq!(e.int::<u64>(&STATEMENT_TIMEOUT_MS), Ok(None));
        assert_eq!(e.int::<u32>(&MAX_CONTINUATIONS), Ok(Some(10)));
        let e = env(&[("STATEMENT_TIMEOUT_MS", "3000000000")]).unwrap();
        assert!(e.int::<u64>(&STATEMENT_TIMEOUT_MS).is_err());
        let e = env(&[("STATEMENT_TIMEOUT_MS", " 2147483647 ")]).unwrap();
        assert_eq!(e.int::<u64>(&STATEMENT_TIMEOUT_MS), Ok(Some(2_147_483_647)));
        let e = env(&[("PGPORT", "0")]).unwrap();
        assert!(e.int::<u16>(&PGPORT).is_err());
    }

    #[test]
    fn flags_and_words() {
        let e = env(&[
            ("TRANSACTION", "Yes"),
            ("PGSSLMODE", "Verify-CA"),
            ("EXPORT_HEADER", ""),
        ])
        .unwrap();
        assert_eq!(e.flag(&TRANSACTION), Ok(true));
        assert_eq!(
            e.flag(&EXPORT_HEADER),
            Ok(true),
            "blank is unset: the default"
        );
        assert_eq!(e.choice(&PGSSLMODE), Ok(Some("verify-ca")));
        let e = env(&[("ALLOW_OVERLAP", "maybe"), ("DB_ENDPOINT", "primary")]).unwrap();
        assert!(e
            .flag(&ALLOW_OVERLAP)
            .unwrap_err()
            .to_string()
            .contains("`true` or `false`"));
        let err = e.choice(&DB_ENDPOINT).unwrap_err().to_string();
        assert!(err.contains("`writer` (default) or `reader`"), "{err}");
    }

    #[test]
    fn unknown_variables_are_refused_with_a_suggestion() {
        let err = env(&[("STATEMENT_TIMEOUT", "5")]).unwrap_err().to_string();
        assert!(err.contains("did you mean STATEMENT_TIMEOUT_MS?"), "{err}");
        let err = env(&[("PGPASSWORD", "x")]).unwrap_err().to_string();
        assert!(err.starts_with("PGPASSWORD is not supported"), "{err}");
        let err = env(&[("PGSERVICE", "x")]).unwrap_err().to_string();
        assert!(err.contains("PGSSLMODE"), "{err}");
        let err = env(&[("ROTATION_STRATEGY", "single-user")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`rotation` program"), "{err}");
        assert!(env(&[
            ("PATH", "/bin"),
            ("AWS_REGION", "eu-south-1"),
            ("_HANDLER", "job")
        ])
        .is_ok());
        assert!(
            env(&[("USER", "ec2-user")]).is_ok(),
            "USER is not a typo of PGUSER"
        );
        assert!(
            env(&[("ROTATION_STRATEGY", " ")]).is_ok(),
            "blank is unset, whatever the program"
        );
        let rotation = Env::new(
            [("JOB_NAME".to_string(), "x".to_string())]
                .into_iter()
                .collect(),
            Program::Rotation,
        );
        assert!(rotation.is_err(), "JOB_NAME does not configure rotation");
    }
}
