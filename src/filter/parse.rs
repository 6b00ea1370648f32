//! The parser (tokens to a checked tree) and the printer (tree back to text).
//!
//! Grammar, loosest first:
//!
//! ```text
//! expr    = and { ("or" | "||") and }
//! and     = unary { ("and" | "&&") unary }
//! unary   = ("not" | "!") unary | primary
//! primary = "(" expr ")" | FIELD [ OP value | "in" "{" value { [","] value } "}" ]
//! ```

use std::fmt;
use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

use super::fields::{self, Field};
use super::lex::{CmpOp, Tok, Token};
use super::{FilterError, MAX_DEPTH};

/// A number as written in a filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

/// An address or network (`10.0.0.0/8`, `::1`), for `ip` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Net {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer seen on an IPv6 socket compares as IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A value on the right of an operator.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    /// A quoted string, or a bare word. A bare word that reads as a number
    /// (with its unit) compares with numeric fields as that number, and with
    /// string fields as the word itself; a quoted string only as a string.
    /// Either may read as an address or network for `ip` fields.
    Text {
        text: String,
        quoted: bool,
        num: Option<Num>,
        net: Option<Net>,
    },
}

/// A compiled regular expression (compared by its pattern).
#[derive(Debug, Clone)]
pub struct Rx(pub Regex);

impl PartialEq for Rx {
    fn eq(&self, o: &Rx) -> bool {
        self.0.as_str() == o.0.as_str()
    }
}

/// What a comparison compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    Lit(Lit),
    /// `matches`: the pattern as written, and compiled.
    Regex(Lit, Rx),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    /// A bare field name: present and truthy.
    Test(Field),
    Cmp(Field, CmpOp, Rhs),
    /// `field in {...}`; kept apart from `Cmp` so the printer writes it back.
    In(Field, Vec<Lit>),
}

/// Bytes and steps the regex crate may use for one `matches` pattern.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const REGEX_NEST_LIMIT: u32 = 64;
/// Different patterns one filter may hold: each may take up to
/// `REGEX_SIZE_LIMIT` and a few milliseconds to compile, so this bounds a
/// filter at about 32 MiB and a tenth of a second (a repeated pattern is
/// compiled once).
pub const MAX_REGEXES: usize = 32;

pub struct Parser<'s, 'f> {
    src: &'s str,
    toks: Vec<Token<'s>>,
    pos: usize,
    depth: usize,
    extra_fields: &'f [&'f str],
    regexes: Vec<Regex>,
}

