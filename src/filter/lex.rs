//! Tokens of a filter expression, each with its byte span.

use super::FilterError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Matches,
}

impl CmpOp {
    /// The spelling the printer uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::Matches => "matches",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Op(CmpOp),
    And,
    Or,
    Not,
    In,
    /// A bare word: a field name, a number, an enum value, an address...
    Word(&'a str),
    /// A quoted string, escapes resolved.
    Str(String),
}

#[derive(Debug, Clone)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offsets of the token in the expression.
    pub start: usize,
    pub end: usize,
}

/// Characters that end a bare word.
fn is_delim(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | '{' | '}' | ',' | '"' | '\'' | '=' | '!' | '<' | '>' | '&' | '|' | '~'
        )
}

fn keyword(w: &str) -> Option<Tok<'static>> {
    const WORDS: &[(&str, Tok<'static>)] = &[
        ("and", Tok::And),
        ("or", Tok::Or),
        ("not", Tok::Not),
        ("in", Tok::In),
        ("contains", Tok::Op(CmpOp::Contains)),
        ("matches", Tok::Op(CmpOp::Matches)),
        ("eq", Tok::Op(CmpOp::Eq)),
        ("ne", Tok::Op(CmpOp::Ne)),
        ("lt", Tok::Op(CmpOp::Lt)),
        ("le", Tok::Op(CmpOp::Le)),
        ("gt", Tok::Op(CmpOp::Gt)),
        ("ge", Tok::Op(CmpOp::Ge)),
    ];
    WORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(w))
        .map(|(_, t)| t.clone())
}

/// Splits `src` into tokens; the first lexical mistake is an error.
pub fn tokens(src: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(start, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
            continue;
        }
        let two = |second: char| src[start + c.len_utf8()..].starts_with(second);
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '{' => (Tok::LBrace, 1),
            '}' => (Tok::RBrace, 1),
            ',' => (Tok::Comma, 1),
            '~' => (Tok::Op(CmpOp::Matches), 1),
            '=' if two('=') => (Tok::Op(CmpOp::Eq), 2),
            '=' => {
                return Err(FilterError::new(
                    src,
                    start,
                    "'=' is not an operator; compare with '=='",
                ));
            }
            '!' if two('=') => (Tok::Op(CmpOp::Ne), 2),
            '!' => (Tok::Not, 1),
            '<' if two('=') => (Tok::Op(CmpOp::Le), 2),
            '<' => (Tok::Op(CmpOp::Lt), 1),
            '>' if two('=') => (Tok::Op(CmpOp::Ge), 2),
            '>' => (Tok::Op(CmpOp::Gt), 1),
            '&' if two('&') => (Tok::And, 2),
            '|' if two('|') => (Tok::Or, 2),
            '&' | '|' => {
                let msg = format!("'{c}' alone is not an operator; use '{c}{c}'");
                return Err(FilterError::new(src, start, msg));
            }
            '"' | '\'' => {
                let (s, end) = string(src, start, c)?;
                out.push(Token {
                    tok: Tok::Str(s),
                    start,
                    end,
                });
                while it.peek().is_some_and(|&(i, _)| i < end) {
                    it.next();
                }
                continue;
            }
            _ => {
                let end = src[start..]
                    .char_indices()
                    .find(|&(_, c)| is_delim(c))
                    .map_or(src.len(), |(i, _)| start + i);
                let w = &src[start..end];
                (keyword(w).unwrap_or(Tok::Word(w)), end - start)
            }
        };
        out.push(Token {
            tok,
            start,
            end: start + len,
        });
        while it.peek().is_some_and(|&(i, _)| i < start + len) {
            it.next();
        }
    }
    Ok(out)
}

