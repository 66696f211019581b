//! pg_cron's `cron.job`: from a CSV / `COPY` text dump or straight from the database.

use std::time::Duration;

use pg_cron_job_core::pg_error::{connect_error, ConnectTarget};

use super::cron;
use super::job_sql::{check_sql, job_sql, slug};
use super::model::{is_time_zone, Import, ImportError, Job, Refused};

/// The columns of `cron.job`, in table order.
const COLUMNS: [&str; 9] = [
    "jobid", "schedule", "command", "nodename", "nodeport", "database", "username", "active",
    "jobname",
];

/// One row of `cron.job` (missing columns are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Row {
    #[serde(default, deserialize_with = "text")]
    pub jobid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub schedule: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub command: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub nodename: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub nodeport: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub database: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub active: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub jobname: Option<String>,
}

/// JSON scalars as text (jobid is a number, active a boolean in `to_jsonb`).
fn text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

impl Row {
    fn set(&mut self, column: &str, value: Option<String>) {
        match column {
            "jobid" => self.jobid = value,
            "schedule" => self.schedule = value,
            "command" => self.command = value,
            "nodename" => self.nodename = value,
            "nodeport" => self.nodeport = value,
            "database" => self.database = value,
            "username" => self.username = value,
            "active" => self.active = value,
            "jobname" => self.jobname = value,
            _ => {}
        }
    }
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes and newlines).
/// An unquoted empty field is NULL, as `COPY ... CSV` writes it.
fn csv_records(text: &str) -> Result<Vec<Vec<Option<String>>>, ImportError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                record.push(take(&mut field, &mut was_quoted));
            }
            '\r' => {}
            '\n' => {
                record.push(take(&mut field, &mut was_quoted));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            c => field.push(c),
        }
    }
    if quoted {
        return Err(ImportError::Dump("CSV: unterminated quoted field".into()));
    }
    if any {
        record.push(take(&mut field, &mut was_quoted));
        records.push(record);
    }
    Ok(records
        .into_iter()
        .filter(|r| !(r.len() == 1 && r[0].is_none()))
        .collect())
}

fn take(field: &mut String, was_quoted: &mut bool) -> Option<String> {
    let value = std::mem::take(field);
    let quoted = std::mem::replace(was_quoted, false);
    if value.is_empty() && !quoted {
        None
    } else {
        Some(value)
    }
}

/// One `COPY` text-format field: `\N` is NULL, backslash escapes decoded.
fn copy_field(raw: &str) -> Option<String> {
    if raw == "\\N" {
        return None;
    }
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Some(out)
}

/// Parses a dump of `cron.job`: CSV with a header line (`\copy cron.job TO 'f' CSV HEADER`) or
/// COPY text format (tab-separated, `\N` for NULL; header optional, table order otherwise).
pub fn parse_dump(text: &str) -> Result<Vec<Row>, ImportError> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let records: Vec<Vec<Option<String>>> = if first.contains('\t') || !first.contains(',') {
        text.lines()
            .filter(|l| !l.is_empty() && *l != "\\.")
            .map(|l| l.split('\t').map(copy_field).collect())
            .collect()
    } else {
        csv_records(text)?
    };
    let mut records = records.into_iter();
    let mut columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let mut rows = Vec::new();
    let mut pending = None;
    if let Some(head) = records.next() {
        let names: Vec<String> = head
            .iter()
            .map(|f| f.clone().unwrap_or_default().trim().to_ascii_lowercase())
            .collect();
        if names.iter().any(|n| n == "schedule") && names.iter().any(|n| n == "command") {
            columns = names;
        } else {
            pending = Some(head);
        }
    }
    for (i, record) in pending.into_iter().chain(records).enumerate() {
        if record.len() != columns.len() {
            return Err(ImportError::Dump(format!(
                "row {}: {} fields, expected {} ({})",
                i + 1,
                record.len(),
                columns.len(),
                columns.join(", ")
            )));
        }
        let mut row = Row::default();
        for (column, value) in columns.iter().zip(record) {
            row.set(column, value);
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(ImportError::Dump("the dump holds no cron.job rows".into()));
    }
    Ok(rows)
}

