//! Reading a SQL script the way `psql -f` does: statements end at an unquoted `;` (quotes,
//! dollar quotes, comments, parentheses and `BEGIN ATOMIC ... END` bodies do not split), psql
//! meta-commands end the SQL text they follow, `:name` variables are interpolated, and
//! `standard_conforming_strings` is tracked. The script is held once; statements are byte
//! ranges into it unless interpolation or a meta-command changed their text.

use std::collections::HashMap;

use thiserror::Error;

/// The largest SQL file the runner reads (the script is held in memory once; 200,000
/// statements are 22 MB); `pg-cron-job check` applies the same limit.
pub const MAX_SCRIPT_BYTES: u64 = 256 * 1024 * 1024;

/// A script that cannot run as written; `line` is 1-based.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScriptError {
    #[error("line {line}: psql meta-command \\{command} is not supported: {why}")]
    Unsupported {
        line: u32,
        command: String,
        why: &'static str,
    },
    #[error("line {line}: {message}")]
    Invalid { line: u32, message: String },
    #[error("the script is larger than 4 GiB")]
    TooLarge,
    #[error("holds no SQL statement (only whitespace or comments)")]
    Empty,
}

/// Where a statement's text lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// Bytes `start..end` of the script, unchanged.
    Source(u32, u32),
    /// Text assembled from several pieces (interpolation, `\;`, a meta-command in the middle).
    Owned(Box<str>),
}

/// One step of a script, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A statement (or `\;`-joined statements) sent as one simple query.
    Sql { line: u32, text: Text },
    /// `\echo` / `\qecho` / `\warn`: logged when reached.
    Echo { line: u32, text: String },
    /// `\set ON_ERROR_STOP on|off`: whether a failed statement stops the script from here on.
    OnErrorStop(bool),
}

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    source: String,
    items: Vec<Item>,
    statements: usize,
}

impl Script {
    /// Parses `source`; meta-commands the runner cannot honour are refused with their line.
    pub fn parse(source: String) -> Result<Self, ScriptError> {
        if u32::try_from(source.len()).is_err() {
            return Err(ScriptError::TooLarge);
        }
        // psql skips a UTF-8 byte-order mark at the start of a file.
        let source = match source.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => source,
        };
        // A NUL byte cannot be part of a query (the protocol's strings end at it): refused
        // before anything runs, with its line.
        if let Some(at) = source.bytes().position(|c| c == 0) {
            let line = 1 + source.as_bytes()[..at]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            return Err(ScriptError::Invalid {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                message: "a NUL byte (\\0): PostgreSQL cannot receive it in a query; is this a text file?".into(),
            });
        }
        let items = Lexer::new(source.as_bytes()).run()?;
        let statements = items
            .iter()
            .filter(|i| matches!(i, Item::Sql { .. }))
            .count();
        Ok(Script {
            source,
            items,
            statements,
        })
    }

    /// Parses a job's script: as [`Script::parse`], and a script without a statement is refused
    /// (the runner's start-up and `pg-cron-job check` both read a job's SQL with this).
    pub fn parse_job(source: String) -> Result<Self, ScriptError> {
        let script = Self::parse(source)?;
        if script.statements == 0 {
            return Err(ScriptError::Empty);
        }
        Ok(script)
    }

    /// Number of SQL statements (queries sent to the server).
    pub fn statement_count(&self) -> usize {
        self.statements
    }

    /// The steps in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The text of a statement item.
    pub fn text<'a>(&'a self, text: &'a Text) -> &'a str {
        match text {
            Text::Source(start, end) => &self.source[*start as usize..*end as usize],
            Text::Owned(s) => s,
        }
    }

    /// The statements' texts, in order.
    pub fn statements(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(move |i| match i {
            Item::Sql { text, .. } => Some(self.text(text)),
            _ => None,
        })
    }
}

