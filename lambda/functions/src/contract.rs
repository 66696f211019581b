//! The functions' environment contract, declared once: every variable's name, the values it
//! takes (type and range), its default and its meaning, and which program reads it. The
//! configuration parsers read variables only through these declarations ([`crate::env`]), the
//! unknown-variable check and its near-miss suggestions use the same list, and tests compare the
//! README's "Runner variables" table and the Terraform module's validations with it.

use crate::program::Program;

/// The values a variable takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text (a name, a path, an ARN); its own parser checks it where it has a shape.
    Text,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Flag { default: bool },
    /// A whole number in `min..=max`.
    Int {
        min: u64,
        max: u64,
        default: Option<u64>,
        /// Unit in messages ("milliseconds"); empty for a plain count.
        unit: &'static str,
    },
    /// One of a few words (case-insensitive).
    OneOf {
        values: &'static [&'static str],
        default: Option<&'static str>,
    },
}

/// One environment variable of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub kind: Kind,
    /// The default as the README states it when the kind has none of its own ("none",
    /// "from the secret", ...).
    pub default_text: &'static str,
    pub meaning: &'static str,
    /// Added to the "expected ..." part of an invalid-value message.
    pub note: &'static str,
    pub programs: &'static [Program],
    /// The `modules/pg_cron_job` input that sets it, whose validations must enforce the same
    /// range or values at `terraform plan`.
    pub terraform: Option<&'static str>,
}

const JOB: &[Program] = &[Program::Job];
const ROTATION: &[Program] = &[Program::Rotation];
const BOTH: &[Program] = &[Program::Job, Program::Rotation];
const WATCHDOG: &[Program] = &[Program::Watchdog];
const ALL: &[Program] = &[Program::Job, Program::Rotation, Program::Watchdog];
/// PostgreSQL's largest `statement_timeout` / `lock_timeout` (an int in milliseconds).
pub const PG_MAX_MS: u64 = 2_147_483_647;

const fn text(name: &'static str, default_text: &'static str, meaning: &'static str) -> Var {
    Var {
        name,
        kind: Kind::Text,
        default_text,
        meaning,
        note: "",
        programs: JOB,
        terraform: None,
    }
}

const fn flag(name: &'static str, terraform: &'static str, meaning: &'static str) -> Var {
    Var {
        name,
        kind: Kind::Flag { default: false },
        default_text: "",
        meaning,
        note: "",
        programs: JOB,
        terraform: Some(terraform),
    }
}

const fn ms(name: &'static str, terraform: Option<&'static str>, meaning: &'static str) -> Var {
    Var {
        name,
        kind: Kind::Int {
            min: 1,
            max: PG_MAX_MS,
            default: None,
            unit: "milliseconds",
        },
        default_text: "none",
        meaning,
        note: " (PostgreSQL's limit; unset it for no limit)",
        programs: JOB,
        terraform,
    }
}

const fn both(var: Var) -> Var {
    Var {
        programs: BOTH,
        ..var
    }
}

