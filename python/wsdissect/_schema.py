"""The Arrow schema of each JSON record type, field for field as docs/schema.md
lists them (the ``type`` and the JSON order kept), so a table's columns are
the record's fields whatever a given capture holds. Integers are int64,
numbers float64; fields marked "only when" in the schema are null where the
JSON leaves them out. tests/test_schema.py checks these against
docs/schema.md.
"""

import pyarrow as pa

_i = pa.int64()
_f = pa.float64()
_s = pa.string()
_b = pa.bool_()

_session = [
    ("type", _s),
    ("capture", _s),
    ("conn", _i),
    ("client", _s),
    ("server", _s),
    ("carrier", _s),
    ("stream", _i),
]

_tls = pa.struct(
    [("version", _s), ("cipher", _s), ("sni", _s), ("alpn", _s), ("decrypted", _b)]
)

_dir = pa.struct(
    [
        ("frames", _i),
        ("messages", _i),
        ("payload_bytes", _i),
        ("close_code", _i),
        ("close_reason", _s),
    ]
)

FRAME = pa.schema(
    _session
    + [
        ("from", _s),
        ("packet", _i),
        ("ts", _f),
        ("fin", _b),
        ("rsv1", _b),
        ("rsv2", _b),
        ("rsv3", _b),
        ("opcode", _i),
        ("opcode_name", _s),
        ("masked", _b),
        ("mask_key", _s),
        ("payload_len", _i),
        ("payload_hex", _s),
        ("payload_text", _s),
        ("payload_base64", _s),
        ("payload_lossy", _b),
        ("payload_incomplete", _b),
        ("close_code", _i),
        ("close_reason", _s),
        ("first_packet", _i),
        ("segments", _i),
        ("findings", pa.list_(_s)),
    ]
)

MESSAGE = pa.schema(
    _session
    + [
        ("from", _s),
        ("opcode", _i),
        ("opcode_name", _s),
        ("frames", _i),
        ("packets", pa.list_(_i)),
        ("ts", _f),
        ("compressed", _b),
        ("wire_len", _i),
        ("len", _i),
        ("text", _s),
        ("data_hex", _s),
        ("data_base64", _s),
        ("data_incomplete", _b),
        ("undecodable", _b),
        ("findings", pa.list_(_s)),
    ]
)

HANDSHAKE = pa.schema(
    _session
    + [
        ("packet", _i),
        ("response_packet", _i),
        ("method", _s),
        ("protocol", _s),
        ("path", _s),
        ("host", _s),
        ("key", _s),
        ("version", _s),
        ("status", _i),
        ("accept", _s),
        ("accept_expected", _s),
        ("accept_ok", _b),
        ("subprotocol", _s),
        ("subprotocols_offered", pa.list_(_s)),
        ("extensions", _s),
        ("extensions_offered", _s),
        ("tls", _tls),
        ("findings", pa.list_(_s)),
    ]
)

CONN = pa.schema(
    [
        ("type", _s),
        ("capture", _s),
        ("conn", _i),
        ("client", _s),
        ("server", _s),
        ("packets", pa.list_(_i)),
        ("first_ts", _f),
        ("last_ts", _f),
        ("duration", _f),
        ("handshake", _b),
        ("path", _s),
        ("status", _i),
        ("accept_ok", _b),
        ("subprotocol", _s),
        ("extensions", _s),
        ("tls", _tls),
        ("client_to_server", _dir),
        ("server_to_client", _dir),
        ("findings", pa.list_(_s)),
    ]
)

FINDING = pa.schema(
    [
        ("type", _s),
        ("capture", _s),
        ("code", _s),
        ("severity", _s),
        ("conn", _i),
        ("stream", _i),
        ("from", _s),
        ("packet", _i),
        ("offset", _i),
        ("message", _s),
    ]
)

SSE_EVENT = pa.schema(
    [
        ("type", _s),
        ("capture", _s),
        ("conn", _i),
        ("packet", _i),
        ("ts", _f),
        ("id", _s),
        ("event", _s),
        ("data", _s),
        ("retry", _i),
    ]
)

PUSH = pa.schema(
    [
        ("type", _s),
        ("capture", _s),
        ("technique", _s),
        ("client", _s),
        ("server", _s),
        ("method", _s),
        ("host", _s),
        ("path", _s),
        ("conns", pa.list_(_i)),
        ("requests", _i),
        ("events", _i),
        ("first_ts", _f),
        ("last_ts", _f),
        ("mean_interval", _f),
        ("mean_hold", _f),
        ("events_per_request", _f),
        ("reconnects", _i),
        ("last_event_ids", pa.list_(_s)),
        ("open", _i),
        ("rtt", _f),
        ("hold_threshold", _f),
        ("reason", _s),
    ]
)

#: Objects and arrays whose shape comes from the traffic (MQTT properties,
#: STOMP headers, GraphQL payloads, Socket.IO arguments...) are one string
#: column holding the value's compact JSON text (``json.loads`` reads it),
#: as in ``wsdissect app --format parquet`` (src/render/columns.rs).
APP_JSON_TEXT = (
    "will_properties",
    "subscriptions",
    "properties",
    "headers",
    "args",
    "data",
    "payload",
)

APP = pa.schema(
    [
        ("type", _s),
        ("capture", _s),
        ("protocol", _s),
        ("conn", _i),
        ("client", _s),
        ("server", _s),
        ("stream", _i),
        ("from", _s),
        ("packet", _i),
        ("ts", _f),
        ("kind", _s),
        ("client_id", _s),
        ("protocol_name", _s),
        ("protocol_level", _i),
        ("clean_start", _b),
        ("keep_alive", _i),
        ("username_present", _b),
        ("username", _s),
        ("password_present", _b),
        ("will_topic", _s),
        ("will_qos", _i),
        ("will_retain", _b),
        ("will_payload_text", _s),
        ("will_payload_hex", _s),
        ("will_properties", _s),
        ("session_present", _b),
        ("topic", _s),
        ("qos", _i),
        ("retain", _b),
        ("dup", _b),
        ("packet_id", _i),
        ("reason_code", _i),
        ("reason_codes", pa.list_(_i)),
        ("subscriptions", _s),
        ("topics", pa.list_(_s)),
        ("properties", _s),
        ("properties_dropped", _i),
        ("payload_text", _s),
        ("payload_hex", _s),
        ("payload_base64", _s),
        ("headers", _s),
        ("body_text", _s),
        ("body_hex", _s),
        ("body_base64", _s),
        ("namespace", _s),
        ("event", _s),
        ("args", _s),
        ("ack_id", _i),
        ("attachments", _i),
        ("sid", _s),
        ("data", _s),
        ("data_hex", _s),
        ("id", _s),
        ("operation_name", _s),
        ("payload", _s),
    ]
)

#: The schema of each record type, by its ``type``.
SCHEMAS = {
    "frame": FRAME,
    "message": MESSAGE,
    "handshake": HANDSHAKE,
    "conn": CONN,
    "finding": FINDING,
    "sse-event": SSE_EVENT,
    "push": PUSH,
    "app": APP,
}
