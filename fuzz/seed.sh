#!/usr/bin/env bash
# Seeds the fuzz corpora from the recorded samples (needs tshark for the
# stream-level targets, and a release build of wsdissect for the inflater;
# the pipeline target only copies captures).
#   fuzz/seed.sh        -> fuzz/corpus/{pipeline,frame_decoder,http_handshake,inflater}/
# and, for the targets of the newer modules, from samples/tls, samples/h2,
# samples/nonws, the fragment captures and docs/filter.md:
#                       -> fuzz/corpus/{tls_records,tls_detect,keylog,h2_frames,hpack,defrag,filter}/
set -euo pipefail
cd "$(dirname "$0")"
S=../samples
mkdir -p corpus/pipeline corpus/frame_decoder corpus/http_handshake corpus/inflater corpus/tcp_reassembly
for f in $S/*.pcap $S/*.pcapng $S/violations/*.pcap $S/deflate/*.pcap; do
  if [ "$(stat -c %s "$f")" -le 262144 ]; then cp "$f" "corpus/pipeline/$(basename "$f")"; fi
done
command -v tshark >/dev/null || { echo "no tshark: only the pipeline corpus was seeded"; exit 0; }
python3 - "$S" <<'PY'
import glob, os, subprocess, sys, json
S = sys.argv[1]
def follow(cap):
    """The first TCP stream's two directions, as raw bytes."""
    out = subprocess.run(["tshark", "-n", "-r", cap, "-q", "-z", "follow,tcp,raw,0"],
                         capture_output=True, text=True).stdout
    c, s = bytearray(), bytearray()
    for line in out.splitlines():
        if not line or line.startswith(("=", "Follow", "Filter", "Node")):
            continue
        d = s if line.startswith("\t") else c
        try:
            d += bytes.fromhex(line.strip())
        except ValueError:
            pass
    return bytes(c), bytes(s)
caps = sorted(glob.glob(f"{S}/*.pcap") + glob.glob(f"{S}/violations/*.pcap") + glob.glob(f"{S}/deflate/*.pcap"))
for cap in caps:
    name = os.path.basename(cap)
    c, s = follow(cap)
    ch, _, cbody = c.partition(b"\r\n\r\n")
    sh, _, sbody = s.partition(b"\r\n\r\n")
    if not ch.startswith(b"GET"):
        continue
    deflate = 2 if b"permessage-deflate" in sh else 0
    for d, body, tag in [(0, cbody, "c"), (8, sbody, "s")]:
        if body:
            open(f"corpus/frame_decoder/{name}.{tag}", "wb").write(bytes([d | deflate | 0x30]) + body[:65536])
    open(f"corpus/http_handshake/{name}", "wb").write(b"\x10" + ch + b"\r\n\r\n" + b"\xff" + sh + b"\r\n\r\n")
for cap in glob.glob(f"{S}/deflate/*.pcap"):
    out = subprocess.run(["../target/release/wsdissect", "frames", "--format", "json",
                          "--payload", "hex", cap], capture_output=True, text=True).stdout
    msgs = [bytes.fromhex(json.loads(l)["payload_hex"]) for l in out.splitlines()
            if '"rsv1":true' in l][:20]
    if msgs:
        open(f"corpus/inflater/{os.path.basename(cap)}", "wb").write(b"\x00" + b"\xfe".join(msgs))
PY
mkdir -p corpus/tls_records corpus/tls_detect corpus/keylog corpus/h2_frames corpus/hpack corpus/defrag corpus/filter
python3 - "$S" <<'PY'
# The newer targets read steps [h][len lo][len hi][bytes] (fuzz_targets/common):
# h & 1 the direction, h = 0xfe/0xff a gap. One step per TCP segment, as
# tshark's "follow" shows them, so the seeds keep the real segmentation.
import glob, os, re, struct, subprocess, sys
S = sys.argv[1]
MAX = 48 << 10   # keep seeds small enough for fast runs

def streams(cap):
    out = subprocess.run(["tshark", "-n", "-r", cap, "-T", "fields", "-e", "tcp.stream"],
                         capture_output=True, text=True).stdout
    return sorted({int(x) for x in out.split() if x.isdigit()})[:6]

def segments(cap, n):
    """[(dir, bytes)] of TCP stream n in capture order (dir 0: the first sender)."""
    out = subprocess.run(["tshark", "-n", "-r", cap, "-q", "-z", f"follow,tcp,raw,{n}"],
                         capture_output=True, text=True).stdout
    segs = []
    for line in out.splitlines():
        if not line.strip() or line.startswith(("=", "Follow", "Filter", "Node")):
            continue
        try:
            segs.append((1 if line.startswith("\t") else 0, bytes.fromhex(line.strip())))
        except ValueError:
            pass
    return segs

def steps(segs):
    out = bytearray()
    for d, b in segs:
        for i in range(0, len(b), 0xffff):
            piece = b[i:i + 0xffff]
            if len(out) + 3 + len(piece) > MAX:
                return bytes(out)
            out += bytes([d]) + struct.pack("<H", len(piece)) + piece
    return bytes(out)

def write(target, name, ctl, body):
    if body:
        open(f"corpus/{target}/{name}", "wb").write(bytes([ctl]) + body)

# TLS: the decryption core (ctl 0x01: the samples' key logs; 0x02: made-up
# secrets for the random; 0x41: pieces of 16 bytes) and recognition.
tls = sorted(glob.glob(f"{S}/tls/*.pcap") + glob.glob(f"{S}/nonws/*https*.pcap")
             + glob.glob(f"{S}/nonws/*wss*.pcap"))
for cap in tls:
    base = os.path.basename(cap)
    mid = os.path.basename(cap).startswith("mid-")
    for n in streams(cap):
        body = steps(segments(cap, n))
        name = f"{base}.{n}"
        write("tls_records", name, 0x01, body)
        if not mid:
            write("tls_records", name + ".fake", 0x02, body)
            write("tls_records", name + ".pieces", 0x41, body)
        write("tls_detect", name, 0x01 if mid else 0x00, body)
for k in glob.glob(f"{S}/tls/*.keys"):
    write("keylog", os.path.basename(k), 0x05, open(k, "rb").read()[:8192])
# A valid entry padded to exactly the longest line kept (512 bytes).
line = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48
write("keylog", "max-line", 0x05, line.ljust(512) + b"\n" + b" " * 512 + b"\n")

# HTTP/2: whole connections (ctl 0: from the preface; 1: after an h2c
# upgrade, the HTTP/1.1 heads cut off; 2: mid-connection) and their header
# blocks for the HPACK decoder.
def frames(b, preface):
    if preface and b.startswith(b"PRI * HTTP/2.0"):
        b = b[24:]
    i = 0
    while i + 9 <= len(b):
        ln = int.from_bytes(b[i:i + 3], "big")
        yield b[i + 3], b[i + 4], b[i + 9:i + 9 + ln]
        i += 9 + ln

h2 = sorted(glob.glob(f"{S}/h2/*.pcap") + glob.glob(f"{S}/nonws/*h2c*.pcap"))
for cap in h2:
    base = os.path.basename(cap)
    mid = "mid" in base
    for n in streams(cap):
        segs = segments(cap, n)
        whole = {0: b"".join(b for d, b in segs if d == 0), 1: b"".join(b for d, b in segs if d == 1)}
        ctl = 2
        if not mid and whole[0].startswith(b"PRI * HTTP/2.0"):
            ctl = 0
        elif not mid and b"Upgrade: h2c" in whole[0][:4096]:
            ctl = 1
            cut = {d: whole[d].find(b"\r\n\r\n") + 4 for d in (0, 1)}
            segs = [(0, whole[0][cut[0]:]), (1, whole[1][cut[1]:])]
        write("h2_frames", f"{base}.{n}", ctl, steps(segs))
        if ctl == 0:
            write("h2_frames", f"{base}.{n}.pieces", 0x20 | ctl, steps(segs[:40]))
        if mid:
            continue
        for d in (0, 1):
            b = whole[d] if ctl != 1 else segs[d][1]
            blocks, cur = [], b""
            for kind, flags, p in frames(b, d == 0):
                if kind in (1, 5):
                    if flags & 0x8 and p:
                        p = p[1:len(p) - p[0]] if p[0] < len(p) else b""
                    if kind == 1 and flags & 0x20:
                        p = p[5:]
                    if kind == 5:
                        p = p[4:]
                    cur = p
                    if flags & 0x4:
                        blocks.append(cur)
                elif kind == 9:
                    cur += p
                    if flags & 0x4:
                        blocks.append(cur)
            write("hpack", f"{base}.{n}.{d}", 0x3f, steps([(0, x) for x in blocks]))

# IP fragments: their ids, offsets, lengths and flags as the defrag target's
# 6-byte steps (the bytes themselves are the target's model).
for cap in glob.glob(f"{S}/*fragments*.pcap"):
    out = subprocess.run(["tshark", "-n", "-r", cap, "-T", "fields", "-E", "separator=,",
                          "-e", "frame.time_relative", "-e", "ip.id", "-e", "ip.frag_offset",
                          "-e", "ip.flags.mf", "-e", "ip.len", "-e", "ip.hdr_len",
                          "-e", "ipv6.fraghdr.ident", "-e", "ipv6.fraghdr.offset",
                          "-e", "ipv6.fraghdr.more", "-e", "ipv6.plen",
                          "-Y", "ip.flags.mf == 1 or ip.frag_offset > 0 or ipv6.fraghdr"],
                         capture_output=True, text=True).stdout
    body, last = bytearray(), 0.0
    for line in out.splitlines():
        f = line.split(",")
        t = float(f[0] or 0)
        if f[1]:
            ident, off, more = int(f[1], 0), int(f[2] or 0) * 8, f[3] in ("1", "True")
            ln, v6 = int(f[4]) - int(f[5]), 0
        elif f[6]:
            ident, off, more = int(f[6], 0), int(f[7] or 0) * 8, f[8] in ("1", "True")
            ln, v6 = max(int(f[9]) - 8, 0), 8
        else:
            continue
        ln = min(ln, 255 * 8 + 15)
        dt = min(int((t - last) * 16), 255)
        last = t
        body += bytes([(ident & 15) | ((ln % 8) << 4)]) + struct.pack("<H", off) \
            + bytes([ln // 8, int(more) | v6, dt])
    write("defrag", os.path.basename(cap), 0x3f, bytes(body))

# Filters: every inline code span and -Y/--filter argument of docs/filter.md.
doc = open(f"{S}/../docs/filter.md", encoding="utf-8").read()
exprs = set(re.findall(r"(?:-Y|--filter) '([^']+)'", doc)) | set(re.findall(r"`([^`\n]+)`", doc))
for i, e in enumerate(sorted(exprs)):
    open(f"corpus/filter/doc{i:03}", "w", encoding="utf-8").write(e)
PY
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
# The subprotocol targets (app_mqtt, app_stomp, app_socketio, app_graphql):
# each sample's WebSocket messages as [h][len lo][len hi][bytes] steps
# (fuzz_targets/app_common: h & 1 the direction, h & 2 binary, h & 4 an
# Engine.IO polling body), from a release build of wsdissect.
mkdir -p corpus/app_mqtt corpus/app_stomp corpus/app_socketio corpus/app_graphql
python3 - "$S" <<'PY'
import json, struct, subprocess, sys
S = sys.argv[1]
caps = {"app_mqtt": ["app/mqtt311.pcap", "app/mqtt5.pcap"],
        "app_stomp": ["app/stomp.pcap"],
        "app_socketio": ["app/socketio-app.pcap", "push/socketio.pcap", "push/socketio-polling.pcap"],
        "app_graphql": ["app/graphql-ws.pcap"]}
for target, names in caps.items():
    for name in names:
        out = subprocess.run(["../target/release/wsdissect", "messages", "--format", "json",
                              "--payload", "hex", f"{S}/{name}"], capture_output=True, text=True).stdout
        conns = {}
        for l in out.splitlines():
            m = json.loads(l)
            b = bytes.fromhex(m.get("data_hex", ""))[:4096]
            h = (1 if m["from"] == "server" else 0) | (2 if m["opcode"] == 2 else 0)
            conns.setdefault(m["conn"], bytearray()).extend(bytes([h]) + struct.pack("<H", len(b)) + b)
        for c, steps in conns.items():
            head = b"\x00" if target == "app_graphql" else b""
            base = name.replace("/", "_")
            open(f"corpus/{target}/{base}.{c}", "wb").write(head + bytes(steps[:16384]))
# An Engine.IO polling exchange: the open packet, then packets joined by \x1e.
body = [b'0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
        b'40', b'42["chat",{"n":1}]\x1e42["chat",{"n":2}]\x1ebAQID']
steps = bytearray()
for i, b in enumerate(body):
    h = 4 | (0 if i == 1 else 1)
    steps += bytes([h]) + struct.pack("<H", len(b)) + b
open("corpus/app_socketio/polling-crafted", "wb").write(bytes(steps))
PY
