"""Dissect WebSocket traffic in pcap and pcapng captures.

The records are those of the command-line program's ``--format json``
(docs/schema.md lists every type and field): :func:`records` streams them as
dicts; :func:`frames`, :func:`messages`, :func:`handshakes`, :func:`conns`,
:func:`findings`, :func:`sse_events`, :func:`push` and :func:`app` return one
record type as a :class:`pyarrow.Table` whose columns are the record's fields
(``.to_pandas()`` for a DataFrame, ``.to_pylist()`` for the dicts).

Every function takes the options of the command line as keywords:
``keylog=`` (``--keylog``), ``payload=`` (``--payload``), ``filter=``
(``--filter``: the same expression language, evaluated by the same Rust
code, so the rows are the CLI's) and ``decode_as=`` (``--decode-as``).

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
from ._schema import APP_JSON_TEXT, SCHEMAS

__all__ = [
    "CaptureError",
    "CaptureWarning",
    "SCHEMAS",
    "APP_JSON_TEXT",
    "PROTOCOLS",
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
    "app",
]

__version__ = "0.1.0"

#: Every record type :func:`records` yields by default, in the order of
#: docs/schema.md.
RECORD_TYPES = ("handshake", "frame", "message", "conn", "finding", "sse-event", "push", "app")

_PAYLOADS = ("none", "text", "hex", "base64")

#: The subprotocols ``decode_as=`` names (the command line's ``--decode-as``).
PROTOCOLS = ("mqtt", "stomp", "socketio", "graphql-ws", "graphql-transport-ws")


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


def _options(filter, decode_as):
    """Checks ``filter=`` and ``decode_as=`` (the Rust side parses the
    filter and says where it is wrong)."""
    if filter is not None and not isinstance(filter, str):
        raise TypeError(f"filter must be a str, not {type(filter).__name__}")
    if decode_as is not None and decode_as not in PROTOCOLS:
        raise ValueError(f"decode_as must be one of {', '.join(map(repr, PROTOCOLS))}, not {decode_as!r}")
    return {"filter": filter, "decode_as": decode_as}


def _warn(stream, name):
    for w in stream.warnings:
        warnings.warn(f"{name}: {w}", CaptureWarning, stacklevel=3)


def records(path, keylog=None, *, payload="text", types=None, filter=None, decode_as=None):
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
    :param filter: keep only the records that match this expression
        (docs/filter.md), as the command line's ``--filter``; push
        channels and the findings of push classification are filtered too.
    :param decode_as: decode every WebSocket session as this subprotocol
        (:data:`PROTOCOLS`), as the command line's ``--decode-as``.
    :returns: an iterator of dicts; the capture is read as it is consumed,
        so memory follows the open connections, not the file.
    :raises CaptureError: the file is not a capture.
    :raises OSError: the file cannot be opened.
    """
    name = _name(path)
    _check_payload(payload)
    opts = _options(filter, decode_as)
    kinds = list(RECORD_TYPES if types is None else types)
    stream = _native.stream(name, kinds, payload, _keylog(keylog), **opts)
    return _records(stream, name)


def _records(stream, name):
    for chunk in stream:
        # JSON strings hold no raw newline: one array of every line at once.
        yield from json.loads(b"[" + chunk.rstrip(b"\n").replace(b"\n", b",") + b"]")
    _warn(stream, name)


def table(path, type, keylog=None, *, payload="none", filter=None, decode_as=None):
    """The records of one ``type`` of a capture as a :class:`pyarrow.Table`.

    Its columns are the record type's fields in :data:`SCHEMAS` (the JSON
    order; fields the JSON leaves out are null), then any field this schema
    does not know yet, with its type inferred. ``table(p, "frame").to_pylist()``
    gives the JSON records' values, record for record (``app`` tables: the
    columns of ``APP_JSON_TEXT`` hold the JSON text of the record's nested
    values). ``filter=`` and ``decode_as=`` as in :func:`records`.
    """
    return tables(path, (type,), keylog, payload=payload, filter=filter, decode_as=decode_as)[type]