enum Piece {
    Source(usize, usize),
    Owned(String),
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    line: u32,
    items: Vec<Item>,
    vars: HashMap<String, String>,
    std_strings: bool,
    /// Pieces of the statement being read; empty while between statements.
    pieces: Vec<Piece>,
    /// Start of the current source piece, when inside one.
    piece_start: Option<usize>,
    stmt_line: u32,
    paren_depth: i32,
    atomic_depth: i32,
    prev_begin: bool,
    /// Index in `items` of the last statement (for `\g` on an empty buffer).
    last_sql: Option<usize>,
}

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8]) -> Self {
        Lexer {
            b,
            i: 0,
            line: 1,
            items: Vec::new(),
            vars: PRESET_VARIABLES
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            std_strings: true,
            pieces: Vec::new(),
            piece_start: None,
            stmt_line: 1,
            paren_depth: 0,
            atomic_depth: 0,
            prev_begin: false,
            last_sql: None,
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn in_statement(&self) -> bool {
        self.piece_start.is_some() || !self.pieces.is_empty()
    }

    /// Advances to `to`, counting the newlines passed.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.b.len());
        self.line += self.b[self.i..to].iter().filter(|&&c| c == b'\n').count() as u32;
        self.i = to;
    }

    fn close_piece(&mut self, end: usize) {
        if let Some(start) = self.piece_start.take() {
            if end > start {
                self.pieces.push(Piece::Source(start, end));
            }
        }
    }

    fn run(mut self) -> Result<Vec<Item>, ScriptError> {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if !self.in_statement() {
                if c.is_ascii_whitespace() {
                    self.advance_to(self.i + 1);
                    continue;
                }
                if c == b'-' && self.at(self.i + 1) == Some(b'-') {
                    let end = self.line_end(self.i);
                    self.advance_to(end);
                    continue;
                }
                if c != b'\\' {
                    self.piece_start = Some(self.i);
                    self.stmt_line = self.line;
                }
            }
            match c {
                b'-' if self.at(self.i + 1) == Some(b'-') => {
                    let end = self.line_end(self.i);
                    self.advance_to(end);
                }
                b'/' if self.at(self.i + 1) == Some(b'*') => {
                    let end = skip_block_comment(self.b, self.i);
                    self.advance_to(end);
                }
                b'\'' => {
                    // U&'...' has its own escapes (never backslashes, whatever
                    // standard_conforming_strings says); E'...' always takes them.
                    let unicode = self.i >= 2
                        && self.b[self.i - 1] == b'&'
                        && matches!(self.b[self.i - 2], b'u' | b'U')
                        && (self.i < 3 || !is_ident_byte(self.b[self.i - 3]));
                    let escapes = !unicode
                        && (!self.std_strings
                            || (self.i > 0
                                && matches!(self.b[self.i - 1], b'e' | b'E')
                                && (self.i < 2 || !is_ident_byte(self.b[self.i - 2]))));
                    let end = skip_quoted(self.b, self.i, b'\'', escapes);
                    self.advance_to(end);
                }
                b'"' => {
                    let end = skip_quoted(self.b, self.i, b'"', false);
                    self.advance_to(end);
                }
                b'$' if self.i == 0 || !is_ident_byte(self.b[self.i - 1]) => {
                    match dollar_tag_end(self.b, self.i) {
                        Some(tag_end) => {
                            let tag = &self.b[self.i..=tag_end];
                            let end = find(self.b, tag_end + 1, tag)
                                .map_or(self.b.len(), |p| p + tag.len());
                            self.advance_to(end);
                        }
                        None => self.i += 1,
                    }
                }
                b':' => self.variable()?,
                b'\\' => {
                    if self.meta_command()? {
                        break;
                    }
                }
                b'(' => {
                    self.paren_depth += 1;
                    self.i += 1;
                }
                b')' => {
                    self.paren_depth -= 1;
                    self.i += 1;
                }
                b';' if self.paren_depth <= 0 && self.atomic_depth <= 0 => {
                    self.i += 1;
                    self.finish_statement()?;
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => self.word(),
                b'\n' => self.advance_to(self.i + 1),
                _ => self.i += 1,
            }
        }
        self.finish_statement()?;
        Ok(self.items)
    }

    fn line_end(&self, from: usize) -> usize {
        self.b[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(self.b.len(), |p| from + p)
    }

    fn word(&mut self) {
        let start = self.i;
        while self.i < self.b.len() && is_ident_byte(self.b[self.i]) {
            self.i += 1;
        }
        let word = &self.b[start..self.i];
        let is = |w: &str| word.eq_ignore_ascii_case(w.as_bytes());
        if (is("ATOMIC") && self.prev_begin) || (self.atomic_depth > 0 && is("CASE")) {
            self.atomic_depth += 1;
        } else if self.atomic_depth > 0 && is("END") {
            self.atomic_depth -= 1;
        }
        self.prev_begin = is("BEGIN");
    }

    /// `:name`, `:'name'` and `:"name"` outside quotes, as psql interpolates them.
    /// psql's automatic variables hold what happened at run time (the last statement's row
    /// count or error, the server's version); the runner interpolates when it reads the file,
    /// before any statement runs, so a script that reads one is refused unless it set it itself.
    fn check_automatic(&self, name: &str, line: u32) -> Result<(), ScriptError> {
        if let Some((_, why)) = DIFFERING_VARIABLES.iter().find(|(n, _)| *n == name) {
            if !self.vars.contains_key(name) {
                return Err(ScriptError::Unsupported {
                    line,
                    command: format!(":{name}"),
                    why,
                });
            }
        }
        if AUTOMATIC_VARIABLES.contains(&name) && !self.vars.contains_key(name) {
            return Err(ScriptError::Unsupported {
                line,
                command: format!(":{name}"),
                why: "psql sets this variable while the script runs; the runner interpolates variables when it reads the file, before any statement runs: compute the value in SQL instead (GET DIAGNOSTICS in a DO block, current_database(), current_setting('server_version_num'))",
            });
        }
        Ok(())
    }

    fn variable(&mut self) -> Result<(), ScriptError> {
        let start = self.i;
        if self.at(start + 1) == Some(b':') {
            self.i += 2;
            return Ok(());
        }
        // `:{?name}`: TRUE when the variable is set, else FALSE, as psql sends it.
        if let Some((defined, end)) = self.defined_test(start) {
            self.close_piece(start);
            self.pieces
                .push(Piece::Owned(if defined { "TRUE" } else { "FALSE" }.into()));
            self.i = end;
            self.piece_start = Some(end);
            return Ok(());
        }
        let (quote, name_start) = match self.at(start + 1) {
            Some(q @ (b'\'' | b'"')) => (Some(q), start + 2),
            _ => (None, start + 1),
        };
        let mut end = name_start;
        while end < self.b.len() && is_var_byte(self.b[end]) {
            end += 1;
        }
        let closed = match quote {
            Some(q) => self.at(end) == Some(q),
            None => true,
        };
        let name = std::str::from_utf8(&self.b[name_start..end]).unwrap_or("");
        if end > name_start && closed {
            self.check_automatic(name, self.line)?;
        }
        let value = match self.vars.get(name) {
            Some(v) if end > name_start && closed => v,
            _ => {
                self.i += 1;
                return Ok(());
            }
        };
        if quote.is_none() && needs_relexing(value) {
            return Err(ScriptError::Unsupported {
                line: self.line,
                command: format!(":{name}"),
                why: "its value holds a ';', a backslash, a comment, a dollar quote, an open quote or another variable, which psql would read again as script text (splitting statements, running meta-commands, interpolating); the runner sends a value as it is: write the statements out, or interpolate with :'name' (a literal) or :\"name\" (an identifier)",
            });
        }
        let text = match quote {
            None => value.clone(),
            Some(b'\'') => quote_literal(value),
            Some(_) => format!("\"{}\"", value.replace('"', "\"\"")),
        };
        let token_end = if quote.is_some() { end + 1 } else { end };
        self.close_piece(start);
        self.pieces.push(Piece::Owned(text));
        self.i = token_end;
        self.piece_start = Some(token_end);
        Ok(())
    }

    /// Handles a backslash command at `self.i`; returns true on `\q`.
    fn meta_command(&mut self) -> Result<bool, ScriptError> {
        let line = self.line;
        let start = self.i;
        if self.at(start + 1) == Some(b';') {
            if !self.in_statement() {
                self.stmt_line = line;
            }
            self.close_piece(start);
            self.pieces.push(Piece::Owned(";".into()));
            self.i = start + 2;
            self.piece_start = Some(self.i);
            return Ok(false);
        }
        let was_in_statement = self.in_statement();
        self.close_piece(start);
        let mut name_end = start + 1;
        while name_end < self.b.len()
            && !self.b[name_end].is_ascii_whitespace()
            && self.b[name_end] != b'\\'
        {
            name_end += 1;
        }
        let name = String::from_utf8_lossy(&self.b[start + 1..name_end]).into_owned();
        let (args, args_end) = self.meta_args(name_end, line)?;
        self.advance_to(args_end);
        let unsupported = |why: &'static str| ScriptError::Unsupported {
            line,
            command: name.clone(),
            why,
        };
        match name.as_str() {
            "g" if args.is_empty() => {
                if was_in_statement {
                    self.finish_statement()?;
                } else if let Some(Item::Sql { text, .. }) =
                    self.last_sql.and_then(|i| self.items.get(i)).cloned()
                {
                    self.items.push(Item::Sql { line, text });
                }
                return Ok(false);
            }
            "g" => return Err(unsupported("\\g sends query output to a file or a pipe, which a scheduled job does not have; end the statement with ; instead")),
            "set" => self.set(args, line)?,
            "unset" => {
                for name in &args {
                    self.vars.remove(name);
                    if name == "ON_ERROR_STOP" {
                        self.items.push(Item::OnErrorStop(false));
                    }
                }
            }
            "echo" | "qecho" | "warn" => {
                let text = match args.first().map(String::as_str) {
                    Some("-n") => args[1..].join(" "),
                    _ => args.join(" "),
                };
                self.items.push(Item::Echo { line, text });
            }
            "timing" | "pset" | "x" | "a" | "t" | "f" | "C" | "H" | "T" => {}
            "r" | "reset" => {
                self.pieces.clear();
                self.piece_start = None;
                self.paren_depth = 0;
                self.atomic_depth = 0;
                return Ok(false);
            }
            "q" | "quit" => {
                self.pieces.clear();
                self.piece_start = None;
                return Ok(true);
            }
            other => return Err(unsupported(refusal(other))),
        }
        if was_in_statement {
            self.piece_start = Some(self.i);
        }
        Ok(false)
    }

    /// Arguments of a meta-command up to the end of the line (or `\\`), de-quoted and with
    /// variables interpolated; returns them and where they end.
    /// `:{?name}` at `at` (the colon): whether `name` is set, and where the token ends.
    fn defined_test(&self, at: usize) -> Option<(bool, usize)> {
        if self.at(at) != Some(b':')
            || self.at(at + 1) != Some(b'{')
            || self.at(at + 2) != Some(b'?')
        {
            return None;
        }
        let mut end = at + 3;
        while end < self.b.len() && is_var_byte(self.b[end]) {
            end += 1;
        }
        if end == at + 3 || self.at(end) != Some(b'}') {
            return None;
        }
        let name = std::str::from_utf8(&self.b[at + 3..end]).ok()?;
        Some((self.vars.contains_key(name), end + 1))
    }

    fn meta_args(&self, from: usize, line: u32) -> Result<(Vec<String>, usize), ScriptError> {
        let unterminated = || ScriptError::Invalid {
            line,
            message: "unterminated quoted string in a meta-command".into(),
        };
        let mut args = Vec::new();
        let mut i = from;
        loop {
            while i < self.b.len() && self.b[i] != b'\n' && self.b[i].is_ascii_whitespace() {
                i += 1;
            }
            match self.at(i) {
                None | Some(b'\n') => return Ok((args, i)),
                Some(b'\\') if self.at(i + 1) == Some(b'\\') => return Ok((args, i + 2)),
                Some(b'\\') => return Ok((args, i)),
                _ => {}
            }
            let mut arg = Vec::new();
            while i < self.b.len() && !self.b[i].is_ascii_whitespace() {
                if let Some((defined, end)) = self.defined_test(i) {
                    arg.extend_from_slice(if defined { b"TRUE" } else { b"FALSE" });
                    i = end;
                    continue;
                }
                match self.b[i] {
                    b'\'' => {
                        i += 1;
                        loop {
                            match self.at(i) {
                                None | Some(b'\n') => return Err(unterminated()),
                                Some(b'\'') if self.at(i + 1) == Some(b'\'') => {
                                    arg.push(b'\'');
                                    i += 2;
                                }
                                Some(b'\'') => {
                                    i += 1;
                                    break;
                                }
                                Some(b'\\') => {
                                    let (c, n) = single_quote_escape(&self.b[i + 1..]);
                                    arg.push(c);
                                    i += 1 + n;
                                }
                                Some(c) => {
                                    arg.push(c);
                                    i += 1;
                                }
                            }
                        }
                    }
                    // Double-quoted text is kept as it is, quotes and blanks included, with
                    // nothing interpolated in it (psqlscanslash.l's xslashdquote).
                    b'"' => {
                        let rest = &self.b[i + 1..];
                        match rest.iter().position(|&c| c == b'"' || c == b'\n') {
                            Some(len) if rest[len] == b'"' => {
                                arg.extend_from_slice(&self.b[i..i + len + 2]);
                                i += len + 2;
                            }
                            _ => return Err(unterminated()),
                        }
                    }
                    b'`' => {
                        return Err(ScriptError::Unsupported {
                            line,
                            command: "`...`".into(),
                            why: "backquoted shell commands need a shell, which a scheduled job does not have",
                        })
                    }
                    b':' if self.at(i + 1).is_some_and(is_var_byte) => {
                        let mut end = i + 1;
                        while end < self.b.len() && is_var_byte(self.b[end]) {
                            end += 1;
                        }
                        let name = String::from_utf8_lossy(&self.b[i + 1..end]);
                        self.check_automatic(&name, line)?;
                        match self.vars.get(name.as_ref()) {
                            Some(v) => arg.extend_from_slice(v.as_bytes()),
                            None => arg.extend_from_slice(&self.b[i..end]),
                        }
                        i = end;
                    }
                    // :'name' and :"name" as psql interpolates them in meta-command arguments:
                    // the value as a literal or an identifier.
                    b':' if matches!(self.at(i + 1), Some(b'\'' | b'"'))
                        && self.at(i + 2).is_some_and(is_var_byte) =>
                    {
                        let quote = self.b[i + 1];
                        let mut end = i + 2;
                        while end < self.b.len() && is_var_byte(self.b[end]) {
                            end += 1;
                        }
                        let name = String::from_utf8_lossy(&self.b[i + 2..end]).into_owned();
                        self.check_automatic(&name, line)?;
                        match (self.at(end) == Some(quote), self.vars.get(&name)) {
                            (true, Some(v)) => {
                                let text = if quote == b'\'' {
                                    quote_literal(v)
                                } else {
                                    format!("\"{}\"", v.replace('"', "\"\""))
                                };
                                arg.extend_from_slice(text.trim_start().as_bytes());
                                i = end + 1;
                            }
                            // Undefined: the token stays as written, quotes included, as
                            // psql leaves it.
                            (true, None) => {
                                arg.extend_from_slice(&self.b[i..=end]);
                                i = end + 1;
                            }
                            (false, _) => {
                                arg.push(b':');
                                i += 1;
                            }
                        }
                    }
                    b'\\' => break,
                    c => {
                        arg.push(c);
                        i += 1;
                    }
                }
            }
            args.push(String::from_utf8_lossy(&arg).into_owned());
        }
    }

    fn set(&mut self, args: Vec<String>, line: u32) -> Result<(), ScriptError> {
        let Some((name, values)) = args.split_first() else {
            return Ok(());
        };
        let value = values.concat();
        match name.as_str() {
            "ON_ERROR_STOP" => {
                let on = parse_psql_bool(&value).ok_or_else(|| ScriptError::Invalid {
                    line,
                    message: format!("\\set ON_ERROR_STOP {value}: expected on or off"),
                })?;
                self.items.push(Item::OnErrorStop(on));
            }
            "ON_ERROR_ROLLBACK" if !matches!(value.to_ascii_lowercase().as_str(), "off" | "false" | "0" | "no") => {
                return Err(ScriptError::Unsupported {
                    line,
                    command: format!("set ON_ERROR_ROLLBACK {value}"),
                    why: "the runner does not wrap statements in savepoints; catch the error in SQL (a DO block with EXCEPTION, or a procedure) where the transaction must go on",
                })
            }
            "FETCH_COUNT" if value.trim().parse::<i64>().is_ok_and(|n| n > 0) => {
                return Err(ScriptError::Unsupported {
                    line,
                    command: format!("set FETCH_COUNT {value}"),
                    why: "the runner reads rows as they arrive and keeps none (memory stays bounded without a cursor); remove it",
                })
            }
            "AUTOCOMMIT" if parse_psql_bool(&value) == Some(false) => {
                return Err(ScriptError::Unsupported {
                    line,
                    command: "set AUTOCOMMIT off".into(),
                    why: "use TRANSACTION=true (transaction = true in the module) to run the whole job in one transaction",
                })
            }
            _ => {}
        }
        self.vars.insert(name.clone(), value);
        Ok(())
    }

    /// Ends the statement being read (if any) and records it.
    fn finish_statement(&mut self) -> Result<(), ScriptError> {
        self.close_piece(self.i);
        self.paren_depth = 0;
        self.atomic_depth = 0;
        self.prev_begin = false;
        if self.pieces.is_empty() {
            return Ok(());
        }
        let text = match self.pieces.as_slice() {
            [Piece::Source(start, end)] => {
                let end = trim_end(self.b, *start, *end);
                Text::Source(*start as u32, end as u32)
            }
            pieces => {
                let mut s = String::new();
                for p in pieces {
                    match p {
                        Piece::Source(a, b) => {
                            s.push_str(&String::from_utf8_lossy(&self.b[*a..*b]))
                        }
                        Piece::Owned(o) => s.push_str(o),
                    }
                }
                Text::Owned(s.trim_end().into())
            }
        };
        self.pieces.clear();
        let body: &[u8] = match &text {
            Text::Source(a, b) => &self.b[*a as usize..*b as usize],
            Text::Owned(s) => s.as_bytes(),
        };
        if only_comments(body) {
            return Ok(());
        }
        // Only COPY and the statements that change standard_conforming_strings need a closer
        // look; the first word, compared in place, says whether this is one (most are not).
        let first = Words { b: body, i: 0 }.next().unwrap_or_default();
        let examine = [&b"COPY"[..], b"SET", b"RESET", b"DISCARD"]
            .iter()
            .any(|k| first.eq_ignore_ascii_case(k));
        let words = if examine {
            leading_words(body, 6)
        } else {
            Vec::new()
        };
        if is_copy_with_client(&words, body) {
            return Err(ScriptError::Invalid {
                line: self.stmt_line,
                message: "COPY ... TO STDOUT / FROM STDIN needs a client that reads or writes the data, which a scheduled job does not have: COPY to or from the server (aws_s3 extension), or use an export job".into(),
            });
        }
        if let Some(on) = standard_conforming_strings_change(&words) {
            self.std_strings = on;
        }
        let line = self.stmt_line;
        self.last_sql = Some(self.items.len());
        self.items.push(Item::Sql { line, text });
        Ok(())
    }
}

