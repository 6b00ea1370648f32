"""`wsdissect.app(p)` against `wsdissect app --format json p` on every app
sample, and the command line's options as keywords (`filter=`,
`decode_as=`, `payload=`, `keylog=`) giving the CLI's records with the same
options."""

import json
import pathlib

import pytest

import wsdissect
from conftest import REPO
from test_equal_cli import assert_records_equal, assert_rows_equal, check_order, of

APP_SAMPLES = sorted(str(p.relative_to(REPO)) for p in (REPO / "samples" / "app").glob("*.pcap"))


def loaded(rows):
    """An app table's rows with the JSON-text columns read back."""
    out = []
    for r in rows:
        r = dict(r)
        for k in wsdissect.APP_JSON_TEXT:
            if r.get(k) is not None:
                r[k] = json.loads(r[k])
        out.append(r)
    return out


@pytest.mark.parametrize("path", APP_SAMPLES)
def test_app_table_equals_cli(cli, path):
    t = wsdissect.app(path)
    assert t.schema == wsdissect.SCHEMAS["app"]
    want = cli("app", "--format", "json", path)
    assert want, path
    assert_rows_equal(loaded(t.to_pylist()), want, f"{path} app")
    hexed = cli("app", "--format", "json", "--payload", "hex", path)
    assert_rows_equal(loaded(wsdissect.app(path, payload="hex").to_pylist()), hexed, f"{path} app hex")


@pytest.mark.parametrize("path", APP_SAMPLES)
def test_app_records_are_the_json(cli, path):
    """records() yields app records as the JSON has them (nested values as
    objects, not text)."""
    recs = list(wsdissect.records(path, types=["app"]))
    assert_records_equal(recs, cli("app", "--format", "json", path), f"{path} app records")


def test_app_json_text_is_a_string_column():
    t = wsdissect.app("samples/app/mqtt5.pcap")
    props = [p for p in t.column("properties").to_pylist() if p is not None]
    assert props and all(isinstance(json.loads(p), dict) for p in props)


FILTERS = [
    ("frames", "frame", "from == server"),
    ("frames", "frame", "opcode_name in {ping pong close} or len > 100"),
    ("messages", "message", "text contains \"e\""),
    ("app", "app", "kind == PUBLISH"),
]


@pytest.mark.parametrize("cmd,rtype,expr", FILTERS)
@pytest.mark.parametrize(
    "path", ["samples/python-echo.pcap", "samples/app/mqtt311.pcap", "samples/h2/h2-ws.pcap"]
)
def test_filter_equals_cli(cli, cmd, rtype, expr, path):
    want = of(cli(cmd, "--format", "json", "--filter", expr, path), rtype)
    fn = {"frames": wsdissect.frames, "messages": wsdissect.messages, "app": wsdissect.app}[cmd]
    rows = fn(path, filter=expr).to_pylist()
    if cmd == "app":
        rows = loaded(rows)
    assert_rows_equal(rows, want, f"{cmd} --filter {expr!r} {path}")
    everything = of(cli(cmd, "--format", "json", path), rtype)
    if cmd != "app" or path.endswith("mqtt311.pcap"):
        assert len(want) < len(everything) or not everything


def test_filter_on_conns_and_findings_equals_cli(cli):
    p = "samples/violations/c-key-only.pcap"
    want = of(cli("check", "--format", "json", "--filter", "severity == error", p, ok=(0, 1)), "finding")
    got = check_order(wsdissect.findings(p, filter="severity == error").to_pylist())
    assert_rows_equal(got, want, "findings filter")
    assert want and len(want) < len(wsdissect.findings(p))
    p = "samples/port-reuse.pcap"
    conns = of(cli("conns", "--format", "json", "--filter", "conn == 1", p), "conn")
    assert_rows_equal(wsdissect.conns(p, filter="conn == 1").to_pylist(), conns, "conns filter")
    assert len(conns) == 1


def test_decode_as_equals_cli(cli):
    for path in APP_SAMPLES:
        for proto in ("mqtt", "stomp"):
            want = cli("app", "--format", "json", "--decode-as", proto, path)
            got = loaded(wsdissect.app(path, decode_as=proto).to_pylist())
            assert_rows_equal(got, want, f"{path} --decode-as {proto}")


def test_options_together_equal_cli(cli):
    p = "samples/tls/node-tls13-aes128.pcap"
    keys = "samples/tls/node-tls13-aes128.keys"
    want = cli("messages", "--format", "json", "--keylog", keys, "--payload", "base64",
               "--filter", "from == client", p)
    got = wsdissect.messages(p, keylog=keys, payload="base64", filter="from == client").to_pylist()
    assert_rows_equal(got, want, "messages with every option")
    assert want


def test_bad_options_are_python_errors():
    with pytest.raises(ValueError, match="filter"):
        wsdissect.frames("samples/python-echo.pcap", filter="len >")
    with pytest.raises(ValueError, match="decode_as"):
        wsdissect.app("samples/python-echo.pcap", decode_as="xmpp")
    with pytest.raises(TypeError):
        wsdissect.frames("samples/python-echo.pcap", filter=3)
    assert pathlib.Path("samples/python-echo.pcap").exists()