pub const DB_SECRET_ID: Var = text(
    "DB_SECRET_ID",
    "required unless `AUTH_MODE=iam`",
    "ARN or name of a secret with RDS credentials JSON: `username`, `password`, `host`, `port`, `dbname`, optional `engine`.",
);
pub const SQL: Var = text(
    "SQL",
    "—",
    "One inline statement. Exactly one of `SQL` / `SQL_FILE`.",
);
pub const SQL_FILE: Var = text(
    "SQL_FILE",
    "—",
    "A `.sql` file; relative paths resolve against `LAMBDA_TASK_ROOT` (the package root) or the working directory. Read like `psql -f` reads it (see \"psql scripts\"); checked at start-up, before any statement runs.",
);
pub const SQL_SHA256: Var = text(
    "SQL_SHA256",
    "none",
    "SHA-256 (hex) of the SQL file as it is in your repository (the module sets it); a packaged file with another hash is refused with \"rebuild the package\".",
);
pub const JOB_NAME: Var = text(
    "JOB_NAME",
    "`AWS_LAMBDA_FUNCTION_NAME`, else `pg-cron-job`",
    "Name in results, logs, metrics (`Job`), history and the overlap lock; at most 255 characters.",
);
pub const DB_CLUSTER_IDENTIFIER: Var = text(
    "DB_CLUSTER_IDENTIFIER",
    "none",
    "Find the Aurora cluster through the RDS API (`DescribeDBClusters`, cached per cold start, asked again once after a connect failure) instead of `PGHOST`: works with RDS-managed master secrets, which hold only `username` and `password`.",
);
pub const DB_INSTANCE_IDENTIFIER: Var = text(
    "DB_INSTANCE_IDENTIFIER",
    "none",
    "The same for an RDS instance (`DescribeDBInstances`). At most one of the two.",
);
pub const DB_ENDPOINT: Var = Var {
    kind: Kind::OneOf {
        values: &["writer", "reader"],
        default: Some("writer"),
    },
    note: " (`reader` for read-only jobs)",
    terraform: Some("db_endpoint"),
    ..text(
        "DB_ENDPOINT",
        "",
        "`reader`: a cluster's reader endpoint (the job is read-only).",
    )
};
pub const WHEN_DATABASE_UNAVAILABLE: Var = Var {
    kind: Kind::OneOf {
        values: &["skip", "fail"],
        default: Some("skip"),
    },
    note: " (`skip`: a stopped database skips the run)",
    terraform: Some("when_database_unavailable"),
    ..text(
        "WHEN_DATABASE_UNAVAILABLE",
        "",
        "When the RDS status is `stopped`, `stopping`, `starting`, `rebooting`, `maintenance`, ...: `skip` reports `skipped` with reason `database_<status>` (exit 0), `fail` reports a `connect` failure.",
    )
};
pub const READ_ONLY: Var = flag(
    "READ_ONLY",
    "read_only",
    "The job only reads. Otherwise, after connecting the runner checks that the server is writable (`pg_is_in_recovery()`, `transaction_read_only`); on a reader (after an Aurora failover the cluster endpoint's DNS can still name the old writer) it asks the RDS API for the cluster's writer instance and reconnects once, else fails with `connect` \"reached a read-only server\".",
);
pub const PGHOSTADDR: Var = text(
    "PGHOSTADDR",
    "none",
    "libpq's meaning: connect to this IP address while TLS verifies the host name (`PGHOST` or the RDS endpoint).",
);
pub const PGHOST: Var = both(text(
    "PGHOST",
    "from the secret",
    "Overrides the secret's `host`.",
));
pub const PGPORT: Var = both(Var {
    kind: Kind::Int {
        min: 1,
        max: 65_535,
        default: None,
        unit: "",
    },
    note: " (a TCP port)",
    ..text(
        "PGPORT",
        "from the secret, else 5432",
        "Overrides the secret's `port`.",
    )
});
pub const PGDATABASE: Var = both(text(
    "PGDATABASE",
    "from the secret, else `postgres`",
    "Overrides the secret's `dbname`.",
));
pub const PGUSER: Var = text(
    "PGUSER",
    "from the secret",
    "Overrides the secret's `username`.",
);
pub const PGSSLMODE: Var = both(Var {
    kind: Kind::OneOf {
        values: &["disable", "require", "verify-ca", "verify-full"],
        default: Some("verify-full"),
    },
    terraform: Some("ssl_mode"),
    ..text(
        "PGSSLMODE",
        "",
        "`disable`, `require` (encrypt, no checks), `verify-ca` (chain only), `verify-full` (chain + host name).",
    )
});
pub const PGSSLROOTCERT: Var = both(text(
    "PGSSLROOTCERT",
    "`global-bundle.pem` next to `bootstrap`",
    "PEM CA bundle for `verify-ca`/`verify-full`.",
));
pub const PGAPPNAME: Var = both(text(
    "PGAPPNAME",
    "the job name (rotation: `pg-cron-job-rotation`)",
    "`application_name` seen in `pg_stat_activity`.",
));
pub const PGCONNECT_TIMEOUT: Var = both(Var {
    kind: Kind::Int {
        min: 1,
        max: 900,
        default: Some(15),
        unit: "seconds",
    },
    note: " (a Lambda job must not wait forever, and 900 s is Lambda's longest timeout)",
    ..text(
        "PGCONNECT_TIMEOUT",
        "",
        "Seconds for the whole connection: TCP connect, TLS handshake, start-up and authentication (libpq's meaning), cut short by the run's deadline.",
    )
});
pub const ROTATION_STRATEGY: Var = Var {
    kind: Kind::OneOf {
        values: &["single-user", "alternating-users"],
        default: None,
    },
    programs: ROTATION,
    ..text(
        "ROTATION_STRATEGY",
        "required",
        "How the rotation function rotates the secret (see \"Rotation\").",
    )
};
pub const AUTH_MODE: Var = Var {
    kind: Kind::OneOf {
        values: &["secret", "iam"],
        default: Some("secret"),
    },
    terraform: Some("auth_mode"),
    ..text(
        "AUTH_MODE",
        "",
        "`iam`: IAM database authentication token from `aws_sdk_rds::auth_token`, signed with the function's credentials (needs host, port, user; host and port may come from the RDS API).",
    )
};
pub const TRANSACTION: Var = flag(
    "TRANSACTION",
    "transaction",
    "`false`: autocommit like psql and pg_cron (VACUUM works; stops at the first error). `true`: the whole job in one transaction, rolled back on any error.",
);
pub const STATEMENT_TIMEOUT_MS: Var = ms(
    "STATEMENT_TIMEOUT_MS",
    Some("statement_timeout_ms"),
    "Session `statement_timeout` (the runner never lets it pass the deadline anyway).",
);
pub const LOCK_TIMEOUT_MS: Var = ms(
    "LOCK_TIMEOUT_MS",
    Some("lock_timeout_ms"),
    "Session `lock_timeout`: how long a statement may wait for a lock.",
);
pub const MAX_RUNTIME_MS: Var = ms(
    "MAX_RUNTIME_MS",
    Some("max_runtime_ms"),
    "Time budget for the run (the deadline rule below applies to it too).",
);
pub const DEADLINE_MARGIN_MS: Var = Var {
    kind: Kind::Int {
        min: 0,
        max: 60_000,
        default: Some(3_000),
        unit: "milliseconds",
    },
    ..text(
        "DEADLINE_MARGIN_MS",
        "",
        "Safety margin kept before the Lambda deadline.",
    )
};
pub const ALLOW_OVERLAP: Var = flag(
    "ALLOW_OVERLAP",
    "allow_overlap",
    "`false`: a run takes a session advisory lock (FNV-1a of `pg_cron_job:<job>`); if another run holds it the run does nothing and reports `skipped`.",
);
pub const HISTORY_TABLE: Var = text(
    "HISTORY_TABLE",
    "off",
    "`schema.table` recording every run (see \"Run history\").",
);
pub const HISTORY_RETENTION_DAYS: Var = Var {
    kind: Kind::Int {
        min: 0,
        max: 36_500,
        default: Some(30),
        unit: "days",
    },
    note:
        " (0 keeps all rows; beyond 36500 `now() - interval` leaves PostgreSQL's timestamp range)",
    terraform: Some("history_retention_days"),
    ..text(
        "HISTORY_RETENTION_DAYS",
        "",
        "Delete this job's history rows older than this (0 keeps all).",
    )
};
pub const REPEAT_UNTIL_ZERO: Var = flag(
    "REPEAT_UNTIL_ZERO",
    "repeat_until_zero",
    "Repeat the single statement until it affects 0 rows or the deadline is near (see \"Long-running purges\").",
);
pub const CONTINUE_ON_DEADLINE: Var = flag(
    "CONTINUE_ON_DEADLINE",
    "continue_on_deadline",
    "A partial batched run re-invokes the function to continue (needs `HISTORY_TABLE`).",
);
pub const MAX_CONTINUATIONS: Var = Var {
    kind: Kind::Int {
        min: 0,
        max: 1000,
        default: Some(10),
        unit: "",
    },
    terraform: Some("max_continuations"),
    ..text("MAX_CONTINUATIONS", "", "Longest continuation chain.")
};
pub const EXPORT_S3_URI: Var = text(
    "EXPORT_S3_URI",
    "off",
    "`s3://bucket/key` with placeholders: makes the job an export (see \"Extraction jobs\").",
);
pub const EXPORT_FORMAT: Var = Var {
    kind: Kind::OneOf {
        values: &["csv", "text", "jsonl"],
        default: Some("csv"),
    },
    // A key of the `export` object: its validations enforce the same values.
    terraform: Some("export"),
    ..text(
        "EXPORT_FORMAT",
        "",
        "`csv` (RFC 4180, as `COPY ... CSV`), `text` (COPY's tab-separated format) or `jsonl` (one `row_to_json` object per line).",
    )
};
pub const EXPORT_HEADER: Var = Var {
    kind: Kind::Flag { default: true },
    terraform: None,
    ..flag("EXPORT_HEADER", "", "CSV header line.")
};
pub const EXPORT_COMPRESSION: Var = Var {
    kind: Kind::OneOf {
        values: &["gzip", "zstd", "none"],
        default: None,
    },
    // A key of the `export` object: its validations enforce the same values.
    terraform: Some("export"),
    ..text(
        "EXPORT_COMPRESSION",
        "`gzip` when the key ends in `.gz`, `zstd` when it ends in `.zst`, else `none`",
        "Compression of the object: blocks compressed in parallel, each an independent gzip member or zstd frame (their concatenation is one valid stream for gunzip, zstd, Athena, Spark, Redshift COPY).",
    )
};
/// zstd's highest level without its "ultra" window sizes; gzip stops at 9 (checked by the parser).
pub const EXPORT_COMPRESSION_LEVEL: Var = Var {
    kind: Kind::Int {
        min: 1,
        max: 19,
        default: None,
        unit: "",
    },
    // A key of the `export` object: its validations enforce the same values.
    terraform: Some("export"),
    ..text(
        "EXPORT_COMPRESSION_LEVEL",
        "6 (gzip), 3 (zstd)",
        "Compression level: 1-9 for gzip, 1-19 for zstd; higher is smaller and slower.",
    )
};
pub const EXPORT_THREADS: Var = Var {
    kind: Kind::Int {
        min: 1,
        max: 64,
        default: None,
        unit: "",
    },
    // A key of the `export` object: its validations enforce the same values.
    terraform: Some("export"),
    ..text(
        "EXPORT_THREADS",
        "the function's vCPUs",
        "Threads compressing the export (Lambda gives a function vCPUs in proportion to its memory: one full vCPU at 1,769 MB, six at 10,240 MB).",
    )
};
pub const EXPORT_KMS_KEY_ID: Var =
    text("EXPORT_KMS_KEY_ID", "none (SSE-S3)", "KMS key for SSE-KMS.");
