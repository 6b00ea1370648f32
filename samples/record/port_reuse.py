#!/usr/bin/env python3
"""Two WebSocket connections in a row from the same client port.

Usage: port_reuse.py LOG HOST PORT CLIENT_PORT

A websockets server echoes; the client binds CLIENT_PORT, talks, closes
(the server closes TCP first, so the client's port is free at once), then
connects again from the same port: one 4-tuple, two TCP connections.
"""
import asyncio
from msglog import log_message
import socket
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve


def log(path, side, text):
    log_message(path, side, text)


async def main():
    path, host, port, cport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    async def echo(ws):
        async for m in ws:
            log(path, "server", m)
            await ws.send(m)

    async with serve(echo, host, port, compression=None):
        for round_ in range(2):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, cport))
            s.connect((host, port))
            async with connect(f"ws://{host}:{port}/round{round_}", sock=s, compression=None) as ws:
                for i in range(3):
                    m = f"round {round_} message {i}"
                    log(path, "client", m)
                    await ws.send(m)
                    await ws.recv()
            await asyncio.sleep(0.3)


asyncio.run(main())
