#!/usr/bin/env python3
"""Compressed WebSocket sessions (permessage-deflate, RFC 7692) between real
Python implementations, for recording.

Usage: deflate_scenarios.py VARIANT LOG HOST PORT

websockets-default    websockets client and server, compression="deflate"
                      (client offers client_max_window_bits; server answers
                      server_max_window_bits=12, client_max_window_bits=12)
websockets-nct-server server_no_context_takeover
websockets-nct-client client_no_context_takeover
websockets-nct-both   both
websockets-bits-9     server and client window 9 bits
websockets-bits-15    window 15 bits, context takeover
aiohttp               aiohttp client (compress=15) and server (compress=True)
tornado               Tornado client and server with compression_options={}

Every data message the applications send is logged to LOG (see py_scenarios.py).
"""
import asyncio

from msglog import log_message
import sys

LOG = None


def log(side, data):
    log_message(LOG, side, data)


def messages():
    words = " ".join(f"w{(i * 7919) % 1013}" for i in range(3000))
    return [
        "Hello", "Hello",                       # the second reuses the window
        "the quick brown fox " * 50,
        bytes((i * 31 + (i >> 7)) & 0xFF for i in range(3000)),
        words,                                   # ~20 kB, many segments on loopback? one write
        "é✓" * 5000,
        bytes(100000),                           # compresses 1000:1
        "",
    ]


async def websockets_variant(variant, host, port):
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)

    kw_s, kw_c = {}, {}
    if variant == "websockets-nct-server":
        kw_s = dict(server_no_context_takeover=True)
        kw_c = dict(server_no_context_takeover=True)
    elif variant == "websockets-nct-client":
        kw_s = dict(client_no_context_takeover=True)
        kw_c = dict(client_no_context_takeover=True)
    elif variant == "websockets-nct-both":
        kw_s = dict(server_no_context_takeover=True, client_no_context_takeover=True)
        kw_c = dict(server_no_context_takeover=True, client_no_context_takeover=True)
    elif variant.startswith("websockets-bits-"):
        b = int(variant.rsplit("-", 1)[1])
        kw_s = dict(server_max_window_bits=b, client_max_window_bits=b)
        kw_c = dict(server_max_window_bits=b, client_max_window_bits=b)
    if variant == "websockets-default":
        s_ext, c_ext = dict(compression="deflate"), dict(compression="deflate")
    else:
        s_ext = dict(extensions=[ServerPerMessageDeflateFactory(**kw_s)], compression=None)
        c_ext = dict(extensions=[ClientPerMessageDeflateFactory(**kw_c)], compression=None)

    async def echo(ws):
        async for m in ws:
            log("server", m)
            await ws.send(m)

    async with serve(echo, host, port, max_size=None, ping_interval=None, **s_ext):
        async with connect(f"ws://{host}:{port}/{variant}", max_size=None, ping_interval=None, **c_ext) as ws:
            for m in messages():
                log("client", m)
                await ws.send(m)
                await ws.recv()
            parts = ["fragmented ", "compressed ", "message ✓" * 20]
            log("client", "".join(parts))
            await ws.send(iter(parts))
            await ws.recv()
            await ws.close(1000, "done")


async def aiohttp_variant(host, port):
    import aiohttp
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse(compress=True)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                log("server", msg.data)
                await (ws.send_str if msg.type == aiohttp.WSMsgType.TEXT else ws.send_bytes)(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/aiohttp", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://{host}:{port}/aiohttp", compress=15, max_msg_size=0) as ws:
            for m in messages():
                log("client", m)
                await (ws.send_str(m) if isinstance(m, str) else ws.send_bytes(m))
                await ws.receive()
            await ws.close(code=1000, message=b"done")
    await runner.cleanup()


async def tornado_variant(host, port):
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def get_compression_options(self):
            return {}

        def on_message(self, m):
            log("server", m)
            self.write_message(m, binary=isinstance(m, bytes))

    app = tornado.web.Application([(r"/tornado", Echo)], websocket_max_message_size=1 << 24)
    server = app.listen(port, address=host)
    ws = await tornado.websocket.websocket_connect(
        f"ws://{host}:{port}/tornado", compression_options={}, max_message_size=1 << 24)
    for m in messages():
        log("client", m)
        await ws.write_message(m, binary=isinstance(m, bytes))
        await ws.read_message()
    ws.close(1000, "done")
    await asyncio.sleep(0.3)
    server.stop()


def main():
    global LOG
    variant, LOG, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if variant.startswith("websockets"):
        asyncio.run(websockets_variant(variant, host, port))
    elif variant == "aiohttp":
        asyncio.run(aiohttp_variant(host, port))
    elif variant == "tornado":
        asyncio.run(tornado_variant(host, port))
    else:
        sys.exit(f"unknown variant {variant}")


if __name__ == "__main__":
    main()
