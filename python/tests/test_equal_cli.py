"""The package gives the command-line program's JSON records, value for
value, over every bundled sample: the dicts of `records` and the rows of
each table (`frames(p).to_pylist()` is `wsdissect frames --format json p`)."""

import json
import math

import pytest

import wsdissect
from conftest import sample_paths

SAMPLES = sample_paths()


def of(recs, *types):
    return [r for r in recs if r["type"] in types]


def same_value(a, b):
    if isinstance(a, float) or isinstance(b, float):
        # Exactly the same double: no tolerance (both parse the same text).
        return type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def assert_rows_equal(rows, expected, what):
    """Each table row holds each JSON record's fields with the same values;
    its other columns (fields that record leaves out) are null."""
    assert len(rows) == len(expected), f"{what}: {len(rows)} rows, {len(expected)} records"
    for i, (row, rec) in enumerate(zip(rows, expected)):
        missing = rec.keys() - row.keys()
        assert not missing, f"{what} #{i}: no column for {sorted(missing)}"
        for k, v in rec.items():
            if isinstance(v, dict) and isinstance(row[k], dict):
                # A struct column has every field of its type: compare the record's.
                assert_rows_equal([row[k]], [v], f"{what} #{i}.{k}")
                continue
            assert same_value(row[k], v), f"{what} #{i}.{k}: {row[k]!r} != {v!r}"
        extra = {k: row[k] for k in row.keys() - rec.keys() if row[k] is not None}
        assert not extra, f"{what} #{i}: values the JSON does not have: {extra}"


def assert_records_equal(got, expected, what):
    assert len(got) == len(expected), f"{what}: {len(got)} records, {len(expected)} expected"
    for i, (g, e) in enumerate(zip(got, expected)):
        assert list(g) == list(e), f"{what} #{i}: fields {list(g)} != {list(e)}"
        assert same_value(g, e), f"{what} #{i}: {g} != {e}"


def check_order(findings):
    """`check --format json` lists findings grouped by connection (the
    capture's own first), in the order they were raised."""
    return sorted(findings, key=lambda f: (f["conn"] is not None, f["conn"] or 0))


def canonical(recs):
    return sorted(json.dumps(r, sort_keys=True) for r in recs)


@pytest.mark.parametrize("path", SAMPLES)
def test_tables_equal_cli(cli, path):
    try:
        table = wsdissect.frames(path)
    except (wsdissect.CaptureError, OSError):
        cli("frames", "--format", "json", path, ok=(2,))
        return
    frames = cli("frames", "--format", "json", path)
    assert_rows_equal(table.to_pylist(), frames, f"{path} frames")
    hexed = cli("frames", "--format", "json", "--payload", "hex", path)
    assert_rows_equal(
        wsdissect.frames(path, payload="hex").to_pylist(), hexed, f"{path} frames --payload hex"
    )
    msgs = cli("messages", "--format", "json", path)
    assert_rows_equal(wsdissect.messages(path).to_pylist(), msgs, f"{path} messages")
    conns = cli("conns", "--format", "json", path)
    assert_rows_equal(wsdissect.conns(path).to_pylist(), of(conns, "conn"), f"{path} conns")
    assert_rows_equal(
        wsdissect.handshakes(path).to_pylist(), of(conns, "handshake"), f"{path} handshakes"
    )
    check = cli("check", "--format", "json", path, ok=(0, 1))
    summary = of(check, "summary")
    if summary and summary[0].get("not_listed"):
        pytest.skip("check lists only some findings here")
    assert_rows_equal(
        check_order(wsdissect.findings(path).to_pylist()), of(check, "finding"), f"{path} findings"
    )
    push = cli("push", "--format", "json", path)
    assert_rows_equal(wsdissect.push(path).to_pylist(), of(push, "push"), f"{path} push")
    assert_rows_equal(
        wsdissect.sse_events(path).to_pylist(), of(push, "sse-event"), f"{path} sse-events"
    )


@pytest.mark.parametrize("path", SAMPLES)
def test_records_equal_cli(cli, path):
    try:
        recs = list(wsdissect.records(path))
    except (wsdissect.CaptureError, OSError):
        cli("frames", "--format", "json", path, ok=(2,))
        return
    assert_records_equal(
        of(recs, "frame"),
        cli("frames", "--format", "json", "--payload", "text", path),
        f"{path} frame records",
    )
    assert_records_equal(
        of(recs, "message"), cli("messages", "--format", "json", path), f"{path} message records"
    )
    assert_records_equal(
        of(recs, "handshake", "conn"),
        cli("conns", "--format", "json", path),
        f"{path} handshake and conn records",
    )
    push = cli("push", "--format", "json", path)
    assert_records_equal(
        of(recs, "push", "sse-event"), of(push, "push", "sse-event"), f"{path} push records"
    )
    check = cli("check", "--format", "json", path, ok=(0, 1))
    if not of(check, "summary")[0].get("not_listed"):
        # Every finding of check, then push classification's.
        assert canonical(of(recs, "finding")) == canonical(
            of(check, "finding") + of(push, "finding")
        ), f"{path} finding records"