/// Why a psql meta-command the runner does not honour is refused.
fn refusal(command: &str) -> &'static str {
    match command {
        "gset" | "gexec" | "gx" | "gdesc" | "crosstabview" => "the runner does not keep query results; compute the value in SQL (a CTE, a DO block or a function) instead",
        "copy" => "client-side files do not exist in a scheduled job; use server-side COPY (aws_s3 extension) or an export job",
        "i" | "ir" | "include" | "include_relative" => "a scheduled job runs one file; paste the included file's content into this script",
        "!" | "cd" => "there is no shell in a scheduled job",
        "setenv" | "getenv" => "the job's environment is its function's configuration, not a place for script variables; set the value with \\set",
        "encoding" => "the runner talks UTF-8 to the server; convert in SQL (convert_to, convert_from) instead",
        "c" | "connect" => "a job connects to one database; split the script into one job per database",
        "if" | "elif" | "else" | "endif" => "conditionals are not supported; use a DO block with IF ... THEN",
        "o" | "out" | "w" | "write" => "query output is not written to files by a scheduled job",
        "prompt" | "password" => "a scheduled job cannot ask for input",
        _ => "supported are \\set, \\unset, \\echo, \\qecho, \\warn, \\g, \\;, \\r, \\q, and \\timing, \\pset, \\x, \\a, \\t, \\f, \\C, \\H, \\T (output settings: accepted and ignored)",
    }
}

