#!/usr/bin/env python3
"""HTTP/2 peers for the samples/h2 recordings (h2c, prior knowledge).

  h2_peers.py server PORT LOG SECONDS
      Hypercorn (which implements RFC 8441) serving an ASGI app on
      127.0.0.1:PORT over h2c: /ws a WebSocket echo, /sse an event stream of
      five events, /poll a long poll answered after 300 ms. Logs every
      WebSocket message and SSE event it sends; stops after SECONDS.
  h2_peers.py client PORT LOG SCENARIO
      A client on the Python `h2` library over a plain socket, WebSocket
      frames made with `wsproto` (what Hypercorn uses). SCENARIO:
        ws      two WebSockets (streams 1 and 3) by extended CONNECT, text,
                binary, a 70000-byte message (several DATA frames), a ping,
                close 1000; then an SSE GET and three long polls
        plain   the SSE GET and the long polls only, then one request with
                a 40000-byte header (HEADERS + CONTINUATION)
        midconn a WebSocket message every 100 ms, a long poll every 500 ms,
                for 3 s (recorded from 1.2 s in)
Log lines: {"side", "stream", "opcode", "data_hex"} per WebSocket data
message sent, {"kind":"sse", "id", "event", "data"} per SSE event sent,
{"kind":"request", ...} per HTTP request the client made.
"""
import asyncio
import json
import socket
import sys
import time

LOG = None


def log(obj):
    with open(LOG, "a") as f:
        f.write(json.dumps(obj) + "\n")


def log_ws(side, stream, data):
    opcode = 1 if isinstance(data, str) else 2
    raw = data.encode() if isinstance(data, str) else bytes(data)
    log({"side": side, "stream": stream, "opcode": opcode, "data_hex": raw.hex()})


# ---------------------------------------------------------------- server
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                return
            # The stream id is not in the ASGI scope: server lines carry
            # "stream": null (each reply is derived from its request).
            if msg.get("text") is not None:
                reply = "echo:" + msg["text"]
                log_ws("server", None, reply)
                await send({"type": "websocket.send", "text": reply})
            else:
                reply = bytes(msg["bytes"])[::-1]
                log_ws("server", None, reply)
                await send({"type": "websocket.send", "bytes": reply})
    if scope["type"] != "http":
        return
    path = scope["path"]
    while True:
        msg = await receive()
        if not msg.get("more_body"):
            break
    if path == "/sse":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"),
                                (b"cache-control", b"no-cache")]})
        for i in range(1, 6):
            data = f"event {i} \u00e9" if i != 3 else "line one\nline two"
            ev = "tick" if i % 2 == 0 else "message"
            body = f"id: {i}\n" + (f"event: {ev}\n" if ev != "message" else "")
            body += "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"
            log({"kind": "sse", "id": str(i), "event": ev, "data": data})
            await send({"type": "http.response.body", "body": body.encode(), "more_body": True})
            await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/poll":
        await asyncio.sleep(0.3)
        body = json.dumps({"t": time.time(), "path": scope["query_string"].decode()}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    else:
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})


def server(port, seconds):
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.loglevel = "WARNING"

    async def main():
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await serve(app, cfg, shutdown_trigger=stop.wait)

    asyncio.run(main())


