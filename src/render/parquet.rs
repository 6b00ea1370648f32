//! `--format parquet -o FILE`: one record type as a Parquet file, a column
//! per JSON field ([`super::columns`], docs/parquet.md).
//!
//! [`ParquetLines`] is the writer the JSON sinks write into: it takes the
//! JSON lines of `--format json` (so every value is the JSON's, by
//! construction), keeps those of its record type, and writes their fields
//! into columns with the parquet crate's own column writers (no arrow).
//! Rows are buffered into row groups of at most [`ROW_GROUP_ROWS`] rows or
//! [`ROW_GROUP_BYTES`] bytes, so memory does not follow the capture's size.
//!
//! Parquet types: integers INT64, numbers DOUBLE, booleans BOOLEAN,
//! strings BYTE_ARRAY (String), [`Kind::Json`] BYTE_ARRAY (Json); lists the
//! standard three-level LIST group (`list.element`), structs groups; every
//! column and struct field optional. This is what pyarrow writes for the
//! Python package's tables, so the two files read alike.

use std::io::{self, Write};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{Type, TypePtr};
use serde_json::{Map, Value};

use super::columns::{Column, Kind};

/// Rows of one row group, at most.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Buffered value bytes (strings and numbers) that end a row group early.
pub const ROW_GROUP_BYTES: usize = 32 << 20;

/// The values of one leaf column with their definition (and, for lists,
/// repetition) levels.
struct Leaf {
    values: Values,
    def: Vec<i16>,
    rep: Option<Vec<i16>>,
}

enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Bytes(Vec<ByteArray>),
}

impl Values {
    fn of(kind: Kind) -> Self {
        match kind {
            Kind::Int | Kind::IntList => Values::Int(Vec::new()),
            Kind::Float => Values::Float(Vec::new()),
            Kind::Bool => Values::Bool(Vec::new()),
            Kind::Str | Kind::Json | Kind::StrList | Kind::Struct(_) => Values::Bytes(Vec::new()),
        }
    }
}

/// A record type's rows into a Parquet file; `Write` takes JSON lines.
pub struct ParquetLines<W: Write + Send> {
    record_type: &'static str,
    columns: &'static [Column],
    writer: Option<SerializedFileWriter<W>>,
    leaves: Vec<Leaf>,
    rows: usize,
    bytes: usize,
    /// A line not yet ended.
    partial: Vec<u8>,
    /// Rows written, all row groups.
    pub written: u64,
}

fn err(e: ParquetError) -> io::Error {
    io::Error::other(format!("parquet: {e}"))
}

/// The Parquet type of a column.
fn parquet_type(col: &Column) -> Result<TypePtr, ParquetError> {
    let scalar = |name: &str, kind: Kind| -> Result<TypePtr, ParquetError> {
        let (physical, logical) = match kind {
            Kind::Int | Kind::IntList => (Physical::INT64, None),
            Kind::Float => (Physical::DOUBLE, None),
            Kind::Bool => (Physical::BOOLEAN, None),
            Kind::Json => (Physical::BYTE_ARRAY, Some(LogicalType::Json)),
            Kind::Str | Kind::StrList | Kind::Struct(_) => {
                (Physical::BYTE_ARRAY, Some(LogicalType::String))
            }
        };
        Ok(Arc::new(
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()?,
        ))
    };
    match col.kind {
        Kind::IntList | Kind::StrList => {
            let element = scalar("element", col.kind)?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![element])
                .build()?;
            Ok(Arc::new(
                Type::group_type_builder(col.name)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(Some(LogicalType::List))
                    .with_fields(vec![Arc::new(list)])
                    .build()?,
            ))
        }
        Kind::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|f| scalar(f.name, f.kind))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(
                Type::group_type_builder(col.name)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_fields(fields)
                    .build()?,
            ))
        }
        k => scalar(col.name, k),
    }
}

/// The message schema of a record type's columns.
pub fn schema(record_type: &str, columns: &[Column]) -> Result<TypePtr, ParquetError> {
    let fields = columns
        .iter()
        .map(parquet_type)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(
        Type::group_type_builder(&format!("wsdissect_{}", record_type.replace('-', "_")))
            .with_fields(fields)
            .build()?,
    ))
}

