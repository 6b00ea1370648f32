//! What a filter reads: a record's fields, by their JSON names.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use serde_json::{Map, Value};

/// One field's value, as the filter sees it.
///
/// Numbers keep integers exact (`Int` holds every `u64` and `i64`); a list
/// matches a comparison when any element does (Wireshark's rule for fields
/// that occur more than once).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Cow<'a, str>),
    /// An address, as the derived fields `ip`, `client_ip` and `server_ip` give it.
    Ip(IpAddr),
    List(Vec<FieldValue<'a>>),
    /// A nested object: present (a truth test holds when it is not empty),
    /// but never equal to a value; name its members with a dotted path.
    Object {
        empty: bool,
    },
}

impl FieldValue<'_> {
    /// The truth test of a bare field name: present and not null, false, 0,
    /// "" or an empty list or object.
    pub fn truthy(&self) -> bool {
        match self {
            FieldValue::Null => false,
            FieldValue::Bool(b) => *b,
            FieldValue::Int(i) => *i != 0,
            FieldValue::Float(f) => *f != 0.0,
            FieldValue::Str(s) => !s.is_empty(),
            FieldValue::Ip(_) => true,
            FieldValue::List(l) => !l.is_empty(),
            FieldValue::Object { empty } => !empty,
        }
    }
}

/// A record a filter can be evaluated over.
///
/// `field` answers by the record's JSON field name, or by a dotted path into
/// nested objects (`client_to_server.close_code`), and returns `None` when
/// the record has no such field. Fields the filter derives (`len` from
/// `payload_len`, `ip` and `port` from `client` and `server`, ...) are
/// computed by the filter from these answers, so an implementation only
/// gives the fields it has.
pub trait Record {
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;

    /// The `client` or `server` endpoint (`which` is one of the two
    /// names), for the derived `ip` and `port` fields. By default it is
    /// read from that field's text; a typed record that holds the address
    /// can answer without formatting and parsing it.
    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        match self.field(which)? {
            FieldValue::Str(s) => Endpoint::parse(&s),
            _ => None,
        }
    }
}

impl Record for Map<String, Value> {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        let mut parts = name.split('.');
        let mut v = self.get(parts.next()?)?;
        for p in parts {
            v = v.as_object()?.get(p)?;
        }
        Some(from_json(v))
    }
}

impl Record for Value {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        self.as_object()?.field(name)
    }
}

impl<R: Record + ?Sized> Record for &R {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        (**self).field(name)
    }

    fn endpoint(&self, which: &str) -> Option<Endpoint> {
        (**self).endpoint(which)
    }
}

/// An endpoint as the records write it: `ip:port`, `[v6]:port`, or a bare
/// address (a push channel's `client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Sock(SocketAddr),
    Addr(IpAddr),
}

impl Endpoint {
    pub fn parse(s: &str) -> Option<Endpoint> {
        s.parse::<SocketAddr>()
            .map(Endpoint::Sock)
            .or_else(|_| s.parse::<IpAddr>().map(Endpoint::Addr))
            .ok()
    }

    pub fn ip(self) -> IpAddr {
        match self {
            Endpoint::Sock(s) => s.ip(),
            Endpoint::Addr(a) => a,
        }
    }

    pub fn port(self) -> Option<u16> {
        match self {
            Endpoint::Sock(s) => Some(s.port()),
            Endpoint::Addr(_) => None,
        }
    }
}

/// A JSON value as a field value (borrowing its strings).
pub fn from_json(v: &Value) -> FieldValue<'_> {
    match v {
        Value::Null => FieldValue::Null,
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                FieldValue::Int(i128::from(i))
            } else if let Some(u) = n.as_u64() {
                FieldValue::Int(i128::from(u))
            } else {
                FieldValue::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => FieldValue::Str(Cow::Borrowed(s)),
        Value::Array(a) => FieldValue::List(a.iter().map(from_json).collect()),
        Value::Object(o) => FieldValue::Object {
            empty: o.is_empty(),
        },
    }
}
