//! Writing the import: main.tf (a `module "pg_cron_jobs"` call with one `jobs` entry per
//! schedule), sql/<key>.sql for SQL that is not a single short statement, and REPORT.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use super::model::{Import, ImportError, Job, JobSql, Output};

/// `name` of modules/pg_cron_jobs: 1-40 letters, digits, `-` or `_`.
pub fn valid_fleet_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A quoted HCL string.
pub fn hcl_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The `terraform` block of the jobs module, which the generated root module repeats: the same
/// Terraform and provider versions.
const MODULE_VERSIONS: &str = include_str!("../../../../modules/pg_cron_jobs/versions.tf");

/// Attribute lines with their `=` aligned, as `terraform fmt` writes them.
fn attributes(out: &mut String, indent: usize, attrs: &[(&str, String)]) {
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in attrs {
        let _ = writeln!(out, "{:indent$}{k:width$} = {v}", "");
    }
}

/// One `jobs` entry.
struct Entry<'a> {
    key: String,
    job: &'a Job,
    expression: String,
    sql_file: Option<String>,
}

fn is_utc(zone: &str) -> bool {
    matches!(
        zone,
        "UTC" | "Etc/UTC" | "GMT" | "Etc/GMT" | "Universal" | "Zulu" | "Etc/Universal" | "Etc/Zulu"
    )
}

/// Writes the directory; returns a one-paragraph summary for the terminal.
pub fn write(import: &Import, output: &Output) -> Result<String, ImportError> {
    let dir = &output.dir;
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Write { path, source }
    };
    std::fs::create_dir_all(dir.join("sql")).map_err(werr(dir))?;

    // Keys: unique, and "<name>-<key>" within Lambda's 64 characters.
    let room = 64 - output.name.len() - 1 - 7;
    let mut used = BTreeSet::new();
    let mut entries = Vec::new();
    for job in &import.jobs {
        let mut base: String = job.key.chars().take(room.max(1)).collect();
        base = base.trim_end_matches('_').to_string();
        // An HCL identifier starts with a letter, and keywords would not read as keys.
        if base.is_empty()
            || base.starts_with(|c: char| c.is_ascii_digit())
            || matches!(
                base.as_str(),
                "for" | "in" | "if" | "null" | "true" | "false"
            )
        {
            base = format!("job_{base}").trim_end_matches('_').to_string();
        }
        let mut key = base.clone();
        let mut n = 2;
        while used.contains(&key)
            || job
                .schedules
                .iter()
                .filter_map(|s| s.suffix)
                .any(|s| used.contains(&format!("{key}_{s}")))
        {
            key = format!("{base}_{n}");
            n += 1;
        }
        used.insert(key.clone());
        let sql_file = match &job.sql {
            JobSql::File(text) => {
                let file = format!("{key}.sql");
                let path = dir.join("sql").join(&file);
                std::fs::write(&path, text).map_err(werr(&path))?;
                Some(file)
            }
            JobSql::Inline(_) => None,
        };
        for schedule in &job.schedules {
            let entry_key = match schedule.suffix {
                Some(s) => format!("{key}_{s}"),
                None => key.clone(),
            };
            used.insert(entry_key.clone());
            entries.push(Entry {
                key: entry_key,
                job,
                expression: schedule.expression.clone(),
                sql_file: sql_file.clone(),
            });
        }
    }

    // The most common zone goes into defaults.
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &entries {
        *zones.entry(e.job.timezone.as_str()).or_default() += 1;
    }
    let default_zone = zones
        .iter()
        .max_by_key(|(z, n)| (**n, std::cmp::Reverse(**z)))
        .map(|(z, _)| z.to_string())
        .unwrap_or_else(|| "UTC".into());

    let main_tf = main_tf(import, output, &entries, &default_zone);
    let path = dir.join("main.tf");
    std::fs::write(&path, main_tf).map_err(werr(&path))?;
    let report = report(import, output, &entries);
    let path = dir.join("REPORT.md");
    std::fs::write(&path, report).map_err(werr(&path))?;

    let human = import.jobs.iter().filter(|j| !j.human.is_empty()).count();
    Ok(format!(
        "{}: {} job(s) converted into {} jobs entries in {} ({} disabled until a human acts), {} not converted; read {} before applying",
        import.source,
        import.jobs.len(),
        entries.len(),
        dir.join("main.tf").display(),
        human,
        import.refused.len(),
        dir.join("REPORT.md").display()
    ))
}

