#!/usr/bin/env python3
"""WebSocket sessions between real Python implementations, for recording.

Usage: py_scenarios.py SCENARIO LOG HOST PORT [server|client|both]

Every data message an application sends is appended to LOG as one JSON
line: {"side": "client"|"server", "opcode": 1|2, "data_hex": "..."}, so the
tests can compare what wsdissect reassembles with what was really sent.
With "server" or "client" only that half runs (for two network namespaces);
"both" runs both in one process over the kernel's TCP.
"""
import asyncio

from msglog import log_message
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

LOG = None


def log(side, data):
    log_message(LOG, side, data)


async def echo_handler(ws):
    try:
        async for msg in ws:
            log("server", msg)
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


def pattern(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


def text_of(n):
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[i % len(alphabet)] for i in range(n))


# --- client halves -------------------------------------------------------


async def client_echo(uri, compression):
    async with connect(uri, compression=compression, ping_interval=None) as ws:
        for msg in ["Hello", "", "héllo wörld ✓ — ünïcödé", pattern(256), text_of(125),
                    '{"kind": "json", "values": [1, 2, 3], "nested": {"ok": true}}']:
            log("client", msg)
            await ws.send(msg)
            await ws.recv()
        pong = await ws.ping(b"are you there?")
        await pong
        await ws.close(1000, "bye")


async def client_lengths(uri, compression):
    async with connect(uri, compression=compression, ping_interval=None,
                       max_size=None) as ws:
        for n in [0, 1, 125, 126, 127, 65535, 65536, 200000]:
            msg = pattern(n, n & 0xFF) if n % 2 else text_of(n)
            log("client", msg)
            await ws.send(msg)
            await ws.recv()
        await ws.close(1000)


CLIENTS = {"echo": client_echo, "lengths": client_lengths}


async def run(scenario, host, port, role, compression):
    uri = f"ws://{'[' + host + ']' if ':' in host else host}:{port}/{scenario}"
    stop = asyncio.get_running_loop().create_future()
    if role in ("server", "both"):
        server = await serve(echo_handler, host, port, compression=compression,
                             max_size=None, ping_interval=None)
        if role == "server":
            # Serve until the single client has gone, then stop by itself.
            await asyncio.wait_for(serve_until_idle(server), timeout=60)
            return
    if role in ("client", "both"):
        for attempt in range(50):
            try:
                await CLIENTS[scenario](uri, compression)
                break
            except OSError:
                await asyncio.sleep(0.1)
    if role == "both":
        server.close()
        await server.wait_closed()
    del stop


async def serve_until_idle(server):
    seen = False
    while True:
        await asyncio.sleep(0.2)
        if server.connections:
            seen = True
        elif seen:
            server.close()
            await server.wait_closed()
            return


def main():
    global LOG
    scenario, LOG, host, port = sys.argv[1:5]
    role = sys.argv[5] if len(sys.argv) > 5 else "both"
    compression = None  # compressed sessions are deflate_scenarios.py's
    asyncio.run(run(scenario, host, int(port), role, compression))


if __name__ == "__main__":
    main()