def tables(path, types=("conn", "finding"), keylog=None, *, payload="none", filter=None, decode_as=None):
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
    opts = _options(filter, decode_as)
    stream = _native.stream(name, list(types), payload, _keylog(keylog), json_text="app" in types, **opts)
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


def frames(path, keylog=None, *, payload="none", filter=None, decode_as=None):
    """Every WebSocket frame (``wsdissect frames --format json``), a
    :class:`pyarrow.Table` with :data:`SCHEMAS` ``["frame"]``'s columns.

    ``payload`` as the command line's ``--payload`` (default ``"none"``,
    as there): ``"text"`` fills ``payload_text``/``payload_hex``, ``"hex"``
    ``payload_hex``, ``"base64"`` ``payload_base64``.
    """
    return table(path, "frame", keylog, payload=payload, filter=filter, decode_as=decode_as)


def messages(path, keylog=None, *, payload="text", filter=None, decode_as=None):
    """Every reassembled (and inflated) data message (``wsdissect messages
    --format json``): ``text`` for text messages, ``data_hex`` for binary
    ones by default; ``payload`` as the command line's ``--payload``."""
    return table(path, "message", keylog, payload=payload, filter=filter, decode_as=decode_as)


def handshakes(path, keylog=None, *, filter=None, decode_as=None):
    """Every WebSocket upgrade request and its answer (the ``handshake``
    records of ``wsdissect conns --format json``)."""
    return table(path, "handshake", keylog, filter=filter, decode_as=decode_as)


def conns(path, keylog=None, *, filter=None, decode_as=None):
    """One row per WebSocket (or TLS) connection (the ``conn`` records of
    ``wsdissect conns --format json``); ``client_to_server`` and
    ``server_to_client`` are struct columns (frames, messages,
    payload_bytes, close_code, close_reason)."""
    return table(path, "conn", keylog, filter=filter, decode_as=decode_as)


def findings(path, keylog=None, *, filter=None, decode_as=None):
    """Every finding (the ``finding`` records of ``wsdissect check --format
    json``), in the order the capture raised them (``check`` groups them by
    connection, and lists at most 1000 of one code on one connection; this
    table has them all)."""
    return table(path, "finding", keylog, filter=filter, decode_as=decode_as)


def sse_events(path, keylog=None, *, filter=None, decode_as=None):
    """Every Server-Sent Event (the ``sse-event`` records of ``wsdissect
    push --format json``)."""
    return table(path, "sse-event", keylog, filter=filter, decode_as=decode_as)


def push(path, keylog=None, *, filter=None, decode_as=None):
    """One row per server-push channel with its technique (the ``push``
    records of ``wsdissect push --format json``)."""
    return table(path, "push", keylog, filter=filter, decode_as=decode_as)


def app(path, keylog=None, *, payload="text", filter=None, decode_as=None):
    """Every subprotocol unit (``wsdissect app --format json``): MQTT control
    packets, STOMP frames, Engine.IO/Socket.IO packets, GraphQL over
    WebSocket messages, a :class:`pyarrow.Table` with :data:`SCHEMAS`
    ``["app"]``'s columns (a field a unit does not have is null).

    The nested values whose shape comes from the traffic (MQTT
    ``properties``, STOMP ``headers``, Socket.IO ``args``, GraphQL
    ``payload``... the columns of ``APP_JSON_TEXT``) are strings holding
    their compact JSON text, as ``app --format parquet`` writes them:
    ``json.loads`` gives the JSON record's value. ``payload`` as the command
    line's ``--payload`` (default ``"text"``, as there); ``decode_as``
    decodes sessions that negotiated no subprotocol (or were caught without
    their handshake) as that one.

    >>> import wsdissect
    >>> t = wsdissect.app("samples/app/mqtt311.pcap")
    >>> t.column("kind").to_pylist()[:2]
    ['CONNECT', 'CONNACK']
    """
    return table(path, "app", keylog, payload=payload, filter=filter, decode_as=decode_as)