fn truthy(v: &Option<String>) -> bool {
    !matches!(
        v.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("f" | "false" | "0" | "no" | "off")
    )
}

/// Turns `cron.job` rows into jobs; `zone` is the timezone option, `db_zone` cron.timezone.
pub fn import(
    rows: Vec<Row>,
    source: &str,
    zone: Option<&str>,
    db_zone: Option<String>,
    split_or: bool,
) -> Import {
    let mut out = Import {
        source: source.to_string(),
        pg_cron: true,
        ..Default::default()
    };
    let timezone = match (zone, db_zone) {
        (Some(z), _) => z.to_string(),
        (None, Some(z)) if is_time_zone(&z) => z,
        (None, Some(z)) => {
            out.notes.push(format!("cron.timezone is {z:?}, not an IANA name Scheduler accepts: UTC used; pass --timezone"));
            "UTC".into()
        }
        (None, None) => {
            out.notes.push("pg_cron's schedules are in cron.timezone (default GMT): UTC used; pass --timezone if the server sets cron.timezone".into());
            "UTC".into()
        }
    };
    for row in rows {
        let id = row.jobid.clone().unwrap_or_else(|| "?".into());
        let origin = match &row.jobname {
            Some(n) => format!("jobid {id} ({n})"),
            None => format!("jobid {id}"),
        };
        let schedule = row.schedule.clone().unwrap_or_default();
        let command = row.command.clone().unwrap_or_default();
        let original = format!("{schedule} | {}", command.replace('\n', " "));
        let refuse = |out: &mut Import, reason: String| {
            out.refused.push(Refused {
                origin: origin.clone(),
                original: original.clone(),
                reason,
            })
        };
        let translation = match cron::translate(
            &schedule,
            cron::Options {
                split_or,
                pg_cron: true,
            },
        ) {
            Ok(t) => t,
            Err(e) => {
                refuse(&mut out, format!("schedule {schedule:?}: {e}"));
                continue;
            }
        };
        if command.trim().is_empty() {
            refuse(&mut out, "empty command".into());
            continue;
        }
        let mut notes = translation.notes;
        let mut human = Vec::new();
        let statements = match check_sql(&command) {
            Ok(n) => n,
            Err(e) => {
                human.push(format!("the runner would refuse this SQL: {e}"));
                0
            }
        };
        // pg_cron sends the command as one query: several statements run in one transaction.
        let transaction = super::job_sql::one_query_transaction(
            &command,
            statements,
            "pg_cron command",
            &mut notes,
            &mut human,
        );
        if let Some(node) = row.nodename.as_deref() {
            if !matches!(node, "localhost" | "127.0.0.1" | "::1" | "") && !node.starts_with('/') {
                notes.push(format!("pg_cron ran it on node {node}:{}: set database_host for this job if that is not the fleet's database", row.nodeport.as_deref().unwrap_or("5432")));
            }
        }
        if let Some(u) = &row.username {
            out.users.insert(u.clone());
        }
        let enabled = truthy(&row.active);
        if !enabled {
            notes.push("inactive in cron.job: schedule_enabled = false".into());
        }
        let key = match &row.jobname {
            Some(n) if !n.trim().is_empty() => slug(n),
            _ => format!("job_{}", slug(&id)),
        };
        let sql = if human.is_empty() {
            job_sql(&command, statements)
        } else {
            super::model::JobSql::File(format!("{}\n", command.trim_end()))
        };
        out.jobs.push(Job {
            key,
            origin,
            original,
            schedules: translation.schedules,
            timezone: timezone.clone(),
            sql,
            transaction,
            enabled: enabled && human.is_empty(),
            database_name: row.database.clone(),
            database_host: None,
            database_user: row.username.clone(),
            notes,
            human,
        });
    }
    out
}

/// Reads `cron.job` and `cron.timezone` with the PG* settings of the environment.
pub fn read_database() -> Result<(Vec<Row>, Option<String>, String), ImportError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ImportError::Database(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(read_database_async())
}