fn parse_psql_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "" | "on" | "true" | "1" | "yes" | "t" | "y" => Some(true),
        "off" | "false" | "0" | "no" | "f" | "n" => Some(false),
        _ => None,
    }
}

/// libpq's `PQescapeLiteral`: doubles quotes; with backslashes, an `E''` literal after a space.
fn quote_literal(value: &str) -> String {
    if value.contains('\\') {
        format!(" E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The variables psql sets itself (psql's documentation, "Special Variables").
/// The byte a backslash escape inside a single-quoted meta-command argument stands for, given
/// the bytes after the backslash, and how many of them it takes: `\n`, `\t`, `\b`, `\r`, `\f`,
/// one to three octal digits, `x` and one or two hex digits (the longest match, as psql's
/// lexer takes), else the character itself.
fn single_quote_escape(after: &[u8]) -> (u8, usize) {
    let Some(&first) = after.first() else {
        return (b'\\', 0);
    };
    let octal = after
        .iter()
        .take(3)
        .take_while(|c| (b'0'..=b'7').contains(c))
        .count();
    if octal > 0 {
        let value = after[..octal]
            .iter()
            .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
        return (value.to_le_bytes()[0], octal);
    }
    if first == b'x' {
        let hex = after[1..]
            .iter()
            .take(2)
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if hex > 0 {
            let value = after[1..=hex].iter().fold(0u8, |acc, &d| {
                acc.wrapping_mul(16)
                    .wrapping_add(char::from(d).to_digit(16).unwrap_or(0) as u8)
            });
            return (value, 1 + hex);
        }
    }
    let byte = match first {
        b'n' => b'\n',
        b't' => b'\t',
        b'b' => 0x08,
        b'r' => b'\r',
        b'f' => 0x0c,
        other => other,
    };
    (byte, 1)
}

/// The variables psql sets at start-up that mean the same for the runner, with psql's values
/// (psql 15, `psql -X`): a script that interpolates one gets what psql would send.
const PRESET_VARIABLES: &[(&str, &str)] = &[
    ("AUTOCOMMIT", "on"),
    ("COMP_KEYWORD_CASE", "preserve-upper"),
    ("ECHO", "none"),
    ("ECHO_HIDDEN", "off"),
    ("FETCH_COUNT", "0"),
    ("HIDE_TABLEAM", "off"),
    ("HIDE_TOAST_COMPRESSION", "off"),
    ("HISTCONTROL", "none"),
    ("HISTSIZE", "500"),
    ("IGNOREEOF", "0"),
    ("ON_ERROR_ROLLBACK", "off"),
    ("QUIET", "off"),
    ("SHOW_CONTEXT", "errors"),
    ("SINGLELINE", "off"),
    ("SINGLESTEP", "off"),
    ("VERBOSITY", "default"),
];

/// Variables psql sets whose value the runner cannot give as psql would: refused unless the
/// script sets them first, with why.
const DIFFERING_VARIABLES: &[(&str, &str)] = &[
    ("ON_ERROR_STOP", "psql starts with ON_ERROR_STOP off, the runner with on: \\set ON_ERROR_STOP on (or off) before using :ON_ERROR_STOP"),
    ("PROMPT1", "psql's prompts are display settings the runner has none of: write the text out"),
    ("PROMPT2", "psql's prompts are display settings the runner has none of: write the text out"),
    ("PROMPT3", "psql's prompts are display settings the runner has none of: write the text out"),
];

const AUTOMATIC_VARIABLES: &[&str] = &[
    "DBNAME",
    "ENCODING",
    "ERROR",
    "HOST",
    "LAST_ERROR_MESSAGE",
    "LAST_ERROR_SQLSTATE",
    "PORT",
    "ROW_COUNT",
    "SERVER_VERSION_NAME",
    "SERVER_VERSION_NUM",
    "SQLSTATE",
    "USER",
    "VERSION",
    "VERSION_NAME",
    "VERSION_NUM",
    "SHELL_ERROR",
    "SHELL_EXIT_CODE",
];

/// Whether psql, which reads an interpolated value again as script text, could read `value`
/// differently from the runner, which sends it as it is: a `;` that would end the statement, a
/// backslash that would start a meta-command, a variable reference psql would interpolate in
/// turn, a comment, a dollar quote or a quote left open (outside quoted parts, where psql
/// changes nothing).
fn needs_relexing(value: &str) -> bool {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                let mut j = i + 1;
                loop {
                    match b.get(j) {
                        None => return true,
                        Some(&c) if c == q && b.get(j + 1) == Some(&q) => j += 2,
                        Some(&c) if c == q => break,
                        // Whether it escapes depends on standard_conforming_strings.
                        Some(b'\\') if q == b'\'' => return true,
                        _ => j += 1,
                    }
                }
                i = j + 1;
                continue;
            }
            b';' | b'\\' => return true,
            b'-' if b.get(i + 1) == Some(&b'-') => return true,
            b'/' if b.get(i + 1) == Some(&b'*') => return true,
            b'$' if dollar_tag_end(b, i).is_some() => return true,
            b':' if b.get(i + 1) == Some(&b':') => {
                i += 2;
                continue;
            }
            b':' if b
                .get(i + 1)
                .is_some_and(|&c| is_var_byte(c) || c == b'\'' || c == b'"') =>
            {
                return true
            }
            _ => {}
        }
        i += 1;
    }
    false
}

