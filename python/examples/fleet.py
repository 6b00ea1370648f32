"""Dissect a directory of captures on a Dask cluster into partitioned Parquet,
then ask DuckDB which close codes each server saw across the fleet.

    python fleet.py CAPTURES OUT [--workers N | --scheduler tcp://HOST:8786]

One Dask task per capture: the task runs wsdissect (in Rust, without the
GIL) and writes that capture's tables with pyarrow under

    OUT/<table>/day=YYYY-MM-DD/<capture>-<hash>-<i>.parquet

(Hive partitioning by the day of each connection's first packet; `table` is
conns and findings, or any of ALL_TABLES with --tables). Tasks share nothing but the output directory, so
a capture is retried or re-run alone, and re-running the fleet overwrites
each capture's own files. Then DuckDB reads every file of OUT/conns at once
(`read_parquet(..., hive_partitioning = true)`) and answers the fleet-wide
question. See docs/scale-out.md.
"""

import argparse
import datetime as _dt
import hashlib
import json
import os
import pathlib
import socket
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

# Written by default: one row per connection, one per finding. Frames and
# messages (--tables conns,findings,frames,messages) are far bigger and cost
# most of the time (see docs/scale-out.md).
TABLES = ("conns", "findings")
ALL_TABLES = ("conns", "findings", "frames", "messages", "handshakes", "sse_events", "push")
# The record type of each table.
RECORD = {
    "conns": "conn",
    "findings": "finding",
    "frames": "frame",
    "messages": "message",
    "handshakes": "handshake",
    "sse_events": "sse-event",
    "push": "push",
}
SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz")

# Close codes per server across the fleet: every side of every connection
# that sent a close frame (code null: it sent none), counted.
CLOSE_CODES_SQL = """
WITH c AS (SELECT * FROM read_parquet('{conns}/**/*.parquet', hive_partitioning = true))
SELECT server, side, close_code, count(*) AS conns
FROM (
    SELECT server, 'client' AS side, client_to_server.close_code AS close_code FROM c
    UNION ALL
    SELECT server, 'server' AS side, server_to_client.close_code AS close_code FROM c
)
GROUP BY ALL
ORDER BY server, side, close_code NULLS FIRST
"""


def captures(directory):
    """Every capture under `directory` (recursively), sorted."""
    root = pathlib.Path(directory)
    return sorted(
        str(p) for p in root.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES)
    )


def _stem(path):
    """A file-name-safe, unique stem for one capture's output files."""
    name = pathlib.Path(path).name
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]
    return f"{safe}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


def _day(ts_column):
    """The UTC day of each epoch-seconds value, as 'YYYY-MM-DD'."""
    secs = pc.cast(pc.floor(ts_column), pa.int64())
    stamps = pc.cast(pc.multiply(secs, 1_000_000), pa.timestamp("us", tz="UTC"))
    return pc.strftime(stamps, format="%Y-%m-%d")


