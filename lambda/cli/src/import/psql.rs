//! Reading a crontab command line: shell words, output redirections, and the psql call in it.

use thiserror::Error;

/// A command line the importer cannot turn into a job by itself.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    #[error("unterminated quote")]
    Quote,
    #[error("shell construct {0:?} (pipeline, list, substitution or variable): the job does more than run SQL; rewrite it as SQL or keep it on a host")]
    Shell(String),
    #[error("{0} is a backup/dump tool, not a SQL job: use RDS automated backups, snapshots or AWS Backup")]
    Dump(String),
    #[error("{program}: {why}")]
    Maintenance { program: String, why: String },
    #[error("{0:?} is not a psql call (a script or another program): read what it does and rewrite it as SQL")]
    NotPsql(String),
    #[error("psql {0} needs a value")]
    MissingValue(String),
    #[error("psql without -c, -f or an input file runs nothing")]
    NoSql,
    #[error("psql -d {0:?} is a connection URI: set database_host / database_name / database_user from it by hand")]
    Uri(String),
    #[error("psql {option} takes {value:?} as its value, which is an option, not {what}: the line is broken (psql would {consequence}); fix the crontab line")]
    OptionAsValue {
        option: String,
        value: String,
        what: &'static str,
        consequence: &'static str,
    },
    #[error("psql would connect as the user {0:?}, which no role is named (a word of SQL or a shell word out of place?): fix the crontab line")]
    ImpossibleUser(String),
}

/// Where a piece of the job's SQL comes from, in psql's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlPart {
    /// `-c "..."`.
    Command(String),
    /// `-f path` or `< path`.
    File(String),
}

/// What a psql invocation asks for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PsqlCall {
    pub sql: Vec<SqlPart>,
    pub single_transaction: bool,
    pub on_error_stop: bool,
    pub dbname: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    /// `-v name=value` (other than ON_ERROR_STOP), in order.
    pub variables: Vec<(String, String)>,
    /// Whether a password was given on the command line (PGPASSWORD=...).
    pub password_inline: bool,
    /// Converted, but worth reading.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Op(String),
}

fn tokenize(line: &str) -> Result<Vec<Token>, CommandError> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(CommandError::Quote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err(CommandError::Quote),
                        },
                        Some(ch @ ('$' | '`')) => return Err(CommandError::Shell(ch.to_string())),
                        Some(ch) => word.push(ch),
                        None => return Err(CommandError::Quote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(ch) = chars.next() {
                    word.push(ch);
                }
            }
            // Expansions, substitutions and globs: the shell would change the words.
            '$' | '`' | '(' | ')' | '*' | '?' | '[' => {
                return Err(CommandError::Shell(c.to_string()));
            }
            '|' | '&' | ';' | '<' | '>' => {
                let mut op = String::new();
                if in_word && !word.is_empty() && word.chars().all(|d| d.is_ascii_digit()) {
                    op.push_str(&word);
                    word.clear();
                    in_word = false;
                }
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                op.push(c);
                while let Some(&n) = chars.peek() {
                    if matches!(n, '|' | '&' | ';' | '<' | '>') {
                        op.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Op(op));
            }
            c if c.is_whitespace() => {
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// Splits a command line into words, dropping output redirections (noted) and turning `< file`
/// into an input file; anything else the shell would interpret is refused.
fn words(
    line: &str,
    notes: &mut Vec<String>,
) -> Result<(Vec<String>, Option<String>), CommandError> {
    let tokens = tokenize(line)?;
    let mut out = Vec::new();
    let mut input = None;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Word(w) => out.push(w.clone()),
            Token::Op(op) => {
                let target = match tokens.get(i + 1) {
                    Some(Token::Word(w)) => Some(w.clone()),
                    _ => None,
                };
                match (op.as_str(), target) {
                    (">" | ">>" | "1>" | "1>>" | "2>" | "2>>" | "&>" | "&>>", Some(t)) => {
                        if t != "/dev/null" {
                            notes.push(format!(
                                "output redirection {op} {t} dropped: the runner's result and errors go to CloudWatch Logs"
                            ));
                        }
                        i += 1;
                    }
                    ("2>&" | ">&" | "1>&", Some(t)) if t.chars().all(|d| d.is_ascii_digit()) => {
                        i += 1;
                    }
                    ("<", Some(t)) => {
                        input = Some(t);
                        i += 1;
                    }
                    (op, _) => return Err(CommandError::Shell(op.to_string())),
                }
            }
        }
        i += 1;
    }
    Ok((out, input))
}

