//! `vacuumdb` and `reindexdb` crontab lines, turned into the statements they send: the job runs
//! `VACUUM (...)` / `ANALYZE` / `REINDEX ...` itself. What needs a query over the catalog first
//! (`--all` databases, `--schema` lists, `--min-xid-age`) is refused with the reason.

/// What a maintenance line asks for: its statements and where it connects. (psql.rs turns it
/// into the job; this module knows nothing of psql's own types.)
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Maintenance {
    pub statements: Vec<String>,
    pub dbname: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub notes: Vec<String>,
}

/// Why a maintenance line is not translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// An option needs a value the line does not give.
    MissingValue(String),
    /// Anything else, said as a sentence.
    Why(String),
}

/// Whether `program` is one of the maintenance tools read here.
pub fn is_maintenance(program: &str) -> bool {
    matches!(program, "vacuumdb" | "reindexdb")
}

/// The options given (long name, value; `--table=x`, `-t x`, `-tx`) and the other words.
type Parsed = (Vec<(String, String)>, Vec<String>);

/// Reads the options of a line (short ones by `short`'s long names).
fn options(
    program: &str,
    args: impl Iterator<Item = String>,
    takes_value: &dyn Fn(&str) -> bool,
    short: &dyn Fn(char) -> Option<&'static str>,
) -> Result<Parsed, Refusal> {
    let unknown = |c: char| {
        Refusal::Why(format!(
            "option -{c} is not one this importer knows: translate the line by hand"
        ))
    };
    let mut out = Vec::new();
    let mut positional = Vec::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (name, inline) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (long.to_string(), None),
            }
        } else if let Some(rest) = arg.strip_prefix('-').filter(|r| !r.is_empty()) {
            let mut chars = rest.chars();
            let c = chars.next().unwrap_or_default();
            let long = short(c).ok_or_else(|| unknown(c))?;
            let tail: String = chars.collect();
            if !tail.is_empty() && !takes_value(long) {
                // A cluster of flags (-zq).
                out.push((long.to_string(), String::new()));
                for c in tail.chars() {
                    let long = short(c).ok_or_else(|| unknown(c))?;
                    out.push((long.to_string(), String::new()));
                }
                continue;
            }
            (long.to_string(), (!tail.is_empty()).then_some(tail))
        } else {
            positional.push(arg);
            continue;
        };
        let value = if takes_value(&name) {
            match inline {
                Some(v) => v,
                None => args
                    .next()
                    .ok_or_else(|| Refusal::MissingValue(format!("{program} --{name}")))?,
            }
        } else {
            inline.unwrap_or_default()
        };
        out.push((name, value));
    }
    Ok((out, positional))
}

fn refuse(why: impl Into<String>) -> Refusal {
    Refusal::Why(why.into())
}

/// The connection options both tools share.
fn connection(call: &mut Maintenance, name: &str, value: &str) -> bool {
    match name {
        "dbname" | "maintenance-db" => call.dbname = Some(value.into()),
        "host" => call.host = Some(value.into()),
        "port" => call.port = Some(value.into()),
        "username" => call.user = Some(value.into()),
        "no-password" | "password" | "echo" | "quiet" => {}
        _ => return false,
    }
    true
}