def dissect_one(path, out, tables=TABLES):
    """One task: dissect `path`, write its tables under `out`; returns what
    it did (rows per table, bytes read, seconds, the worker)."""
    import wsdissect

    t0 = time.perf_counter()
    stem = _stem(path)
    # One pass over the capture for every table (messages with their text).
    payload = "text" if "messages" in tables else "none"
    got = wsdissect.tables(path, [RECORD[n] for n in set(tables) | {"conns"}], payload=payload)
    conns = got["conn"]
    # Every row of a capture goes under the day its connection began.
    days = dict(zip(conns.column("conn").to_pylist(), _day(conns.column("first_ts")).to_pylist()))
    rows = {}
    for name in tables:
        t = got[RECORD[name]]
        if name == "conns":
            day = _day(t.column("first_ts"))
        else:
            # Findings of the capture as a whole (conn null) and frames of
            # connections still open at the end go under the capture's first day.
            first = min(days.values()) if days else "unknown"
            ids = t.column("conn").to_pylist() if "conn" in t.column_names else [None] * t.num_rows
            day = pa.array([days.get(c, first) for c in ids], pa.string())
        t = t.append_column("day", day)
        ds.write_dataset(
            t,
            os.path.join(out, name),
            format="parquet",
            partitioning=ds.partitioning(pa.schema([("day", pa.string())]), flavor="hive"),
            basename_template=f"{stem}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        rows[name] = t.num_rows
    return {
        "capture": path,
        "rows": rows,
        "bytes": os.path.getsize(path),
        "seconds": time.perf_counter() - t0,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def run_fleet(client, paths, out, tables=TABLES):
    """One task per capture on a Dask `client`; returns each task's report.
    A capture that fails is reported (its error) rather than failing the fleet."""
    from dask.distributed import as_completed

    futures = client.map(dissect_one, paths, out=out, tables=tables, pure=False)
    reports = []
    for fut in as_completed(futures):
        if fut.status == "error":
            reports.append({"capture": None, "error": repr(fut.exception())})
        else:
            reports.append(fut.result())
    return reports


def close_codes(out):
    """DuckDB over every conns file: (server, side, close_code, conns) rows."""
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(CLOSE_CODES_SQL.format(conns=os.path.join(out, "conns"))).fetchall()
    finally:
        con.close()


def throughput(reports):
    """Per worker: captures, MiB read, busy seconds and MiB/s while busy."""
    per = {}
    for r in reports:
        if r.get("capture") is None:
            continue
        w = per.setdefault(r["worker"], {"captures": 0, "bytes": 0, "seconds": 0.0})
        w["captures"] += 1
        w["bytes"] += r["bytes"]
        w["seconds"] += r["seconds"]
    for w in per.values():
        w["mib_per_s"] = w["bytes"] / (1 << 20) / w["seconds"] if w["seconds"] else None
    return per


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("captures", help="directory of captures (searched recursively)")
    ap.add_argument("out", help="output directory (Parquet, partitioned by table and day)")
    ap.add_argument("--scheduler", help="address of a running Dask scheduler")
    ap.add_argument("--workers", type=int, default=2, help="local workers when no --scheduler (default 2)")
    ap.add_argument("--tables", default=",".join(TABLES), help="tables to write (default: %(default)s)")
    a = ap.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    paths = captures(a.captures)
    if not paths:
        sys.exit(f"fleet: no captures under {a.captures}")
    tables = tuple(t for t in a.tables.split(",") if t)
    unknown = set(tables) - set(ALL_TABLES)
    if unknown:
        sys.exit(f"fleet: unknown tables {sorted(unknown)} (known: {', '.join(ALL_TABLES)})")
    if "conns" not in tables:
        sys.exit("fleet: the close-code query needs the conns table")
    if a.scheduler:
        cluster, client = None, Client(a.scheduler)
    else:
        # One thread a worker: the dissection runs without the GIL either way,
        # but a process per worker is what a cluster has.
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        t0 = time.perf_counter()
        reports = run_fleet(client, paths, a.out, tables)
        wall = time.perf_counter() - t0
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    failed = [r for r in reports if r.get("capture") is None]
    for r in failed:
        print(f"fleet: task failed: {r['error']}", file=sys.stderr)
    total = sum(r["bytes"] for r in reports if r.get("capture"))
    print(f"{len(paths) - len(failed)} captures, {total / (1 << 20):.1f} MiB in {wall:.1f} s "
          f"({total / (1 << 20) / wall:.1f} MiB/s overall)")
    for w, s in sorted(throughput(reports).items()):
        print(f"  worker {w}: {s['captures']} captures, {s['bytes'] / (1 << 20):.1f} MiB, "
              f"{s['mib_per_s']:.1f} MiB/s while busy")
    print(json.dumps(["server", "side", "close_code", "conns"]))
    for row in close_codes(a.out):
        print(json.dumps(list(row)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