fn is_var_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    end
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The leading words of a statement as they are written (comments and punctuation skipped; a
/// quoted string is one word, its content), up to the end of the statement.
struct Words<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let b = self.b;
        while self.i < b.len() {
            let i = self.i;
            if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
                while self.i < b.len() && b[self.i] != b'\n' {
                    self.i += 1;
                }
            } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                self.i = skip_block_comment(b, i);
            } else if b[i] == b'\'' {
                let end = skip_quoted(b, i, b'\'', false);
                self.i = end;
                return Some(&b[i + 1..end.saturating_sub(1).max(i + 1)]);
            } else if is_var_byte(b[i]) {
                while self.i < b.len() && is_var_byte(b[self.i]) {
                    self.i += 1;
                }
                return Some(&b[i..self.i]);
            } else if b[i] == b';' {
                self.i = b.len();
            } else {
                self.i += 1;
            }
        }
        None
    }
}

/// Up to `n` upper-cased leading words of a statement (see [`Words`]).
fn leading_words(b: &[u8], n: usize) -> Vec<String> {
    Words { b, i: 0 }
        .take(n)
        .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase())
        .collect()
}

/// The first keyword of a statement, upper-cased (comments skipped); empty when none.
pub fn leading_keyword(statement: &str) -> String {
    leading_words(statement.as_bytes(), 1)
        .pop()
        .unwrap_or_default()
}