impl<'s, 'f> Parser<'s, 'f> {
    pub fn new(src: &'s str, toks: Vec<Token<'s>>, extra_fields: &'f [&'f str]) -> Self {
        Parser {
            src,
            toks,
            pos: 0,
            depth: 0,
            extra_fields,
            regexes: Vec::new(),
        }
    }

    fn peek(&self) -> Option<&Token<'s>> {
        self.toks.get(self.pos)
    }

    fn err(&self, at: usize, msg: impl Into<String>) -> FilterError {
        FilterError::new(self.src, at, msg)
    }

    /// Where the next token starts (or the end of the input).
    fn here(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    /// The next token as the user wrote it, for messages.
    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the filter".into(),
            Some(t) => format!("'{}'", &self.src[t.start..t.end]),
        }
    }

    pub fn parse(mut self) -> Result<Expr, FilterError> {
        if self.toks.is_empty() {
            return Err(self.err(0, "the filter is empty"));
        }
        let e = self.or()?;
        if let Some(t) = self.peek() {
            let msg = match t.tok {
                Tok::RParen => "this ')' has no matching '('".to_string(),
                _ => format!(
                    "expected 'and', 'or' or the end of the filter, found {}",
                    self.found()
                ),
            };
            return Err(self.err(t.start, msg));
        }
        Ok(e)
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.and()?];
        while let Some(Token { tok: Tok::Or, .. }) = self.peek() {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut terms = vec![self.unary()?];
        while let Some(Token { tok: Tok::And, .. }) = self.peek() {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn deeper(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(
                at,
                format!("the filter nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.err(
                self.src.len(),
                "expected a field name, found the end of the filter",
            ));
        };
        match t.tok {
            Tok::Not => {
                let at = t.start;
                self.pos += 1;
                self.deeper(at)?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(e)))
            }
            Tok::LParen => {
                let open = t.start;
                self.pos += 1;
                self.deeper(open)?;
                let e = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    None => Err(self.err(open, "this '(' is never closed")),
                    Some(t) => {
                        let at = t.start;
                        Err(self.err(
                            at,
                            format!("expected 'and', 'or' or ')', found {}", self.found()),
                        ))
                    }
                }
            }
            Tok::Word(w) => {
                let at = t.start;
                self.pos += 1;
                let field = self.field(w, at)?;
                self.after_field(field, w)
            }
            _ => Err(self.err(
                t.start,
                format!("expected a field name, found {}", self.found()),
            )),
        }
    }

    fn field(&self, w: &str, at: usize) -> Result<Field, FilterError> {
        if !fields::is_path(w) {
            let what = if word_num(w).is_some() {
                "a filter compares a field with a value (FIELD OP VALUE), so it starts with a field name, not"
            } else {
                "expected a field name, found"
            };
            return Err(self.err(at, format!("{what} '{w}'")));
        }
        Field::resolve(w, self.extra_fields).map_err(|msg| self.err(at, msg))
    }

    fn after_field(&mut self, field: Field, name: &str) -> Result<Expr, FilterError> {
        let Some(t) = self.peek() else {
            return Ok(Expr::Test(field));
        };
        let op_at = t.start;
        let op_text = &self.src[t.start..t.end];
        match t.tok {
            Tok::Op(op) => {
                self.pos += 1;
                let value = self.value(op_text)?;
                let rhs = self.check(op, value, op_text)?;
                Ok(Expr::Cmp(field, op, rhs))
            }
            Tok::In => {
                self.pos += 1;
                self.set(field)
            }
            Tok::Word(_) | Tok::Str(_) | Tok::LParen | Tok::Not => Err(self.err(
                op_at,
                format!(
                    "expected an operator (== != < <= > >= contains matches in), 'and', 'or' or the end after '{name}', found {}",
                    self.found()
                ),
            )),
            _ => Ok(Expr::Test(field)),
        }
    }

    /// A value after `after` (an operator, '{' or ','), with its position.
    fn value(&mut self, after: &str) -> Result<(Lit, usize), FilterError> {
        let Some(t) = self.peek() else {
            return Err(self.err(self.src.len(), format!("expected a value after '{after}'")));
        };
        let at = t.start;
        let lit = match &t.tok {
            Tok::Str(s) => Lit::Text {
                text: s.clone(),
                quoted: true,
                num: time_num(s),
                net: parse_net(s),
            },
            Tok::Word(w) => word_lit(w),
            _ => {
                let extra = match t.tok {
                    Tok::And | Tok::Or | Tok::Not | Tok::In | Tok::Op(_) => {
                        " (quote a keyword to compare with the word)"
                    }
                    _ => "",
                };
                return Err(self.err(
                    at,
                    format!(
                        "expected a value after '{after}', found {}{extra}",
                        self.found()
                    ),
                ));
            }
        };
        self.pos += 1;
        Ok((lit, at))
    }

    /// Checks that `op` can compare with the value; compiles a regex.
    fn check(
        &mut self,
        op: CmpOp,
        (lit, at): (Lit, usize),
        op_text: &str,
    ) -> Result<Rhs, FilterError> {
        match (op, &lit) {
            (CmpOp::Eq | CmpOp::Ne, _) => Ok(Rhs::Lit(lit)),
            (CmpOp::Matches, Lit::Null | Lit::Bool(_)) => Err(self.err(
                at,
                format!(
                    "'{op_text}' needs a regular expression in quotes, not {}",
                    show_lit(&lit)
                ),
            )),
            (_, Lit::Null | Lit::Bool(_)) => Err(self.err(
                at,
                format!(
                    "'{op_text}' needs a number or a string, not {}",
                    show_lit(&lit)
                ),
            )),
            (CmpOp::Matches, Lit::Text { text, .. }) => {
                // A repeated pattern shares one compiled regex.
                if let Some(seen) = self.regexes.iter().find(|r| r.as_str() == text) {
                    let rx = seen.clone();
                    return Ok(Rhs::Regex(lit, Rx(rx)));
                }
                if self.regexes.len() == MAX_REGEXES {
                    return Err(self.err(
                        at,
                        format!(
                            "a filter may use at most {MAX_REGEXES} different regular expressions"
                        ),
                    ));
                }
                let rx = RegexBuilder::new(text)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .nest_limit(REGEX_NEST_LIMIT)
                    .build()
                    .map_err(|e| {
                        let why = e.to_string();
                        let why = why
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                            .trim()
                            .trim_start_matches("error: ")
                            .to_string();
                        self.err(at, format!("bad regular expression: {why}"))
                    })?;
                self.regexes.push(rx.clone());
                Ok(Rhs::Regex(lit, Rx(rx)))
            }
            _ => Ok(Rhs::Lit(lit)),
        }
    }

    fn set(&mut self, field: Field) -> Result<Expr, FilterError> {
        match self.peek() {
            Some(Token {
                tok: Tok::LBrace, ..
            }) => self.pos += 1,
            _ => {
                return Err(self.err(
                    self.here(),
                    format!("expected '{{' after 'in', found {}", self.found()),
                ));
            }
        }
        let mut vals = Vec::new();
        let mut after = "{";
        loop {
            match self.peek() {
                Some(Token {
                    tok: Tok::RBrace, ..
                }) if !vals.is_empty() && after != "," => {
                    self.pos += 1;
                    return Ok(Expr::In(field, vals));
                }
                Some(Token {
                    tok: Tok::Comma, ..
                }) if !vals.is_empty() && after != "," => {
                    self.pos += 1;
                    after = ",";
                }
                None if !vals.is_empty() => {
                    return Err(self.err(self.src.len(), "this set is never closed with '}'"));
                }
                _ => {
                    let (lit, _) = self.value(after)?;
                    vals.push(lit);
                    after = "value";
                }
            }
        }
    }
}

