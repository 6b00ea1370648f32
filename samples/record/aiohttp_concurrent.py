#!/usr/bin/env python3
"""Many concurrent aiohttp WebSocket clients against an aiohttp server.

Usage: aiohttp_concurrent.py LOG HOST PORT CLIENTS

Each client sends a few text and binary messages and closes; the server
echoes. Every data message sent is logged to LOG as a JSON line (see
py_scenarios.py). Uncompressed, so messages are byte-exact on the wire.
"""
import asyncio

from msglog import log_message
import sys

import aiohttp
from aiohttp import web

LOG = None


def log(side, data):
    log_message(LOG, side, data)


async def handler(request):
    ws = web.WebSocketResponse(compress=False, autoping=True)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            log("server", msg.data)
            await ws.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            log("server", msg.data)
            await ws.send_bytes(msg.data)
    return ws


async def client(session, url, n):
    async with session.ws_connect(url, compress=0, autoping=True) as ws:
        for i in range(3):
            text = f"client {n} message {i} " + "x" * (n * 37 % 300)
            log("client", text)
            await ws.send_str(text)
            await ws.receive()
            data = bytes((n + i + j) & 0xFF for j in range(n * 11 % 200))
            log("client", data)
            await ws.send_bytes(data)
            await ws.receive()
        await ws.close(code=1000, message=f"client {n} done".encode())


async def main():
    global LOG
    LOG, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    app = web.Application()
    app.router.add_get("/chat", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session, f"http://{host}:{port}/chat?n={n}", n)
                               for n in range(count)))
    await runner.cleanup()


asyncio.run(main())
