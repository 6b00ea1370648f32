#!/usr/bin/env python3
"""Peers for the non-WebSocket corpus (samples/nonws/, recorded by nonws.sh).

Each subcommand runs a real server and its client over kernel TCP on
loopback and stops by itself:

  https CERT KEY PORT SNI VERSION CIPHER ALPN N
      an HTTPS server (http.server in Python's ssl) answering N GET requests
      made by curl, each on its own connection. VERSION is 1.2 or 1.3; the
      server allows only CIPHER (an OpenSSL name for 1.2, an IANA TLS 1.3
      suite name for 1.3); both sides offer ALPN.
  wss CERT KEY PORT SNI ALPN
      a `websockets` echo server over TLS and a client exchanging messages.
  random PORT SEED
      a socket pair exchanging os.urandom-like bytes (seeded) both ways.
  mqtt-subs PORT
      a raw-socket MQTT 3.1.1 client of a running broker: CONNECT, five
      SUBSCRIBEs each in its own segment (`82 LL ...`: also a valid
      unmasked WebSocket binary frame header), three PINGREQs, DISCONNECT.
"""

import asyncio
import http.server
import os
import random
import socket
import ssl
import subprocess
import sys
import threading


def https(cert, key, port, sni, version, cipher, alpn, n):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = v
    ctx.maximum_version = v
    if version == "1.2":
        ctx.set_ciphers(cipher)
    ctx.set_alpn_protocols([alpn])

    class H(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = (f"hello {self.path}\n" * 40).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), H)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    url = f"https://{sni}:{port}"
    curl = ["curl", "-sk", "--max-time", "5", "--resolve", f"{sni}:{port}:127.0.0.1"]
    if version == "1.3":
        # TLS 1.3 encrypts the server's ALPN choice: offer only one protocol.
        curl += ["--tlsv1.3", "--tls13-ciphers", cipher, "--http1.1"]
    else:
        curl += ["--tlsv1.2", "--tls-max", "1.2"]
    # For 1.2, curl offers h2 and http/1.1 by ALPN; the server picks `alpn`.
    for i in range(int(n)):
        subprocess.run(curl + [f"{url}/r{i}"], check=True, stdout=subprocess.DEVNULL)
    srv.shutdown()


def wss(cert, key, port, sni, alpn):
    import websockets

    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    sctx.set_alpn_protocols([alpn])
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.set_alpn_protocols([alpn])

    async def echo(ws):
        async for m in ws:
            await ws.send(m)

    async def main():
        async with websockets.serve(echo, "127.0.0.1", int(port), ssl=sctx):
            uri = f"wss://127.0.0.1:{port}/chat"
            async with websockets.connect(uri, ssl=cctx, server_hostname=sni) as ws:
                for i in range(12):
                    await ws.send(f"message {i} " + "x" * (i * 10))
                    await ws.recv()
                    await ws.send(bytes(range(i * 20 % 256)) * 3)
                    await ws.recv()
                await ws.ping()

    asyncio.run(main())


def rand(port, seed):
    rng = random.Random(int(seed))
    port = int(port)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)

    def serve():
        c, _ = ls.accept()
        with c:
            for _ in range(20):
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(rng.randbytes(rng.randrange(16, 900)))

    t = threading.Thread(target=serve)
    t.start()
    c = socket.create_connection(("127.0.0.1", port))
    crng = random.Random(int(seed) + 1)
    for _ in range(20):
        c.sendall(crng.randbytes(crng.randrange(16, 900)))
        c.recv(65536)
    c.close()
    t.join()
    ls.close()


def mqtt_subs(port):
    import struct
    import time

    s = socket.create_connection(("127.0.0.1", int(port)))
    cid = b"nonws-subs"
    vh = b"\x00\x04MQTT\x04\x02\x00\x3c"
    pl = struct.pack("!H", len(cid)) + cid
    s.sendall(bytes([0x10, len(vh) + len(pl)]) + vh + pl)
    s.recv(100)
    topics = [b"home/temp", b"home/humidity", b"home/door", b"office/light", b"office/co2"]
    for i, t in enumerate(topics):
        body = struct.pack("!H", i + 1) + struct.pack("!H", len(t)) + t + b"\x01"
        s.sendall(bytes([0x82, len(body)]) + body)
        s.recv(100)
        time.sleep(0.05)
    for _ in range(3):
        s.sendall(b"\xc0\x00")
        s.recv(100)
        time.sleep(0.05)
    s.sendall(b"\xe0\x00")
    s.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"https": https, "wss": wss, "random": rand, "mqtt-subs": mqtt_subs}[cmd](*args)