fn show_lit(l: &Lit) -> String {
    match l {
        Lit::Null => "null".into(),
        Lit::Bool(b) => b.to_string(),
        Lit::Text { text, .. } => format!("'{text}'"),
    }
}

/// A bare word as a value.
fn word_lit(w: &str) -> Lit {
    if w.eq_ignore_ascii_case("null") {
        return Lit::Null;
    }
    if w.eq_ignore_ascii_case("true") {
        return Lit::Bool(true);
    }
    if w.eq_ignore_ascii_case("false") {
        return Lit::Bool(false);
    }
    Lit::Text {
        text: w.to_string(),
        quoted: false,
        num: word_num(w).or_else(|| time_num(w)),
        net: parse_net(w),
    }
}

/// Units a number may carry. Sizes are binary (`64k` is 65,536 bytes, as
/// payload lengths are bytes); times are seconds (`ts`, `duration`, `rtt`).
const UNITS: &[(&str, Num)] = &[
    ("k", Num::Int(1 << 10)),
    ("K", Num::Int(1 << 10)),
    ("Ki", Num::Int(1 << 10)),
    ("KiB", Num::Int(1 << 10)),
    ("M", Num::Int(1 << 20)),
    ("Mi", Num::Int(1 << 20)),
    ("MiB", Num::Int(1 << 20)),
    ("G", Num::Int(1 << 30)),
    ("Gi", Num::Int(1 << 30)),
    ("GiB", Num::Int(1 << 30)),
    ("T", Num::Int(1 << 40)),
    ("Ti", Num::Int(1 << 40)),
    ("TiB", Num::Int(1 << 40)),
    ("ns", Num::Float(1e-9)),
    ("us", Num::Float(1e-6)),
    ("µs", Num::Float(1e-6)),
    ("ms", Num::Float(1e-3)),
    ("s", Num::Int(1)),
    ("min", Num::Int(60)),
    ("h", Num::Int(3600)),
];

