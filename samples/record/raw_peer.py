#!/usr/bin/env python3
"""A raw WebSocket peer that can break RFC 6455, for recording violations.

Usage: raw_peer.py SCENARIO HOST PORT
       raw_peer.py rfc-examples HOST PORT SENT_LOG
       raw_peer.py oversized-extensions HOST PORT SENT_LOG

Client scenarios ("c-..."): a plain TCP socket does the opening handshake
by hand against a real server (Node `ws`, started by record.sh on PORT),
then writes the scenario's frames byte for byte, reads what the server
answers (usually a Close 1002 or 1007) and hangs up.

Server scenarios ("s-..."): a plain TCP listener answers a real Python
`websockets` client (run in this process, over the kernel's TCP) with a
crafted 101 and crafted frames.

Every scenario stops by itself.
"""
import asyncio
import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, form=None, key=b"\x11\x22\x33\x44", length=None):
    """Encodes one frame. form forces 7/16/64-bit length; length overrides the declared length."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    if form is None:
        form = 7 if n <= 125 else 16 if n <= 0xFFFF else 64
    m = 0x80 if mask else 0
    if form == 7:
        head = bytes([b0, m | n])
    elif form == 16:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if mask:
        body = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
        return head + key + body
    return head + payload


def close(code=None, reason=b"", raw=None):
    if raw is not None:
        return frame(8, raw)
    return frame(8, b"" if code is None else struct.pack(">H", code) + reason)


def request(host, port, key=None, version="13", connection="Upgrade", extra="", upgrade="websocket", path="/raw"):
    """An upgrade request; connection, upgrade, version or key (when False)
    set to None/False leave that header out."""
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    if upgrade is not None:
        lines.append(f"Upgrade: {upgrade}")
    if connection is not None:
        lines.append(f"Connection: {connection}")
    if key is not False:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()  # UTF-8


def read_head(sock):
    """Reads an HTTP head (up to the blank line); None if the peer hung up first."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf


def drain(sock):
    """Reads whatever the peer still sends until it closes or goes quiet, then hangs up."""
    try:
        while sock.recv(65536):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    sock.close()


# Client scenarios: list of steps; bytes are sent (each its own write), a
# float sleeps, "handshake" sends a valid upgrade and waits for the 101.
CLIENT = {
    "c-client-unmasked": ["handshake", frame(1, b"not masked", mask=False)],
    "c-rsv-bits": ["handshake", frame(1, b"rsv2 set", rsv=2)],
    "c-reserved-opcode": ["handshake", frame(3, b"opcode three")],
    "c-control-too-long": ["handshake", frame(9, b"p" * 200)],
    "c-control-fragmented": ["handshake", frame(9, b"half a ping", fin=False)],
    "c-non-minimal-length": ["handshake", frame(1, b"short", form=16)],
    "c-length-msb-set": ["handshake", frame(2, b"", length=(1 << 63) | 5, form=64)],
    "c-unexpected-continuation": ["handshake", frame(0, b"orphan")],
    "c-interleaved-data": ["handshake", frame(1, b"first half", fin=False), frame(1, b"a new message")],
    "c-invalid-utf8": ["handshake", frame(1, b"caf\xc3", fin=False), frame(0, b"\x28 not utf-8")],
    "c-close-invalid-code": ["handshake", close(999)],
    "c-close-reserved-code": ["handshake", close(1005)],
    "c-close-unassigned-code": ["handshake", close(2000, b"unassigned")],
    "c-close-code-5000": ["handshake", close(5000)],
    "c-close-payload-too-short": ["handshake", close(raw=b"\x03")],
    "c-close-invalid-utf8-reason": ["handshake", close(1000, b"bad \xff reason")],
    "c-data-after-close": ["handshake", close(1000) + frame(1, b"too late")],
    "c-key-invalid": [request("127.0.0.1", 0, key="c2hvcnQ=")],
    "c-version-unsupported": [request("127.0.0.1", 0, version="8")],
    "c-missing-connection": [request("127.0.0.1", 0, connection=None)],
    # Partial upgrade requests that still carry the WebSocket key (or version):
    # WebSocket attempts to be judged, whatever the server answers.
    "c-missing-upgrade": [request("127.0.0.1", 0, upgrade=None)],
    "c-key-only": [request("127.0.0.1", 0, upgrade=None, connection=None)],
    "c-missing-version": [request("127.0.0.1", 0, version=None)],
    "c-missing-key": [request("127.0.0.1", 0, key=False)],
    # Valid but unusual: none of this may be flagged.
    "c-unusual-valid": [
        "handshake",
        frame(9, b"x" * 125),
        frame(1, b""),
        frame(1, b"", fin=False), frame(0, b"", fin=False), frame(0, b"", fin=True),
        *[x for i, ch in enumerate(b"one byte frags")
          for x in ([frame(1 if i == 0 else 0, bytes([ch]), fin=(i == 13))] + ([frame(9, b"k")] if i % 4 == 0 else []))],
        frame(1, "é".encode()[:1], fin=False), frame(0, "é".encode()[1:]),
        b"".join(frame(1, b"m%d" % i) for i in range(50)),
        "split-header",
        close(1000),
    ],
    "c-close-empty": ["handshake", close()],
    "c-close-3000": ["handshake", close(3000, b"library code")],
    "c-close-4999": ["handshake", close(4999)],
    # Terminal control sequences in capture data (valid WebSocket, nothing
    # to flag): an 8-bit CSI (U+009B, bytes c2 9b) in a header value, ESC
    # sequences (colour, clear screen, an OSC title ended by BEL) in a text
    # message the server echoes, and in the close reason it echoes too. A
    # tool must print them escaped, never to the terminal as they are.
    "c-escape-bytes": [
        ("handshake", None, "X-Note: \u009b31m eight-bit CSI \u009b0m\r\n"),
        frame(1, b"\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J"),
        0.1,
        close(1000, b"\x1b[2Jbye\x1b[0m"),
    ],
}