async fn read_database_async() -> Result<(Vec<Row>, Option<String>, String), ImportError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let host = env("PGHOST").unwrap_or_else(|| "localhost".into());
    let port: u16 = match env("PGPORT") {
        Some(p) => p
            .parse()
            .map_err(|_| ImportError::Database(format!("PGPORT {p:?} is not a port")))?,
        None => 5432,
    };
    let user = env("PGUSER")
        .or_else(|| env("USER"))
        .ok_or_else(|| ImportError::Database("set PGUSER".into()))?;
    let dbname = env("PGDATABASE").unwrap_or_else(|| user.clone());
    let password = env("PGPASSWORD").unwrap_or_default();
    let mode_text = env("PGSSLMODE").unwrap_or_else(|| "verify-full".into());
    let mode = pg_cron_job_core::tls::SslMode::parse(&mode_text).ok_or_else(|| {
        ImportError::Database(format!(
            "PGSSLMODE {mode_text:?}: disable, require, verify-ca or verify-full"
        ))
    })?;
    let root = env("PGSSLROOTCERT").map(std::path::PathBuf::from);
    let tls = pg_cron_job_core::tls::connector(mode, root.as_deref())
        .map_err(|e| ImportError::Database(e.to_string()))?;
    let params = pg_cron_job_core::db::ConnectParams {
        host: &host,
        port,
        user: &user,
        password: &password,
        dbname: &dbname,
        application_name: "pg-cron-job import",
        hostaddr: None,
        budget: Duration::from_secs(30),
        limits: pg_cron_job_core::bounded::Limits::for_memory(None),
    };
    let session = pg_cron_job_core::db::connect(&params, tls.as_ref())
        .await
        .map_err(|e| {
            let why = connect_error(
                &e,
                &ConnectTarget {
                    host: &host,
                    port,
                    ssl_mode: mode,
                    root_cert: root.as_deref(),
                    budget: Duration::from_secs(30),
                    auth_hint: "check PGUSER and PGPASSWORD",
                },
            );
            let code = why.code.map(|c| format!("{c}: ")).unwrap_or_default();
            ImportError::Database(format!(
                "cannot connect to {host}:{port}/{dbname} as {user}: {code}{}",
                why.message
            ))
        })?;
    // Every query after the connection is bounded too: a server that stops answering ends the
    // import with an error, not a wait.
    let limit = std::time::Instant::now() + QUERY_BUDGET;
    // cron.job has row-level security (pg_cron: each login sees its own jobs): a login that
    // neither bypasses it (SUPERUSER, BYPASSRLS) nor owns the table (and is not forced) sees only
    // some rows, and the rest would be left out without a word.
    let limited = session
        .scalar(
            "SELECT c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls \
             OR (pg_has_role(c.relowner, 'USAGE') AND NOT c.relforcerowsecurity)) \
             FROM pg_class c, pg_roles r WHERE c.oid = 'cron.job'::regclass AND r.rolname = current_user",
            Some(limit),
        )
        .await
        .map_err(|e| ImportError::Database(describe(e)))?;
    if limited.as_deref() == Some("t") {
        let visible = session
            .scalar("SELECT count(*) FROM cron.job", Some(limit))
            .await
            .map_err(|e| ImportError::Database(describe(e)))?
            .unwrap_or_default();
        session.close(Some(limit)).await;
        return Err(ImportError::Database(format!(
            "{user} sees only {visible} row(s) of cron.job: the table has row-level security, and {user} is neither SUPERUSER, nor BYPASSRLS, nor its owner, so other logins' jobs would be left out; import as the login that owns cron.job (the one that created the pg_cron extension; on RDS the master user) or a SUPERUSER role"
        )));
    }
    // to_jsonb keeps whatever columns this pg_cron version has (jobname came in 1.3).
    let json = session
        .scalar(
            "SELECT coalesce(json_agg(to_jsonb(j) ORDER BY j.jobid), '[]')::text FROM cron.job j",
            Some(limit),
        )
        .await
        .map_err(|e| ImportError::Database(describe(e)))?
        .unwrap_or_else(|| "[]".into());
    let rows: Vec<Row> = serde_json::from_str(&json)
        .map_err(|e| ImportError::Database(format!("unexpected cron.job rows: {e}")))?;
    let zone = session
        .scalar("SELECT current_setting('cron.timezone', true)", Some(limit))
        .await
        .map_err(|e| ImportError::Database(describe(e)))?
        .filter(|z| !z.is_empty());
    session.close(Some(limit)).await;
    if rows.is_empty() {
        return Err(ImportError::Database("cron.job is empty".into()));
    }
    Ok((rows, zone, format!("cron.job in {dbname} on {host}:{port}")))
}

