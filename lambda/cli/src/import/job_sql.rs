//! A job's SQL as the importer sees it: one statement or a script, its transaction use, and the
//! names derived from it.

use super::model::JobSql;

/// The SQL of a job as the output holds it: one short statement inline, anything else a file.
pub fn job_sql(text: &str, statements: usize) -> JobSql {
    let trimmed = text.trim().trim_end_matches(';').trim();
    if statements == 1 && !trimmed.contains('\n') && trimmed.len() <= 500 && !trimmed.is_empty() {
        JobSql::Inline(trimmed.to_string())
    } else {
        let mut text = text.trim_end().to_string();
        text.push('\n');
        JobSql::File(text)
    }
}

/// A lowercase key made of letters, digits and `_`, at most 32 characters (cut at a word).
pub fn slug(text: &str) -> String {
    const MAX: usize = 32;
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    if out.len() > MAX {
        let cut = match out[..=MAX].rfind('_') {
            Some(i) if i > 0 => i,
            _ => MAX,
        };
        out.truncate(cut);
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        "job".into()
    } else {
        out
    }
}

/// A key for a job from its SQL: the verb and the object, e.g. `DELETE FROM app.sessions ...`
/// gives `delete_sessions`, `VACUUM (ANALYZE) public.orders` gives `vacuum_orders`.
pub fn sql_key(sql: &str) -> String {
    const SKIP: &[&str] = &[
        "from",
        "into",
        "only",
        "table",
        "materialized",
        "view",
        "concurrently",
        "analyze",
        "verbose",
        "full",
        "freeze",
        "index",
        "if",
        "exists",
        "distinct",
        "all",
        "*",
        "with",
    ];
    let mut words = sql
        .split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty());
    let Some(verb) = words.next() else {
        return "job".into();
    };
    let mut depth = 0i32;
    let object = words.find(|w| {
        let starts_in = depth > 0;
        depth += w.matches('(').count() as i32 - w.matches(')').count() as i32;
        !starts_in && !w.starts_with('(') && !SKIP.contains(&w.to_ascii_lowercase().as_str())
    });
    let object = object
        .map(|o| {
            let o = o.split('(').next().unwrap_or(o);
            o.rsplit('.')
                .next()
                .unwrap_or(o)
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_default();
    slug(&format!("{verb} {object}"))
}

/// What a job's statements say about transactions.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TransactionUse {
    /// BEGIN / COMMIT / ROLLBACK / START TRANSACTION / END written in the SQL.
    pub explicit_control: bool,
    /// Statements PostgreSQL refuses inside a transaction block (VACUUM, ... CONCURRENTLY).
    pub not_in_transaction: Vec<String>,
}

/// Looks at each statement's first words (comments skipped by the runner's reader).
pub fn transaction_use(text: &str) -> TransactionUse {
    let mut out = TransactionUse::default();
    let Ok(script) = pg_cron_job_core::sql::Script::parse(text.to_string()) else {
        return out;
    };
    for statement in script.statements() {
        let words: Vec<String> = statement
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .flat_map(str::split_whitespace)
            .map(|w| {
                w.trim_end_matches(';')
                    .trim_start_matches('(')
                    .to_ascii_uppercase()
            })
            .take(6)
            .collect();
        let first = words.first().map(String::as_str).unwrap_or("");
        if matches!(
            first,
            "BEGIN" | "COMMIT" | "ROLLBACK" | "END" | "ABORT" | "START"
        ) {
            out.explicit_control = true;
        }
        let concurrently = words.iter().any(|w| w == "CONCURRENTLY");
        let second = words.get(1).map(String::as_str).unwrap_or("");
        let blocked = match first {
            "VACUUM" => true,
            "CREATE" | "DROP" | "REINDEX" => {
                concurrently || matches!(second, "DATABASE" | "TABLESPACE")
            }
            "ALTER" => second == "SYSTEM",
            _ => false,
        };
        if blocked {
            let label = match first {
                "VACUUM" => "VACUUM".to_string(),
                _ if concurrently => format!("{first} {second} CONCURRENTLY"),
                _ => format!("{first} {second}"),
            };
            if !out.not_in_transaction.contains(&label) {
                out.not_in_transaction.push(label);
            }
        }
    }
    out
}

/// Whether a job must run in one transaction because psql -c / pg_cron sent its statements as
/// one query (PostgreSQL runs them in one implicit transaction). Statements that cannot run in a
/// transaction made the old job fail every time: the job is then left in autocommit and flagged.
pub fn one_query_transaction(
    text: &str,
    statements: usize,
    what: &str,
    notes: &mut Vec<String>,
    human: &mut Vec<String>,
) -> bool {
    if statements < 2 {
        return false;
    }
    let t = transaction_use(text);
    if t.explicit_control {
        notes.push(format!(
            "the {what} controls its transactions (BEGIN/COMMIT): transaction = false keeps that"
        ));
        return false;
    }
    if !t.not_in_transaction.is_empty() {
        human.push(format!(
            "the {what} sent several statements as one query, so they ran in one transaction, where {} fails (\"cannot run inside a transaction block\"): the old job could not have succeeded. Here it runs in autocommit (transaction = false); check that this is what was meant",
            t.not_in_transaction.join(", ")
        ));
        return false;
    }
    notes.push(format!(
        "several statements in one {what} ran in one transaction: transaction = true keeps that"
    ));
    true
}

/// Checks a job's SQL the way the runner will read it; `Ok(statement count)`.
pub fn check_sql(text: &str) -> Result<usize, String> {
    pg_cron_job_core::sql::Script::parse(text.to_string())
        .map(|s| s.statement_count())
        .map_err(|e| e.to_string())
}
