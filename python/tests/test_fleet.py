"""The scale-out recipe (examples/fleet.py, docs/scale-out.md): a real Dask
LocalCluster with 2 worker processes dissects a directory of captures into
partitioned Parquet, and DuckDB's fleet-wide answer (close codes per
server) equals a single-process run's, counted without Dask, Parquet or
DuckDB.

The small fleet (20 captures) always runs; WSDISSECT_FLEET_BIG=1 adds the
200-capture one."""

import collections
import importlib.util
import os
import shutil

import pytest

import wsdissect
from conftest import REPO

pytest.importorskip("dask.distributed")
pytest.importorskip("duckdb")

spec = importlib.util.spec_from_file_location("fleet", REPO / "python" / "examples" / "fleet.py")
fleet = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fleet)

# Real captures with a variety of servers and close codes (1000, 1001, 1002,
# 1011, none, found mid-connection...), copied under new names.
REAL = [
    "samples/python-echo.pcap",
    "samples/node-fragments.pcap",
    "samples/aiohttp-concurrent.pcap",
    "samples/ipv6-echo.pcap",
    "samples/port-reuse.pcap",
    "samples/midconn.pcap",
    "samples/lossy.pcap",
    "samples/multi-if.pcapng",
    "samples/rfc-examples.pcap",
    "samples/any-sll2.pcap",
]
REAL += sorted(
    str(p.relative_to(REPO)) for p in (REPO / "samples" / "violations").glob("*.pcap")
)


def make_fleet(directory, n, synth):
    """`n` captures: one in ten generated (synth_capture, 1 MiB, 2,000
    connections each), the others real samples under new names, in
    per-sensor subdirectories."""
    directory.mkdir()
    made = []
    generated = None
    for i in range(n):
        sensor = directory / f"sensor-{i % 4}"
        sensor.mkdir(exist_ok=True)
        if i % 10 == 9:
            if generated is None:
                generated = synth(directory / "synth.tmp", 1, "mixed")
            dst = sensor / f"gen-{i:04d}.pcap"
            shutil.copyfile(generated, dst)
        else:
            src = REPO / REAL[i % len(REAL)]
            dst = sensor / f"cap-{i:04d}{''.join(src.suffixes)}"
            shutil.copyfile(src, dst)
        made.append(str(dst))
    if generated is not None:
        os.remove(generated)
    return made


def single_process_close_codes(paths):
    """The same question answered in one process from wsdissect's tables."""
    count = collections.Counter()
    for p in paths:
        for c in wsdissect.conns(p).to_pylist():
            count[(c["server"], "client", c["client_to_server"]["close_code"])] += 1
            count[(c["server"], "server", c["server_to_client"]["close_code"])] += 1
    return count


def run_and_compare(tmp_path, n, synth):
    from dask.distributed import Client, LocalCluster

    paths = make_fleet(tmp_path / "captures", n, synth)
    assert fleet.captures(tmp_path / "captures") == sorted(paths)
    out = str(tmp_path / "parquet")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        reports = fleet.run_fleet(client, paths, out)
    assert all(r.get("capture") for r in reports), reports
    assert sorted(r["capture"] for r in reports) == sorted(paths)
    workers = fleet.throughput(reports)
    assert len(workers) == 2, workers  # both workers took captures
    # One task's files per capture, under hive partitions by day.
    days = [d for d in os.listdir(os.path.join(out, "conns")) if d.startswith("day=")]
    assert days
    got = collections.Counter(
        {(s, side, code): n for s, side, code, n in fleet.close_codes(out)}
    )
    want = single_process_close_codes(paths)
    assert sum(want.values()) > 2 * n  # the question has substance
    assert {code for _, _, code in want} >= {1000, None}
    assert got == want
    for w, s in sorted(workers.items()):
        print(f"worker {w}: {s['captures']} captures, {s['bytes'] / (1 << 20):.1f} MiB, "
              f"{s['mib_per_s']:.1f} MiB/s while busy")
    return reports


@pytest.mark.fleet
def test_fleet_small(tmp_path, synth):
    run_and_compare(tmp_path, 20, synth)


@pytest.mark.fleet
@pytest.mark.skipif(not os.environ.get("WSDISSECT_FLEET_BIG"), reason="set WSDISSECT_FLEET_BIG=1")
def test_fleet_200(tmp_path, synth):
    run_and_compare(tmp_path, 200, synth)


def test_rerun_overwrites_its_own_files(tmp_path):
    """A task re-run (a retried capture) replaces its files, not adds to them."""
    out = str(tmp_path / "pq")
    p = "samples/python-echo.pcap"
    fleet.dissect_one(p, out)
    before = sorted(os.walk(out))
    fleet.dissect_one(p, out)
    assert sorted(os.walk(out)) == before
    assert [r[3] for r in fleet.close_codes(out)] == [1, 1]


def test_library_example_counts_as_the_tables(synth):
    """examples/library.rs (the crate as a library: run + a Sink) counts the
    same close codes per server as the conns tables."""
    import subprocess

    from conftest import cli_path

    exe = cli_path().parent / "examples" / "library"
    if not exe.exists():
        pytest.skip(f"{exe} not built (cargo test --release builds it)")
    paths = REAL[:6]
    p = subprocess.run([str(exe), *paths], cwd=REPO, capture_output=True, text=True, check=True)
    got = collections.Counter()
    for line in p.stdout.splitlines()[1:]:
        server, side, code, n = line.split()
        got[(server, side, None if code == "-" else int(code))] = int(n)
    want = single_process_close_codes(paths)
    assert got and got == want
