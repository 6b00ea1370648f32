#!/usr/bin/env python3
"""Interleaved timing of whole commands, for comparing two builds on a
noisy machine: each command runs in turn, ROUNDS times, and the median and
minimum wall time and the median user and system time (from wait4) are
printed. (Peak RSS is the benchmark's to measure: wait4 here would count
the forked Python too.)

usage: scripts/ab.py ROUNDS 'NAME=COMMAND' ['NAME=COMMAND' ...]
e.g.   scripts/ab.py 11 "old=/tmp/ws-old check -q --threads 1 target/bench/small-100m.pcap" \\
                        "new=target/release/wsdissect check -q --threads 1 target/bench/small-100m.pcap"
"""
import os
import shlex
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__.strip())
    rounds = int(sys.argv[1])
    cmds = [a.split("=", 1) for a in sys.argv[2:]]
    if any(len(c) != 2 for c in cmds):
        sys.exit("each command is NAME=COMMAND")
    res = {n: [] for n, _ in cmds}
    for _ in range(rounds):
        for n, c in cmds:
            t = time.perf_counter()
            p = subprocess.Popen(shlex.split(c), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 1):  # 1: check found errors; anything else failed
                sys.exit(f"{n}: exit status {code}")
            res[n].append((wall, ru.ru_utime, ru.ru_stime))
    print(f"{'':28} {'med wall':>9} {'min wall':>9} {'med user':>9} {'med sys':>8}   load {os.getloadavg()[0]:.2f}")
    for n, _ in cmds:
        v = res[n]
        med = lambda i: statistics.median(x[i] for x in v)
        print(f"{n:28} {med(0):9.3f} {min(x[0] for x in v):9.3f} {med(1):9.3f} {med(2):8.3f}")


if __name__ == "__main__":
    main()