/// `vacuumdb ARGS` / `reindexdb ARGS` (the words after the program) as the statements they run.
pub fn parse(program: &str, args: Vec<String>) -> Result<Maintenance, Refusal> {
    let mut call = Maintenance::default();
    let with_value = [
        "dbname",
        "host",
        "port",
        "username",
        "table",
        "schema",
        "exclude-schema",
        "jobs",
        "parallel",
        "index",
        "tablespace",
        "maintenance-db",
        "min-xid-age",
        "min-mxid-age",
        "buffer-usage-limit",
    ];
    let takes_value = |n: &str| with_value.contains(&n);
    let statements = if program == "vacuumdb" {
        let short = |c: char| {
            Some(match c {
                'a' => "all",
                'd' => "dbname",
                'e' => "echo",
                'f' => "full",
                'F' => "freeze",
                'h' => "host",
                'j' => "jobs",
                'n' => "schema",
                'N' => "exclude-schema",
                'p' => "port",
                'P' => "parallel",
                'q' => "quiet",
                't' => "table",
                'U' => "username",
                'v' => "verbose",
                'w' => "no-password",
                'W' => "password",
                'z' => "analyze",
                'Z' => "analyze-only",
                _ => return None,
            })
        };
        let (opts, positional) = options(program, args.into_iter(), &takes_value, &short)?;
        let mut vacuum: Vec<String> = Vec::new();
        let mut tables: Vec<String> = Vec::new();
        let mut analyze_only = false;
        for (name, value) in &opts {
            if connection(&mut call, name, value) {
                continue;
            }
            match name.as_str() {
                "full" => vacuum.push("FULL".into()),
                "freeze" => vacuum.push("FREEZE".into()),
                "verbose" => vacuum.push("VERBOSE".into()),
                "analyze" => vacuum.push("ANALYZE".into()),
                "analyze-only" => analyze_only = true,
                "analyze-in-stages" => {
                    analyze_only = true;
                    call.notes.push("vacuumdb --analyze-in-stages: one ANALYZE with the default statistics target (the stages only make the first statistics available sooner)".into());
                }
                "skip-locked" => vacuum.push("SKIP_LOCKED".into()),
                "disable-page-skipping" => vacuum.push("DISABLE_PAGE_SKIPPING".into()),
                "parallel" => vacuum.push(format!("PARALLEL {value}")),
                "table" => tables.push(value.clone()),
                "jobs" => call.notes.push(format!("vacuumdb --jobs {value}: the job vacuums one table after another in one session")),
                "all" => return Err(refuse("--all vacuums every database: make one job per database (each job connects to one)")),
                "schema" | "exclude-schema" | "min-xid-age" | "min-mxid-age" => {
                    return Err(refuse(format!("--{name} picks the tables with a catalog query first: list the tables (VACUUM t1, t2) in the job's SQL")))
                }
                other => return Err(refuse(format!("--{other} is not one this importer translates: write the VACUUM statement by hand"))),
            }
        }
        if let Some(db) = positional.first() {
            call.dbname.get_or_insert_with(|| db.clone());
        }
        let targets = if tables.is_empty() {
            String::new()
        } else {
            format!(" {}", tables.join(", "))
        };
        if analyze_only {
            let keep: Vec<&String> = vacuum
                .iter()
                .filter(|o| *o == "VERBOSE" || *o == "SKIP_LOCKED")
                .collect();
            let opts = if keep.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    keep.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            vec![format!("ANALYZE{opts}{targets}")]
        } else {
            let opts = if vacuum.is_empty() {
                String::new()
            } else {
                format!(" ({})", vacuum.join(", "))
            };
            vec![format!("VACUUM{opts}{targets}")]
        }
    } else {
        let short = |c: char| {
            Some(match c {
                'a' => "all",
                'd' => "dbname",
                'e' => "echo",
                'h' => "host",
                'i' => "index",
                'j' => "jobs",
                'p' => "port",
                'q' => "quiet",
                's' => "system",
                'S' => "schema",
                't' => "table",
                'U' => "username",
                'v' => "verbose",
                'w' => "no-password",
                'W' => "password",
                _ => return None,
            })
        };
        let (opts, positional) = options(program, args.into_iter(), &takes_value, &short)?;
        let mut options: Vec<String> = Vec::new();
        let mut concurrently = false;
        let mut targets: Vec<(String, String)> = Vec::new();
        let mut system = false;
        for (name, value) in &opts {
            if connection(&mut call, name, value) {
                continue;
            }
            match name.as_str() {
                "verbose" => options.push("VERBOSE".into()),
                "tablespace" => options.push(format!("TABLESPACE {value}")),
                "concurrently" => concurrently = true,
                "table" => targets.push(("TABLE".into(), value.clone())),
                "index" => targets.push(("INDEX".into(), value.clone())),
                "schema" => targets.push(("SCHEMA".into(), value.clone())),
                "system" => system = true,
                "jobs" => call.notes.push(format!("reindexdb --jobs {value}: the job reindexes one object after another in one session")),
                "all" => return Err(refuse("--all reindexes every database: make one job per database (each job connects to one)")),
                other => return Err(refuse(format!("--{other} is not one this importer translates: write the REINDEX statement by hand"))),
            }
        }
        if let Some(db) = positional.first() {
            call.dbname.get_or_insert_with(|| db.clone());
        }
        let opts = if options.is_empty() {
            String::new()
        } else {
            format!(" ({})", options.join(", "))
        };
        let conc = if concurrently { " CONCURRENTLY" } else { "" };
        if system || targets.is_empty() {
            // PostgreSQL 15 needs the database's name in REINDEX DATABASE / SYSTEM.
            let db = call.dbname.clone().ok_or_else(|| refuse("without -d (or a database name) it reindexes the login's default database: give the database"))?;
            targets.push((if system { "SYSTEM" } else { "DATABASE" }.into(), db));
        }
        targets
            .into_iter()
            .map(|(kind, name)| {
                // System catalogs cannot be reindexed concurrently.
                let conc = if kind == "SYSTEM" { "" } else { conc };
                format!("REINDEX{opts} {kind}{conc} {name}")
            })
            .collect()
    };
    call.notes
        .push(format!("{program} translated to {}", statements.join("; ")));
    call.statements = statements;
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::super::psql::{self, CommandError, SqlPart};

    fn sql(line: &str) -> Vec<String> {
        psql::parse(line)
            .unwrap()
            .sql
            .into_iter()
            .map(|p| match p {
                SqlPart::Command(c) => c,
                SqlPart::File(f) => f,
            })
            .collect()
    }

    #[test]
    fn vacuumdb_lines() {
        assert_eq!(
            sql("vacuumdb --analyze --dbname billing"),
            ["VACUUM (ANALYZE)"]
        );
        let c = psql::parse("vacuumdb -z -d billing -U maint").unwrap();
        assert_eq!(
            (c.dbname.as_deref(), c.user.as_deref()),
            (Some("billing"), Some("maint"))
        );
        assert_eq!(
            sql("vacuumdb -Z -t app.events -t app.orders app"),
            ["ANALYZE app.events, app.orders"]
        );
        assert_eq!(
            sql("vacuumdb -fzv --table=app.events -j 4 app"),
            ["VACUUM (FULL, ANALYZE, VERBOSE) app.events"]
        );
        assert_eq!(
            sql("vacuumdb --skip-locked -P 2 app"),
            ["VACUUM (SKIP_LOCKED, PARALLEL 2)"]
        );
        for refused in [
            "vacuumdb -a -z",
            "vacuumdb -n app -z billing",
            "vacuumdb --bogus app",
        ] {
            assert!(
                matches!(psql::parse(refused), Err(CommandError::Maintenance { .. })),
                "{refused}"
            );
        }
    }

    #[test]
    fn reindexdb_lines() {
        assert_eq!(sql("reindexdb -d app"), ["REINDEX DATABASE app"]);
        assert_eq!(
            sql("reindexdb --concurrently -t app.events -i app.orders_pkey app"),
            [
                "REINDEX TABLE CONCURRENTLY app.events",
                "REINDEX INDEX CONCURRENTLY app.orders_pkey"
            ]
        );
        assert_eq!(
            sql("reindexdb -v -S app app"),
            ["REINDEX (VERBOSE) SCHEMA app"]
        );
        assert_eq!(
            sql("reindexdb -s --concurrently app"),
            ["REINDEX SYSTEM app"]
        );
        assert!(matches!(
            psql::parse("reindexdb -a"),
            Err(CommandError::Maintenance { .. })
        ));
        assert!(matches!(
            psql::parse("reindexdb"),
            Err(CommandError::Maintenance { .. })
        ));
    }
}
