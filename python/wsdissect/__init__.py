"""Dissect WebSocket traffic in pcap and pcapng captures.

The records are those of the command-line program's ``--format json``
(docs/schema.md lists every type and field): :func:`records` streams them as
dicts; :func:`frames`, :func:`messages`, :func:`handshakes`, :func:`conns`,
:func:`findings`, :func:`sse_events` and :func:`push` return one record type
as a :class:`pyarrow.Table` whose columns are the record's fields
(``.to_pandas()`` for a DataFrame, ``.to_pylist()`` for the dicts).

The dissection runs in Rust on a thread of its own, without the GIL: other
Python threads run meanwhile, and several captures can be dissected at once
from a thread pool.

>>> import wsdissect
>>> t = wsdissect.frames("samples/python-echo.pcap")
>>> t.num_rows
16
>>> wsdissect.conns("samples/python-echo.pcap").column("server").to_pylist()
['127.0.0.1:9001']

A file that cannot be opened raises the usual :class:`OSError` subclass; a
file that is not a capture raises :class:`CaptureError`; both say the file
and the reason in one line. A capture cut short is read up to the damage,
with a :class:`CaptureWarning`.
"""

import io
import json
import os
import warnings

import pyarrow as pa
import pyarrow.json as _pajson

from . import _native
from ._native import CaptureError
from ._schema import SCHEMAS

__all__ = [
    "CaptureError",
    "CaptureWarning",
    "SCHEMAS",
    "RECORD_TYPES",
    "records",
    "table",
    "tables",
    "frames",
    "messages",
    "handshakes",
    "conns",
    "findings",
    "sse_events",
    "push",
]

__version__ = "0.1.0"

#: Every record type :func:`records` yields by default, in the order of
#: docs/schema.md.
RECORD_TYPES = ("handshake", "frame", "message", "conn", "finding", "sse-event", "push")

_PAYLOADS = ("none", "text", "hex", "base64")


class CaptureWarning(UserWarning):
    """The capture was read only in part (cut short or damaged), or some of
    its packets were skipped (a link type wsdissect does not decode). What
    could be decoded was."""