/// A number with an optional unit: `42`, `-1`, `0x1f`, `2.5`, `1e3`, `64k`,
/// `1.5M`, `250ms`. Anything else is not a number.
pub fn word_num(w: &str) -> Option<Num> {
    let (neg, body) = match w.as_bytes().first()? {
        b'-' => (true, &w[1..]),
        b'+' => (false, &w[1..]),
        _ => (false, w),
    };
    let (mant, unit) =
        if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            let end = hex
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(hex.len());
            if end == 0 || end != hex.len() {
                return None;
            }
            (Num::Int(i128::from_str_radix(hex, 16).ok()?), "")
        } else {
            let b = body.as_bytes();
            let digits = |mut i: usize| {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                i
            };
            let int_end = digits(0);
            if int_end == 0 {
                return None;
            }
            let mut end = int_end;
            if b.get(end) == Some(&b'.') {
                let frac_end = digits(end + 1);
                if frac_end == end + 1 {
                    return None;
                }
                end = frac_end;
            }
            if matches!(b.get(end), Some(b'e' | b'E')) {
                let mut j = end + 1;
                if matches!(b.get(j), Some(b'+' | b'-')) {
                    j += 1;
                }
                let exp_end = digits(j);
                if exp_end > j {
                    end = exp_end;
                }
            }
            let text = &body[..end];
            let mant = if end == int_end {
                text.parse::<i128>()
                    .map(Num::Int)
                    .or_else(|_| text.parse::<f64>().map(Num::Float))
                    .ok()?
            } else {
                Num::Float(text.parse::<f64>().ok()?)
            };
            (mant, &body[end..])
        };
    let scaled = if unit.is_empty() {
        mant
    } else {
        let (_, m) = UNITS.iter().find(|(u, _)| *u == unit)?;
        match (mant, *m) {
            (Num::Int(a), Num::Int(b)) => a
                .checked_mul(b)
                .map_or(Num::Float(a as f64 * b as f64), Num::Int),
            (a, b) => {
                let f = as_f64(a) * as_f64(b);
                // 1.5k is a whole 1536 bytes: keep it exact.
                if f.fract() == 0.0 && f.abs() < 9.0e15 && matches!(b, Num::Int(_)) {
                    Num::Int(f as i128)
                } else {
                    Num::Float(f)
                }
            }
        }
    };
    Some(match (neg, scaled) {
        (false, n) => n,
        (true, Num::Int(i)) => Num::Int(-i),
        (true, Num::Float(f)) => Num::Float(-f),
    })
}

/// A UTC date and time as epoch seconds, for `ts`, `first_ts`, `last_ts`:
/// `2026-11-29T14:02:00Z`, `2026-11-29 14:02:00.250` (quoted: it has a
/// space), or a date alone (`2026-11-29`, its midnight).
pub fn time_num(s: &str) -> Option<Num> {
    let t = if s.len() == 10 {
        humantime::parse_rfc3339_weak(&format!("{s} 00:00:00"))
    } else {
        humantime::parse_rfc3339_weak(s)
    }
    .ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(if d.subsec_nanos() == 0 {
        Num::Int(i128::from(d.as_secs()))
    } else {
        Num::Float(d.as_secs_f64())
    })
}

pub fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// `addr` or `addr/prefix`, IPv6 optionally in brackets.
fn parse_net(s: &str) -> Option<Net> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let a = a
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(a);
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => max,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() && p.len() <= 3 => {
            p.parse::<u8>().ok().filter(|&p| p <= max)?
        }
        Some(_) => return None,
    };
    Some(Net { addr, prefix })
}

// ---- the printer ----

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn child(f: &mut fmt::Formatter<'_>, e: &Expr, paren: bool) -> fmt::Result {
            if paren {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Or(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    child(f, e, matches!(e, Expr::Or(_)))?;
                }
                Ok(())
            }
            Expr::And(v) => {
                for (i, e) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    child(f, e, matches!(e, Expr::Or(_) | Expr::And(_)))?;
                }
                Ok(())
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                child(f, e, matches!(**e, Expr::Or(_) | Expr::And(_)))
            }
            Expr::Test(field) => f.write_str(field.name()),
            Expr::Cmp(field, op, rhs) => {
                write!(f, "{} {} ", field.name(), op.as_str())?;
                match rhs {
                    Rhs::Lit(l) | Rhs::Regex(l, _) => write!(f, "{l}"),
                }
            }
            Expr::In(field, v) => {
                write!(f, "{} in ", field.name())?;
                write_set(f, v)
            }
        }
    }
}

