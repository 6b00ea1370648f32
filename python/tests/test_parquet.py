"""`wsdissect ... --format parquet -o FILE` read by DuckDB and pyarrow: every
row and value is the CLI's JSON record's, a SQL query over the file answers
what the JSON answers, and the file has the columns and types of the
package's own tables (so the CLI's files and `pq.write_table(wsdissect.X(p))`
can be queried together).

The CLI must be built with the cargo feature `parquet` (.ci/run builds it
so); without it these tests skip, saying so."""

import collections
import json
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import wsdissect
from conftest import REPO, cli_path

duckdb = pytest.importorskip("duckdb")

# (command, record type, arguments): real captures, plain, deflate, TLS with
# its key log, HTTP/2, the app samples, violations for check.
CASES = [
    ("frames", "frame", ["samples/python-echo.pcap"]),
    ("frames", "frame", ["--payload", "text", "samples/deflate/node-deflate.pcap"]),
    ("messages", "message", ["samples/deflate/node-deflate.pcap"]),
    ("conns", "conn", ["samples/python-echo.pcap", "samples/ipv6-echo.pcap"]),
    (
        "messages",
        "message",
        ["--keylog", "samples/tls/node-tls13-aes128.keys", "samples/tls/node-tls13-aes128.pcap"],
    ),
    (
        "conns",
        "conn",
        ["--keylog", "samples/tls/node-tls13-aes128.keys", "samples/tls/node-tls13-aes128.pcap"],
    ),
    ("frames", "frame", ["--payload", "text", "samples/h2/h2-ws.pcap"]),
    ("messages", "message", ["samples/h2/h2-ws.pcap"]),
    ("app", "app", ["samples/app/mqtt5.pcap"]),
    ("app", "app", ["samples/app/mqtt311.pcap"]),
    ("app", "app", ["samples/app/stomp.pcap"]),
    ("app", "app", ["samples/app/socketio-app.pcap"]),
    ("app", "app", ["samples/app/graphql-ws.pcap"]),
    ("check", "finding", ["samples/violations/c-client-unmasked.pcap", "samples/violations/c-rsv-bits.pcap"]),
    ("check", "finding", ["samples/lossy.pcap", "samples/midconn.pcap"]),
]


def run(*args, ok=(0, 1)):
    p = subprocess.run([str(cli_path()), *args], cwd=REPO, capture_output=True, timeout=300)
    assert p.returncode in ok, (args, p.returncode, p.stderr.decode(errors="replace"))
    return p


@pytest.fixture(scope="module")
def parquet_cli():
    """Skips when the CLI was built without the `parquet` feature."""
    p = run("frames", "--format", "parquet", "-o", "/dev/null", "samples/python-echo.pcap", ok=(0, 2))
    if p.returncode == 2 and b"no Parquet support" in p.stderr:
        pytest.skip("the CLI was built without --features parquet")
    assert p.returncode == 0, p.stderr


def write(tmp_path, cmd, args):
    out = tmp_path / f"{cmd}.parquet"
    run(cmd, "--format", "parquet", "-o", str(out), *args)
    return out


def json_records(cmd, rtype, args):
    p = run(cmd, "--format", "json", *args)
    recs = [json.loads(line) for line in p.stdout.splitlines()]
    return [r for r in recs if r["type"] == rtype]


def same(json_value, value, json_text=False):
    """The file's value (DuckDB's Python value) holds the JSON value."""
    if json_value is None:
        return value is None
    if json_text:
        return isinstance(value, str) and json.loads(value) == json_value
    if isinstance(json_value, dict):
        return isinstance(value, dict) and all(same(json_value.get(k), v) for k, v in value.items()) \
            and json_value.keys() <= value.keys()
    if isinstance(json_value, float) or isinstance(value, float):
        return type(json_value) is type(value) and json_value == value
    return type(json_value) is type(value) and json_value == value


@pytest.mark.parametrize("cmd,rtype,args", CASES, ids=lambda x: x if isinstance(x, str) else None)
def test_duckdb_reads_the_json_records(parquet_cli, tmp_path, cmd, rtype, args):
    f = write(tmp_path, cmd, args)
    rel = duckdb.sql(f"select * from read_parquet('{f}')")
    cols = rel.columns
    rows = [dict(zip(cols, r)) for r in rel.fetchall()]
    expected = json_records(cmd, rtype, args)
    assert len(rows) == len(expected) > 0
    assert cols == wsdissect.SCHEMAS[rtype].names
    text_cols = set(wsdissect.APP_JSON_TEXT) if rtype == "app" else set()
    for i, (row, rec) in enumerate(zip(rows, expected)):
        assert rec.keys() <= row.keys(), f"#{i}: no column for {sorted(rec.keys() - row.keys())}"
        for k, v in row.items():
            assert same(rec.get(k), v, k in text_cols), f"{cmd} {args} #{i}.{k}: {v!r} != {rec.get(k)!r}"


