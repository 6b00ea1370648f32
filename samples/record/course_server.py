"""The hand-written WebSocket server of the course, mistakes included.

Written the way course material writes it: a plain TCP socket, the opening
handshake done by hand (key + GUID, SHA-1, base64), then one recv() read as
one frame whose length is the 7-bit field only. That is right up to 125
bytes and wrong from 126 on, where RFC 6455 section 5.2 puts a 16-bit
extended length (and from 65536 a 64-bit one) before the masking key:

- it reads the 7-bit length (126) as the payload length,
- so it takes the extended length and half the key as the masking key,
  and unmasks from the wrong place with the wrong key,
- and its echo writes the length the same way: 0x81, 126, then the
  payload, with no 16-bit extended length after the 126.

It also treats one recv() as one frame. It serves one connection and logs,
as JSON lines (the reference for what the server saw), every recv and what
it made of it. Stops by itself (socket timeouts).

Usage: python3 course_server.py LOG HOST PORT
"""

import base64
import hashlib
import json
import socket
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def main():
    log_path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    log = open(log_path, "a")

    def note(**kv):
        kv["who"] = "server"
        log.write(json.dumps(kv) + "\n")
        log.flush()

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    srv.settimeout(10)
    conn, addr = srv.accept()
    conn.settimeout(10)

    # The handshake, by hand.
    request = conn.recv(1024).decode()
    key = ""
    for line in request.split("\r\n"):
        if line.lower().startswith("sec-websocket-key:"):
            key = line.split(":", 1)[1].strip()
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    conn.send(
        (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: " + accept + "\r\n\r\n"
        ).encode()
    )
    note(event="handshake", key=key, accept=accept)

    while True:
        try:
            data = conn.recv(1024)
        except socket.timeout:
            note(event="timeout")
            break
        if not data:
            note(event="eof")
            break
        opcode = data[0] & 0x0F
        length = data[1] & 0x7F  # the mistake: 126 and 127 mean "read on"
        mask = data[2:6]
        payload = data[6 : 6 + length]
        message = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        note(
            event="recv",
            recv_bytes=len(data),
            opcode=opcode,
            length_read=length,
            mask_read=mask.hex(),
            payload_hex=message.hex(),
            unread_bytes=max(0, len(data) - 6 - length),
        )
        if opcode == 8:
            conn.send(bytes([0x88, 0]))
            note(event="close-sent")
            break
        reply = bytes([0x81, len(message)]) + message  # the same mistake
        conn.send(reply)
        note(event="send", frame_hex=reply[:2].hex(), payload_bytes=len(message))
    conn.close()
    srv.close()


if __name__ == "__main__":
    main()