/// Options that change only what psql prints or how it prompts.
const HARMLESS_NO_ARG: &[&str] = &[
    "q",
    "quiet",
    "X",
    "no-psqlrc",
    "t",
    "tuples-only",
    "A",
    "no-align",
    "w",
    "no-password",
    "n",
    "no-readline",
    "e",
    "echo-queries",
    "a",
    "echo-all",
    "b",
    "echo-errors",
    "x",
    "expanded",
    "H",
    "html",
    "s",
    "single-step",
    "S",
    "single-line",
    "E",
    "echo-hidden",
    "z",
    "field-separator-zero",
    "0",
    "record-separator-zero",
    "csv",
];
const HARMLESS_WITH_ARG: &[&str] = &[
    "P",
    "pset",
    "F",
    "field-separator",
    "R",
    "record-separator",
    "T",
    "table-attr",
];
/// Short options that take a value.
const SHORT_WITH_ARG: &str = "cfdhpUvoLPFRT";

fn long_takes_value(name: &str) -> bool {
    matches!(
        name,
        "command"
            | "file"
            | "dbname"
            | "host"
            | "port"
            | "username"
            | "set"
            | "variable"
            | "output"
            | "log-file"
    ) || HARMLESS_WITH_ARG.contains(&name)
}

fn short_to_long(c: char) -> &'static str {
    match c {
        'c' => "command",
        'f' => "file",
        'd' => "dbname",
        'h' => "host",
        'p' => "port",
        'U' => "username",
        'v' => "set",
        'o' => "output",
        'L' => "log-file",
        '1' => "single-transaction",
        'W' => "password",
        _ => "",
    }
}

