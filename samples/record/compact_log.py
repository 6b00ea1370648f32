#!/usr/bin/env python3
"""Replaces long messages in a sent-message log by their length and SHA-256,
so logs of large messages stay small. The tests compare either form.

Usage: compact_log.py LOG [LOG...]   (rewrites in place; hex over 4096 chars)
"""
import hashlib
import json
import sys

for path in sys.argv[1:]:
    out = []
    for line in open(path):
        m = json.loads(line)
        if "data_hex" in m and len(m["data_hex"]) > 4096:
            data = bytes.fromhex(m.pop("data_hex"))
            m["len"] = len(data)
            m["sha256"] = hashlib.sha256(data).hexdigest()
        out.append(json.dumps(m))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
