"""The three renderings hold any text a build path or message may carry."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from curate.gates.outputs import to_json, to_junit, to_markdown
from curate.gates.rules import GateReport, GateResult

MEASURES = {"records": 3, "domain": 2, "train": 1, "eval": 1, "general_eval": 0}
statuses = st.sampled_from(["pass", "warn", "fail", "skip"])
values = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False))


@st.composite
def reports(draw: st.DrawFn) -> GateReport:
    results = [
        GateResult(
            name=f"gate_{i}",
            status=draw(statuses),
            value=draw(values),
            warn=draw(values),
            fail=draw(values),
            direction="max",
            unit=draw(st.sampled_from(["rate", "count", "tokens"])),
            message=draw(st.text()),
        )
        for i in range(draw(st.integers(0, 5)))
    ]
    return GateReport(draw(st.text(min_size=1)), "manifest", results, MEASURES)


@given(reports())
def test_outputs_round_trip_any_text(report: GateReport) -> None:
    suites = ET.fromstring(to_junit(report))
    cases = suites.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == [r.name for r in report.results]
    assert len(suites.findall("testsuite/testcase/failure")) == report.tally()["fail"]
    assert len(suites.findall("testsuite/testcase/skipped")) == report.tally()["skip"]

    data = json.loads(to_json(report))
    assert data["status"] == report.status
    assert [g["message"] for g in data["gates"]] == [r.message for r in report.results]

    markdown = to_markdown(report)
    rows = [line for line in markdown.splitlines() if line.startswith("| `gate_")]
    assert len(rows) == len(report.results)  # a message with | or newlines never splits a row
    for row in rows:
        assert row.replace("\\|", "").count("|") == 7
