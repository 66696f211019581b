//! The jobs Terraform declared for the fleet: String parameters under `WATCH_DECLARED_PATH`
//! in SSM Parameter Store, each a JSON object `{"<job>": "<group>/<schedule>"}` (the shared
//! module writes them in chunks under the 4 KB standard-tier limit). A declared job whose
//! schedule is gone or no longer carries its `watch` object is `missing`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::aws::explain_aws;

/// Parameters read under the path at most (a chunk holds 20 jobs or more: 10,000 jobs).
pub const MAX_PARAMETERS: usize = 500;
/// Declared jobs at most.
pub const MAX_JOBS: usize = 20_000;

/// The declared jobs: job name -> `group/schedule`.
pub async fn declared_jobs(
    client: &aws_sdk_ssm::Client,
    path: &str,
    calls: &AtomicU64,
) -> Result<BTreeMap<String, String>, String> {
    let mut jobs = BTreeMap::new();
    let mut token: Option<String> = None;
    let mut read = 0usize;
    loop {
        calls.fetch_add(1, Ordering::Relaxed);
        let page = client
            .get_parameters_by_path()
            .path(path)
            .recursive(false)
            .max_results(10)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "SSM Parameter Store: {}",
                    explain_aws(
                        &e,
                        "SSM Parameter Store",
                        &format!("ssm:GetParametersByPath on parameter{path}")
                    )
                )
            })?;
        for p in page.parameters() {
            read += 1;
            let name = p.name().unwrap_or_default();
            parse_chunk(name, p.value().unwrap_or_default(), &mut jobs)?;
        }
        if read > MAX_PARAMETERS || jobs.len() > MAX_JOBS {
            return Err(format!(
                "WATCH_DECLARED_PATH {path}: more than {MAX_PARAMETERS} parameters or {MAX_JOBS} jobs"
            ));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(jobs)
}

/// Adds one parameter's jobs; a value that is not `{"job": "group/schedule", ...}` is an
/// error naming the parameter.
pub fn parse_chunk(
    name: &str,
    value: &str,
    jobs: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let chunk: BTreeMap<String, String> = serde_json::from_str(value).map_err(|e| {
        format!("SSM parameter {name}: not a JSON object of job name -> \"group/schedule\": {e}")
    })?;
    for (job, schedule) in chunk {
        if job.trim().is_empty() || schedule.split_once('/').is_none() {
            return Err(format!(
                "SSM parameter {name}: job {job:?} -> {schedule:?} is not a job name and \"group/schedule\""
            ));
        }
        jobs.insert(job, schedule);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_merge_and_bad_values_name_the_parameter() {
        let mut jobs = BTreeMap::new();
        parse_chunk("/p/000", r#"{"a":"g/a","b":"g/b"}"#, &mut jobs).unwrap();
        parse_chunk("/p/001", r#"{"c":"g/c"}"#, &mut jobs).unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs["c"], "g/c");
        let e = parse_chunk("/p/002", "[1]", &mut jobs).unwrap_err();
        assert!(e.contains("/p/002") && e.contains("JSON object"), "{e}");
        let e = parse_chunk("/p/003", r#"{"d":"no-group"}"#, &mut jobs).unwrap_err();
        assert!(e.contains("/p/003") && e.contains("group/schedule"), "{e}");
    }
}