def test_duckdb_query_equals_the_json_answer(parquet_cli, tmp_path):
    """Messages and bytes per connection and direction, over several captures."""
    args = ["samples/python-echo.pcap", "samples/deflate/node-deflate.pcap", "samples/h2/h2-ws.pcap"]
    f = write(tmp_path, "messages", args)
    got = duckdb.sql(
        f"""select capture, conn, "from", count(*), sum(len)
            from read_parquet('{f}') group by all order by all"""
    ).fetchall()
    want = collections.defaultdict(lambda: [0, 0])
    for r in json_records("messages", "message", args):
        key = (r["capture"], r["conn"], r["from"])
        want[key][0] += 1
        want[key][1] += r["len"]
    assert got == sorted((*k, n, b) for k, (n, b) in want.items())
    assert len(got) > 2


def test_duckdb_reads_json_text_as_json(parquet_cli, tmp_path):
    """MQTT 5 properties: DuckDB sees the JSON type and can reach into it."""
    f = write(tmp_path, "app", ["samples/app/mqtt5.pcap"])
    got = duckdb.sql(
        f"""select kind, json_extract(properties, '$.receive_maximum')::int
            from read_parquet('{f}') where kind = 'CONNACK'"""
    ).fetchall()
    want = [
        (r["kind"], r["properties"]["receive_maximum"])
        for r in json_records("app", "app", ["samples/app/mqtt5.pcap"])
        if r["kind"] == "CONNACK"
    ]
    assert got == want and want


def arrow_type(t):
    """A JSON-text column: pyarrow reads the Parquet JSON type as the
    arrow.json extension over string; the package's tables have string."""
    return t.storage_type if isinstance(t, pa.BaseExtensionType) else t


@pytest.mark.parametrize(
    "cmd,rtype,fn,args",
    [
        ("frames", "frame", wsdissect.frames, ["samples/python-echo.pcap"]),
        ("messages", "message", wsdissect.messages, ["samples/deflate/node-deflate.pcap"]),
        ("conns", "conn", wsdissect.conns, ["samples/python-echo.pcap"]),
        ("check", "finding", wsdissect.findings, ["samples/violations/c-rsv-bits.pcap"]),
        ("app", "app", wsdissect.app, ["samples/app/mqtt5.pcap"]),
    ],
    ids=lambda x: x if isinstance(x, str) else None,
)
def test_cli_file_and_pyarrow_file_have_one_schema(parquet_cli, tmp_path, cmd, rtype, fn, args):
    cli_file = write(tmp_path, cmd, args)
    py_file = tmp_path / "py.parquet"
    pq.write_table(fn(args[-1]), py_file)
    a, b = pq.read_schema(cli_file), pq.read_schema(py_file)
    assert a.names == b.names == wsdissect.SCHEMAS[rtype].names
    for name in a.names:
        assert arrow_type(a.field(name).type) == b.field(name).type, name
    # And one table reads both: the CLI's rows then the package's.
    cli_t = pq.read_table(cli_file)
    cli_t = cli_t.cast(pa.schema([(n, arrow_type(cli_t.schema.field(n).type)) for n in cli_t.column_names]))
    both = pa.concat_tables([cli_t, pq.read_table(py_file).cast(cli_t.schema)])
    assert both.num_rows == 2 * cli_t.num_rows > 0
    if rtype != "finding":  # check groups findings by connection; the table keeps their order
        assert cli_t.to_pylist() == pq.read_table(py_file).cast(cli_t.schema).to_pylist()


def test_without_o_or_with_push_it_refuses(parquet_cli):
    p = run("frames", "--format", "parquet", "samples/python-echo.pcap", ok=(2,))
    assert b"-o FILE" in p.stderr
    run("push", "--format", "parquet", "-o", "/dev/null", "samples/python-echo.pcap", ok=(2,))


def test_one_query_over_cli_and_package_files(parquet_cli, tmp_path):
    """docs/scale-out.md: a sensor's CLI-written conns file and the
    package's (pyarrow) file in one hive-partitioned directory, one query."""
    p = "samples/port-reuse.pcap"
    a = tmp_path / "conns" / "day=2026-01-01"
    b = tmp_path / "conns" / "day=2026-01-02"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    run("conns", "--format", "parquet", "-o", str(a / "cli.parquet"), p)
    pq.write_table(wsdissect.conns(p), b / "py.parquet")
    got = duckdb.sql(
        f"""select day::varchar, server, count(*), sum(client_to_server.frames)
            from read_parquet('{tmp_path}/conns/**/*.parquet', hive_partitioning = true)
            group by all order by all"""
    ).fetchall()
    want = collections.Counter()
    frames = collections.Counter()
    for r in json_records("conns", "conn", [p]):
        want[r["server"]] += 1
        frames[r["server"]] += r["client_to_server"]["frames"]
    assert got == sorted(
        (day, s, n, frames[s]) for day in ("2026-01-01", "2026-01-02") for s, n in want.items()
    )
    assert want