fn is_copy_with_client(words: &[String], body: &[u8]) -> bool {
    if words.first().map(String::as_str) != Some("COPY") {
        return false;
    }
    leading_words(body, usize::MAX)
        .windows(2)
        // PostgreSQL takes STDIN and STDOUT for either direction (`COPY t FROM STDOUT` reads
        // from the client too).
        .any(|w| {
            matches!(w[0].as_str(), "TO" | "FROM") && matches!(w[1].as_str(), "STDOUT" | "STDIN")
        })
}

/// `SET [SESSION|LOCAL] standard_conforming_strings TO|= on|off`, `RESET` of it or `RESET ALL` /
/// `DISCARD ALL`: the value psql's lexer uses from the next statement on.
fn standard_conforming_strings_change(words: &[String]) -> Option<bool> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["RESET", "STANDARD_CONFORMING_STRINGS", ..]
        | ["RESET", "ALL", ..]
        | ["DISCARD", "ALL", ..] => Some(true),
        ["SET", "SESSION" | "LOCAL", "STANDARD_CONFORMING_STRINGS", rest @ ..]
        | ["SET", "STANDARD_CONFORMING_STRINGS", rest @ ..] => {
            let value = rest.iter().find(|v| **v != "TO")?;
            match *value {
                "DEFAULT" => Some(true),
                v => parse_psql_bool(v).filter(|_| !v.is_empty()),
            }
        }
        _ => None,
    }
}