pub const EXPORT_BUCKET_OWNER: Var = text(
    "EXPORT_BUCKET_OWNER",
    "none",
    "Account id sent as `x-amz-expected-bucket-owner`.",
);
pub const EXPORT_MANIFEST: Var = Var {
    terraform: None,
    ..flag(
        "EXPORT_MANIFEST",
        "",
        "Write `<key>.manifest.json` after the object.",
    )
};
pub const METRICS_NAMESPACE: Var = Var {
    programs: &[Program::Job, Program::Watchdog],
    ..text(
        "METRICS_NAMESPACE",
        "`PgCronJob`",
        "CloudWatch namespace of the run metrics in the \"job finished\" line (Embedded Metric Format: `Runs`, `Succeeded`, `Failed`, `Skipped`, `Partial`, `DurationMs`, `RowsAffected`, dimension `Job`); stamped at the start Scheduler meant); the watchdog reads `Runs` there and publishes `Late` and `LateSeconds` beside them, and its fleet counts (`JudgedJobs`, `UnjudgedJobs`, `LateJobs`, `MissingJobs`, `DriftJobs`, dimension `Fleet`).",
    )
};
pub const WATCH_FLEET: Var = Var {
    programs: WATCHDOG,
    ..text(
        "WATCH_FLEET",
        "required",
        "The fleet the watchdog checks: every schedule whose target input has `watch.fleet` equal to it.",
    )
};
pub const WATCH_SCHEDULE_GROUPS: Var = Var {
    programs: WATCHDOG,
    ..text(
        "WATCH_SCHEDULE_GROUPS",
        "`default`",
        "Comma-separated EventBridge Scheduler groups that hold the fleet's schedules.",
    )
};
pub const WATCH_PERIOD_SECONDS: Var = Var {
    kind: Kind::Int {
        min: 60,
        max: 3_600,
        default: Some(300),
        unit: "seconds",
    },
    programs: WATCHDOG,
    ..text(
        "WATCH_PERIOD_SECONDS",
        "",
        "How often the watchdog runs (its own schedule's rate): each check judges the starts due since the previous one.",
    )
};
pub const WATCH_DECLARED_PATH: Var = Var {
    programs: WATCHDOG,
    ..text(
        "WATCH_DECLARED_PATH",
        "none (the jobs are those the schedules name)",
        "SSM Parameter Store path (`/pg-cron-job/<fleet>/declared`) whose String parameters each hold a JSON object `{\"<job>\": \"<group>/<schedule>\"}` of the jobs Terraform declared: a declared job whose schedule is gone, or no longer carries its `watch` object, is `missing` (paged as late).",
    )
};
pub const RUST_LOG: Var = Var {
    programs: ALL,
    ..text(
    "RUST_LOG",
    "`info`",
    "Log filter (the module sets it from `log_level`, with Lambda's `application_log_level` at its most verbose level).",
    )
};

