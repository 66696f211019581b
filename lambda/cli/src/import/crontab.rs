//! Reading a crontab: comments, environment lines (`CRON_TZ`, `TZ`, `MAILTO`, `PG*`), schedules
//! and psql command lines.

use std::path::{Path, PathBuf};

use super::cron::{self, Translation};
use super::job_sql::{check_sql, job_sql, slug};
use super::model::{is_time_zone, Import, Job, Refused};
use super::psql::{self, SqlPart};

/// How to read the crontab.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Zone of the old host's clock (lines before any `CRON_TZ=`); UTC when not given.
    pub timezone: Option<String>,
    /// Local copy of the old host's files, where `-f` scripts are looked up.
    pub scripts_root: Option<PathBuf>,
    /// `/etc/crontab` format: a user field after the schedule.
    pub system: bool,
    pub split_or: bool,
}

/// Connection settings from `PG*` environment lines, applied to the lines below them.
#[derive(Debug, Default, Clone)]
struct PgEnv {
    host: Option<String>,
    dbname: Option<String>,
    user: Option<String>,
}

/// `NAME = value` (cron allows spaces around `=` and quotes around the value).
fn env_line(line: &str) -> Option<(String, String)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(value);
    Some((name.to_string(), value.to_string()))
}

/// Splits off `n` whitespace-separated words; returns them and the rest of the line.
fn split_words(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut words = Vec::new();
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        words.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Some((words, rest))
}