# Capture data that would drive a terminal (issue 12, item 21): ESC
# sequences, BEL, backspace, CR and C1 controls in text messages (one of
# them fragmented), a ping, a binary message and a close reason; a second
# connection sends an upgrade request whose header value holds ESC (the
# server refuses it). Output of every command must show them escaped.
ESC_TEXT = "\x1b[2J\x1b]0;pwned\x07title\x1b[31m red \x1b[0m\x08\r\n\x9b31m c1 \x7f".encode()
ESCAPES = {
    "control-bytes": [
        "handshake",
        frame(1, ESC_TEXT),
        frame(1, b"\x1b[1mbold", fin=False), frame(0, b"\x1b[0m\x07 end"),
        frame(9, b"\x1b[5mping"),
        frame(2, b"\x1b[41m\x00\x01binary"),
        close(1000, b"\x1b[31mbye\x1b[0m\x07"),
    ],
    "control-bytes-header": [
        request("127.0.0.1", 0, extra="X-Note: \x1b[31mred\x1b[0m\r\n"),
    ],
    # U+009B (CSI, UTF-8 c2 9b) passes HTTP parsers as obs-text in header
    # values: an accepted upgrade whose X-Note carries it, and a
    # refused one whose Sec-WebSocket-Version does (quoted by the finding).
    "control-bytes-c1": [
        ("handshake", None, "/raw", "X-Note: \u009b31mred\r\n"),
        frame(1, "c1 \u009b31m text".encode()),
        close(1000, "\u009b0m".encode()),
    ],
    "control-bytes-version": [
        request("127.0.0.1", 0, version="13\u009b2J"),
    ],
}


# The worked examples of RFC 6455, sent by a valid client to a real server
# (Node ws, which echoes): the section 1.3 sample key, the section 5.7
# masking key 37 fa 21 3d and its "Hello" frames, a ping, the 256-byte and
# 65536-byte payloads that need the 16-bit and 64-bit length forms, and a
# close with a reason. For `explain`, whose numbers can be checked against the RFC.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_MASK = bytes.fromhex("37fa213d")
RFC_EXAMPLES = [
    ("handshake", RFC_KEY),
    frame(1, b"Hello", key=RFC_MASK),                               # 81 85 37 fa 21 3d 7f 9f 4d 51 58
    frame(1, b"Hel", fin=False, key=RFC_MASK) + frame(0, b"lo", key=RFC_MASK),
    frame(9, b"Hello", key=RFC_MASK),
    frame(2, bytes(range(256)), key=RFC_MASK),                      # 16-bit length: 7e 01 00
    frame(2, bytes(i * 7 % 256 for i in range(65536)), key=RFC_MASK),  # 64-bit length
    0.2,
    close(1000, b"lesson over", ),
]
RFC_SENT = [b"Hello".decode(), "Hello", bytes(range(256)), bytes(i * 7 % 256 for i in range(65536))]