fn main_tf(import: &Import, output: &Output, entries: &[Entry], default_zone: &str) -> String {
    let mut tf = String::new();
    let _ = writeln!(tf, "# Generated by `{}`", output.command.replace('\n', " "));
    let _ = writeln!(
        tf,
        "# from {}. Read REPORT.md before applying: it lists what needs a human.",
        import.source
    );
    tf.push('\n');
    // The jobs module's own constraints (modules/pg_cron_jobs/versions.tf), not a copy of them.
    tf.push_str(MODULE_VERSIONS.trim_end());
    tf.push_str("\n\nprovider \"aws\" {\n  region = var.region\n}\n\n");
    let variables: [(&str, &str, &str, Option<String>); 7] = [
        ("region", "AWS region of the database and the jobs.", "string", None),
        ("name", "Name of the fleet: prefix of every job's function and schedule.", "string", Some(hcl_string(&output.name))),
        ("package_path", "Lambda package built by `make build` (with SQL_DIR=<this directory>/sql when a job uses sql_file).", "string", Some(hcl_string(".build/x86_64/pg-cron-job.zip"))),
        ("vpc_id", "VPC of the database.", "string", None),
        ("subnet_ids", "Private subnets of the jobs.", "list(string)", None),
        ("database_security_group_id", "Security group of the database (one ingress rule admits every job).", "string", None),
        ("secret_arn", "Secrets Manager secret with the database credentials (RDS format) the jobs log in with.", "string", None),
    ];
    for (name, description, ty, default) in variables {
        let _ = writeln!(tf, "variable {} {{", hcl_string(name));
        let mut attrs = vec![
            ("description", hcl_string(description)),
            ("type", ty.to_string()),
        ];
        if let Some(d) = default {
            attrs.push(("default", d));
        }
        attributes(&mut tf, 2, &attrs);
        tf.push_str("}\n\n");
    }
    tf.push_str("module \"pg_cron_jobs\" {\n");
    attributes(&mut tf, 2, &[("source", hcl_string(&output.module_source))]);
    tf.push('\n');
    let mut top = vec![
        ("name", "var.name".to_string()),
        ("package_path", "var.package_path".to_string()),
        ("vpc_id", "var.vpc_id".to_string()),
        ("subnet_ids", "var.subnet_ids".to_string()),
        (
            "database_security_group_id",
            "var.database_security_group_id".to_string(),
        ),
    ];
    if !import.alarm_emails.is_empty() {
        let list: Vec<String> = import.alarm_emails.iter().map(|e| hcl_string(e)).collect();
        top.push(("alarm_emails", format!("[{}]", list.join(", "))));
    }
    attributes(&mut tf, 2, &top);
    tf.push('\n');
    tf.push_str("  defaults = {\n");
    attributes(
        &mut tf,
        4,
        &[
            ("secret_arn", "var.secret_arn".to_string()),
            ("schedule_timezone", hcl_string(default_zone)),
        ],
    );
    tf.push_str("  }\n\n");
    if entries.is_empty() {
        tf.push_str("  jobs = {}\n");
    } else {
        tf.push_str("  jobs = {\n");
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                tf.push('\n');
            }
            let comment: String = format!("{}: {}", e.job.origin, e.job.original)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let _ = writeln!(tf, "    # {}", comment.trim_end());
            let _ = writeln!(tf, "    {} = {{", e.key);
            let mut attrs: Vec<(&str, String)> = Vec::new();
            attrs.push(("schedule_expression", hcl_string(&e.expression)));
            if e.job.timezone != default_zone {
                attrs.push(("schedule_timezone", hcl_string(&e.job.timezone)));
            }
            match (&e.job.sql, &e.sql_file) {
                (JobSql::Inline(sql), _) => attrs.push(("sql", hcl_string(sql))),
                (JobSql::File(_), Some(file)) => {
                    attrs.push(("sql_file", hcl_string(&format!("sql/{file}"))));
                    attrs.push((
                        "sql_source_path",
                        format!("\"${{path.module}}/sql/{file}\""),
                    ));
                }
                (JobSql::File(_), None) => {}
            }
            if e.job.transaction {
                attrs.push(("transaction", "true".into()));
            }
            if !e.job.enabled {
                attrs.push(("schedule_enabled", "false".into()));
            }
            if let Some(v) = &e.job.database_host {
                attrs.push(("database_host", hcl_string(v)));
            }
            if let Some(v) = &e.job.database_name {
                attrs.push(("database_name", hcl_string(v)));
            }
            if let Some(v) = &e.job.database_user {
                attrs.push(("database_user", hcl_string(v)));
            }
            attributes(&mut tf, 6, &attrs);
            tf.push_str("    }\n");
        }
        tf.push_str("  }\n");
    }
    tf.push_str("}\n");
    tf
}

