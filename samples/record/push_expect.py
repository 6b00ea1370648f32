#!/usr/bin/env python3
"""Writes samples/push/manifest.json: what each push capture must show,
from sources other than wsdissect: the programs' own logs (NAME.log: the
requests the server saw, every response, script and event it pushed) and
tshark (HTTP requests, and WebSocket data frames from the server). The
technique of each resource is the one the recorder was written to use.

Usage: samples/record/push_expect.py   (needs tshark)
"""
import collections
import json
import os
import subprocess

here = os.path.dirname(os.path.abspath(__file__))
push = os.path.join(here, "..", "push")

# The technique each recording's resources use, by construction.
TECHNIQUE = {
    "/poll": "polling",
    "/longpoll": "long-polling",
    "/events": "sse",
    "/stream": "sse",
    "/iframe": "iframe-streaming",
    "/page": "plain",
    "/favicon.ico": "plain",
    # malformed-push: EventSource-style requests answered by a raw server.
    "/wrong-type": "sse",
    "/bad-utf8": "sse",
    "/bad-retry": "sse",
    "/bad-chunk": "sse",
}
# The events each malformed answer still carries (sse_peers.py BAD), and the
# finding each must raise.
BAD_EVENTS = {"/wrong-type": 0, "/bad-utf8": 1, "/bad-retry": 1, "/bad-chunk": 1}
BAD_SSE = {  # what the HTML standard's decoding makes of each (U+FFFD for the bad byte)
    "/wrong-type": [],
    "/bad-utf8": [{"id": None, "event": "message", "data": "caf\ufffd au lait", "retry": None}],
    "/bad-retry": [{"id": "r1", "event": "message", "data": "retried", "retry": None}],
    "/bad-chunk": [{"id": None, "event": "message", "data": "chunk 1", "retry": None}],
}
BAD_FINDINGS = {"/wrong-type": "sse.content-type", "/bad-utf8": "sse.invalid-utf8",
                "/bad-retry": "sse.invalid-retry", "/bad-chunk": "http.bad-chunk"}


def tshark(cap, filt, fields):
    cmd = ["tshark", "-n", "-r", cap, "-Y", filt, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [l.split("\t") for l in out.splitlines() if l.strip()]


manifest = {}
for name in sorted(os.listdir(push)):
    if not name.endswith(".pcap"):
        continue
    cap = os.path.join(push, name)
    log = [json.loads(l) for l in open(cap[:-5] + ".log")]
    reqs = collections.Counter()
    for method, uri, upgrade, ip, port in tshark(cap, "http.request", ["http.request.method", "http.request.uri",
                                                                         "http.upgrade", "ip.dst", "tcp.dstport"]):
        path = uri.split("?")[0]
        reqs[(method, path, upgrade.lower() == "websocket", f"{ip}:{port}")] += 1
    # Where a capture has several servers, channels are told apart by server too.
    many_servers = len({k[3] for k in reqs}) > 1
    channels = []
    for (method, path, ws, server), n in sorted(reqs.items()):
        if ws:
            frames = tshark(cap, "websocket.opcode == 1 || websocket.opcode == 2 || websocket.opcode == 0",
                            ["tcp.srcport", "websocket.fin", "websocket.opcode"])
            server_port = tshark(cap, "http.response.code == 101", ["tcp.srcport"])[0][0]
            events = sum(1 for p, fin, _ in frames if p == server_port and fin in ("1", "True"))
            tech = "websocket"
        elif path == "/socket.io/":
            # Engine.io's polling transport: the GETs are long polls, the POSTs carry client packets.
            tech = "long-polling" if method == "GET" else "plain"
            gets = {f for f, m, u, ip, port in tshark(cap, "http.request", ["frame.number", "http.request.method",
                                                                              "http.request.uri", "ip.dst", "tcp.dstport"])
                    if m == "GET" and "transport=polling" in u and f"{ip}:{port}" == server}
            events = 0 if tech == "plain" else sum(
                1 for (r,) in tshark(cap, "http.response", ["http.request_in"]) if r in gets)
        elif method in ("POST", "PUT") and TECHNIQUE.get(path) in ("polling", "long-polling"):
            # A client's own data sent to a resource it polls (push_clients.js pollpost).
            tech, events = "plain", 0
        elif path in BAD_EVENTS:
            tech, events = TECHNIQUE[path], BAD_EVENTS[path]
        else:
            tech = TECHNIQUE[path]
            kind = {"polling": "response", "long-polling": "response", "sse": "sse",
                    "iframe-streaming": "script"}.get(tech)
            events = 0 if kind is None else sum(
                1 for e in log if e["kind"] == kind and e.get("path", path) == path
                and e.get("method", "GET") == method)
        channels.append({"technique": tech, "method": method, "path": path, "websocket": ws,
                         "requests": n, "events": events})
        if many_servers:
            channels[-1]["server"] = server
    sse = [{k: e[k] for k in ("id", "event", "data", "retry")} for e in log if e["kind"] == "sse"]
    sse += [ev for e in log if e["kind"] == "bad" for ev in BAD_SSE[e["path"]]]
    findings = sorted(BAD_FINDINGS[e["path"]] for e in log if e["kind"] == "bad")
    last_ids = [e["last_event_id"] for e in log if e["kind"] == "request"
                and e.get("path", "/events") == "/events" and e["last_event_id"]]
    manifest[name] = {"channels": channels, "sse_events": sse, "findings": findings,
                      "last_event_ids": last_ids}

with open(os.path.join(push, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, ensure_ascii=False)
    f.write("\n")
for name, m in manifest.items():
    print(name, [(c["technique"], c["requests"], c["events"]) for c in m["channels"]])