impl<W: Write + Send> ParquetLines<W> {
    /// A file of `record_type` records (`frame`, `message`, `conn`,
    /// `finding`, `app`); JSON lines of other types are skipped.
    pub fn new(w: W, record_type: &'static str) -> io::Result<Self> {
        let columns = super::columns::of(record_type).ok_or_else(|| {
            io::Error::other(format!("no Parquet schema for {record_type} records"))
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("wsdissect {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "wsdissect.record_type".to_string(),
                record_type.to_string(),
            )]))
            .build();
        let schema = schema(record_type, columns).map_err(err)?;
        let writer = SerializedFileWriter::new(w, schema, Arc::new(props)).map_err(err)?;
        let mut leaves = Vec::new();
        for col in columns {
            let leaf = |kind: Kind, list: bool| Leaf {
                values: Values::of(kind),
                def: Vec::new(),
                rep: list.then(Vec::new),
            };
            match col.kind {
                Kind::Struct(fields) => leaves.extend(fields.iter().map(|f| leaf(f.kind, false))),
                Kind::IntList | Kind::StrList => leaves.push(leaf(col.kind, true)),
                k => leaves.push(leaf(k, false)),
            }
        }
        Ok(ParquetLines {
            record_type,
            columns,
            writer: Some(writer),
            leaves,
            rows: 0,
            bytes: 0,
            partial: Vec::new(),
            written: 0,
        })
    }

    /// Adds one record (a JSON object of this writer's type) as a row.
    pub fn push(&mut self, record: &Map<String, Value>) -> io::Result<()> {
        let mut leaves = self.leaves.iter_mut();
        for col in self.columns {
            let v = record.get(col.name).filter(|v| !v.is_null());
            match col.kind {
                Kind::Struct(fields) => {
                    let obj = v.and_then(Value::as_object);
                    for f in fields {
                        let Some(leaf) = leaves.next() else { break };
                        match obj {
                            None => leaf.def.push(0),
                            Some(o) => {
                                let fv = o.get(f.name).filter(|v| !v.is_null());
                                self.bytes += put_scalar(leaf, f.kind, fv, 1);
                            }
                        }
                    }
                }
                Kind::IntList | Kind::StrList => {
                    let Some(leaf) = leaves.next() else { break };
                    self.bytes += put_list(leaf, col.kind, v);
                }
                k => {
                    let Some(leaf) = leaves.next() else { break };
                    self.bytes += put_scalar(leaf, k, v, 0);
                }
            }
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS || self.bytes >= ROW_GROUP_BYTES {
            self.flush_group()?;
        }
        Ok(())
    }

    /// Adds one JSON line, when it is a record of this writer's type.
    pub fn push_line(&mut self, line: &[u8]) -> io::Result<()> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        let v: Value = serde_json::from_slice(line)?;
        match v {
            Value::Object(m) if m.get("type").and_then(Value::as_str) == Some(self.record_type) => {
                self.push(&m)
            }
            _ => Ok(()),
        }
    }

    /// Writes the rows held as one row group.
    fn flush_group(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let Some(writer) = self.writer.as_mut() else {
            return Err(io::Error::other("parquet: the file is closed"));
        };
        let mut rg = writer.next_row_group().map_err(err)?;
        for leaf in &mut self.leaves {
            let Some(mut col) = rg.next_column().map_err(err)? else {
                return Err(io::Error::other("parquet: fewer columns than the schema"));
            };
            let def = Some(leaf.def.as_slice());
            let rep = leaf.rep.as_deref();
            match &leaf.values {
                Values::Int(v) => col.typed::<Int64Type>().write_batch(v, def, rep),
                Values::Float(v) => col.typed::<DoubleType>().write_batch(v, def, rep),
                Values::Bool(v) => col.typed::<BoolType>().write_batch(v, def, rep),
                Values::Bytes(v) => col.typed::<ByteArrayType>().write_batch(v, def, rep),
            }
            .map_err(err)?;
            col.close().map_err(err)?;
            leaf.def.clear();
            if let Some(r) = &mut leaf.rep {
                r.clear();
            }
            match &mut leaf.values {
                Values::Int(v) => v.clear(),
                Values::Float(v) => v.clear(),
                Values::Bool(v) => v.clear(),
                Values::Bytes(v) => v.clear(),
            }
        }
        rg.close().map_err(err)?;
        self.written += self.rows as u64;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.push_line(&line)?;
        }
        self.flush_group()?;
        let Some(writer) = self.writer.take() else {
            return Err(io::Error::other("parquet: the file is closed"));
        };
        let mut w = writer.into_inner().map_err(err)?;
        w.flush()?;
        Ok(w)
    }
}