/// Which starts of `expression` in `zone` the clock changes of the 12 months from `as_of` skip
/// or run once, as one line ("skipped on 2027-03-28 at 02:30; runs once on 2027-10-31 at
/// 02:30"); `None` when none. For a pg_cron import each says what changes: pg_cron (stepping
/// through UTC minutes) skipped the same local times and ran a repeated one twice.
fn dst_note(expression: &str, zone: &str, as_of: jiff::Timestamp, pg_cron: bool) -> Option<String> {
    use pg_cron_job_schedule::dst::Effect;
    let schedule = pg_cron_job_schedule::Schedule::parse(expression, zone).ok()?;
    let until = as_of
        .checked_add(jiff::SignedDuration::from_hours(24 * 365))
        .ok()?;
    let parts: Vec<String> = schedule
        .dst_effects(as_of, until)
        .iter()
        .map(|e| {
            let times: Vec<String> = e
                .times
                .iter()
                .map(|(h, m)| format!("{h:02}:{m:02}"))
                .collect();
            let (what, change) = match e.effect {
                Effect::Skipped => ("skipped", " (pg_cron skipped it too: no change)"),
                Effect::RunsOnce => ("runs once", " (pg_cron ran it twice, once in each pass)"),
            };
            format!(
                "{what} on {} at {}{}",
                e.date,
                times.join(", "),
                if pg_cron { change } else { "" }
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

fn report(import: &Import, output: &Output, entries: &[Entry]) -> String {
    let mut r = String::new();
    let converted: Vec<&Job> = import.jobs.iter().filter(|j| j.human.is_empty()).collect();
    let human: Vec<&Job> = import.jobs.iter().filter(|j| !j.human.is_empty()).collect();
    let keys = |job: &Job| -> String {
        entries
            .iter()
            .filter(|e| std::ptr::eq(e.job, job))
            .map(|e| format!("`{}`", e.key))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(r, "# Import report\n");
    let _ = writeln!(r, "- Source: {}", import.source);
    let _ = writeln!(r, "- Command: `{}`", output.command.replace('\n', " "));
    let _ = writeln!(
        r,
        "- {} job(s) converted, {} converted but disabled until a human acts, {} not converted ({} entries in main.tf).\n",
        converted.len(),
        human.len(),
        import.refused.len(),
        entries.len()
    );

    let _ = writeln!(r, "## Before applying\n");
    let _ = writeln!(r, "- Set the variables in main.tf (VPC, subnets, database security group, secret) in a `terraform.tfvars`.");
    if entries.iter().any(|e| e.sql_file.is_some()) {
        let _ = writeln!(r, "- Jobs with `sql_file` need their SQL in the Lambda package: `make build SQL_DIR={}/sql`, then point `package_path` at the package.", output.dir.display());
    }
    if import.users.is_empty() {
        let _ = writeln!(
            r,
            "- Credentials: the jobs log in with the secret in `secret_arn`."
        );
    } else {
        let users: Vec<String> = import.users.iter().map(|u| format!("`{u}`")).collect();
        let _ = writeln!(r, "- Credentials: the old jobs logged in as {} with passwords from `.pgpass`, `PGPASSWORD` or the server's trust rules. Nothing is copied: store each login's password in Secrets Manager (RDS secret format).{}", users.join(", "),
            if import.users.len() > 1 { " The jobs use more than one login: give each job whose user is not the one in `secret_arn` its own `secret_arn` (or `create_secret = true`), because `database_user` only overrides the user name, not the password." } else { "" });
    }
    let dst: Vec<(String, String)> = entries
        .iter()
        .filter(|e| !is_utc(&e.job.timezone))
        .filter_map(|e| {
            dst_note(&e.expression, &e.job.timezone, output.as_of, import.pg_cron)
                .map(|n| (e.key.clone(), n))
        })
        .collect();
    if !dst.is_empty() && import.pg_cron {
        let _ = writeln!(r, "- Daylight saving time: Scheduler skips a start whose local time does not exist on the night the clocks go forward, as pg_cron did (it steps through UTC minutes), and runs a repeated local time once on the night they go back, where pg_cron ran every job of the repeated hour twice, daily ones included. What changes, per job, in the 12 months from {}:", output.as_of.strftime("%Y-%m-%d"));
        for (key, note) in &dst {
            let _ = writeln!(r, "  - `{key}`: {note}");
        }
    } else if !dst.is_empty() {
        let _ = writeln!(r, "- Daylight saving time: Scheduler skips a start whose local time does not exist on the night the clocks go forward (cron ran such a job at the jump) and runs a repeated local time once on the night they go back (cron ran hourly-or-faster jobs in both passes). In the 12 months from {}:", output.as_of.strftime("%Y-%m-%d"));
        for (key, note) in &dst {
            let _ = writeln!(r, "  - `{key}`: {note}");
        }
    }
    r.push('\n');

    let describe = |r: &mut String, job: &Job| {
        let _ = writeln!(r, "### {} — {}\n", keys(job), job.origin);
        let _ = writeln!(r, "    {}\n", job.original.replace('\n', " "));
        for s in &job.schedules {
            let _ = writeln!(r, "- schedule: `{}` in {}", s.expression, job.timezone);
        }
        match &job.sql {
            JobSql::Inline(sql) => {
                let _ = writeln!(r, "- SQL (inline): `{}`", sql.replace('`', "'"));
            }
            JobSql::File(_) => {
                let file = entries
                    .iter()
                    .find(|e| std::ptr::eq(e.job, job))
                    .and_then(|e| e.sql_file.clone())
                    .unwrap_or_default();
                let _ = writeln!(r, "- SQL: `sql/{file}`");
            }
        }
        if job.transaction {
            let _ = writeln!(r, "- transaction = true");
        }
        for h in &job.human {
            let _ = writeln!(r, "- NEEDS A HUMAN: {h}");
        }
        for n in &job.notes {
            let _ = writeln!(r, "- note: {n}");
        }
        r.push('\n');
    };
    let _ = writeln!(r, "## Converted\n");
    if converted.is_empty() {
        let _ = writeln!(r, "None.\n");
    }
    for job in &converted {
        describe(&mut r, job);
    }
    let _ = writeln!(
        r,
        "## Needs a human (in main.tf with schedule_enabled = false)\n"
    );
    if human.is_empty() {
        let _ = writeln!(r, "None.\n");
    }
    for job in &human {
        describe(&mut r, job);
    }
    let _ = writeln!(r, "## Not converted\n");
    if import.refused.is_empty() {
        let _ = writeln!(r, "None.\n");
    }
    for x in &import.refused {
        let _ = writeln!(r, "### {}\n", x.origin);
        let _ = writeln!(r, "    {}\n", x.original.replace('\n', " "));
        let _ = writeln!(r, "- why: {}\n", x.reason);
    }
    let _ = writeln!(r, "## Notes on the input\n");
    if import.notes.is_empty() {
        let _ = writeln!(r, "None.");
    }
    for n in &import.notes {
        let _ = writeln!(r, "- {n}");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dst_notes_name_the_dates() {
        let as_of = "2026-12-02T00:00:00Z".parse().unwrap();
        assert_eq!(
            dst_note("cron(30 2 * * ? *)", "Europe/Rome", as_of, false).as_deref(),
            Some("skipped on 2027-03-28 at 02:30; runs once on 2027-10-31 at 02:30")
        );
        assert_eq!(
            dst_note("cron(30 2 * * ? *)", "Europe/Rome", as_of, true).as_deref(),
            Some("skipped on 2027-03-28 at 02:30 (pg_cron skipped it too: no change); runs once on 2027-10-31 at 02:30 (pg_cron ran it twice, once in each pass)")
        );
        assert_eq!(
            dst_note("cron(30 4 * * ? *)", "Europe/Rome", as_of, false),
            None
        );
        assert_eq!(dst_note("rate(1 hour)", "Europe/Rome", as_of, true), None);
    }

    #[test]
    fn hcl_strings_are_escaped() {
        assert_eq!(hcl_string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(hcl_string("${x} %{y} $z"), "\"$${x} %%{y} $z\"");
    }

    #[test]
    fn aligned_attributes() {
        let mut s = String::new();
        attributes(&mut s, 2, &[("a", "1".into()), ("long_name", "2".into())]);
        assert_eq!(s, "  a         = 1\n  long_name = 2\n");
    }

    #[test]
    fn keys_are_hcl_identifiers() {
        let job = |key: &str| Job {
            key: key.into(),
            origin: "o".into(),
            original: "x".into(),
            schedules: vec![super::super::cron::Schedule {
                expression: "rate(1 hour)".into(),
                suffix: None,
            }],
            timezone: "UTC".into(),
            sql: JobSql::Inline("SELECT 1".into()),
            transaction: false,
            enabled: true,
            database_name: None,
            database_host: None,
            database_user: None,
            notes: vec![],
            human: vec![],
        };
        let import = Import {
            jobs: vec![job("1_daily"), job("null"), job("x"), job("x")],
            ..Default::default()
        };
        let dir = std::env::temp_dir().join(format!("pgcj-keys-{}", std::process::id()));
        let output = Output {
            dir: dir.clone(),
            module_source: "m".into(),
            name: "cron".into(),
            command: "c".into(),
            as_of: "2026-12-02T00:00:00Z".parse().unwrap(),
        };
        write(&import, &output).unwrap();
        let tf = std::fs::read_to_string(dir.join("main.tf")).unwrap();
        for key in ["job_1_daily = {", "job_null = {", "x = {", "x_2 = {"] {
            assert!(tf.contains(key), "{key} in {tf}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn fleet_names() {
        assert!(valid_fleet_name("cron"));
        assert!(!valid_fleet_name(""));
        assert!(!valid_fleet_name("a.b"));
        assert!(!valid_fleet_name(&"x".repeat(41)));
    }
}