fn write_set(f: &mut fmt::Formatter<'_>, v: &[Lit]) -> fmt::Result {
    f.write_str("{")?;
    for (i, l) in v.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{l}")?;
    }
    f.write_str("}")
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lit::Null => f.write_str("null"),
            Lit::Bool(b) => write!(f, "{b}"),
            Lit::Text {
                text,
                quoted: false,
                ..
            } => f.write_str(text),
            Lit::Text { text, .. } => {
                f.write_str("\"")?;
                for c in text.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_units() {
        assert_eq!(word_num("42"), Some(Num::Int(42)));
        assert_eq!(word_num("-7"), Some(Num::Int(-7)));
        assert_eq!(word_num("0x1F"), Some(Num::Int(31)));
        assert_eq!(word_num("64k"), Some(Num::Int(65_536)));
        assert_eq!(word_num("64KiB"), Some(Num::Int(65_536)));
        assert_eq!(word_num("1.5k"), Some(Num::Int(1_536)));
        assert_eq!(word_num("2M"), Some(Num::Int(2 << 20)));
        assert_eq!(word_num("1G"), Some(Num::Int(1 << 30)));
        assert_eq!(word_num("2.5"), Some(Num::Float(2.5)));
        assert_eq!(word_num("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(word_num("250ms"), Some(Num::Float(0.25)));
        assert_eq!(word_num("2min"), Some(Num::Int(120)));
        for not in [
            "", "-", "k", "1.", ".5", "1.2.3", "64kb", "0x", "0xg", "12ab", "1m",
        ] {
            assert_eq!(word_num(not), None, "{not}");
        }
        // Too big for an integer: still a number.
        assert!(matches!(
            word_num("99999999999999999999999999999999999999999"),
            Some(Num::Float(_))
        ));
        assert!(matches!(
            word_num("99999999999999999999999999999999999999T"),
            Some(Num::Float(_))
        ));
    }

    #[test]
    fn times_are_utc_epoch_seconds() {
        // date -u -d 2026-11-29T14:02:00Z +%s
        assert_eq!(
            time_num("2026-11-29T14:02:00Z"),
            Some(Num::Int(1_795_960_920))
        );
        assert_eq!(
            time_num("2026-11-29 14:02:00"),
            Some(Num::Int(1_795_960_920))
        );
        assert_eq!(
            time_num("2026-11-29"),
            Some(Num::Int(1_795_960_920 - 14 * 3600 - 120))
        );
        assert_eq!(
            time_num("2026-11-29T14:02:00.25+00:00"),
            Some(Num::Float(1_795_960_920.25))
        );
        for not in [
            "2026-11-29T14:02:00+02:00",
            "2026-13-01",
            "14:02",
            "1969-12-31",
            "2026-11-29T25:00:00",
        ] {
            assert_eq!(time_num(not), None, "{not}");
        }
    }

    #[test]
    fn networks() {
        let n = parse_net("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.9.9.9".parse().unwrap()));
        let any = parse_net("0.0.0.0/0").unwrap();
        assert!(any.contains("1.2.3.4".parse().unwrap()));
        assert!(!any.contains("::2".parse().unwrap()));
        let v6 = parse_net("[fe80::]/10").unwrap();
        assert!(v6.contains("fe80::1".parse().unwrap()));
        assert!(!v6.contains("::1".parse().unwrap()));
        assert_eq!(parse_net("10.0.0.0/33"), None);
        assert_eq!(parse_net("::1/129"), None);
        assert_eq!(parse_net("10.0.0.0/"), None);
        assert_eq!(parse_net("localhost"), None);
    }
}