/// Appends a scalar value at definition level `base` (0 at the top, 1 in a
/// present struct); returns the bytes it holds. A value of another JSON
/// type than the column's is null (a string column takes its JSON text).
fn put_scalar(leaf: &mut Leaf, kind: Kind, v: Option<&Value>, base: i16) -> usize {
    let present = base + 1;
    let bytes = match (&mut leaf.values, kind, v) {
        (Values::Int(out), _, Some(v)) => v.as_i64().map(|n| out.push(n)).map(|_| 8),
        (Values::Float(out), _, Some(v)) => v.as_f64().map(|n| out.push(n)).map(|_| 8),
        (Values::Bool(out), _, Some(v)) => v.as_bool().map(|b| out.push(b)).map(|_| 1),
        (Values::Bytes(out), Kind::Json, Some(v)) => {
            let s = v.to_string();
            let n = s.len();
            out.push(ByteArray::from(s.into_bytes()));
            Some(n)
        }
        (Values::Bytes(out), _, Some(v)) => {
            let s = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let n = s.len();
            out.push(ByteArray::from(s.into_bytes()));
            Some(n)
        }
        (_, _, None) => None,
    };
    match bytes {
        Some(n) => {
            leaf.def.push(present);
            n + 2
        }
        None => {
            leaf.def.push(base);
            2
        }
    }
}

/// Appends a list (definition levels: 0 null, 1 empty, 2 null element,
/// 3 element; repetition 0 for a row's first entry, 1 for the rest).
fn put_list(leaf: &mut Leaf, kind: Kind, v: Option<&Value>) -> usize {
    let Some(rep) = leaf.rep.as_mut() else {
        return 0;
    };
    let items = match v.and_then(Value::as_array) {
        None => {
            leaf.def.push(0);
            rep.push(0);
            return 2;
        }
        Some(a) if a.is_empty() => {
            leaf.def.push(1);
            rep.push(0);
            return 2;
        }
        Some(a) => a,
    };
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        rep.push(if i == 0 { 0 } else { 1 });
        let ok = match (&mut leaf.values, kind) {
            (Values::Int(out), Kind::IntList) => item.as_i64().map(|n| {
                out.push(n);
                8
            }),
            (Values::Bytes(out), _) => match item {
                Value::Null => None,
                Value::String(s) => {
                    out.push(ByteArray::from(s.as_bytes().to_vec()));
                    Some(s.len())
                }
                other => {
                    let s = other.to_string();
                    let n = s.len();
                    out.push(ByteArray::from(s.into_bytes()));
                    Some(n)
                }
            },
            _ => None,
        };
        leaf.def.push(if ok.is_some() { 3 } else { 2 });
        bytes += ok.unwrap_or(0) + 4;
    }
    bytes
}

impl<W: Write + Send> Write for ParquetLines<W> {
    /// JSON lines; a line may come in several writes.
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let mut rest = b;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(i + 1);
            if self.partial.is_empty() {
                self.push_line(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.push_line(&whole)?;
            }
            rest = tail;
        }
        self.partial.extend_from_slice(rest);
        Ok(b.len())
    }

    /// Row groups are written as they fill, and at [`ParquetLines::finish`].
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_levels() {
        let mut leaf = Leaf {
            values: Values::Int(Vec::new()),
            def: Vec::new(),
            rep: Some(Vec::new()),
        };
        put_list(&mut leaf, Kind::IntList, None);
        put_list(&mut leaf, Kind::IntList, Some(&serde_json::json!([])));
        put_list(&mut leaf, Kind::IntList, Some(&serde_json::json!([4, 5])));
        assert_eq!(leaf.def, [0, 1, 3, 3]);
        assert_eq!(leaf.rep.as_deref(), Some(&[0, 0, 0, 1][..]));
        let Values::Int(v) = leaf.values else {
            panic!("int values")
        };
        assert_eq!(v, [4, 5]);
    }

    #[test]
    fn rows_go_out_in_bounded_row_groups() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let path =
            std::env::temp_dir().join(format!("wsdissect-rg-{}.parquet", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        let mut w = ParquetLines::new(f, "finding").unwrap();
        let n = ROW_GROUP_ROWS + 10;
        for i in 0..n {
            let line = format!("{{\"type\":\"finding\",\"code\":\"x\",\"packet\":{i}}}\n");
            // Split across writes, as a writer may hand a line over.
            let (a, b) = line.as_bytes().split_at(7);
            w.write_all(a).unwrap();
            w.write_all(b).unwrap();
            assert!(w.rows <= ROW_GROUP_ROWS);
        }
        w.write_all(b"{\"type\":\"summary\",\"errors\":0}\n")
            .unwrap();
        w.finish().unwrap();
        let r = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(r.metadata().num_row_groups(), 2);
        assert_eq!(r.metadata().file_metadata().num_rows(), n as i64);
        let last = r.get_row_iter(None).unwrap().last().unwrap().unwrap();
        assert_eq!(last.to_json_value()["packet"], serde_json::json!(n - 1));
        let _ = std::fs::remove_file(&path);
    }
}