/// How long the queries of `--from-database` may take together once connected.
const QUERY_BUDGET: Duration = Duration::from_secs(60);

/// A failed query on cron.job, with its SQLSTATE (the translation every program shares).
fn describe(e: pg_cron_job_core::db::DbFailure) -> String {
    let why = pg_cron_job_core::pg_error::failure(e, None, "read cron.job");
    match why.code {
        Some(code) => format!("{code}: {}", why.message),
        None => why.message,
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::JobSql;
    use super::*;

    #[test]
    fn csv_with_header() {
        let rows = parse_dump(
            "jobid,schedule,command,nodename,nodeport,database,username,active,jobname\n\
             1,30 3 * * *,\"DELETE FROM events WHERE at < now() - interval '30 days'\",localhost,5432,app,jobs,t,purge-events\n\
             2,30 seconds,\"SELECT 1; SELECT 2\",localhost,5432,app,jobs,f,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].jobname.as_deref(), Some("purge-events"));
        assert_eq!(rows[1].jobname, None);
        let i = import(rows, "t", None, Some("Europe/Rome".into()), false);
        assert_eq!(i.jobs.len(), 1);
        assert_eq!(i.refused.len(), 1);
        let j = &i.jobs[0];
        assert_eq!(j.key, "purge_events");
        assert_eq!(j.timezone, "Europe/Rome");
        assert_eq!(j.schedules[0].expression, "cron(30 3 * * ? *)");
        assert!(matches!(j.sql, JobSql::Inline(_)));
    }

    #[test]
    fn copy_text_without_header() {
        let rows = parse_dump(
            "3\t0 * * * *\tDELETE FROM events;\\nANALYZE events\tlocalhost\t5432\tapp\tjobs\tt\t\\N\n",
        )
        .unwrap();
        assert_eq!(
            rows[0].command.as_deref(),
            Some("DELETE FROM events;\nANALYZE events")
        );
        let i = import(rows, "t", Some("UTC"), None, false);
        let j = &i.jobs[0];
        assert_eq!(j.key, "job_3");
        assert!(j.transaction);
        assert!(matches!(j.sql, JobSql::File(_)));
    }

    #[test]
    fn vacuum_in_one_query_is_flagged() {
        let rows = parse_dump("4\t0 * * * *\tVACUUM a; VACUUM b\tlocalhost\t5432\tapp\tu\tt\tv\n")
            .unwrap();
        let i = import(rows, "t", None, None, false);
        let j = &i.jobs[0];
        assert!(!j.transaction && !j.enabled);
        assert!(
            j.human[0].contains("cannot run inside a transaction block"),
            "{:?}",
            j.human
        );
    }

    #[test]
    fn inactive_and_bad_dumps() {
        let rows = parse_dump("1\t@hourly\tselect 1\tlocalhost\t5432\tapp\tu\tf\tx\n").unwrap();
        let i = import(rows, "t", None, None, false);
        assert!(!i.jobs[0].enabled);
        assert!(parse_dump("").is_err());
        assert!(parse_dump("1\t@hourly\n").is_err());
        assert!(parse_dump("a,b\n\"x").is_err());
    }

    #[test]
    fn rows_from_json() {
        let rows: Vec<Row> = serde_json::from_str(
            r#"[{"jobid":1,"schedule":"0 3 * * *","command":"select 1","active":true,"jobname":null,"nodeport":5432}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].jobid.as_deref(), Some("1"));
        assert_eq!(rows[0].active.as_deref(), Some("true"));
        assert_eq!(rows[0].jobname, None);
    }
}
