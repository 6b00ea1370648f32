#!/usr/bin/env python3
"""A userspace Ethernet bridge that fragments IPv6 and IPv4 TCP packets.

Usage: frag_bridge.py IFACE_A IFACE_B SECONDS SEED MAX_FRAGMENT

Runs in a middle network namespace between two veth pairs. Every frame read
from one interface is written to the other. An IPv6 packet carrying TCP
(no extension headers) whose payload is larger than MAX_FRAGMENT bytes is
split into fragments (RFC 8200 section 4.5: the IPv6 header, then a
Fragment header with a fresh 32-bit identification, fragment payloads a
multiple of 8 bytes but the last) before it is forwarded. So is an IPv4
packet carrying TCP without options and with DF clear (as a router would
fragment it: the datagram's identification, MF and offset set, the header
checksum recomputed); one with DF set is forwarded whole. With a seeded
random generator, about 20% of fragmented packets have their fragments sent
in reverse order, and about 15% have one fragment sent twice (an exact
duplicate, which receivers ignore).

Linux does not fragment TCP over IPv6 at the source and routers never
fragment IPv6, so this bridge stands in for a source that does (and, for
IPv4, for a router whose fragments arrive out of order or twice); the
receiving kernel reassembles the fragments (the application on it gets
every message), which shows they are well formed. Stops by itself after
SECONDS.
"""
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def fragments(frame, max_fragment, ident):
    """The Ethernet frames of the fragments of `frame`, or None."""
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd" or frame[20] != 6:
        return None
    eth, ip6 = frame[:14], frame[14:54]
    plen = struct.unpack("!H", ip6[4:6])[0]
    payload = frame[54:54 + plen]
    if len(payload) <= max_fragment:
        return None
    step = max_fragment - max_fragment % 8
    out = []
    for off in range(0, len(payload), step):
        piece = payload[off:off + step]
        more = off + step < len(payload)
        head = bytearray(ip6)
        head[4:6] = struct.pack("!H", 8 + len(piece))
        head[6] = 44  # Fragment
        fh = struct.pack("!BBHI", 6, 0, off | int(more), ident)
        out.append(eth + bytes(head) + fh + piece)
    return out


def checksum(header):
    total = sum(struct.unpack("!%dH" % (len(header) // 2), header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def fragments_v4(frame, max_fragment):
    """The Ethernet frames of the IPv4 fragments of `frame`, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[14] != 0x45 or frame[23] != 6:
        return None
    flags = struct.unpack("!H", frame[20:22])[0]
    if flags & 0x4000 or flags & 0x3FFF:  # DF set, or already a fragment
        return None
    eth, ip4 = frame[:14], frame[14:34]
    total = struct.unpack("!H", ip4[2:4])[0]
    payload = frame[34:14 + total]
    if len(payload) <= max_fragment:
        return None
    step = max_fragment - max_fragment % 8
    out = []
    for off in range(0, len(payload), step):
        piece = payload[off:off + step]
        more = off + step < len(payload)
        head = bytearray(ip4)
        head[2:4] = struct.pack("!H", 20 + len(piece))
        head[6:8] = struct.pack("!H", (off // 8) | (0x2000 if more else 0))
        head[10:12] = b"\0\0"
        head[10:12] = struct.pack("!H", checksum(bytes(head)))
        out.append(eth + bytes(head) + piece)
    return out


def main():
    a, b = sys.argv[1], sys.argv[2]
    seconds, seed, max_fragment = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    rng = random.Random(seed)
    ident = rng.getrandbits(32)
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[name] = s
    other = {a: socks[b], b: socks[a]}
    deadline = time.time() + seconds
    stats = {"fwd": 0, "fragmented": 0, "fragments": 0, "reversed": 0, "duplicated": 0}
    while time.time() < deadline:
        r, _, _ = select.select(list(socks.values()), [], [], 0.05)
        for name, s in socks.items():
            if s not in r:
                continue
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            ident = (ident + 1) & 0xFFFFFFFF
            pieces = fragments(frame, max_fragment, ident)
            if pieces is None:
                pieces = fragments_v4(frame, max_fragment)
            if pieces is None:
                other[name].send(frame)
                stats["fwd"] += 1
                continue
            stats["fragmented"] += 1
            x = rng.random()
            if x < 0.20:
                pieces.reverse()
                stats["reversed"] += 1
            elif x < 0.35:
                i = rng.randrange(len(pieces))
                pieces.insert(i + 1, pieces[i])
                stats["duplicated"] += 1
            for p in pieces:
                other[name].send(p)
                stats["fragments"] += 1
    print(stats, file=sys.stderr)


if __name__ == "__main__":
    main()
