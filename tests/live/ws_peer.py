#!/usr/bin/env python3
"""A real WebSocket echo server and client (python websockets) on loopback,
for tests/live.rs.

Usage: ws_peer.py PORT COUNT INTERVAL HOLD

The client sends COUNT text messages "live-NN", one every INTERVAL seconds,
printing {"i": N, "t": UNIX_TIME} on stdout just before each send; then it
keeps the connection open HOLD more seconds and closes it. Stops by itself.
"""
import asyncio
import json
import sys
import time

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

# No compression: the rows preview the messages as sent.


async def echo(ws):
    async for msg in ws:
        await ws.send(msg)


async def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    interval, hold = float(sys.argv[3]), float(sys.argv[4])
    async with serve(echo, "127.0.0.1", port, ping_interval=None, compression=None):
        async with connect(f"ws://127.0.0.1:{port}/live", ping_interval=None,
                           compression=None) as ws:
            for i in range(count):
                print(json.dumps({"i": i, "t": time.time()}), flush=True)
                await ws.send(f"live-{i:02}")
                await ws.recv()
                await asyncio.sleep(interval)
            print(json.dumps({"done": True, "t": time.time()}), flush=True)
            await asyncio.sleep(hold)


asyncio.run(asyncio.wait_for(main(), timeout=60))