/// Reads a crontab.
pub fn import(text: &str, source: &str, options: &Options) -> Import {
    let mut out = Import {
        source: source.to_string(),
        ..Default::default()
    };
    let host_zone = options.timezone.clone().unwrap_or_else(|| "UTC".into());
    let mut zone = host_zone.clone();
    let mut zone_ok = true;
    let mut zone_from_line = false;
    let mut host_zone_used = false;
    let mut env = PgEnv::default();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = format!("line {line_no}");
        if !line.starts_with('@') && !line.starts_with(|c: char| c.is_ascii_digit() || c == '*') {
            if let Some((name, value)) = env_line(line) {
                match name.as_str() {
                    "CRON_TZ" | "TZ" => {
                        zone_ok = is_time_zone(&value);
                        zone = value.clone();
                        zone_from_line = true;
                        if !zone_ok {
                            out.notes.push(format!("{origin}: {name}={value} is not an IANA time zone name: the jobs below it are not converted"));
                        } else if name == "TZ" {
                            out.notes.push(format!("{origin}: TZ={value} taken as the schedule time zone of the lines below it (cronie uses CRON_TZ for schedules and TZ for the commands' clock; check which your cron used)"));
                        }
                    }
                    "MAILTO" => {
                        if value.is_empty() {
                            continue;
                        }
                        let addresses: Vec<&str> = value
                            .split(',')
                            .map(str::trim)
                            .filter(|a| !a.is_empty())
                            .collect();
                        for a in &addresses {
                            if a.contains('@') {
                                if !out.alarm_emails.iter().any(|e| e == a) {
                                    out.alarm_emails.push((*a).to_string());
                                }
                            } else {
                                out.notes.push(format!("{origin}: MAILTO={a} is a local user: no mail is sent by Scheduler; subscribe a real address with alarm_emails"));
                            }
                        }
                        if addresses.iter().any(|a| a.contains('@')) {
                            out.notes.push(format!("{origin}: MAILTO={value}: cron mailed any output of a job; the fleet's alarm topic (alarm_emails, set in main.tf) mails when a job fails, times out or stops running. Confirm the SNS subscription e-mail."));
                        }
                    }
                    "PGHOST" => env.host = Some(value),
                    "PGDATABASE" => env.dbname = Some(value),
                    "PGUSER" => env.user = Some(value),
                    "PGPORT" => out.notes.push(format!("{origin}: PGPORT={value}: the port is the fleet's database_port (one for all jobs)")),
                    "PGPASSWORD" => out.notes.push(format!("{origin}: PGPASSWORD in the crontab: put that password into the secret (secret_arn) and remove it from the crontab; it is not copied")),
                    "PGPASSFILE" => out.notes.push(format!("{origin}: PGPASSFILE={value}: the passwords in that file go into Secrets Manager (see Credentials)")),
                    "SHELL" | "PATH" | "HOME" | "LOGNAME" | "USER" => out.notes.push(format!("{origin}: {name}={value} ignored (the runner needs no shell)")),
                    _ => out.notes.push(format!("{origin}: environment {name}={value} ignored: the job's SQL cannot see it; if a command used it, put its value into the SQL")),
                }
                continue;
            }
        }
        let (schedule, rest) = if line.starts_with('@') {
            match split_words(line, 1) {
                Some((w, rest)) => (w[0].to_string(), rest),
                None => (line.to_string(), ""),
            }
        } else {
            match split_words(line, 5) {
                Some((w, rest)) => (w.join(" "), rest),
                None => {
                    out.refused.push(Refused {
                        origin,
                        original: line.into(),
                        reason: "neither a job line (5 schedule fields and a command) nor an environment line".into(),
                    });
                    continue;
                }
            }
        };
        let (os_user, command) = if options.system && !schedule.eq_ignore_ascii_case("@reboot") {
            match split_words(rest, 1) {
                Some((w, cmd)) => (Some(w[0].to_string()), cmd),
                None => (None, ""),
            }
        } else {
            (None, rest)
        };
        let refuse = |out: &mut Import, reason: String| {
            out.refused.push(Refused {
                origin: origin.clone(),
                original: line.into(),
                reason,
            })
        };
        if command.is_empty() {
            refuse(&mut out, "no command".into());
            continue;
        }
        if !zone_ok {
            refuse(&mut out, format!("time zone {zone:?} is not an IANA name"));
            continue;
        }
        let translation = match cron::translate(
            &schedule,
            cron::Options {
                split_or: options.split_or,
                pg_cron: false,
            },
        ) {
            Ok(t) => t,
            Err(e) => {
                refuse(&mut out, format!("schedule {schedule:?}: {e}"));
                continue;
            }
        };
        // `%` ends the command and feeds the rest to standard input; `\%` is a literal `%`.
        let mut cmd = String::new();
        let mut percent = false;
        let mut chars = command.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'%') => {
                    cmd.push('%');
                    chars.next();
                }
                '%' => {
                    percent = true;
                    break;
                }
                c => cmd.push(c),
            }
        }
        if percent {
            refuse(&mut out, "an unescaped % in a crontab command sends the rest of the line to standard input: rewrite the job by hand".into());
            continue;
        }
        let call = match psql::parse(&cmd) {
            Ok(c) => c,
            Err(e) => {
                refuse(&mut out, e.to_string());
                continue;
            }
        };
        host_zone_used |= !zone_from_line;
        let job = build_job(
            &mut out,
            origin.clone(),
            line,
            translation,
            zone.clone(),
            call,
            &env,
            os_user,
            options.scripts_root.as_deref(),
        );
        out.jobs.push(job);
    }
    if host_zone_used && options.timezone.is_none() {
        out.notes.push("No --timezone given: schedules before any CRON_TZ line are taken as UTC. If the old host's clock ran in local time, import again with --timezone ZONE (e.g. Europe/Rome).".into());
    }
    out
}

