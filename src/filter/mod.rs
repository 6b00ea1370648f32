//! Display filters: one expression language for every command (`--filter`).
//!
//! Wireshark-flavoured: `from == server and len > 64k`,
//! `text matches "^hel+o"`, `ip == ::1 or port in {80 443}`,
//! `not (opcode_name == ping or opcode_name == pong)`. The whole language is
//! described in `docs/filter.md`.
//!
//! Compile once, evaluate many times:
//!
//! ```
//! use wsdissect::filter::Filter;
//! let f = Filter::parse("from == client and len >= 1k").unwrap();
//! let rec = serde_json::json!({"type": "frame", "from": "client", "payload_len": 4096});
//! assert!(f.matches(&rec));
//! ```
//!
//! A filter reads records through [`Record`] (implemented for JSON objects),
//! so every command can filter its records, typed or JSON, with the same
//! parser and evaluator. Nothing in a record can make evaluation panic; a
//! comparison between values of different kinds is simply false.

mod eval;
mod fields;
mod lex;
mod parse;
mod value;

use std::fmt;
use std::str::FromStr;

pub use fields::{DESIGN_FIELDS, OTHER_FIELDS};
pub use parse::MAX_REGEXES;
pub use value::{Endpoint, FieldValue, Record, from_json};

/// The deepest nesting of parentheses and `not` a filter may have.
pub const MAX_DEPTH: usize = 256;
/// The longest filter, in bytes.
pub const MAX_LEN: usize = 64 * 1024;

/// A compiled filter expression.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: parse::Expr,
    source: String,
}

impl Filter {
    /// Parses and checks `expr` against the known field names
    /// ([`DESIGN_FIELDS`] and [`OTHER_FIELDS`]).
    pub fn parse(expr: &str) -> Result<Filter, FilterError> {
        Filter::parse_with_fields(expr, &[])
    }

    /// Like [`Filter::parse`], also accepting the field names in `extra`
    /// (for records that add fields of their own).
    pub fn parse_with_fields(expr: &str, extra: &[&str]) -> Result<Filter, FilterError> {
        if expr.len() > MAX_LEN {
            let mut at = MAX_LEN;
            while !expr.is_char_boundary(at) {
                at -= 1;
            }
            return Err(FilterError::new(
                expr,
                at,
                format!("the filter is longer than {MAX_LEN} bytes"),
            ));
        }
        let toks = lex::tokens(expr)?;
        let expr_tree = parse::Parser::new(expr, toks, extra).parse()?;
        Ok(Filter {
            expr: expr_tree,
            source: expr.to_string(),
        })
    }

    /// Whether `record` passes the filter.
    pub fn matches<R: Record + ?Sized>(&self, record: &R) -> bool {
        eval::eval(&self.expr, record)
    }

    /// The expression as the user wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The field names the filter reads, each once, in order of appearance
    /// (a command can tell from them whether it must keep, say, `text`).
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut stack = vec![&self.expr];
        while let Some(e) = stack.pop() {
            match e {
                parse::Expr::Or(v) | parse::Expr::And(v) => stack.extend(v.iter().rev()),
                parse::Expr::Not(e) => stack.push(e),
                parse::Expr::Test(f) | parse::Expr::Cmp(f, ..) | parse::Expr::In(f, _) => {
                    if !out.contains(&f.name()) {
                        out.push(f.name());
                    }
                }
            }
        }
        out
    }
}

/// The canonical spelling: keywords in lower case, one space around
/// operators, parentheses only where needed. It parses back to the same
/// filter.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

/// Two filters are the same when they parse to the same tree.
impl PartialEq for Filter {
    fn eq(&self, o: &Filter) -> bool {
        self.expr == o.expr
    }
}

/// A filter that cannot be used, with where it goes wrong.
///
/// Displayed on three lines: `bad filter: MESSAGE at column N`, the
/// expression (or the part around the error, for a long one), and a caret
/// under the column. The binary puts `wsdissect: ` before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    offset: usize,
    message: String,
    /// The part of the expression around the error (all of a short one),
    /// starting at byte `shown_at`; `len` is the whole expression's length.
    shown: String,
    shown_at: usize,
    len: usize,
}

/// Characters of the expression shown either side of the error.
const EXCERPT: usize = 60;

impl FilterError {
    fn new(expr: &str, offset: usize, message: impl Into<String>) -> FilterError {
        let offset = offset.min(expr.len());
        // Keep only what the excerpt can show (4 bytes a character at most).
        let mut lo = offset.saturating_sub(EXCERPT * 4);
        while !expr.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (offset + EXCERPT * 4).min(expr.len());
        while !expr.is_char_boundary(hi) {
            hi += 1;
        }
        FilterError {
            offset,
            message: message.into(),
            shown: expr[lo..hi].to_string(),
            shown_at: lo,
            len: expr.len(),
        }
    }

    /// The byte offset of the error in the expression, from 0.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The column of the error, from 1, counted in bytes.
    pub fn column(&self) -> usize {
        self.offset + 1
    }

    /// What is wrong, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The line of the expression to show and the caret line under it.
    fn excerpt(&self) -> (String, String) {
        let at = (self.offset - self.shown_at).min(self.shown.len());
        let before: Vec<char> = self.shown[..at].chars().collect();
        let after: Vec<char> = self.shown[at..].chars().collect();
        let cut_before = self.shown_at > 0 || before.len() > EXCERPT;
        let cut_after = self.shown_at + self.shown.len() < self.len || after.len() > EXCERPT;
        let before = &before[before.len().saturating_sub(EXCERPT)..];
        let after = &after[..after.len().min(EXCERPT)];
        let mut line = String::new();
        if cut_before {
            line.push('…');
        }
        let caret = line.chars().count() + before.len();
        line.extend(before.iter().chain(after).map(|&c| shown(c)));
        if cut_after {
            line.push('…');
        }
        (line, format!("{}^", " ".repeat(caret)))
    }
}

/// One character of the expression as the terminal gets it.
fn shown(c: char) -> char {
    if c.is_control() { '·' } else { c }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad filter: ")?;
        for c in self.message.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        let (line, caret) = self.excerpt();
        write!(f, " at column {}\n{line}\n{caret}", self.column())
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests;