/// Every variable of the contract, in the README's order.
pub const VARIABLES: &[Var] = &[
    DB_SECRET_ID,
    SQL,
    SQL_FILE,
    SQL_SHA256,
    JOB_NAME,
    DB_CLUSTER_IDENTIFIER,
    DB_INSTANCE_IDENTIFIER,
    DB_ENDPOINT,
    WHEN_DATABASE_UNAVAILABLE,
    READ_ONLY,
    PGHOSTADDR,
    PGHOST,
    PGPORT,
    PGDATABASE,
    PGUSER,
    PGSSLMODE,
    PGSSLROOTCERT,
    PGAPPNAME,
    PGCONNECT_TIMEOUT,
    AUTH_MODE,
    TRANSACTION,
    STATEMENT_TIMEOUT_MS,
    LOCK_TIMEOUT_MS,
    MAX_RUNTIME_MS,
    DEADLINE_MARGIN_MS,
    ALLOW_OVERLAP,
    HISTORY_TABLE,
    HISTORY_RETENTION_DAYS,
    REPEAT_UNTIL_ZERO,
    CONTINUE_ON_DEADLINE,
    MAX_CONTINUATIONS,
    EXPORT_S3_URI,
    EXPORT_FORMAT,
    EXPORT_HEADER,
    EXPORT_COMPRESSION,
    EXPORT_COMPRESSION_LEVEL,
    EXPORT_THREADS,
    EXPORT_KMS_KEY_ID,
    EXPORT_BUCKET_OWNER,
    EXPORT_MANIFEST,
    METRICS_NAMESPACE,
    ROTATION_STRATEGY,
    WATCH_FLEET,
    WATCH_SCHEDULE_GROUPS,
    WATCH_PERIOD_SECONDS,
    WATCH_DECLARED_PATH,
    RUST_LOG,
];

