#!/usr/bin/env python3
"""A userspace Ethernet bridge that drops and reorders frames.

Usage: lossy_bridge.py IFACE_A IFACE_B SECONDS SEED

Runs in a middle network namespace between two veth pairs. Every frame read
from one interface is written to the other, except that (with a seeded
random generator) about 3% of TCP frames carrying data are dropped and
about 5% are held back and sent after the next frame, so the peers' kernels
see real loss (and retransmit) and real reordering. Stops by itself after
SECONDS. The kernel here has no netem, so this stands in for it.
"""
import random
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def is_tcp_data(frame):
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return False
    ihl = (frame[14] & 0x0F) * 4
    total = int.from_bytes(frame[16:18], "big")
    doff = (frame[14 + ihl + 12] >> 4) * 4
    return total - ihl - doff > 0


def main():
    a, b, seconds, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(seed)
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[name] = s
    other = {a: socks[b], b: socks[a]}
    held = {a: None, b: None}
    deadline = time.time() + seconds
    stats = {"fwd": 0, "drop": 0, "hold": 0}
    while time.time() < deadline:
        r, _, _ = select.select(list(socks.values()), [], [], 0.05)
        if not r:
            # Nothing is coming: release any frame still held back.
            for name in held:
                if held[name] is not None:
                    other[name].send(held[name])
                    held[name] = None
            continue
        for name, s in socks.items():
            if s not in r:
                continue
            frame, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            if is_tcp_data(frame):
                x = rng.random()
                if x < 0.03:
                    stats["drop"] += 1
                    continue
                if x < 0.08 and held[name] is None:
                    held[name] = frame
                    stats["hold"] += 1
                    continue
            other[name].send(frame)
            stats["fwd"] += 1
            if held[name] is not None:
                other[name].send(held[name])
                held[name] = None
    print(stats, file=sys.stderr)


if __name__ == "__main__":
    main()
