//! The long help of each command: what the table's columns and markers
//! mean, an example, and the exit status. README.md carries the same legend.

/// Said by every command that prints times.
const TIMES: &str = "Times: seconds since the capture's first packet (of any kind), as tshark's \
frame.time_relative; JSON `ts` fields are epoch seconds.";

const WIDTH: &str = "Width: table lines fit $COLUMNS, else the terminal's width (80 when it cannot \
be read); when output is a pipe or a file and COLUMNS is unset, nothing is cut.";

const ESCAPES: &str = "Control characters from the capture (ESC, BEL, CR, C1 controls...) are shown \
escaped, as \\x1b or \\u{9b}, never sent to the terminal.";

const EXIT_LIST: &str = "Exit status:
  0  every capture was read
  2  bad usage, or a capture that cannot be read (one line on stderr)";

pub fn top() -> String {
    "`wsdissect COMMAND --help` explains each command's columns and markers, with examples.
JSON records and finding codes: docs/schema.md; `wsdissect check --list-codes`.

Examples:
  wsdissect frames capture.pcap
  wsdissect check capture.pcapng && echo clean
  tcpdump -i lo -U -w - 'tcp port 8080' | wsdissect messages -

Exit status: 0 success; 1 `check` found a finding at or above --fail-on; 2 bad usage or a capture
that cannot be read."
        .to_string()
}

pub fn frames() -> String {
    format!(
        "Columns: pkt (the packet that completed the frame), time, conn (connection id, as in \
`conns`), dir, opcode, flags, len (payload length from the header), payload.

Legend:
  C>S S>C  client to server, server to client
  cont     a continuation frame
  F123M    flags: F = FIN, 1 2 3 = RSV1-3 (1: compressed with permessage-deflate), M = masked; - = bit clear
  !2       this frame raised 2 findings (`wsdissect check` says which)
  1000 bye a close frame: its code, then its reason
  …        cut to fit

--payload (default text): text frames, and the continuations of a text message, as text; binary \
frames and the continuations of a binary message as hex; pings and pongs as text when they read as \
text, else hex. hex and base64 show the bytes; none shows no payload. In JSON, text gives \
`payload_text` for text messages and `payload_hex` for binary ones (one field kind per message).

{TIMES}
{WIDTH}
{ESCAPES}

Examples:
  wsdissect frames capture.pcap
  wsdissect frames --payload hex capture.pcapng
  tcpdump -i lo -U -w - 'tcp port 8080' | wsdissect frames -
  wsdissect frames --format json --payload hex capture.pcap | jq .payload_hex
  wsdissect frames -Y 'opcode_name == close or len > 64k' capture.pcap

{EXIT_LIST}"
    )
}

pub fn messages() -> String {
    format!(
        "Columns: pkts (first-last packet of the message), time (when it completed), conn, dir, \
type, frm (frames), len (bytes after inflation), text / data.

Legend:
  C>S S>C  client to server, server to client
  z        the message was compressed (permessage-deflate) and is shown inflated
  (undecodable)  bytes are missing (a gap) or did not inflate
  …        cut to fit

--payload (default text): text messages as text, binary ones as hex; hex and base64 show the \
bytes; none shows no data. In JSON, text gives `text` for text messages and `data_hex` for binary \
ones; hex gives only `data_hex`, base64 only `data_base64`.

{TIMES}
{WIDTH}
{ESCAPES}

Examples:
  wsdissect messages capture.pcap
  wsdissect messages --format json capture.pcap | jq -r .text
  wsdissect messages --format csv -Y 'from == server and text contains \"error\"' capture.pcap > m.csv

{EXIT_LIST}"
    )
}

pub fn conns() -> String {
    format!(
        "Columns: conn (id, in order of first packet), client, server, path (of the upgrade \
request), status, then per direction as client/server: frames, msgs, bytes (payload bytes on the \
wire), close (close code, - when none); secs (duration), findings (how many).

Legend:
  c/s      client/server: the client's figure, then the server's
  101 ok   switched to WebSocket and the accept key matched; 101 bad: it did not
  unseen   no handshake in the capture (found mid-connection)
  no answer  an upgrade request without a response

When the table is wider than the terminal, the path is cut first, then the c/s counts move to a \
line under each row. --payload does not apply (conns shows no payloads).

{WIDTH}
{ESCAPES}

Examples:
  wsdissect conns capture.pcap
  wsdissect conns --format json capture.pcap | jq 'select(.status != 101)'

{EXIT_LIST}"
    )
}

pub fn check() -> String {
    format!(
        "Lines: severity, code, the packet it was seen in, the side that sent it, one sentence. \
Findings are grouped by connection; capture-level ones come first. `wsdissect check --list-codes` \
lists every code with its severity and meaning (docs/schema.md explains them).

{WIDTH} A message that does not fit goes under its row.
{ESCAPES}

Examples:
  wsdissect check capture.pcap
  wsdissect check --fail-on warning --allow tcp.gap capture.pcap
  wsdissect check --format junit capture.pcap > check.xml
  wsdissect check -Y 'code != tcp.gap' capture.pcap
  wsdissect check --list-codes

Exit status:
  0  no finding at or above --fail-on (default error)
  1  at least one finding at or above --fail-on
  2  bad usage, or a capture that cannot be read (one line on stderr)"
    )
}

pub fn explain() -> String {
    format!(
        "{TIMES}

Examples:
  wsdissect explain samples/rfc-examples.pcap
  wsdissect explain --conn 3 --frame 2 capture.pcap
  wsdissect explain --format html capture.pcap > walkthrough.html

{EXIT_LIST}"
    )
}