/// Set by Lambda itself, read by the functions, never by users (not in the table).
pub const LAMBDA_VARIABLES: &[&str] = &[
    "_HANDLER",
    "AWS_LAMBDA_FUNCTION_NAME",
    "LAMBDA_TASK_ROOT",
    "AWS_LAMBDA_RUNTIME_API",
];

impl Var {
    /// Whether `program` reads this variable.
    pub fn applies_to(&self, program: Program) -> bool {
        self.programs.contains(&program)
    }

    /// What an invalid value is told to be instead.
    pub fn expected(&self) -> String {
        let base = match self.kind {
            Kind::Text => "a non-empty value".to_string(),
            Kind::Flag { .. } => "`true` or `false`".to_string(),
            Kind::Int { min, max, unit, .. } => {
                let of = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" of {unit}")
                };
                format!("a whole number{of} from {min} to {max}")
            }
            Kind::OneOf { values, default } => words(values, default),
        };
        format!("{base}{}", self.note)
    }

    /// The README's "Values" column.
    pub fn values_text(&self) -> String {
        match self.kind {
            Kind::Text => "text".into(),
            Kind::Flag { .. } => "`true` / `false`".into(),
            Kind::Int { min, max, unit, .. } => {
                if unit.is_empty() {
                    format!("{min}-{max}")
                } else {
                    format!("{min}-{max} {unit}")
                }
            }
            Kind::OneOf { values, .. } => values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The README's "Default" column.
    pub fn default_column(&self) -> String {
        match self.kind {
            Kind::Flag { default } => format!("`{default}`"),
            Kind::Int {
                default: Some(d), ..
            } => format!("`{d}`"),
            Kind::OneOf {
                default: Some(d), ..
            } => format!("`{d}`"),
            _ => self.default_text.to_string(),
        }
    }
}

/// "`a`, `b` or `c`", the default marked.
fn words(values: &[&str], default: Option<&str>) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|v| {
            if Some(*v) == default {
                format!("`{v}` (default)")
            } else {
                format!("`{v}`")
            }
        })
        .collect();
    match shown.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The variables `program` reads.
