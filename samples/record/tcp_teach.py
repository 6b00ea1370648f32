"""The TCP-teaching sample (samples/tcp/keepalive.pcap): one WebSocket
connection between python websockets' client and server over the kernel's
TCP, shaped to answer the course's two TCP questions from real packets.

- The client socket has SO_KEEPALIVE with TCP_KEEPIDLE = TCP_KEEPINTVL = 1 s,
  so during each idle stretch the client's kernel sends keepalive probes
  (seq = snd.nxt - 1, no data) that the server's kernel answers with an ACK.
- The client pings every 4 s (websockets' automatic ping is off; the pings
  are sent by hand at known times); the server's library answers each pong.
- Request/response traffic (the client sends, the server answers at once):
  the server's answer carries the ACK of the client's message (piggybacked).
- Server pushes the client does not answer: the client's kernel acknowledges
  them with pure ACKs, some delayed.

Usage: tcp_teach.py server|client LOG HOST PORT
The server stops after its one connection closes (or after 40 s).
"""
import asyncio
import socket
import sys

import websockets
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

from msglog import log_message

LOG = None


def log(side, data):
    log_message(LOG, side, data)


async def handler(ws):
    try:
        async for msg in ws:
            if msg == "push":
                # Three pushes the client does not answer.
                for i in range(3):
                    data = f"push {i + 1} of 3"
                    log("server", data)
                    await ws.send(data)
                    await asyncio.sleep(0.3)
            else:
                data = f"echo: {msg}"
                log("server", data)
                await ws.send(data)
    except websockets.ConnectionClosed:
        pass


async def server(host, port):
    done = asyncio.Event()

    async def one(ws):
        await handler(ws)
        done.set()

    async with serve(one, host, port, ping_interval=None, compression=None):
        try:
            await asyncio.wait_for(done.wait(), 40)
        except asyncio.TimeoutError:
            pass


async def client(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 5)
    sock.connect((host, port))
    sock.setblocking(False)
    async with connect(
        f"ws://{host}:{port}/teach", sock=sock, ping_interval=None, compression=None
    ) as ws:
        # Request/response: each answer rides with the ACK of its question.
        for text in ("Hello", "how are you?", "a third question"):
            log("client", text)
            await ws.send(text)
            await ws.recv()
            await asyncio.sleep(0.2)
        # Pushes: the client only acknowledges them.
        log("client", "push")
        await ws.send("push")
        for _ in range(3):
            await ws.recv()
        # Idle stretches with keepalive probes, then a ping/pong heartbeat.
        for _ in range(3):
            await asyncio.sleep(4.0)
            pong = await ws.ping(b"heartbeat")
            await pong
        await asyncio.sleep(2.5)
        log("client", "bye")
        await ws.send("bye")
        await ws.recv()


def main():
    global LOG
    role, LOG, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    asyncio.run(server(host, port) if role == "server" else client(host, port))


if __name__ == "__main__":
    main()
