"""A Python `websockets` client and server over TLS 1.3 on loopback, for
recording TLS samples.

Usage: python3 tls_py.py LOG KEYLOG CERT KEY PORT

The client's ssl context writes the TLS key log to KEYLOG (`keylog_filename`;
pass `-` for none: the capture without keys). Every data message sent is
logged to LOG (see msglog.py). The suite is OpenSSL's default first choice,
TLS_AES_256_GCM_SHA384 (Python cannot restrict TLS 1.3 suites)."""
import asyncio
import ssl
import sys

import websockets

from msglog import log_message

log_path, keylog, cert, key, port = sys.argv[1:6]
port = int(port)


async def echo(ws):
    async for msg in ws:
        log_message(log_path, "server", msg)
        await ws.send(msg)


async def main():
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(cert, key)
    sctx.set_alpn_protocols(["http/1.1"])
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    cctx.set_alpn_protocols(["http/1.1"])
    if keylog != "-":
        cctx.keylog_filename = keylog
    async with websockets.serve(echo, "127.0.0.1", port, ssl=sctx, compression=None):
        async with websockets.connect(f"wss://localhost:{port}/py", ssl=cctx, compression=None,
                                      server_hostname="localhost") as ws:
            big = bytes((i * 13 + 1) & 0xFF for i in range(20000))
            for m in ["hello from python over TLS 1.3", "ünïcödé ✓", bytes(range(256)), big, ""]:
                log_message(log_path, "client", m)
                await ws.send(m)
                await ws.recv()
            await (await ws.ping(b"py-ping"))
            await ws.close(1000, "bye")


asyncio.run(asyncio.wait_for(main(), 10))
