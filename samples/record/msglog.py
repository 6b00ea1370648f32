"""The sent-message log every recorder writes: one JSON line per data
message an application sent: {"side", "opcode" (1 text, 2 binary), "data_hex"}."""
import json


def log_message(path, side, data):
    opcode = 1 if isinstance(data, str) else 2
    raw = data.encode() if isinstance(data, str) else bytes(data)
    with open(path, "a") as f:
        f.write(json.dumps({"side": side, "opcode": opcode, "data_hex": raw.hex()}) + "\n")