/// Parses a crontab command that should be a psql call.
pub fn parse(command: &str) -> Result<PsqlCall, CommandError> {
    let mut call = PsqlCall::default();
    // Name the program even when the shell around it is what stops the conversion.
    let program = command
        .split_whitespace()
        .find(|w| !w.contains('='))
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or_default();
    match program {
        "pg_dump" | "pg_dumpall" | "pg_basebackup" => {
            return Err(CommandError::Dump(program.into()))
        }
        _ => {}
    }
    let (words, input) = words(command, &mut call.notes)?;
    let mut args = words.into_iter().peekable();
    // Leading environment assignments.
    let program = loop {
        let Some(w) = args.next() else {
            return Err(CommandError::NotPsql(command.into()));
        };
        match w.split_once('=') {
            Some((name, value))
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                match name {
                    "PGPASSWORD" => call.password_inline = true,
                    "PGHOST" => call.host = Some(value.into()),
                    "PGPORT" => call.port = Some(value.into()),
                    "PGUSER" => call.user = Some(value.into()),
                    "PGDATABASE" => call.dbname = Some(value.into()),
                    "PGPASSFILE" => call.notes.push(format!(
                        "PGPASSFILE={value}: its password for the job's user goes into the secret"
                    )),
                    _ => call
                        .notes
                        .push(format!("environment {name}={value} ignored")),
                }
            }
            _ => break w,
        }
    };
    let base = program.rsplit('/').next().unwrap_or(&program).to_string();
    match base.as_str() {
        "psql" => {}
        "pg_dump" | "pg_dumpall" | "pg_basebackup" => return Err(CommandError::Dump(base)),
        b if super::maintenance::is_maintenance(b) => {
            if let Some(file) = input {
                call.notes
                    .push(format!("input < {file} ignored: {b} reads no input"));
            }
            let m = super::maintenance::parse(b, args.collect()).map_err(|r| match r {
                super::maintenance::Refusal::MissingValue(option) => {
                    CommandError::MissingValue(option)
                }
                super::maintenance::Refusal::Why(why) => CommandError::Maintenance {
                    program: b.to_string(),
                    why,
                },
            })?;
            call.notes.extend(m.notes);
            call.dbname = m.dbname.or(call.dbname);
            call.host = m.host.or(call.host);
            call.port = m.port.or(call.port);
            call.user = m.user.or(call.user);
            // Each statement on its own, as the tool sends them (VACUUM and REINDEX
            // CONCURRENTLY cannot run inside a transaction block); the tool stopped at the
            // first error.
            call.sql = m.statements.into_iter().map(SqlPart::Command).collect();
            call.on_error_stop = true;
            return Ok(call);
        }
        _ => return Err(CommandError::NotPsql(program)),
    }
    let mut positional = Vec::new();
    let mut only_positional = false;
    // Whether -d / -U were given (psql's positional words fill what they did not).
    let (mut dbname_given, mut user_given) = (false, false);
    while let Some(arg) = args.next() {
        if only_positional || !arg.starts_with('-') || arg == "-" {
            positional.push(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        // (name, inline value)
        let mut options: Vec<(String, Option<String>)> = Vec::new();
        if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => options.push((n.into(), Some(v.into()))),
                None => options.push((long.into(), None)),
            }
        } else {
            let cluster: Vec<char> = arg[1..].chars().collect();
            for (i, c) in cluster.iter().enumerate() {
                if SHORT_WITH_ARG.contains(*c) {
                    let rest: String = cluster[i + 1..].iter().collect();
                    let long = short_to_long(*c);
                    let name = if long.is_empty() {
                        c.to_string()
                    } else {
                        long.to_string()
                    };
                    options.push((name, (!rest.is_empty()).then_some(rest)));
                    break;
                }
                let long = short_to_long(*c);
                options.push((
                    if long.is_empty() {
                        c.to_string()
                    } else {
                        long.to_string()
                    },
                    None,
                ));
            }
        }
        for (name, inline) in options {
            let value = if long_takes_value(&name) {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        let v = args
                            .next()
                            .ok_or_else(|| CommandError::MissingValue(format!("--{name}")))?;
                        // `psql -c -d db "SELECT ..."`: -c took "-d" as its SQL.
                        if v.starts_with('-') && v != "-" {
                            let (what, consequence) = match name.as_str() {
                                "command" => {
                                    ("SQL", "send it to the server as a statement and fail")
                                }
                                "file" => ("a file", "look for a file of that name"),
                                _ => ("a value", "read it as that value"),
                            };
                            return Err(CommandError::OptionAsValue {
                                option: format!("--{name}"),
                                value: v,
                                what,
                                consequence,
                            });
                        }
                        Some(v)
                    }
                }
            } else {
                inline
            };
            let v = value.clone().unwrap_or_default();
            match name.as_str() {
                "command" => call.sql.push(SqlPart::Command(v)),
                "file" => call.sql.push(SqlPart::File(v)),
                "dbname" => {
                    dbname_given = true;
                    set_dbname(&mut call, &v)?;
                }
                "host" => call.host = Some(v),
                "port" => call.port = Some(v),
                "username" => {
                    user_given = true;
                    call.user = Some(v);
                }
                "single-transaction" => call.single_transaction = true,
                "set" | "variable" => {
                    let (n, val) = v.split_once('=').unwrap_or((v.as_str(), ""));
                    if n == "ON_ERROR_STOP" {
                        call.on_error_stop = !matches!(
                            val.to_ascii_lowercase().as_str(),
                            "0" | "off" | "false" | "no"
                        );
                    } else {
                        call.variables.push((n.to_string(), val.to_string()));
                    }
                }
                "output" | "log-file" => call.notes.push(format!(
                    "psql --{name} {v} dropped: output goes to CloudWatch Logs"
                )),
                "password" => call.notes.push(
                    "psql -W (password prompt) dropped: the password comes from the secret".into(),
                ),
                n if HARMLESS_NO_ARG.contains(&n) || HARMLESS_WITH_ARG.contains(&n) => {}
                n => call.notes.push(format!(
                    "unknown psql option {}{n} ignored: check what it did",
                    if n.chars().count() == 1 { "-" } else { "--" }
                )),
            }
        }
    }
    // As psql's start-up: a word fills the database name when no -d gave one, else the user
    // when no -U did; the rest are ignored.
    for word in positional {
        if !dbname_given {
            dbname_given = true;
            set_dbname(&mut call, &word)?;
        } else if !user_given {
            user_given = true;
            call.user = Some(word);
        } else {
            call.notes
                .push(format!("extra psql argument {word:?} ignored"));
        }
    }
    if let Some(file) = input {
        call.sql.push(SqlPart::File(file));
    }
    if call.sql.is_empty() {
        return Err(CommandError::NoSql);
    }
    // A role name with blanks or quotes needs quoting nobody writes on a crontab line: here it
    // is SQL (or a shell word) that landed where psql takes the user.
    if let Some(user) = &call.user {
        if user.is_empty()
            || user
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\'')
        {
            return Err(CommandError::ImpossibleUser(user.clone()));
        }
    }
    Ok(call)
}