/// Looks a script of the old host up under `root`: its full path, then its file name.
fn find_script(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.trim_start_matches("~/").trim_start_matches('/');
    let name = Path::new(path).file_name()?;
    [root.join(relative), root.join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

#[allow(clippy::too_many_arguments)]
fn build_job(
    out: &mut Import,
    origin: String,
    line: &str,
    translation: Translation,
    timezone: String,
    call: psql::PsqlCall,
    env: &PgEnv,
    os_user: Option<String>,
    scripts_root: Option<&Path>,
) -> Job {
    let mut notes = translation.notes;
    notes.extend(call.notes.iter().cloned());
    let mut human = Vec::new();
    let key = match call.sql.first() {
        Some(SqlPart::File(f)) => {
            let name = Path::new(f)
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            slug(&name)
        }
        Some(SqlPart::Command(c)) => super::job_sql::sql_key(c),
        None => "job".into(),
    };
    let mut text = String::new();
    let mut single_command = call.sql.len() == 1;
    // psql -v name=value: scripts see :name; the runner honours \set the same way. (-c strings
    // go to the server as they are: psql does not interpolate them.)
    if call.sql.iter().any(|p| matches!(p, SqlPart::File(_))) {
        for (name, value) in &call.variables {
            let simple = !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-:/@".contains(c));
            if simple && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                text.push_str(&format!("\\set {name} {value}\n"));
                notes.push(format!(
                    "psql -v {name}={value} became \\set {name} {value} at the top of the SQL"
                ));
            } else {
                human.push(format!(
                    "psql -v {name}={value:?}: set it with \\set at the top of the SQL by hand"
                ));
            }
        }
        if !call.variables.is_empty() {
            single_command = false;
        }
    } else {
        for (name, value) in &call.variables {
            notes.push(format!("psql -v {name}={value} ignored: psql does not interpolate variables in -c commands either"));
        }
    }
    for part in &call.sql {
        match part {
            SqlPart::Command(c) => {
                text.push_str(c.trim_end());
                if !c.trim_end().ends_with(';') {
                    text.push(';');
                }
                text.push('\n');
            }
            SqlPart::File(f) => {
                single_command = false;
                match scripts_root.and_then(|root| find_script(root, f)) {
                    Some(found) => match std::fs::read_to_string(&found) {
                        Ok(script) => {
                            text.push_str(&script);
                            if !script.ends_with('\n') {
                                text.push('\n');
                            }
                            notes.push(format!("script {f} copied from {}", found.display()));
                        }
                        Err(e) => {
                            human.push(format!("cannot read {}: {e}", found.display()));
                            text.push_str(&placeholder(f));
                        }
                    },
                    None => {
                        human.push(match scripts_root {
                            Some(root) => format!("script {f} not found under --scripts-root {}: copy it into the generated sql/ file", root.display()),
                            None => format!("script {f} is on the old host: copy it into the generated sql/ file, or import again with --scripts-root DIR holding a copy"),
                        });
                        text.push_str(&placeholder(f));
                    }
                }
            }
        }
    }
    let statements = match check_sql(&text) {
        Ok(n) => n,
        Err(e) => {
            human.push(format!("the runner would refuse this SQL: {e}"));
            0
        }
    };
    // psql -c with several statements sends them as one query: one implicit transaction.
    let mut transaction = call.single_transaction;
    for part in &call.sql {
        if let SqlPart::Command(c) = part {
            let n = check_sql(c).unwrap_or(0);
            transaction |=
                super::job_sql::one_query_transaction(c, n, "psql -c", &mut notes, &mut human);
        }
    }
    if call.single_transaction {
        let t = super::job_sql::transaction_use(&text);
        if !t.not_in_transaction.is_empty() {
            human.push(format!(
                "psql --single-transaction ran {} inside one transaction, where it fails: the old job could not have succeeded; decide between transaction = true without it and transaction = false",
                t.not_in_transaction.join(", ")
            ));
        }
    }
    if !transaction && !call.on_error_stop && statements > 1 {
        notes.push("psql ran without ON_ERROR_STOP, so it went on after a failed statement; the runner stops at the first error and reports the run as failed (put \\set ON_ERROR_STOP off at the top of the SQL file to keep psql's behaviour)".into());
    }
    let sql = if single_command && human.is_empty() {
        job_sql(&text, statements)
    } else {
        super::model::JobSql::File(text)
    };
    if let Some(port) = &call.port {
        if port != "5432" {
            notes.push(format!(
                "port {port}: set the fleet's database_port (one port for all jobs)"
            ));
        }
    }
    if let Some(u) = &os_user {
        notes.push(format!(
            "ran as OS user {u}; .pgpass and PG* settings were that user's"
        ));
    }
    let user = call
        .user
        .clone()
        .or_else(|| env.user.clone())
        .or_else(|| os_user.clone());
    if call.password_inline {
        notes.push(
            "a password was on the command line: it is not copied; put it into the secret".into(),
        );
    }
    match &user {
        Some(u) => {
            out.users.insert(u.clone());
        }
        None => {
            human.push("no database user given (psql used the OS user's name): set database_user, or rely on the secret's username".into());
        }
    }
    let host = call.host.clone().or_else(|| env.host.clone());
    if host
        .as_deref()
        .is_some_and(|h| matches!(h, "localhost" | "127.0.0.1" | "::1") || h.starts_with('/'))
    {
        notes.push(format!(
            "host {} was the old server itself: database_host is left to the fleet default (the secret's host)",
            host.as_deref().unwrap_or_default()
        ));
    }
    let database_host = host.filter(|h| {
        !matches!(h.as_str(), "localhost" | "127.0.0.1" | "::1") && !h.starts_with('/')
    });
    // psql's default database is the user name.
    let database_name = call.dbname.clone().or_else(|| env.dbname.clone());
    let database_name = match (database_name, &user) {
        (Some(db), _) => Some(db),
        (None, Some(u)) => {
            notes.push(format!(
                "no database given: psql connected to the database named like the user ({u})"
            ));
            Some(u.clone())
        }
        (None, None) => None,
    };
    Job {
        key,
        origin,
        original: line.to_string(),
        schedules: translation.schedules,
        timezone,
        sql,
        transaction,
        enabled: human.is_empty(),
        database_name,
        database_host,
        database_user: user,
        notes,
        human,
    }
}

/// SQL standing in for a script that was not found: it fails, so the job cannot pass for done.
fn placeholder(path: &str) -> String {
    let quoted = path.replace('\'', "''");
    format!(
        "-- TODO: replace with the contents of {path} from the old host.\nDO $$ BEGIN RAISE EXCEPTION 'pg-cron-job import: copy {quoted} here'; END $$;\n"
    )
}

#[cfg(test)]
mod tests {
    use super::super::model::JobSql;
    use super::*;

    fn import_text(text: &str) -> Import {
        import(
            text,
            "test",
            &Options {
                timezone: Some("Europe/Rome".into()),
                ..Default::default()
            },
        )
    }

    #[test]
    fn env_lines_and_jobs() {
        let i = import_text(
            "# nightly jobs\nMAILTO=dba@example.com\nSHELL=/bin/bash\nCRON_TZ=America/New_York\n\
             30 2 * * * psql -X -v ON_ERROR_STOP=1 -U jobs -d app -c 'VACUUM (ANALYZE) public.events'\n",
        );
        assert_eq!(i.jobs.len(), 1, "{:?}", i.refused);
        let j = &i.jobs[0];
        assert_eq!(j.timezone, "America/New_York");
        assert_eq!(j.schedules[0].expression, "cron(30 2 * * ? *)");
        assert_eq!(
            j.sql,
            JobSql::Inline("VACUUM (ANALYZE) public.events".into())
        );
        assert_eq!(j.database_name.as_deref(), Some("app"));
        assert_eq!(j.database_user.as_deref(), Some("jobs"));
        assert!(j.enabled && !j.transaction);
        assert_eq!(i.alarm_emails, vec!["dba@example.com".to_string()]);
        assert!(i.users.contains("jobs"));
    }

    #[test]
    fn host_zone_applies_before_cron_tz() {
        let i = import_text("@daily psql -U u -c 'select 1'\n");
        assert_eq!(i.jobs[0].timezone, "Europe/Rome");
        assert_eq!(i.jobs[0].schedules[0].expression, "cron(0 0 * * ? *)");
    }

    #[test]
    fn refusals_have_reasons() {
        let i = import_text(
            "@reboot psql -c 'select 1'\n\
             0 1 * * * pg_dump app | gzip > /backup/app.gz\n\
             0 1 1 * 1 psql -U u -c 'select 1'\n\
             0 1 * * * psql -U u -c 'select 1' | mail root\n\
             0 1 * * * echo hi % there\n\
             CRON_TZ=Mars/Olympus\n\
             0 1 * * * psql -U u -c 'select 1'\n\
             garbage\n",
        );
        assert!(i.jobs.is_empty(), "{:?}", i.jobs);
        assert_eq!(i.refused.len(), 7, "{:?}", i.refused);
        assert!(i.refused.iter().all(|r| !r.reason.is_empty()));
    }

    #[test]
    fn missing_script_is_a_failing_placeholder_and_disabled() {
        let i = import_text("15 3 * * 1-5 psql -U jobs -d app -1 -f /opt/jobs/purge.sql\n");
        let j = &i.jobs[0];
        assert_eq!(j.key, "purge");
        assert!(!j.enabled && j.transaction);
        assert_eq!(j.human.len(), 1);
        match &j.sql {
            JobSql::File(t) => assert!(t.contains("RAISE EXCEPTION")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn scripts_are_copied_from_the_root() {
        let dir = std::env::temp_dir().join(format!("pgcj-import-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("opt/jobs")).unwrap();
        std::fs::write(
            dir.join("opt/jobs/purge.sql"),
            "DELETE FROM a;\nDELETE FROM b;\n",
        )
        .unwrap();
        let i = import(
            "15 3 * * * psql -U jobs -f /opt/jobs/purge.sql\n",
            "test",
            &Options {
                scripts_root: Some(dir.clone()),
                ..Default::default()
            },
        );
        let j = &i.jobs[0];
        assert!(j.enabled, "{:?}", j.human);
        assert_eq!(
            j.sql,
            JobSql::File("DELETE FROM a;\nDELETE FROM b;\n".into())
        );
        assert!(j.notes.iter().any(|n| n.contains("ON_ERROR_STOP")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn multi_statement_command_is_one_transaction() {
        let i = import_text("0 4 * * * psql -U u -c 'DELETE FROM a; DELETE FROM b'\n");
        let j = &i.jobs[0];
        assert!(j.transaction);
        assert!(matches!(j.sql, JobSql::File(_)));
    }

    #[test]
    fn psql_variables_become_set_lines() {
        let dir = std::env::temp_dir().join(format!("pgcj-import-vars-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.sql"), "DELETE FROM t WHERE age > :days;\n").unwrap();
        let i = import(
            "0 1 * * * psql -U u -v days=30 -v ON_ERROR_STOP=1 -f /x/keep.sql\n",
            "t",
            &Options {
                scripts_root: Some(dir.clone()),
                ..Default::default()
            },
        );
        let j = &i.jobs[0];
        assert!(j.enabled, "{:?}", j.human);
        assert_eq!(
            j.sql,
            JobSql::File("\\set days 30\nDELETE FROM t WHERE age > :days;\n".into())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn system_crontab_user_field() {
        let i = import(
            "0 5 * * * postgres psql -c 'select 1'\n",
            "t",
            &Options {
                system: true,
                ..Default::default()
            },
        );
        assert_eq!(i.jobs[0].database_user.as_deref(), Some("postgres"));
    }

    #[test]
    fn split_or_gives_two_schedules() {
        let i = import(
            "0 6 1 * mon psql -U u -c 'select 1'\n",
            "t",
            &Options {
                split_or: true,
                ..Default::default()
            },
        );
        assert_eq!(i.jobs[0].schedules.len(), 2);
    }
}