/// A quoted string starting at `start` (the quote); returns the text and the
/// byte just past the closing quote.
///
/// Escapes: `\\ \" \' \n \r \t \0 \xHH \u{H...}`. Any other backslash is
/// kept as it is, so regular expressions read naturally (`"\d+"`).
fn string(src: &str, start: usize, quote: char) -> Result<(String, usize), FilterError> {
    let mut s = String::new();
    let body = start + 1;
    let mut chars = src[body..].char_indices().map(|(i, c)| (body + i, c));
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((s, i + 1));
        }
        if c != '\\' {
            s.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            '\\' | '"' | '\'' => s.push(e),
            'n' => s.push('\n'),
            'r' => s.push('\r'),
            't' => s.push('\t'),
            '0' => s.push('\0'),
            'x' => {
                let hex: String = src[i + 2..].chars().take(2).collect();
                let v = (hex.len() == 2)
                    .then(|| u8::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .filter(|v| v.is_ascii());
                let Some(v) = v else {
                    return Err(FilterError::new(
                        src,
                        i,
                        "'\\x' needs two hex digits of an ASCII byte (00 to 7f)",
                    ));
                };
                s.push(char::from(v));
                chars.next();
                chars.next();
            }
            'u' => {
                let rest = &src[i + 2..];
                let close = rest.find('}');
                let ch = rest
                    .strip_prefix('{')
                    .zip(close)
                    .and_then(|(_, c)| u32::from_str_radix(&rest[1..c], 16).ok())
                    .and_then(char::from_u32);
                let (Some(ch), Some(close)) = (ch, close) else {
                    return Err(FilterError::new(
                        src,
                        i,
                        "'\\u' needs a code point in braces, e.g. \\u{e9}",
                    ));
                };
                s.push(ch);
                for _ in 0..=close {
                    chars.next();
                }
            }
            other => {
                s.push('\\');
                s.push(other);
            }
        }
    }
    Err(FilterError::new(
        src,
        start,
        format!("this string has no closing {quote}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok<'_>> {
        tokens(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn operators_without_spaces() {
        assert_eq!(
            kinds("len>=64k&&!fin||a!=b"),
            vec![
                Tok::Word("len"),
                Tok::Op(CmpOp::Ge),
                Tok::Word("64k"),
                Tok::And,
                Tok::Not,
                Tok::Word("fin"),
                Tok::Or,
                Tok::Word("a"),
                Tok::Op(CmpOp::Ne),
                Tok::Word("b"),
            ]
        );
    }

    #[test]
    fn words_keep_addresses_and_codes_whole() {
        assert_eq!(
            kinds("ip == [::1]:80 or code eq frame.client-unmasked"),
            vec![
                Tok::Word("ip"),
                Tok::Op(CmpOp::Eq),
                Tok::Word("[::1]:80"),
                Tok::Or,
                Tok::Word("code"),
                Tok::Op(CmpOp::Eq),
                Tok::Word("frame.client-unmasked"),
            ]
        );
    }

    #[test]
    fn string_escapes() {
        let t = kinds(r#""a\"b\\c\n\x41\u{e9}\d" 'it''s'"#);
        assert_eq!(t[0], Tok::Str("a\"b\\c\nAé\\d".into()));
        assert_eq!(t[1], Tok::Str("it".into()));
        assert_eq!(t[2], Tok::Str("s".into()));
    }

    #[test]
    fn bad_escapes_point_at_the_backslash() {
        assert_eq!(tokens(r#"text == "ab\x4""#).unwrap_err().column(), 12);
        assert_eq!(tokens(r#"text == "\xff""#).unwrap_err().column(), 10);
        assert_eq!(tokens(r#"text == "\u{110000}""#).unwrap_err().column(), 10);
        assert_eq!(tokens(r#"text == "\u{41""#).unwrap_err().column(), 10);
        assert_eq!(tokens(r#"text == "abc"#).unwrap_err().column(), 9);
        assert_eq!(tokens("text == \"abc\\").unwrap_err().column(), 9);
    }

    #[test]
    fn keywords_ignore_case() {
        assert_eq!(
            kinds("NOT a AND b Or c"),
            vec![
                Tok::Not,
                Tok::Word("a"),
                Tok::And,
                Tok::Word("b"),
                Tok::Or,
                Tok::Word("c")
            ]
        );
    }
}
