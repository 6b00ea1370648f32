"""Headless Chromium to a Python `websockets` server over wss:// (TLS 1.3,
permessage-deflate as Chromium offers it), for recording a TLS sample.

Usage: python3 tls_chromium.py LOG KEYLOG CERT KEY PORT

Chromium (Debian's /usr/bin/chromium, driven by playwright-core from
tests/browser/node_modules through tls_chromium.mjs) writes the TLS key log
itself (`--ssl-key-log-file=KEYLOG`). The server logs every message it
receives (as the client's) and echoes it (logged as the server's) to LOG
(see msglog.py)."""
import asyncio
import os
import ssl
import sys

import websockets

from msglog import log_message

log_path, keylog, cert, key, port = sys.argv[1:6]
here = os.path.dirname(os.path.abspath(__file__))


async def echo(ws):
    async for msg in ws:
        log_message(log_path, "client", msg)
        log_message(log_path, "server", msg)
        await ws.send(msg)


async def main():
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(cert, key)
    async with websockets.serve(echo, "127.0.0.1", int(port), ssl=sctx):
        proc = await asyncio.create_subprocess_exec(
            "node", os.path.join(here, "tls_chromium.mjs"), keylog, port,
            env={**os.environ, "NODE_PATH": os.path.join(here, "../../tests/browser/node_modules")})
        assert await proc.wait() == 0


asyncio.run(asyncio.wait_for(main(), 60))