/// `-d` takes a name, `key=value` connection settings or a URI.
fn set_dbname(call: &mut PsqlCall, value: &str) -> Result<(), CommandError> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        return Err(CommandError::Uri(value.into()));
    }
    if !value.contains('=') {
        call.dbname = Some(value.into());
        return Ok(());
    }
    for pair in value.split_whitespace() {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = v.trim_matches('\'').to_string();
        match k {
            "dbname" => call.dbname = Some(v),
            "host" => call.host = Some(v),
            "port" => call.port = Some(v),
            "user" => call.user = Some(v),
            "password" => call.password_inline = true,
            "sslmode" => call
                .notes
                .push(format!("sslmode={v} in the connection string: the module's ssl_mode applies (default verify-full)")),
            other => call
                .notes
                .push(format!("connection setting {other}={v} ignored")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn broken_lines_need_a_human() {
        // A real broken line: -c took "-d" as its SQL, the SQL became the user.
        let e = parse("psql -c -d mydb \"SELECT purge()\"").unwrap_err();
        assert!(
            matches!(e, CommandError::OptionAsValue { ref value, what: "SQL", .. } if value == "-d"),
            "{e}"
        );
        assert!(e.to_string().contains("fix the crontab line"), "{e}");
        let e = parse("psql -d mydb -c 'SELECT 1' 'SELECT purge()'").unwrap_err();
        assert!(
            matches!(e, CommandError::ImpossibleUser(ref u) if u == "SELECT purge()"),
            "{e}"
        );
        assert!(parse("psql -d mydb -U app_jobs -c 'SELECT 1'").is_ok());
        assert!(parse("psql -f - mydb").is_ok());
    }

    use super::*;

    #[test]
    fn typical_psql_line() {
        let c = parse("/usr/bin/psql -X -q -v ON_ERROR_STOP=1 -1 -h db.internal -U jobs -d app -f /opt/jobs/purge.sql >> /var/log/purge.log 2>&1").unwrap();
        assert_eq!(c.sql, vec![SqlPart::File("/opt/jobs/purge.sql".into())]);
        assert!(c.single_transaction && c.on_error_stop);
        assert_eq!(c.host.as_deref(), Some("db.internal"));
        assert_eq!(c.user.as_deref(), Some("jobs"));
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    }

    #[test]
    fn commands_positional_and_clusters() {
        let c =
            parse(r#"psql -qAt -c "VACUUM (ANALYZE) public.events" --command='SELECT 1' app jobs"#)
                .unwrap();
        assert_eq!(
            c.sql,
            vec![
                SqlPart::Command("VACUUM (ANALYZE) public.events".into()),
                SqlPart::Command("SELECT 1".into())
            ]
        );
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.user.as_deref(), Some("jobs"));
        let c = parse("psql -dapp -Ujobs --single-transaction -fx.sql").unwrap();
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.user.as_deref(), Some("jobs"));
        assert!(c.single_transaction);
        assert_eq!(c.sql, vec![SqlPart::File("x.sql".into())]);
    }

    #[test]
    fn env_prefix_conninfo_and_input_redirect() {
        let c = parse("PGPASSWORD=secret PGHOST=h psql 'dbname=app user=u' < /opt/a.sql").unwrap();
        assert!(c.password_inline);
        assert_eq!(c.host.as_deref(), Some("h"));
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.user.as_deref(), Some("u"));
        assert_eq!(c.sql, vec![SqlPart::File("/opt/a.sql".into())]);
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse("psql -c 'select 1' | mail -s x root"),
            Err(CommandError::Shell(_))
        ));
        assert!(matches!(
            parse("cd /tmp && psql -c 'select 1'"),
            Err(CommandError::Shell(_))
        ));
        assert!(matches!(
            parse("psql -c \"select $(date)\""),
            Err(CommandError::Shell(_))
        ));
        assert!(matches!(
            parse("pg_dump -Fc app > /backup/app.dump"),
            Err(CommandError::Dump(_))
        ));
        assert!(matches!(
            parse("/opt/jobs/nightly.sh"),
            Err(CommandError::NotPsql(_))
        ));
        assert!(matches!(parse("psql app"), Err(CommandError::NoSql)));
        assert!(matches!(parse("psql -c 'x"), Err(CommandError::Quote)));
        assert!(matches!(
            parse("psql -d postgresql://u@h/app -c 'select 1'"),
            Err(CommandError::Uri(_))
        ));
    }

    #[test]
    fn unknown_flags_are_reported() {
        let c = parse("psql --frobnicate -K -c 'select 1'").unwrap();
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
    }
}
