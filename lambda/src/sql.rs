//! Splitting a SQL script into statements the way `psql` does: semicolons inside quotes,
//! dollar quotes, comments, parentheses and `BEGIN ATOMIC ... END` bodies do not split.

/// Splits `script` into trimmed statements, dropping empty ones and ones that hold only comments.
pub fn split_statements(script: &str) -> Vec<String> {
    let chars: Vec<char> = script.chars().collect();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut paren_depth: i32 = 0;
    let mut atomic_depth: i32 = 0;
    let mut prev_word = String::new();

    while i < chars.len() {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i = skip_block_comment(&chars, i);
                continue;
            }
            '\'' => {
                let backslash_escapes = i > 0
                    && matches!(chars[i - 1], 'e' | 'E')
                    && (i < 2 || !is_ident_char(chars[i - 2]));
                i = skip_quoted(&chars, i, '\'', backslash_escapes);
                continue;
            }
            '"' => {
                i = skip_quoted(&chars, i, '"', false);
                continue;
            }
            '$' if i == 0 || !is_ident_char(chars[i - 1]) => {
                if let Some(tag_end) = dollar_tag_end(&chars, i) {
                    let tag: String = chars[i..=tag_end].iter().collect();
                    i = skip_dollar_body(&chars, tag_end + 1, &tag);
                    continue;
                }
            }
            '(' => paren_depth += 1,
            ')' => paren_depth -= 1,
            ';' if paren_depth <= 0 && atomic_depth <= 0 => {
                push_statement(&mut statements, &chars[start..i]);
                start = i + 1;
                paren_depth = 0;
                atomic_depth = 0;
                prev_word.clear();
            }
            c if c.is_alphabetic() || c == '_' => {
                let word_start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[word_start..i]
                    .iter()
                    .collect::<String>()
                    .to_uppercase();
                let opens_atomic = word == "ATOMIC" && prev_word == "BEGIN";
                if opens_atomic || (atomic_depth > 0 && word == "CASE") {
                    atomic_depth += 1;
                } else if atomic_depth > 0 && word == "END" {
                    atomic_depth -= 1;
                }
                prev_word = word;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    push_statement(&mut statements, &chars[start..]);
    statements
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn push_statement(out: &mut Vec<String>, chars: &[char]) {
    let text: String = chars.iter().collect();
    let text = text.trim();
    if !text.is_empty() && !only_comments(text) {
        out.push(text.to_string());
    }
}

fn only_comments(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
        } else if chars[i] == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            i = skip_block_comment(&chars, i);
        } else {
            return false;
        }
    }
    true
}

/// Returns the index just past a (possibly nested) `/* ... */` comment starting at `i`.
fn skip_block_comment(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
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
fn skip_quoted(chars: &[char], mut i: usize, quote: char, backslash_escapes: bool) -> usize {
    i += 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash_escapes && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// If a dollar-quote tag (`$$` or `$tag$`) starts at `i`, returns the index of its closing `$`.
fn dollar_tag_end(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if let Some(&first) = chars.get(j) {
        if first.is_ascii_digit() {
            return None;
        }
    }
    while let Some(&c) = chars.get(j) {
        if c == '$' {
            return Some(j);
        }
        if !(c.is_alphanumeric() || c == '_') {
            return None;
        }
        j += 1;
    }
    None
}

fn skip_dollar_body(chars: &[char], mut i: usize, tag: &str) -> usize {
    let tag: Vec<char> = tag.chars().collect();
    while i < chars.len() {
        if chars[i..].starts_with(&tag) {
            return i + tag.len();
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn splits_plain_statements_and_drops_empty_ones() {
        let got = split_statements("SELECT 1;\n\n; SELECT 2 ;\n-- trailing comment\n");
        assert_eq!(got, vec!["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn keeps_semicolons_inside_quotes_and_identifiers() {
        let got = split_statements(
            "INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT \"we;ird\" FROM x; SELECT E'\\';'",
        );
        assert_eq!(
            got,
            vec![
                "INSERT INTO t VALUES ('a;b', 'it''s;')",
                "SELECT \"we;ird\" FROM x",
                "SELECT E'\\';'"
            ]
        );
    }

    #[test]
    fn keeps_dollar_quoted_bodies_whole() {
        let script = "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT $1;";
        let got = split_statements(script);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].ends_with("LANGUAGE plpgsql"));
        assert_eq!(got[1], "DO $$ BEGIN PERFORM 1; END $$");
        assert_eq!(got[2], "SELECT $1");
    }

    #[test]
    fn ignores_semicolons_in_comments() {
        let got = split_statements("SELECT 1 -- a; b\n; /* x; /* nested; */ y; */ SELECT 2");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].ends_with("SELECT 2"));
    }

    #[test]
    fn keeps_begin_atomic_bodies_whole() {
        let script = "CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END; SELECT 3";
        let got = split_statements(script);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], "SELECT 3");
    }

    #[test]
    fn identifier_dollar_is_not_a_quote() {
        let got = split_statements("SELECT a$b$ FROM t; SELECT 2");
        assert_eq!(got, vec!["SELECT a$b$ FROM t", "SELECT 2"]);
    }
}
