#!/usr/bin/env python3
"""SSE peers for the push recordings.

  sse_peers.py client HOST PORT LOG   an EventSource-like client of push_server.js:
      GET /events, read the stream, reconnect after the retry time with
      Last-Event-ID, stop on a 204. Logs each request it makes.
  sse_peers.py http10 HOST PORT LOG   an HTTP/1.0 event stream: a raw server
      answers "HTTP/1.0 200" with no length and closes after three events;
      a raw HTTP/1.0 client reads it to the end. Logs what the server sent.
  sse_peers.py malformed HOST PORT LOG   a raw server answering four
      EventSource-style requests, each breaking one rule: a text/plain type,
      a non-UTF-8 body, a retry that is not digits, a broken chunk size.
Everything stops by itself.
"""
import json
import socket
import sys
import threading
import time


def log(path, obj):
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def listener(host, port, backlog):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(backlog)
    return ls


def read_head(c):
    """Reads a request head up to its blank line."""
    req = b""
    while b"\r\n\r\n" not in req:
        chunk = c.recv(4096)
        if not chunk:
            break
        req += chunk
    return req


def read_response(s):
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk


def client(host, port, path):
    last = None
    retry = 3.0
    for _ in range(10):
        s = socket.create_connection((host, port))
        hdr = f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\nConnection: close\r\n"
        if last:
            hdr += f"Last-Event-ID: {last}\r\n"
        s.sendall((hdr + "\r\n").encode())
        log(path, {"kind": "client-request", "last_event_id": last})
        body = read_response(s)
        s.close()
        if body.startswith(b"HTTP/1.1 204"):
            return
        for line in body.split(b"\n"):
            if line.startswith(b"id: "):
                last = line[4:].strip().decode()
            if line.startswith(b"retry: "):
                retry = int(line[7:].strip()) / 1000
        time.sleep(retry)


EVENTS10 = [("a1", "update", "HTTP/1.0 has no chunks"), ("a2", None, "the server closes\nto end the stream"), ("a3", "done", "bye")]


def http10(host, port, path):
    ls = listener(host, port, 1)

    def serve():
        c, _ = ls.accept()
        read_head(c)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n")
        for i, (eid, ev, data) in enumerate(EVENTS10):
            time.sleep(0.15)
            text = f"id: {eid}\n" + (f"event: {ev}\n" if ev else "") + "".join(f"data: {d}\n" for d in data.split("\n")) + "\n"
            c.sendall(text.encode())
            log(path, {"kind": "sse", "id": eid, "event": ev or "message", "data": data, "retry": None})
        time.sleep(0.1)
        c.close()
        ls.close()

    t = threading.Thread(target=serve)
    t.start()
    s = socket.create_connection((host, port))
    s.sendall(f"GET /stream HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    read_response(s)
    s.close()
    t.join(5)


# Malformed push traffic from a raw server: each answer breaks one rule.
BAD = {
    "/wrong-type": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n\r\ndata: not sse\n\n",
    "/bad-utf8": b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 22\r\n\r\ndata: caf\xe9 au lait\n\n",
    "/bad-retry": b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 33\r\n\r\nretry: 1s\nid: r1\ndata: retried\n\n",
    "/bad-chunk": b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"f\r\ndata: chunk 1\n\n\r\nzz\r\ndata: broken\n\n\r\n0\r\n\r\n",
}


def malformed(host, port, path):
    """One connection per path; the raw server answers each with its BAD response."""
    ls = listener(host, port, 4)

    def serve():
        for _ in BAD:
            c, _ = ls.accept()
            req = read_head(c)
            target = req.split(b" ")[1].decode()
            c.sendall(BAD[target])
            log(path, {"kind": "bad", "path": target})
            time.sleep(0.1)
            c.close()
        ls.close()

    t = threading.Thread(target=serve)
    t.start()
    for target in BAD:
        s = socket.create_connection((host, port))
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.settimeout(1)
        try:
            read_response(s)
        except socket.timeout:
            pass
        s.close()
    t.join(5)


if __name__ == "__main__":
    mode, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    {"client": client, "http10": http10, "malformed": malformed}[mode](host, port, path)