def _name(path):
    """The capture as named in every record's ``capture`` field."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fsdecode(os.fspath(path))
    raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")


def _keylog(keylog):
    """The key log argument as a list of paths (one path, or several)."""
    if keylog is None:
        return []
    if isinstance(keylog, (str, bytes, os.PathLike)):
        keylog = [keylog]
    return [_name(k) for k in keylog]


def _check_payload(payload):
    if payload not in _PAYLOADS:
        raise ValueError(f"payload must be one of {', '.join(map(repr, _PAYLOADS))}, not {payload!r}")


def _warn(stream, name):
    for w in stream.warnings:
        warnings.warn(f"{name}: {w}", CaptureWarning, stacklevel=3)


def records(path, keylog=None, *, payload="text", types=None):
    """Stream the JSON records of a capture as dicts.

    Every record has ``type`` (``handshake``, ``frame``, ``message``,
    ``conn``, ``finding``, ``sse-event``, ``push``) and ``capture``, then the
    fields of docs/schema.md, exactly as ``wsdissect ... --format json``
    writes them (fields marked "only when" there are absent otherwise).
    Records come in the order the capture decodes them; ``push`` records
    (and the findings of push classification) come after the capture's end.

    :param path: the capture file (pcap, pcapng, or either gzip-compressed).
    :param keylog: an NSS key log file (or a list of them) for TLS, as the
        command line's ``--keylog``; pcapng Decryption Secrets Blocks are
        used without it.
    :param payload: ``"text"`` (the default: text messages and frames as
        ``text``/``payload_text``, binary ones as hex), ``"hex"``,
        ``"base64"`` or ``"none"``; as the command line's ``--payload``.
    :param types: the record types wanted (default: all of them).
    :returns: an iterator of dicts; the capture is read as it is consumed,
        so memory follows the open connections, not the file.
    :raises CaptureError: the file is not a capture.
    :raises OSError: the file cannot be opened.
    """
    name = _name(path)
    _check_payload(payload)
    kinds = list(RECORD_TYPES if types is None else types)
    stream = _native.stream(name, kinds, payload, _keylog(keylog))
    return _records(stream, name)


def _records(stream, name):
    for chunk in stream:
        # JSON strings hold no raw newline: one array of every line at once.
        yield from json.loads(b"[" + chunk.rstrip(b"\n").replace(b"\n", b",") + b"]")
    _warn(stream, name)


def table(path, type, keylog=None, *, payload="none"):
    """The records of one ``type`` of a capture as a :class:`pyarrow.Table`.

    Its columns are the record type's fields in :data:`SCHEMAS` (the JSON
    order; fields the JSON leaves out are null), then any field this schema
    does not know yet, with its type inferred. ``table(p, "frame").to_pylist()``
    gives the JSON records' values, record for record.
    """
    return tables(path, (type,), keylog, payload=payload)[type]


def tables(path, types=("conn", "finding"), keylog=None, *, payload="none"):
    """Several record types of a capture in one pass: a dict of
    :class:`pyarrow.Table` by type, each as :func:`table` gives it.

    ``payload`` applies to frames and messages alike. With both ``"push"``
    and ``"finding"``, the findings include push classification's (as in
    :func:`records`).
    """
    name = _name(path)
    _check_payload(payload)
    types = tuple(types)
    for t in types:
        if t not in SCHEMAS:
            raise ValueError(f"unknown record type {t!r} ({', '.join(SCHEMAS)})")
    stream = _native.stream(name, list(types), payload, _keylog(keylog))
    parts = {t: [] for t in types}
    for chunk in stream:
        if len(types) == 1:
            parts[types[0]].append(_parse(chunk, types[0], stream.longest))
            continue
        by = {}
        for line in chunk.splitlines(keepends=True):
            # Every line starts {"type":"NAME"
            by.setdefault(line[9 : line.index(b'"', 9)], []).append(line)
        for t, lines in by.items():
            t = t.decode()
            parts[t].append(_parse(b"".join(lines), t, max(map(len, lines))))
    _warn(stream, name)
    return {t: _concat(parts[t], SCHEMAS[t]) for t in types}


def _parse(data, type, longest):
    """JSON lines of one record type into a table of its schema."""
    parse = _pajson.ParseOptions(explicit_schema=SCHEMAS[type], unexpected_field_behavior="infer")
    # A block must hold the longest line (a big message) whole.
    read = _pajson.ReadOptions(block_size=max(1 << 20, longest + 1))
    return _pajson.read_json(io.BytesIO(data), read_options=read, parse_options=parse)


def _concat(parts, schema):
    if not parts:
        return schema.empty_table()
    t = pa.concat_tables(parts, promote_options="default") if len(parts) > 1 else parts[0]
    known = [n for n in schema.names if n in t.column_names]
    extra = [n for n in t.column_names if n not in schema.names]
    return t.select(known + extra)


def frames(path, keylog=None, *, payload="none"):
    """Every WebSocket frame (``wsdissect frames --format json``), a
    :class:`pyarrow.Table` with :data:`SCHEMAS` ``["frame"]``'s columns.

    ``payload`` as the command line's ``--payload`` (default ``"none"``,
    as there): ``"text"`` fills ``payload_text``/``payload_hex``, ``"hex"``
    ``payload_hex``, ``"base64"`` ``payload_base64``.
    """
    return table(path, "frame", keylog, payload=payload)


def messages(path, keylog=None, *, payload="text"):
    """Every reassembled (and inflated) data message (``wsdissect messages
    --format json``): ``text`` for text messages, ``data_hex`` for binary
    ones by default; ``payload`` as the command line's ``--payload``."""
    return table(path, "message", keylog, payload=payload)


def handshakes(path, keylog=None):
    """Every WebSocket upgrade request and its answer (the ``handshake``
    records of ``wsdissect conns --format json``)."""
    return table(path, "handshake", keylog)


def conns(path, keylog=None):
    """One row per WebSocket (or TLS) connection (the ``conn`` records of
    ``wsdissect conns --format json``); ``client_to_server`` and
    ``server_to_client`` are struct columns (frames, messages,
    payload_bytes, close_code, close_reason)."""
    return table(path, "conn", keylog)


def findings(path, keylog=None):
    """Every finding (the ``finding`` records of ``wsdissect check --format
    json``), in the order the capture raised them (``check`` groups them by
    connection, and lists at most 1000 of one code on one connection; this
    table has them all)."""
    return table(path, "finding", keylog)


def sse_events(path, keylog=None):
    """Every Server-Sent Event (the ``sse-event`` records of ``wsdissect
    push --format json``)."""
    return table(path, "sse-event", keylog)


def push(path, keylog=None):
    """One row per server-push channel with its technique (the ``push``
    records of ``wsdissect push --format json``)."""
    return table(path, "push", keylog)
