"""The Arrow schemas list the fields docs/schema.md documents for each
record type, in its order (the doc is itself checked against the code by
tests/schema_doc.rs), so a table's columns are the JSON fields."""

import re

import pytest

import wsdissect
from conftest import REPO

# Fields docs/schema.md lists for a record type that are not that record's
# in these tables: `frame` is in `explain`'s findings only.
NOT_IN_TABLE = {"finding": {"frame"}}


def documented_fields():
    text = (REPO / "docs" / "schema.md").read_text()
    fields, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^### `([a-z-]+)`", line)
        if m:
            current = m.group(1)
            fields[current] = []
            continue
        if line.startswith("## "):
            current = None
        m = re.match(r"^\| `([a-z0-9_]+)` \|", line)
        if current and m:
            fields[current].append(m.group(1))
    return fields


@pytest.mark.parametrize("rtype", sorted(wsdissect.SCHEMAS))
def test_schema_matches_docs(rtype):
    doc = [f for f in documented_fields()[rtype] if f not in NOT_IN_TABLE.get(rtype, ())]
    assert wsdissect.SCHEMAS[rtype].names == doc


def test_nested_fields_match_docs():
    text = (REPO / "docs" / "schema.md").read_text()
    # The `conn` record's section (the handshake's has a `tls` too).
    text = text[text.index("### `conn`") :]
    text = text[: text.index("\n### ", 1)]
    conn = wsdissect.SCHEMAS["conn"]
    for parent in ("tls", "client_to_server", "server_to_client"):
        doc = re.findall(rf"^\| `{parent}\.([a-z0-9_]+)` \|", text, re.M)
        struct = conn.field(parent).type
        assert [struct.field(i).name for i in range(struct.num_fields)] == doc


def test_record_types_all_have_a_schema():
    assert set(wsdissect.RECORD_TYPES) == set(wsdissect.SCHEMAS)