pub fn variables_of(program: Program) -> impl Iterator<Item = &'static Var> {
    VARIABLES.iter().filter(move |v| v.applies_to(program))
}

/// The contract as the README's "Runner variables" table (Markdown).
pub fn readme_table() -> String {
    let mut out = String::from("| Variable | Values | Default | Meaning |\n|---|---|---|---|\n");
    for v in VARIABLES {
        let who = match v.programs {
            [Program::Rotation] => "Rotation function only. ",
            [Program::Job, Program::Rotation] => "Jobs and the rotation function. ",
            [Program::Watchdog] => "Watchdog only. ",
            [Program::Job, Program::Watchdog] => "Jobs and the watchdog. ",
            _ => "",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {who}{} |\n",
            v.name,
            v.values_text(),
            v.default_column(),
            v.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::path::PathBuf;

    fn repo_file(path: &str) -> String {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn names_are_unique_and_upper_case() {
        let mut seen = HashSet::new();
        for v in VARIABLES {
            assert!(seen.insert(v.name), "{} declared twice", v.name);
            assert!(v
                .name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
            if let Kind::Int {
                min, max, default, ..
            } = v.kind
            {
                assert!(min <= max, "{}", v.name);
                assert!(
                    default.is_none_or(|d| (min..=max).contains(&d)),
                    "{}",
                    v.name
                );
            }
        }
    }

    #[test]
    fn messages_state_the_range_and_the_default() {
        assert_eq!(
            STATEMENT_TIMEOUT_MS.expected(),
            "a whole number of milliseconds from 1 to 2147483647 (PostgreSQL's limit; unset it for no limit)"
        );
        assert_eq!(
            PGSSLMODE.expected(),
            "`disable`, `require`, `verify-ca` or `verify-full` (default)"
        );
        assert_eq!(
            MAX_CONTINUATIONS.expected(),
            "a whole number from 0 to 1000"
        );
    }

    /// The README's "Runner variables" table is this contract, rendered. To update it after a
    /// change here: `PG_CRON_JOB_BLESS=1 make unit`.
    #[test]
    fn readme_table_is_the_contract() {
        let readme = repo_file("README.md");
        let start = readme
            .find("| Variable | Values | Default | Meaning |")
            .expect(
            "README.md has no runner variables table (| Variable | Values | Default | Meaning |)",
        );
        let end = readme[start..]
            .find("\n\n")
            .map_or(readme.len(), |i| start + i + 1);
        let expected = readme_table();
        if readme[start..end] != expected && std::env::var_os("PG_CRON_JOB_BLESS").is_some() {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
            let updated = format!("{}{expected}{}", &readme[..start], &readme[end..]);
            std::fs::write(root.join("README.md"), updated).expect("write README.md");
            return;
        }
        assert_eq!(
            readme[start..end],
            expected,
            "README.md's runner variables table differs from lambda/functions/src/contract.rs (PG_CRON_JOB_BLESS=1 make unit rewrites it)"
        );
    }

    /// The block `variable "name" { ... }` of a Terraform file, whitespace collapsed.
    fn tf_variable(tf: &str, name: &str) -> Option<String> {
        let start = tf.find(&format!("variable \"{name}\" {{"))?;
        let end = tf[start..].find("\n}").map_or(tf.len(), |i| start + i);
        Some(
            tf[start..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// Every range or set of values the runner enforces is enforced by the module's validations
    /// at `terraform plan`, with the same default, so a value the runner would refuse at every
    /// run never gets past plan.
    #[test]
    fn terraform_validations_enforce_the_contract() {
        let tf = repo_file("modules/pg_cron_job/variables.tf");
        let main = repo_file("modules/pg_cron_job/main.tf");
        let mut problems = Vec::new();
        for v in VARIABLES {
            let Some(input) = v.terraform else { continue };
            let Some(block) = tf_variable(&tf, input) else {
                problems.push(format!(
                    "{}: no variable \"{input}\" in variables.tf",
                    v.name
                ));
                continue;
            };
            if !main.contains(&format!("{} ", v.name)) {
                problems.push(format!("{}: not set in main.tf's environment", v.name));
            }
            let default = block
                .split(" default = ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("null")
                .trim_matches('"')
                .to_string();
            match v.kind {
                Kind::Int {
                    min,
                    max,
                    default: d,
                    ..
                } => {
                    for bound in [format!(">= {min}"), format!("<= {max}")] {
                        if !block.contains(&bound) {
                            problems.push(format!(
                                "{}: variable \"{input}\" has no validation `{bound}`",
                                v.name
                            ));
                        }
                    }
                    if !block.contains("floor(") {
                        problems.push(format!(
                            "{}: variable \"{input}\" does not refuse fractions",
                            v.name
                        ));
                    }
                    let want = d.map_or("null".to_string(), |d| d.to_string());
                    if default != want {
                        problems.push(format!(
                            "{}: variable \"{input}\" defaults to {default}, the runner to {want}",
                            v.name
                        ));
                    }
                }
                Kind::OneOf { values, .. } => {
                    for value in values {
                        if !block.contains(&format!("\"{value}\"")) {
                            problems.push(format!(
                                "{}: variable \"{input}\" does not accept \"{value}\"",
                                v.name
                            ));
                        }
                    }
                }
                Kind::Flag { default: d } => {
                    if default != d.to_string() {
                        problems.push(format!(
                            "{}: variable \"{input}\" defaults to {default}, the runner to {d}",
                            v.name
                        ));
                    }
                }
                Kind::Text => {}
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// What the module puts in a job's environment is declared here.
    #[test]
    fn the_module_sets_only_declared_variables() {
        let main = repo_file("modules/pg_cron_job/main.tf");
        let rotation = repo_file("modules/pg_cron_job/rotation.tf");
        let watchdog = repo_file("modules/pg_cron_job_shared/watchdog.tf");
        for (file, block_start, program) in [
            (&main, "managed_environment = {", Program::Job),
            (&rotation, "rotation_environment = {", Program::Rotation),
            (&watchdog, "watchdog_environment = {", Program::Watchdog),
        ] {
            let start = file.find(block_start).expect(block_start);
            let end = start
                + file[start..]
                    .find("} : k => ")
                    .expect("end of environment map");
            for line in file[start..end].lines().skip(2) {
                let Some((name, _)) = line.trim().split_once(" = ") else {
                    continue;
                };
                let name = name.trim();
                if name.starts_with('#') || name.is_empty() {
                    continue;
                }
                let var = VARIABLES.iter().find(|v| v.name == name);
                assert!(
                    var.is_some_and(|v| v.applies_to(program)),
                    "the module sets {name} for the {program:?} program, which the contract does not declare for it"
                );
            }
        }
    }
}