fn only_comments(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() || b[i] == b';' {
            i += 1;
        } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i = skip_block_comment(b, i);
            // An unterminated comment is sent, as psql sends it (the server refuses it).
            if !b[..i].ends_with(b"*/") {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

/// Returns the index just past a (possibly nested) `/* ... */` comment starting at `i`.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// Returns the index just past a quoted string or identifier starting at `i`.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    i += 1;
    while i < b.len() {
        let c = b[i];
        if backslash_escapes && c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// If a dollar-quote tag (`$$` or `$tag$`) starts at `i`, returns the index of its closing `$`.
fn dollar_tag_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    while let Some(&c) = b.get(j) {
        if c == b'$' {
            return Some(j);
        }
        if !(c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80) {
            return None;
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(script: &str) -> Vec<String> {
        Script::parse(script.to_string())
            .unwrap()
            .statements()
            .map(str::to_string)
            .collect()
    }

    fn refused(script: &str) -> String {
        Script::parse(script.to_string()).unwrap_err().to_string()
    }

    #[test]
    fn set_arguments_are_read_as_psql_reads_them() {
        // Values checked against psql 15 (`\\echo`): double quotes and their blanks kept,
        // nothing interpolated inside them; octal and hex escapes in single quotes.
        let got = split(concat!(
            "\\set x abc\n\\set t \"My Table\"\n\\set u \"a:x b\"\n",
            "\\set c 'oct\\101' 'hex\\x41' 'n\\x4a3' '\\b\\f'\n",
            "CREATE TABLE :t (a int);\nSELECT :'u', :'c';\n"
        ));
        assert_eq!(
            got,
            vec![
                "CREATE TABLE \"My Table\" (a int);",
                "SELECT '\"a:x b\"', 'octAhexAnJ3\u{8}\u{c}';"
            ]
        );
        assert!(refused("\\set t \"open\nSELECT 1;").contains("unterminated"));
        // Only a colon starts `:{?name}`.
        assert_eq!(
            split("\\set d 1\n\\set e x{?d}\nSELECT :'e';"),
            vec!["SELECT 'x{?d}';"]
        );
    }

    #[test]
    fn psql_presets_are_psqls_or_refused() {
        assert_eq!(
            split("SELECT :'AUTOCOMMIT', :'VERBOSITY', :'FETCH_COUNT', :'SHOW_CONTEXT';"),
            vec!["SELECT 'on', 'default', '0', 'errors';"]
        );
        // psql starts with ON_ERROR_STOP off, the runner with on.
        assert!(refused("\\set x :ON_ERROR_STOP\nSELECT 1;").contains(":ON_ERROR_STOP"));
        assert_eq!(
            split("\\set ON_ERROR_STOP on\n\\set x :ON_ERROR_STOP\nSELECT :'x';"),
            vec!["SELECT 'on';"]
        );
        // :{?name} in SQL and in meta-command arguments; LASTOID is unset, as in psql -X.
        assert_eq!(
            split("\\set d 1\n\\set e :{?d}:{?nope}\nSELECT :{?d}, :{?nope}, :'e', :LASTOID;"),
            vec!["SELECT TRUE, FALSE, 'TRUEFALSE', :LASTOID;"]
        );
    }

    #[test]
    fn splits_plain_statements_and_drops_empty_ones() {
        let got = split("SELECT 1;\n\n; SELECT 2 ;\n-- trailing comment\n");
        assert_eq!(got, vec!["SELECT 1;", "SELECT 2 ;"]);
    }

    #[test]
    fn keeps_semicolons_inside_quotes_and_identifiers() {
        let got = split(
            "INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT \"we;ird\" FROM x; SELECT E'\\';'",
        );
        assert_eq!(
            got,
            vec![
                "INSERT INTO t VALUES ('a;b', 'it''s;');",
                "SELECT \"we;ird\" FROM x;",
                "SELECT E'\\';'"
            ]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies_whole() {
        let script = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT $1;";
        let got = split(script);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].ends_with("LANGUAGE plpgsql;"));
        assert_eq!(got[1], "DO $$ BEGIN PERFORM 1; END $$;");
        assert_eq!(got[2], "SELECT $1;");
    }

    #[test]
    fn ignores_semicolons_in_comments_and_drops_leading_line_comments() {
        let got = split("-- header\nSELECT 1 -- a; b\n; /* x; /* nested; */ y; */ SELECT 2");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].starts_with("SELECT 1"));
        assert!(got[1].starts_with("/* x;") && got[1].ends_with("SELECT 2"));
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let script = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END; SELECT 3";
        let got = split(script);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], "SELECT 3");
    }

    #[test]
    fn identifier_dollar_is_not_a_quote() {
        assert_eq!(
            split("SELECT a$b$ FROM t; SELECT 2"),
            vec!["SELECT a$b$ FROM t;", "SELECT 2"]
        );
    }

    #[test]
    fn meta_commands_end_the_statement_they_follow() {
        let s = Script::parse(
            "\\set ON_ERROR_STOP on\n\\echo starting\nSELECT 1 \\g\nSELECT 2 \\timing on\n;\nSELECT 3\\; SELECT 4;\n\\pset format unaligned\n\\x\nSELECT 5".into(),
        )
        .unwrap();
        let got: Vec<&str> = s.statements().collect();
        assert_eq!(
            got,
            vec![
                "SELECT 1",
                "SELECT 2 \n;",
                "SELECT 3; SELECT 4;",
                "SELECT 5"
            ]
        );
        assert_eq!(s.items()[0], Item::OnErrorStop(true));
        assert_eq!(
            s.items()[1],
            Item::Echo {
                line: 2,
                text: "starting".into()
            }
        );
        let lines: Vec<u32> = s
            .items()
            .iter()
            .filter_map(|i| match i {
                Item::Sql { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        assert_eq!(lines, vec![3, 4, 6, 9]);
    }

    #[test]
    fn variables_are_interpolated_like_psql() {
        let got = split(
            "\\set days 90\n\\set tbl events\n\\set who 'O''Brien'\n\\set path 'a\\\\b'\nDELETE FROM :\"tbl\" WHERE age > :days AND who = :'who' AND p = :'path' AND x::int = 1 AND y = ':days' AND z = :undefined;",
        );
        assert_eq!(
            got,
            vec!["DELETE FROM \"events\" WHERE age > 90 AND who = 'O''Brien' AND p =  E'a\\\\b' AND x::int = 1 AND y = ':days' AND z = :undefined;"]
        );
    }

    #[test]
    fn standard_conforming_strings_off_changes_quote_rules() {
        let got = split("SET standard_conforming_strings = off;\nSELECT 'a\\'; b';\nSET standard_conforming_strings TO on;\nSELECT 'c\\'; SELECT 'd'");
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[1], "SELECT 'a\\'; b';");
        assert_eq!(got[3], "SELECT 'c\\';");
    }

    #[test]
    fn unsupported_meta_commands_and_copy_name_the_line() {
        let m = refused("SELECT 1;\nSELECT now() AS t \\gset\n");
        assert!(m.starts_with("line 2: psql meta-command \\gset"), "{m}");
        assert!(refused("\\i other.sql").contains("\\i"));
        assert!(refused("\\! rm -rf /").contains("shell"));
        assert!(refused("\\c otherdb").contains("one database"));
        assert!(refused("\\copy t TO 'x.csv'").contains("\\copy"));
        let m = refused("SELECT 1;\n\nCOPY t TO STDOUT WITH (FORMAT csv);");
        assert!(m.starts_with("line 3: COPY"), "{m}");
        assert!(refused("\\set AUTOCOMMIT off").contains("TRANSACTION=true"));
        assert!(Script::parse("COPY t TO '/tmp/x.csv';".into()).is_ok());
    }

    #[test]
    fn psql_constructs_are_honoured_or_refused_never_ignored() {
        // psql skips a byte-order mark; the server never sees it.
        assert_eq!(split("\u{feff}SELECT 1;\n"), vec!["SELECT 1;"]);
        // NUL bytes are refused before anything runs, with their line.
        let m = refused("SELECT 1;\nSELECT 2;\nSELECT '\0';");
        assert!(m.starts_with("line 3:") && m.contains("NUL"), "{m}");
        // An unterminated comment is sent, as psql sends it (the server refuses it).
        assert_eq!(
            split("SELECT 1;\n/* never closed\n"),
            vec!["SELECT 1;", "/* never closed"]
        );
        // COPY ... FROM STDOUT is COPY from the client, as PostgreSQL reads it.
        assert!(refused("COPY t FROM STDOUT;").contains("COPY"));
        assert!(refused("COPY (SELECT 1) TO STDIN;").contains("COPY"));
        // Settings psql would honour differently are refused, not ignored.
        assert!(refused("\\set ON_ERROR_ROLLBACK on").contains("savepoints"));
        assert!(refused("\\set ON_ERROR_ROLLBACK interactive").contains("savepoints"));
        assert!(Script::parse("\\set ON_ERROR_ROLLBACK off\nSELECT 1;".into()).is_ok());
        assert!(refused("\\set FETCH_COUNT 100").contains("FETCH_COUNT"));
        assert!(Script::parse("\\set FETCH_COUNT 0\nSELECT 1;".into()).is_ok());
        assert!(refused("\\encoding LATIN1").contains("UTF-8"));
        assert!(refused("\\getenv home HOME").contains("\\set"));
        let m = refused("\\lo_import x");
        for listed in ["\\C", "\\H", "\\T", "\\g"] {
            assert!(m.contains(listed), "{listed} missing from: {m}");
        }
        assert!(!m.contains("encoding"), "{m}");
    }

    #[test]
    fn meta_command_arguments_interpolate_like_psql() {
        let got = split("\\set fn /tmp/x\n\\set body 'a ' :'fn' ' b'\nSELECT :'body';");
        assert_eq!(got, vec!["SELECT 'a ''/tmp/x'' b';"]);
        let got = split("\\set t my_table\n\\set q 'x' :\"t\"\nSELECT :'q';");
        assert_eq!(got, vec!["SELECT 'x\"my_table\"';"]);
        // An undefined name stays as written, as psql leaves it.
        let got = split("\\set q 'x' :'nope'\nSELECT :'q';");
        assert_eq!(got, vec!["SELECT 'x:''nope''';"]);
    }

    #[test]
    fn values_psql_would_read_again_are_refused() {
        let m = refused("\\set two 'SELECT 1; SELECT 2'\n:two;");
        assert!(m.contains(":two") && m.contains("';'"), "{m}");
        assert!(refused("\\set q '\\\\q'\n:q\nSELECT 1;").contains(":q"));
        assert!(refused("\\set a 'x :b'\nSELECT :a;").contains(":a"));
        // Values psql reads back the same are sent as they are.
        assert_eq!(
            split("\\set d '''90 days'''\nSELECT now() - interval :d;"),
            vec!["SELECT now() - interval '90 days';"]
        );
        assert_eq!(
            split("\\set ts 'now()::date'\nSELECT :ts;"),
            vec!["SELECT now()::date;"]
        );
        assert_eq!(
            split("\\set x '''a;b'''\nSELECT :x;"),
            vec!["SELECT 'a;b';"]
        );
        // psql's automatic variables are set while psql runs: refused unless the script sets them.
        assert!(refused("SELECT :ROW_COUNT;").contains("ROW_COUNT"));
        assert!(refused("SELECT :'SQLSTATE';").contains("SQLSTATE"));
        assert!(refused("\\echo :LAST_ERROR_MESSAGE").contains("LAST_ERROR_MESSAGE"));
        assert_eq!(
            split("\\set USER bob\nSELECT :'USER';"),
            vec!["SELECT 'bob';"]
        );
    }

    #[test]
    fn unicode_literals_never_take_backslash_escapes() {
        let got = split(
            "SET standard_conforming_strings = off;\nSELECT U&'d\\0061t\\+000061';\nSELECT 'it\\'s';\nSELECT 3;",
        );
        assert_eq!(
            got,
            vec![
                "SET standard_conforming_strings = off;",
                "SELECT U&'d\\0061t\\+000061';",
                "SELECT 'it\\'s';",
                "SELECT 3;"
            ]
        );
    }

    #[test]
    fn q_stops_and_g_repeats() {
        assert_eq!(
            split("SELECT 1;\n\\g\n\\q\nSELECT 2;"),
            vec!["SELECT 1;", "SELECT 1;"]
        );
    }

    #[test]
    fn large_scripts_are_held_once() {
        let script: String = (0..1000)
            .map(|i| format!("INSERT INTO t VALUES ({i});\n"))
            .collect();
        let s = Script::parse(script).unwrap();
        assert_eq!(s.statement_count(), 1000);
        assert!(s.items().iter().all(|i| matches!(
            i,
            Item::Sql {
                text: Text::Source(..),
                ..
            }
        )));
    }
}
