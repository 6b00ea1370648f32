"""Dissect WebSocket traffic in pcap and pcapng captures."""

import os
from typing import Any, Iterable, Iterator, Literal, Optional, Union

import pyarrow as pa

from ._native import CaptureError as CaptureError

__version__: str

PathLike = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
Payload = Literal["none", "text", "hex", "base64"]
RecordType = Literal["handshake", "frame", "message", "conn", "finding", "sse-event", "push", "app"]
Protocol = Literal["mqtt", "stomp", "socketio", "graphql-ws", "graphql-transport-ws"]

#: The Arrow schema of each record type (the JSON fields, in order).
SCHEMAS: dict[str, pa.Schema]
#: Every record type `records` yields by default.
RECORD_TYPES: tuple[str, ...]
#: The `app` columns that hold the JSON text of a nested value.
APP_JSON_TEXT: tuple[str, ...]
#: The subprotocols `decode_as=` names.
PROTOCOLS: tuple[str, ...]

class CaptureWarning(UserWarning):
    """The capture was read only in part, or some packets were skipped."""

def records(
    path: PathLike,
    keylog: Optional[PathLike] = None,
    *,
    payload: Payload = "text",
    types: Optional[Iterable[RecordType]] = None,
    filter: Optional[str] = None,
    decode_as: Optional[Protocol] = None,
) -> Iterator[dict[str, Any]]:
    """Stream the JSON records of a capture as dicts (docs/schema.md)."""

def table(
    path: PathLike,
    type: RecordType,
    keylog: Optional[PathLike] = None,
    *,
    payload: Payload = "none",
    filter: Optional[str] = None,
    decode_as: Optional[Protocol] = None,
) -> pa.Table:
    """The records of one type as an Arrow table, the JSON fields as columns."""

def frames(path: PathLike, keylog: Optional[PathLike] = None, *, payload: Payload = "none", filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """Every WebSocket frame (`wsdissect frames --format json`)."""

def messages(path: PathLike, keylog: Optional[PathLike] = None, *, payload: Payload = "text", filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """Every reassembled, inflated data message (`wsdissect messages --format json`)."""

def handshakes(path: PathLike, keylog: Optional[PathLike] = None, *, filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """Every upgrade request and its answer (`handshake` records)."""

def conns(path: PathLike, keylog: Optional[PathLike] = None, *, filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """One row per WebSocket or TLS connection (`conn` records)."""

def findings(path: PathLike, keylog: Optional[PathLike] = None, *, filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """Every finding (`wsdissect check --format json`), in the order raised."""

def sse_events(path: PathLike, keylog: Optional[PathLike] = None, *, filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """Every Server-Sent Event (`sse-event` records of `wsdissect push`)."""

def push(path: PathLike, keylog: Optional[PathLike] = None, *, filter: Optional[str] = None, decode_as: Optional[Protocol] = None) -> pa.Table:
    """One row per server-push channel (`push` records)."""

def tables(
    path: PathLike,
    types: Iterable[RecordType] = ("conn", "finding"),
    keylog: Optional[PathLike] = None,
    *,
    payload: Payload = "none",
    filter: Optional[str] = None,
    decode_as: Optional[Protocol] = None,
) -> dict[str, pa.Table]:
    """Several record types in one pass, a table each."""

def app(
    path: PathLike,
    keylog: Optional[PathLike] = None,
    *,
    payload: Payload = "text",
    filter: Optional[str] = None,
    decode_as: Optional[Protocol] = None,
) -> pa.Table:
    """Every subprotocol unit (`wsdissect app --format json`); the columns of
    `APP_JSON_TEXT` hold JSON text."""
