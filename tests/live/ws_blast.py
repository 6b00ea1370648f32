#!/usr/bin/env python3
"""A real WebSocket client and server (python websockets) on loopback, for
tests/live.rs: the client sends COUNT text messages of SIZE bytes as fast
as it can (the server reads them), then closes. Prints {"done": true} once
all are sent. Stops by itself.

Usage: ws_blast.py PORT COUNT SIZE
"""
import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


async def drain(ws):
    async for _ in ws:
        pass


async def main():
    port, count, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    async with serve(drain, "127.0.0.1", port, ping_interval=None, compression=None):
        async with connect(f"ws://127.0.0.1:{port}/blast", ping_interval=None,
                           compression=None) as ws:
            for i in range(count):
                await ws.send(f"{i:08}".ljust(size, "x"))
            print(json.dumps({"done": True}), flush=True)
            await asyncio.sleep(0.3)


asyncio.run(asyncio.wait_for(main(), timeout=60))