# ---------------------------------------------------------------- client
class Client:
    def __init__(self, port):
        import h2.config
        import h2.connection

        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.events = []
        self.ws = {}
        self.bodies = {}
        self.ended = set()
        self.status = {}
        self.connect_enabled = None

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, until, timeout=10):
        import h2.events
        import h2.settings

        deadline = time.time() + timeout
        while not until() and time.time() < deadline:
            data = self.sock.recv(65536)
            if not data:
                break
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.RemoteSettingsChanged):
                    s = ev.changed_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
                    if s is not None:
                        self.connect_enabled = s.new_value
                elif isinstance(ev, h2.events.ResponseReceived):
                    self.status[ev.stream_id] = dict(ev.headers).get(":status")
                elif isinstance(ev, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if ev.stream_id in self.ws:
                        self.ws[ev.stream_id]["conn"].receive_data(ev.data)
                        self.ws[ev.stream_id]["events"].extend(self.ws[ev.stream_id]["conn"].events())
                    else:
                        self.bodies.setdefault(ev.stream_id, b"")
                        self.bodies[ev.stream_id] += ev.data
                elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                    self.ended.add(ev.stream_id)
                    if ev.stream_id in self.ws:
                        self.ws[ev.stream_id]["conn"].receive_data(None)
            self.flush()

    def request(self, path, extra=()):
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":scheme", "http"), (":path", path),
                   (":authority", f"127.0.0.1:{self.port}"), ("user-agent", "h2-peers/1")] + list(extra)
        self.conn.send_headers(sid, headers, end_stream=True)
        self.flush()
        log({"kind": "request", "stream": sid, "method": "GET", "path": path})
        return sid

    def open_ws(self, path):
        from wsproto.connection import Connection, ConnectionType

        self.pump(lambda: self.connect_enabled is not None, timeout=3)
        sid = self.conn.get_next_available_stream_id()
        headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                   (":path", path), (":authority", f"127.0.0.1:{self.port}"),
                   ("sec-websocket-version", "13"), ("origin", "http://127.0.0.1")]
        self.conn.send_headers(sid, headers, end_stream=False)
        self.flush()
        log({"kind": "request", "stream": sid, "method": "CONNECT", "protocol": "websocket", "path": path})
        self.ws[sid] = {"conn": Connection(ConnectionType.CLIENT), "events": []}
        self.pump(lambda: sid in self.status)
        return sid

    def ws_send(self, sid, event, data=None):
        from wsproto.events import BytesMessage, Message, TextMessage

        w = self.ws[sid]["conn"]
        payload = w.send(event)
        if isinstance(event, Message):
            log_ws("client", sid, event.data)
        # Send in pieces no bigger than the peer's max frame size.
        view = memoryview(payload)
        while view:
            n = min(len(view), self.conn.max_outbound_frame_size,
                    self.conn.local_flow_control_window(sid))
            if n == 0:
                self.pump(lambda: self.conn.local_flow_control_window(sid) > 0, timeout=2)
                continue
            self.conn.send_data(sid, bytes(view[:n]))
            view = view[n:]
            self.flush()

    def ws_wait(self, sid, count):
        from wsproto.events import Message

        self.pump(lambda: sum(isinstance(e, Message) for e in self.ws[sid]["events"]) >= count)


def client(port, scenario):
    from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

    c = Client(port)
    if scenario == "ws":
        a = c.open_ws("/ws")
        b = c.open_ws("/ws")
        for sid, texts in ((a, ["hello over h2", "", "caf\u00e9 \u2603"]), (b, ["second session"])):
            for t in texts:
                c.ws_send(sid, TextMessage(data=t))
        c.ws_send(a, BytesMessage(data=bytes(range(256))))
        c.ws_send(b, BytesMessage(data=bytes((i * 7) & 0xFF for i in range(70000))))
        c.ws_send(a, Ping(payload=b"p1"))
        c.ws_wait(a, 4)
        c.ws_wait(b, 2)
        for sid in (a, b):
            c.ws_send(sid, CloseConnection(code=1000, reason="bye"))
        # Hypercorn answers the close and ends the stream.
        closed = lambda sid: sid in c.ended or any(
            isinstance(e, CloseConnection) for e in c.ws[sid]["events"])
        c.pump(lambda: closed(a) and closed(b), timeout=3)
    if scenario == "midconn":
        # For a capture started late: a WebSocket message every 100 ms and
        # a long poll every 500 ms for 3 s (the recorder starts tcpdump
        # 1.2 s in, so the HPACK table's first entries are never seen).
        a = c.open_ws("/ws")
        t0 = time.time()
        i = 0
        while time.time() - t0 < 3.0:
            c.ws_send(a, TextMessage(data=f"tick {i}"))
            if i % 5 == 0:
                p = c.request(f"/poll?n=mid{i}")
                c.pump(lambda: p in c.ended)
            c.ws_wait(a, i + 1)
            i += 1
            time.sleep(0.1)
        c.ws_send(a, CloseConnection(code=1000, reason="bye"))
        c.pump(lambda: any(isinstance(e, CloseConnection) for e in c.ws[a]["events"]), timeout=3)
        c.conn.close_connection()
        c.flush()
        time.sleep(0.2)
        c.sock.close()
        return
    sse = c.request("/sse", [("accept", "text/event-stream")])
    polls = [c.request(f"/poll?n={i}") for i in range(3)]
    c.pump(lambda: sse in c.ended and all(p in c.ended for p in polls))
    for i in range(2):
        p = c.request(f"/poll?n=again{i}")
        c.pump(lambda: p in c.ended)
    if scenario == "plain":
        # A 40000-byte header: h2 splits the block into HEADERS and
        # CONTINUATION frames (16384 bytes at most each).
        p = c.request("/poll?n=big", [("x-big", "".join(chr(97 + (i * 7) % 26) for i in range(40000)))])
        c.pump(lambda: p in c.ended)
    c.conn.close_connection()
    c.flush()
    time.sleep(0.2)
    c.sock.close()


if __name__ == "__main__":
    LOG = sys.argv[3]
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), float(sys.argv[4]))
    else:
        client(int(sys.argv[2]), sys.argv[4])
