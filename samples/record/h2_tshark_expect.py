#!/usr/bin/env python3
"""tshark's view of the HTTP/2 layer of a capture, for tests/h2_core.rs.

  h2_tshark_expect.py CAPTURE SERVER_PORT [http]  > NAME.tshark-h2.jsonl

One line per HTTP/2 frame tshark decodes, in capture order:
{"packet", "from" (client|server), "stream", "type", "flags", "length",
 "headers": [[name, value], ...] for HEADERS/PUSH_PROMISE (as tshark's
 HPACK decoder resolved them, including those tshark shows under the
 CONTINUATION frames of the block), "data_len" for DATA}.
Uses `tshark -T json` (Wireshark 4.0.17) with the port decoded as http2
(or as http, for an `Upgrade: h2c` exchange, which tshark follows itself).
JSON objects with repeated keys (several frames in a packet) are kept
as lists.
"""
import json
import subprocess
import sys


def pairs_hook(pairs):
    out = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def walk_frames(node):
    """Every 'http2.stream' object under node."""
    if isinstance(node, dict):
        for k, vs in node.items():
            for v in vs:
                if k == "http2.stream" and isinstance(v, dict):
                    yield v
                else:
                    yield from walk_frames(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_frames(v)


def first(d, k):
    v = d.get(k)
    return v[0] if v else None


def headers_of(fr):
    out = []
    for h in fr.get("http2.header", []):
        if isinstance(h, dict):
            out.append([first(h, "http2.header.name"), first(h, "http2.header.value") or ""])
    return out


def main():
    cap, port = sys.argv[1], int(sys.argv[2])
    proto = sys.argv[3] if len(sys.argv) > 3 else "http2"
    raw = subprocess.run(
        ["tshark", "-r", cap, "-d", f"tcp.port=={port},{proto}", "-T", "json", "-Y", "http2",
         "-o", "tcp.reassemble_out_of_order:TRUE"],
        check=True, capture_output=True, text=True).stdout
    packets = json.loads(raw, object_pairs_hook=pairs_hook)
    out = []
    block_of = {}
    for p in packets:
        layers = first(first(p, "_source"), "layers")
        num = int(first(first(layers, "frame"), "frame.number"))
        src = int(first(first(layers, "tcp"), "tcp.srcport"))
        for h2 in layers.get("http2", []):
            for fr in walk_frames(h2):
                t = first(fr, "http2.type")
                if t is None:
                    continue  # the magic (preface)
                rec = {"packet": num, "from": "server" if src == port else "client",
                       "stream": int(first(fr, "http2.streamid")), "type": int(t),
                       "flags": int(first(fr, "http2.flags"), 16), "length": int(first(fr, "http2.length"))}
                if rec["type"] in (1, 5):
                    rec["headers"] = headers_of(fr)
                    block_of[rec["from"]] = rec
                if rec["type"] == 9 and rec["from"] in block_of:
                    # tshark lists a header under the frame where its bytes
                    # end: put it back into the block that HEADERS began.
                    block_of[rec["from"]]["headers"] += headers_of(fr)
                if rec["type"] == 0:
                    pad = first(fr, "http2.padding") or 0
                    rec["data_len"] = rec["length"] - (int(pad) + 1 if rec["flags"] & 8 else 0)
                out.append(rec)
    for rec in out:
        print(json.dumps(rec))


if __name__ == "__main__":
    main()
