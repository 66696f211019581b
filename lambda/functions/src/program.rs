//! Which program a function of the package runs: chosen by the function's `handler` setting,
//! which Lambda passes as `_HANDLER` (one package, one upload, serves every function of a fleet).

use thiserror::Error;

/// A program of the Lambda package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `job`: runs the job's SQL once per invocation.
    Job,
    /// `rotation`: Secrets Manager's rotation protocol for the job's secret.
    Rotation,
    /// `watchdog`: checks that every job of the fleet started when its schedule said.
    Watchdog,
}

/// Every handler name, as the module sets it.
pub const HANDLERS: &[(&str, Program)] = &[
    ("job", Program::Job),
    ("rotation", Program::Rotation),
    ("watchdog", Program::Watchdog),
];

/// `_HANDLER` names no program of this package.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("the function's handler is {0:?}, which is no program of this package: set the function's handler (Lambda's _HANDLER) to `job` (run a job), `rotation` (rotate the job's secret) or `watchdog` (check the fleet's schedules)")]
pub struct UnknownHandler(pub String);

impl Program {
    /// The program named by `handler`; one-shot runs without `_HANDLER` run a job.
    pub fn from_handler(handler: Option<&str>) -> Result<Self, UnknownHandler> {
        let Some(handler) = handler.map(str::trim) else {
            return Ok(Program::Job);
        };
        HANDLERS
            .iter()
            .find(|(name, _)| *name == handler)
            .map(|(_, p)| *p)
            .ok_or_else(|| UnknownHandler(handler.to_string()))
    }

    /// The handler name of the program.
    pub fn handler(self) -> &'static str {
        HANDLERS
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("job", |(name, _)| name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handler_picks_the_program() {
        assert_eq!(Program::from_handler(Some("job")), Ok(Program::Job));
        assert_eq!(
            Program::from_handler(Some("rotation")),
            Ok(Program::Rotation)
        );
        assert_eq!(Program::from_handler(None), Ok(Program::Job));
        let e = Program::from_handler(Some("bootstrap")).unwrap_err();
        assert!(e.to_string().contains("\"bootstrap\""), "{e}");
        assert!(e.to_string().contains("`rotation`"), "{e}");
        assert_eq!(Program::Rotation.handler(), "rotation");
        assert_eq!(
            Program::from_handler(Some("watchdog")),
            Ok(Program::Watchdog)
        );
        assert!(e.to_string().contains("`watchdog`"), "{e}");
    }
}
