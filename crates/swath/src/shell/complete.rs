//! Line editing support: completion of SQL keywords, tables, columns, functions and
//! meta-commands, and multi-line input until a statement ends with `;`.

use std::sync::{Arc, RwLock};

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

/// SQL keywords offered by completion.
pub const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "COPY",
    "CREATE",
    "DATE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "EXTERNAL",
    "FALSE",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IF",
    "IN",
    "INNER",
    "INTERSECT",
    "INTERVAL",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOCATION",
    "NOT",
    "NULL",
    "NULLS",
    "OFFSET",
    "ON",
    "OPTIONS",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "RIGHT",
    "SELECT",
    "SET",
    "SHOW",
    "STORED",
    "TABLE",
    "TABLES",
    "THEN",
    "TIMESTAMP",
    "TO",
    "TRUE",
    "UNION",
    "UNNEST",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WITH",
    "COG",
    "ZARR",
    "STAC",
    "GEOTIFF",
    "PARQUET",
    "CSV",
    "JSON",
];

/// The meta-commands, for completion and `\?`.
pub const META: &[(&str, &str)] = &[
    ("\\d", "list tables; \\d NAME describes one"),
    (
        "\\h",
        "list the rs_* functions; \\h NAME shows a function's documentation",
    ),
    ("\\i", "\\i FILE runs the statements of a file"),
    (
        "\\timing",
        "toggle (or \\timing on|off) the elapsed time after each statement",
    ),
    (
        "\\format",
        "\\format table|csv|json|markdown sets the output format",
    ),
    ("\\maxrows", "\\maxrows N|all: rows shown in table format"),
    ("\\q", "quit (also Ctrl-D)"),
    ("\\?", "this help"),
];

/// Names the completer offers besides keywords, refreshed after each statement.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Table names.
    pub tables: Vec<String>,
    /// Column names of every table.
    pub columns: Vec<String>,
    /// Function names (scalar, aggregate, window).
    pub functions: Vec<String>,
}

/// The rustyline helper of the shell.
pub struct ShellHelper {
    names: Arc<RwLock<Names>>,
    files: FilenameCompleter,
}

impl ShellHelper {
    /// A helper completing from `names`.
    pub fn new(names: Arc<RwLock<Names>>) -> Self {
        ShellHelper {
            names,
            files: FilenameCompleter::new(),
        }
    }
}

/// Candidates for the word `word` at the end of `line_before` (the line up to the
/// cursor, including the word).
pub fn candidates(names: &Names, line_before: &str, word: &str) -> Vec<String> {
    let trimmed = line_before.trim_start();
    let lower = word.to_ascii_lowercase();
    let starts = |c: &str| c.to_ascii_lowercase().starts_with(&lower);
    let mut out: Vec<String> = Vec::new();
    if trimmed.starts_with('\\') {
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let first_word = words.len() <= 1 && !trimmed.ends_with(' ');
        if first_word {
            out.extend(
                META.iter()
                    .map(|(m, _)| m.to_string())
                    .filter(|m| m.starts_with(trimmed)),
            );
        } else if trimmed.starts_with("\\h") {
            out.extend(names.functions.iter().filter(|f| starts(f)).cloned());
        } else if trimmed.starts_with("\\d") {
            out.extend(names.tables.iter().filter(|t| starts(t)).cloned());
        } else if trimmed.starts_with("\\format") {
            out.extend(
                ["table", "csv", "json", "markdown"]
                    .iter()
                    .filter(|f| starts(f))
                    .map(|f| f.to_string()),
            );
        }
        return out;
    }
    if word.is_empty() {
        return out;
    }
    let upper_case = word.chars().any(|c| c.is_ascii_uppercase());
    out.extend(names.tables.iter().filter(|t| starts(t)).cloned());
    out.extend(names.columns.iter().filter(|t| starts(t)).cloned());
    out.extend(names.functions.iter().filter(|t| starts(t)).cloned());
    out.extend(KEYWORDS.iter().filter(|k| starts(k)).map(|k| {
        if upper_case {
            k.to_string()
        } else {
            k.to_ascii_lowercase()
        }
    }));
    out.sort();
    out.dedup();
    out
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        if before.trim_start().starts_with("\\i ") {
            return self.files.complete(line, pos, ctx);
        }
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '\\'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let names = match self.names.read() {
            Ok(n) => n.clone(),
            Err(_) => return Ok((start, Vec::new())),
        };
        let start = if before.trim_start().starts_with('\\') && !before.contains(' ') {
            before.len() - before.trim_start().len()
        } else {
            start
        };
        let pairs = candidates(&names, before, word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {
    fn validate(
        &self,
        ctx: &mut ValidationContext<'_>,
    ) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let t = input.trim();
        if t.is_empty() || t.starts_with('\\') || super::split::is_complete(input) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            tables: vec!["s2".into(), "sentinel".into()],
            columns: vec!["scl".into(), "red".into(), "datetime".into()],
            functions: vec!["rs_ndvi".into(), "rs_median".into(), "sum".into()],
        }
    }

    #[test]
    fn completes_keywords_names_and_meta() {
        let n = names();
        assert_eq!(candidates(&n, "SEL", "SEL"), vec!["SELECT"]);
        assert_eq!(candidates(&n, "sel", "sel"), vec!["select"]);
        assert_eq!(candidates(&n, "SELECT rs_n", "rs_n"), vec!["rs_ndvi"]);
        assert_eq!(
            candidates(&n, "SELECT * FROM s", "s"),
            vec![
                "s2", "scl", "select", "sentinel", "set", "show", "stac", "stored", "sum"
            ]
        );
        assert_eq!(candidates(&n, "\\ti", "\\ti"), vec!["\\timing"]);
        assert_eq!(candidates(&n, "\\h rs_m", "rs_m"), vec!["rs_median"]);
        assert_eq!(candidates(&n, "\\d se", "se"), vec!["sentinel"]);
        assert!(candidates(&n, "SELECT ", "").is_empty());
    }
}
