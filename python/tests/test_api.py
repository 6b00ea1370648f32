"""The package's own behaviour: errors as exceptions with the one-line
reason, warnings, gzip, early stop, the GIL released, pandas."""

import gzip
import json
import shutil
import subprocess
import threading
import time

import pyarrow as pa
import pytest

import wsdissect
from wsdissect import _native
from conftest import REPO, cli_path

ECHO = "samples/python-echo.pcap"


def test_missing_file_is_file_not_found_with_the_path():
    with pytest.raises(FileNotFoundError) as e:
        wsdissect.frames("no/such/capture.pcap")
    msg = str(e.value)
    assert msg.startswith("no/such/capture.pcap: ") and "\n" not in msg


def test_directory_is_an_error():
    with pytest.raises(IsADirectoryError) as e:
        list(wsdissect.records("samples"))
    assert str(e.value).startswith("samples: ")


def test_not_a_capture_raises_capture_error_with_the_cli_reason():
    with pytest.raises(wsdissect.CaptureError) as e:
        wsdissect.conns("README.md")
    assert isinstance(e.value, ValueError)
    p = subprocess.run([str(cli_path()), "conns", "README.md"], cwd=REPO, capture_output=True)
    assert p.returncode == 2
    # The CLI's one line is "wsdissect: FILE: REASON"; ours is "FILE: REASON".
    assert p.stderr.decode().strip() == f"wsdissect: {e.value}"


def test_keylog_decrypts_as_the_cli_does():
    # A real TLS 1.2 capture and its key log (samples/tls/README.md): without
    # the keys no frame, with them the frames the CLI's --keylog gives.
    cap, keys = "samples/tls/node-tls12-chacha.pcap", "samples/tls/node-tls12-chacha.keys"
    assert wsdissect.frames(cap).num_rows == 0
    got = wsdissect.frames(cap, keylog=keys).to_pylist()
    p = subprocess.run(
        [str(cli_path()), "frames", "--format", "json", "-q", "--keylog", keys, cap],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    want = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert len(got) == len(want) > 0
    assert [(r["packet"], r["opcode"], r["payload_len"]) for r in got] == [
        (r["packet"], r["opcode"], r["payload_len"]) for r in want
    ]


def test_missing_keylog_is_file_not_found():
    with pytest.raises(FileNotFoundError):
        wsdissect.conns(ECHO, keylog="no/such/keys.log")


def test_bad_arguments():
    with pytest.raises(ValueError, match="payload"):
        wsdissect.frames(ECHO, payload="utf8")
    with pytest.raises(ValueError, match="record type"):
        wsdissect.table(ECHO, "frames")
    with pytest.raises(ValueError, match="record type"):
        list(wsdissect.records(ECHO, types=["frames"]))
    with pytest.raises(TypeError):
        wsdissect.frames(42)


def test_pathlike_and_types(tmp_path):
    import pathlib

    recs = list(wsdissect.records(pathlib.Path(ECHO), types=["conn"]))
    assert [r["type"] for r in recs] == ["conn"]
    assert recs[0]["capture"] == ECHO


def test_cut_short_capture_warns_and_keeps_what_was_read(tmp_path):
    whole = (REPO / ECHO).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    with pytest.warns(wsdissect.CaptureWarning, match="cut short") as w:
        t = wsdissect.frames(str(cut))
    assert 0 < t.num_rows < wsdissect.frames(ECHO).num_rows
    p = subprocess.run([str(cli_path()), "frames", str(cut)], capture_output=True)
    # The same reason as the CLI's warning line.
    reason = str(w[0].message).split(": ", 1)[1]
    assert f"warning: {reason}" in p.stderr.decode()


def test_gzip_capture_reads_as_the_plain_one(tmp_path):
    gz = tmp_path / "echo.pcap.gz"
    with open(REPO / ECHO, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = wsdissect.messages(ECHO).drop_columns(["capture"])
    b = wsdissect.messages(str(gz)).drop_columns(["capture"])
    assert a.num_rows > 0 and a.equals(b)


def test_empty_table_has_the_schema():
    # A capture without WebSocket: no rows, every column.
    t = wsdissect.frames("samples/nonws/dns-tcp.pcap")
    assert t.num_rows == 0
    assert t.schema == wsdissect.SCHEMAS["frame"]


def test_to_pandas():
    df = wsdissect.frames(ECHO).to_pandas()
    assert len(df) == wsdissect.frames(ECHO).num_rows > 0
    assert set(df["opcode_name"]) >= {"text", "binary", "close"}
    closes = wsdissect.conns(ECHO).to_pandas()["client_to_server"][0]["close_code"]
    assert closes == 1000


def test_records_stop_early_and_stream_again():
    it = wsdissect.records(ECHO)
    first = next(it)
    assert first["type"] == "handshake"
    it.close()  # the dissecting thread sees the closed channel and stops
    assert len(list(wsdissect.records(ECHO))) > 1


def test_many_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    one = wsdissect.frames(ECHO)
    with ThreadPoolExecutor(4) as ex:
        tables = list(ex.map(lambda _: wsdissect.frames(ECHO), range(8)))
    assert all(t.equals(one) for t in tables)


def test_gil_released_while_dissecting(big_capture):
    """Another Python thread runs while a capture is dissected: it would
    not tick at all if the call held the GIL."""
    ticks = 0
    stop = threading.Event()

    def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    time.sleep(0.05)
    before = ticks
    t0 = time.perf_counter()
    # The JSON lines alone: the time is the dissection's (parsing them into
    # a table releases the GIL too, in pyarrow, and would hide a held one).
    lines = sum(chunk.count(b"\n") for chunk in _native.stream(big_capture, ["frame"], "none"))
    took = time.perf_counter() - t0
    during = ticks - before
    stop.set()
    th.join()
    assert lines > 10000
    assert took > 0.05, "capture too small to tell"
    # sleep(0.001) takes 1-2 ms; with the GIL held throughout there would be ~0.
    assert during >= took * 1000 / 10, (during, took)


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory, synth):
    p = tmp_path_factory.mktemp("big") / "small-frames.pcap"
    synth(p, 8, "small")
    return str(p)


def test_docstring_examples():
    import doctest

    failed, tried = doctest.testmod(wsdissect)
    assert tried > 0 and failed == 0


@pytest.mark.parametrize(
    "path", [ECHO, "samples/aiohttp-concurrent.pcap", "samples/push/chromium-sse.pcap", "samples/lossy.pcap"]
)
def test_tables_in_one_pass_equal_each_table(path):
    types = ("frame", "message", "handshake", "conn", "finding", "sse-event")
    together = wsdissect.tables(path, types, payload="hex")
    for t in types:
        alone = wsdissect.table(path, t, payload="hex")
        assert together[t].equals(alone), t
    assert together["frame"].num_rows > 0 or together["sse-event"].num_rows > 0
