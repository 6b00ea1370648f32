//! Evaluation of a parsed filter over one record.

use std::cmp::Ordering;

use regex::Regex;

use super::lex::CmpOp;
use super::parse::{Expr, Lit, Num, Rhs, as_f64};
use super::value::{FieldValue, Record};

pub fn eval<R: Record + ?Sized>(e: &Expr, r: &R) -> bool {
    match e {
        Expr::Or(v) => v.iter().any(|e| eval(e, r)),
        Expr::And(v) => v.iter().all(|e| eval(e, r)),
        Expr::Not(e) => !eval(e, r),
        Expr::Test(f) => f.get(r).is_some_and(|v| v.truthy()),
        Expr::Cmp(f, op, rhs) => {
            let t = match rhs {
                Rhs::Lit(l) => Target::Lit(l),
                Rhs::Regex(_, rx) => Target::Regex(&rx.0),
            };
            f.get(r).is_some_and(|v| compare(&v, *op, t))
        }
        Expr::In(f, set) => f
            .get(r)
            .is_some_and(|v| set.iter().any(|l| compare(&v, CmpOp::Eq, Target::Lit(l)))),
    }
}

/// A field's value against the right-hand side. A list holds when any
/// element does; `!=` on a list holds when no element equals the value.
fn compare(v: &FieldValue<'_>, op: CmpOp, rhs: Target<'_>) -> bool {
    match v {
        FieldValue::List(l) if op == CmpOp::Ne => !l.iter().any(|x| compare(x, CmpOp::Eq, rhs)),
        FieldValue::List(l) => l.iter().any(|x| compare(x, op, rhs)),
        _ => scalar(v, op, rhs),
    }
}

/// What a comparison compares with.
#[derive(Clone, Copy)]
enum Target<'e> {
    Lit(&'e Lit),
    Regex(&'e Regex),
}

fn scalar(v: &FieldValue<'_>, op: CmpOp, rhs: Target<'_>) -> bool {
    let lit = match rhs {
        Target::Regex(rx) => {
            return match v {
                FieldValue::Str(s) => rx.is_match(s),
                FieldValue::Ip(a) => rx.is_match(&a.to_string()),
                _ => false,
            };
        }
        Target::Lit(l) => l,
    };
    if op == CmpOp::Contains {
        return match (v, lit) {
            (FieldValue::Str(s), Lit::Text { text, .. }) => s.contains(text.as_str()),
            (FieldValue::Ip(a), Lit::Text { text, .. }) => a.to_string().contains(text.as_str()),
            _ => false,
        };
    }
    match (relate(v, lit), op) {
        (Rel::Unordered(eq), CmpOp::Eq) => eq,
        (Rel::Unordered(eq), CmpOp::Ne) => !eq,
        (Rel::Ord(o), CmpOp::Eq) => o == Ordering::Equal,
        (Rel::Ord(o), CmpOp::Ne) => o != Ordering::Equal,
        (Rel::Ord(o), CmpOp::Lt) => o == Ordering::Less,
        (Rel::Ord(o), CmpOp::Le) => o != Ordering::Greater,
        (Rel::Ord(o), CmpOp::Gt) => o == Ordering::Greater,
        (Rel::Ord(o), CmpOp::Ge) => o != Ordering::Less,
        _ => false,
    }
}

/// How a value stands to a literal.
enum Rel {
    /// Of different kinds: every comparison is false.
    Incomparable,
    /// Equal or not, with no order (null, booleans, networks).
    Unordered(bool),
    Ord(Ordering),
}

fn relate(v: &FieldValue<'_>, lit: &Lit) -> Rel {
    match (v, lit) {
        (FieldValue::Null, Lit::Null) => Rel::Unordered(true),
        (FieldValue::Null, _) => Rel::Incomparable,
        (_, Lit::Null) => Rel::Unordered(false),
        (FieldValue::Bool(a), Lit::Bool(b)) => Rel::Unordered(a == b),
        (FieldValue::Str(s), Lit::Text { text, .. }) => Rel::Ord(s.as_ref().cmp(text.as_str())),
        (
            FieldValue::Int(a),
            Lit::Text {
                num: Some(Num::Int(b)),
                ..
            },
        ) => Rel::Ord(a.cmp(b)),
        (FieldValue::Int(a), Lit::Text { num: Some(n), .. }) => float_rel(*a as f64, as_f64(*n)),
        (FieldValue::Float(a), Lit::Text { num: Some(n), .. }) => float_rel(*a, as_f64(*n)),
        (FieldValue::Ip(a), Lit::Text { net: Some(n), .. }) => Rel::Unordered(n.contains(*a)),
        _ => Rel::Incomparable,
    }
}

fn float_rel(a: f64, b: f64) -> Rel {
    a.partial_cmp(&b).map_or(Rel::Incomparable, Rel::Ord)
}
