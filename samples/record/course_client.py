"""A real client (Python websockets) for the course's hand-written server:
sends a 125-byte and a 126-byte text message, waits for each echo (2 s at
most) and closes. Logs what it sent and received as JSON lines.

Usage: python3 course_client.py LOG HOST PORT
"""

import asyncio
import json
import sys

import websockets

TEXT = (
    "The frame header of RFC 6455: FIN, RSV1-3, opcode, MASK, a 7-bit length, "
    "then 16 or 64 more bits of length when that field says 126 or 127. "
) * 2


async def main():
    log_path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = open(log_path, "a")

    def note(**kv):
        kv["who"] = "client"
        log.write(json.dumps(kv) + "\n")
        log.flush()

    async with websockets.connect(
        f"ws://{host}:{port}/", compression=None, ping_interval=None, close_timeout=2
    ) as ws:
        for n in (125, 126):
            text = TEXT[:n]
            await ws.send(text)
            note(event="sent", opcode=1, len=n, data_hex=text.encode().hex())
            try:
                echo = await asyncio.wait_for(ws.recv(), 2)
                data = echo.encode() if isinstance(echo, str) else echo
                note(event="received", len=len(data), same=(data == text.encode()))
            except asyncio.TimeoutError:
                note(event="no-echo", waited_s=2)
            except websockets.ConnectionClosed as e:
                note(event="closed", error=str(e))
                return
    note(event="done")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # the server's broken echo may end the connection
        with open(sys.argv[1], "a") as log:
            log.write(json.dumps({"who": "client", "event": "error", "error": str(e)}) + "\n")