pub fn push() -> String {
    format!(
        "Columns: # (channel), technique, client, server, resource (method and path), reqs \
(requests), events (what the server pushed), interval (mean time between requests), hold (mean \
time a request was held open), reconn; then, per channel, why its technique was chosen.

Legend:
  reconn   SSE reconnections (requests after the first); - for other techniques
  -        no value (one request has no interval)
  …        cut to fit

When the table is wider than the terminal, the resource is cut first, then the counts and times \
move to a line under each row; the reasons wrap.

{WIDTH}
{ESCAPES}

Examples:
  wsdissect push capture.pcap
  wsdissect push --format json capture.pcap | jq 'select(.type == \"push\")'

Exit status:
  0  every capture was read (also when it holds no HTTP)
  2  bad usage, or a capture that cannot be read (one line on stderr)"
    )
}

pub fn app() -> String {
    format!(
        "One row per subprotocol message: an MQTT control packet, a STOMP frame (a lone \
end-of-line heart-beat is HEARTBEAT), an Engine.IO/Socket.IO packet, a GraphQL over WebSocket \
message. A session is decoded by the Sec-WebSocket-Protocol its server chose (mqtt, mqttv3.1, \
v10.stomp, v11.stomp, v12.stomp, graphql-transport-ws, graphql-ws), by Socket.IO's \
/socket.io/?EIO=4 path (its HTTP long-polling bodies too, joined to the WebSocket transport by \
sid), or by --decode-as PROTO. A message cut by --max-message-bytes, or whose bytes the capture \
lacks, is not decoded. `wsdissect check` reports the subprotocols' findings.

Columns: pkt (the packet that completed the message), time, conn (connection id, as in `conns`; \
conn/stream over HTTP/2), dir, proto, kind (packet type, command, event type), what (topic, \
destination, event or id, then details and the payload).

Legend:
  C>S S>C  client to server, server to client
  proto    mqtt, stomp, sio (Engine.IO/Socket.IO), gql (graphql-transport-ws), gqlws (graphql-ws)
  q1 id=3  MQTT QoS and packet id; rc= reason code(s); retain: the retain flag
  …        cut to fit

--payload (default text): MQTT payloads and STOMP bodies as text when UTF-8, else hex; hex and \
base64 show the bytes; none leaves them out. JSON: the `app` record of docs/schema.md \
(`payload_text`/`payload_hex`/`payload_base64`, `body_*` alike). CSV: a header row of the JSON \
field names, RFC 4180 quoting, nested values as JSON.

{TIMES}
{WIDTH}
{ESCAPES}

Examples:
  wsdissect app capture.pcap
  wsdissect app --format json capture.pcap | jq 'select(.kind == \"PUBLISH\") | .topic'
  wsdissect app --decode-as mqtt --format csv capture.pcap > mqtt.csv

{EXIT_LIST}"
    )
}

pub fn stats() -> String {
    format!(
        "Figures per WebSocket connection and for the whole capture: duration; frames, messages and \
bytes per direction and opcode (wire = frame headers and payloads, payload, message bytes as sent, \
inflated); message sizes (p50/p90/p99 within 1/128 of the exact value, max exact); messages per \
second (mean, peak in a 1 s window, and a series of at most 600 buckets); ping->pong and TCP \
handshake round trips (min/median/max); close codes and who closed first; findings by code; \
subprotocol records by kind and topic.

Columns: conn (id, as in `conns`), server, dur (first to last packet), frames, msgs (data \
messages), bytes (frame bytes on the wire), p50/p99 (message sizes), pk/s (most messages in one \
second), ping (median ping->pong time), close (who sent the first close frame and its code: c1000 \
= the client, code 1000; tcp:s = no close frame, the server's FIN or RST came first).

--filter applies to the frames, messages, findings and app records before they are counted: \
`stats -Y 'from == server'` counts what the server sent; with a filter, only connections with a \
record that passes it are listed.

JSON: one {{\"type\":\"stats\",\"conn\":N,...}} record per WebSocket connection, then one for the \
capture without `conn` (fields: docs/schema.md). CSV: the same records, nested fields as dotted \
columns (client_to_server.by_opcode.text.frames), lists joined with `;`.

Examples:
  wsdissect stats capture.pcap
  wsdissect stats --format json capture.pcap | jq 'select(.conn == null) | .message_size'
  wsdissect stats --filter 'opcode_name == \"text\"' --format csv a.pcap b.pcapng

{WIDTH}

{ESCAPES}

{EXIT_LIST}"
    )
}

pub fn report() -> String {
    format!(
        "Writes one self-contained HTML page (inline CSS and SVG charts, no script, nothing fetched) \
for the captures: a summary (duration, connections, frames, messages and bytes per direction, \
findings by severity), a row per WebSocket connection (client, server, carrier, TLS, duration, \
counts per direction, close codes and who closed first, findings), a timeline of the connections, \
messages per second, message sizes, round-trip times (ping to pong, TCP handshake), close codes, and \
every finding linked to its packet. The figures are those of `wsdissect stats`. Several captures \
give a section each. --filter keeps the records that match before they are counted.

-o FILE.html is required; -o - writes the page to standard output.

Text from the capture (paths, close reasons, header values quoted by findings) is HTML-escaped, \
control characters shown as \\x1b or \\u{{9b}}.

{TIMES}

Examples:
  wsdissect report -o report.html capture.pcap
  wsdissect report -o wss.html --keylog keys.log capture.pcapng
  wsdissect report -o - -Y 'conn == 3' capture.pcap > conn3.html

{EXIT_LIST}"
    )
}