def run_client(name, host, port):
    steps = RFC_EXAMPLES if name == "rfc-examples" else ESCAPES[name] if name in ESCAPES else CLIENT[name]
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(1.0)
    for step in steps:
        if step == "handshake" or isinstance(step, tuple):
            # ("handshake", KEY), ("handshake", KEY, EXTRA_HEADER_LINES)
            # or ("handshake", KEY, PATH, EXTRA_HEADER_LINES)
            key = step[1] if isinstance(step, tuple) else None
            path, extra = "/raw", ""
            if isinstance(step, tuple) and len(step) == 3:
                extra = step[2]
            elif isinstance(step, tuple) and len(step) > 3:
                path, extra = step[2], step[3]
            s.sendall(request(host, port, key=key, path=path, extra=extra))
            read_head(s)
            time.sleep(0.05)
        elif step == "split-header":
            # One frame whose header is split across two TCP segments.
            f = frame(1, b"split header")
            s.sendall(f[:1])
            time.sleep(0.1)
            s.sendall(f[1:])
        elif isinstance(step, float):
            time.sleep(step)
        else:
            if step.startswith(b"GET "):
                step = step.replace(b":0\r\n", f":{port}\r\n".encode())
            s.sendall(step)
            time.sleep(0.05)
    drain(s)


# Server scenarios: how the crafted 101 differs, and the frames sent after it.
def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


PING_A = b"x" * 45 + b"A"
PING_B = b"x" * 45 + b"B"


SERVER = {
    "s-accept-mismatch": {"accept": lambda k: accept_of(k + "x"), "frames": []},
    "s-accept-missing": {"accept": None, "frames": []},
    "s-server-masked": {"frames": [frame(1, b"masked by the server", mask=True)]},
    "s-extension-not-offered": {"headers": "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n", "frames": []},
    "s-subprotocol-not-offered": {"headers": "Sec-WebSocket-Protocol: mqtt\r\n", "frames": []},
    # The client offers server_max_window_bits=9; the server answers 10
    # (RFC 7692 section 7.1.2.1: "the same or smaller value").
    "s-server-window-too-large": {"offer": "server9",
                                  "headers": "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n",
                                  "frames": []},
    "s-inflate-error": {"offer": True, "headers": "Sec-WebSocket-Extensions: permessage-deflate\r\n",
                        "frames": [frame(1, b"\xff\xff\xff not deflate", rsv=4, mask=False)]},
    # Valid: the client sends two pings whose payloads agree in their first
    # 45 bytes; the server answers only the later one, as RFC 6455 section
    # 5.5.3 allows ("MAY elect to send a Pong frame for only the most
    # recently processed Ping frame").
    "s-pong-latest": {"frames": [], "pings": [PING_A, PING_B], "answer": lambda c: answer_latest_ping(c, 2)},
}


def read_frames(sock, n):
    """Reads n whole frames from sock: [(opcode, unmasked payload)]."""
    buf, out = b"", []
    while len(out) < n:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2:
            ln, at = buf[1] & 0x7F, 2
            if ln == 126:
                ln, at = struct.unpack(">H", buf[2:4])[0], 4
            elif ln == 127:
                ln, at = struct.unpack(">Q", buf[2:10])[0], 10
            key = b""
            if buf[1] & 0x80:
                key, at = buf[at:at + 4], at + 4
            if len(buf) < at + ln:
                break
            body = buf[at:at + ln]
            if key:
                body = bytes(b ^ key[i % 4] for i, b in enumerate(body))
            out.append((buf[0] & 0x0F, body))
            buf = buf[at + ln:]
    return out


def answer_latest_ping(sock, n):
    """Reads n pings and answers only the last with a pong of its payload."""
    pings = [p for op, p in read_frames(sock, n) if op == 9]
    if pings:
        sock.sendall(frame(10, pings[-1], mask=False))


def raw_server(name, host, port, ready):
    sc = SERVER[name]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(1)
    ready.set()
    ls.settimeout(5)
    c, _ = ls.accept()
    c.settimeout(1.0)
    buf = read_head(c)
    if buf is None:
        c.close()
        ls.close()
        return
    key = ""
    for line in buf.decode().split("\r\n"):
        if line.lower().startswith("sec-websocket-key:"):
            key = line.split(":", 1)[1].strip()
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"]
    acc = sc.get("accept", accept_of)
    if acc is not None:
        lines.append("Sec-WebSocket-Accept: " + acc(key))
    c.sendall(("\r\n".join(lines) + "\r\n" + sc.get("headers", "") + "\r\n").encode())
    time.sleep(0.1)
    for f in sc["frames"]:
        try:
            c.sendall(f)
        except OSError:
            break
        time.sleep(0.05)
    if "answer" in sc:
        sc["answer"](c)
    drain(c)
    ls.close()


