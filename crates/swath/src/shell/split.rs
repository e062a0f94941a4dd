//! Splitting SQL text into statements: `;` outside quotes and comments ends one.

/// The statements of `text`, trimmed, without their `;`; empty ones are dropped.
///
/// Quotes (`'…'`, `"…"`, with doubled quotes inside) and comments (`-- …`,
/// `/* … */`) are respected; a comment-only statement is dropped.
pub fn statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    scan(text, |i, c| {
        if c == b';' {
            push(&mut out, &text[start..i]);
            start = i + 1;
        }
    });
    push(&mut out, &text[start..]);
    out
}

/// Whether `text` ends a statement: its last code character (outside quotes and
/// comments) is `;`.
pub fn is_complete(text: &str) -> bool {
    let mut last_code: Option<u8> = None;
    let end = scan(text, |_, c| {
        if !c.is_ascii_whitespace() {
            last_code = Some(c);
        }
    });
    matches!(end, Lex::Code | Lex::LineComment) && last_code == Some(b';')
}

/// Walk `text`, calling `code(index, byte)` for every byte outside quotes and
/// comments (an opening quote counts as code); returns where the text ends.
fn scan(text: &str, mut code: impl FnMut(usize, u8)) -> Lex {
    let bytes = text.as_bytes();
    let mut state = Lex::Code;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            Lex::Code => match c {
                b'-' if next == Some(b'-') => state = Lex::LineComment,
                b'/' if next == Some(b'*') => {
                    state = Lex::BlockComment;
                    i += 1;
                }
                b'\'' | b'"' => {
                    state = Lex::Quote(c);
                    code(i, c);
                }
                _ => code(i, c),
            },
            Lex::Quote(q) if c == q => {
                if next == Some(q) {
                    i += 1;
                } else {
                    state = Lex::Code;
                }
            }
            Lex::LineComment if c == b'\n' => state = Lex::Code,
            Lex::BlockComment if c == b'*' && next == Some(b'/') => {
                state = Lex::Code;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    state
}

#[derive(Clone, Copy, PartialEq)]
enum Lex {
    Code,
    Quote(u8),
    LineComment,
    BlockComment,
}

fn push(out: &mut Vec<String>, piece: &str) {
    let s = piece.trim();
    if s.is_empty() || only_comments(s) {
        return;
    }
    out.push(s.to_string());
}

fn only_comments(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, tail)| tail).trim_start();
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, tail)| tail).trim_start();
        } else {
            return rest.is_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let text =
            "SELECT 'a;b' AS x; -- c;d\nSELECT \"we;ird\" FROM t /* ; */ ;\n-- only\n";
        assert_eq!(
            statements(text),
            vec![
                "SELECT 'a;b' AS x".to_string(),
                "-- c;d\nSELECT \"we;ird\" FROM t /* ; */".to_string()
            ]
        );
        assert_eq!(statements("SELECT 'it''s;'"), vec!["SELECT 'it''s;'"]);
        assert!(statements(" ;; -- x\n").is_empty());
    }

    #[test]
    fn completeness() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- done"));
        assert!(!is_complete("SELECT ';'"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT 'x;"));
    }
}