async def real_client(name, host, port):
    from websockets.asyncio.client import connect
    sc = SERVER[name]
    if sc.get("offer") == "server9":
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        opts = {"compression": None, "extensions": [ClientPerMessageDeflateFactory(server_max_window_bits=9)]}
    else:
        opts = {"compression": "deflate" if sc.get("offer") else None}
    try:
        async with connect(f"ws://{host}:{port}/", **opts, open_timeout=2, close_timeout=1) as ws:
            if "pings" in sc:
                waiters = [await ws.ping(p) for p in sc["pings"]]
                # websockets takes a pong as the answer to its ping and every earlier one.
                await asyncio.wait_for(waiters[-1], 2)
                return
            await ws.send("hello from a real client")
            await asyncio.wait_for(ws.recv(), 1)
    except Exception as e:  # the client is expected to fail the connection
        print(f"{name}: client: {type(e).__name__}: {e}", file=sys.stderr)


# A valid client whose one Sec-WebSocket-Extensions header lists 10,000
# offers (about 300 KiB), the last of them permessage-deflate, against a
# Node ws echo server that accepts it (run with --max-http-header-size).
# Then compressed messages (raw deflate, context takeover, as RFC 7692 says),
# one uncompressed, a ping, a compressed message in two fragments, a close.
def oversized_offers():
    offers = [f"x-offer-{i:04d}; level={i % 10}; mode=1" for i in range(9999)]
    offers.append("permessage-deflate; client_max_window_bits")
    return ", ".join(offers)


OVERSIZED_MESSAGES = [
    "hello after a 300 KiB handshake",
    "hello after a 300 KiB handshake",          # refers back to the first
    "the quick brown fox " * 100,
    bytes((i * 31 + (i >> 7)) & 0xFF for i in range(3000)),
    ("plain", "not compressed"),                # RSV1 clear
    ("fragmented", "compressed message in two frames ✓" * 10),
    bytes(5000),
    "é✓" * 200,
]


def run_oversized(host, port, log):
    import zlib
    from msglog import log_message
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(1.0)
    ext = oversized_offers()
    s.sendall(request(host, port, extra=f"Sec-WebSocket-Extensions: {ext}\r\n"))
    head = read_head(s)
    if head is None or b" 101 " not in head.split(b"\r\n")[0]:
        sys.exit(f"oversized-extensions: no 101: {head!r}")
    accepted = ""
    for line in head.decode().split("\r\n"):
        if line.lower().startswith("sec-websocket-extensions:"):
            accepted = line.split(":", 1)[1].strip()
    if not accepted.startswith("permessage-deflate"):
        sys.exit(f"oversized-extensions: deflate not accepted: {accepted!r}")
    bits = 15
    for p in accepted.split(";")[1:]:
        k, _, v = p.strip().partition("=")
        if k == "client_max_window_bits" and v:
            bits = int(v)
    comp = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)

    def deflate(data):
        out = comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]

    for m in OVERSIZED_MESSAGES:
        if isinstance(m, tuple) and m[0] == "plain":
            data = m[1]
            s.sendall(frame(1, data.encode()))
        elif isinstance(m, tuple):
            data = m[1]
            wire = deflate(data.encode())
            half = len(wire) // 2
            s.sendall(frame(1, wire[:half], fin=False, rsv=4) + frame(0, wire[half:]))
        else:
            data = m
            raw = data.encode() if isinstance(data, str) else data
            s.sendall(frame(1 if isinstance(data, str) else 2, deflate(raw), rsv=4))
        for side in ("client", "server"):
            log_message(log, side, data)
        time.sleep(0.05)
        if m == OVERSIZED_MESSAGES[3]:
            s.sendall(frame(9, b"are you there"))
            time.sleep(0.05)
    s.sendall(close(1000, b"done"))
    drain(s)


def main():
    name, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if name == "oversized-extensions":
        run_oversized(host, port, sys.argv[4])
    elif name == "rfc-examples":
        # Log what both sides send: this client, and the echo server its echo.
        from msglog import log_message
        log = sys.argv[4]
        for side in ("client", "server"):
            for m in RFC_SENT:
                log_message(log, side, m)
        run_client(name, host, port)
    elif name in CLIENT or name in ESCAPES:
        run_client(name, host, port)
    else:
        ready = threading.Event()
        t = threading.Thread(target=raw_server, args=(name, host, port, ready), daemon=True)
        t.start()
        if not ready.wait(5):
            sys.exit(f"{name}: the raw server did not start")
        asyncio.run(real_client(name, host, port))
        t.join(10)


if __name__ == "__main__":
    main()
