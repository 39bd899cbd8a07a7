"""The three shapes of a gate report: JUnit XML (CI shows each gate as a test), Markdown (fits
``$GITHUB_STEP_SUMMARY`` and pull-request comments) and JSON (for machines)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import orjson

from curate.gates.rules import GateReport, GateResult, fmt

ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}


def to_json(report: GateReport) -> bytes:
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"


# Characters XML 1.0 cannot carry at all, even escaped (a build path or message could hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def to_junit(report: GateReport) -> str:
    """One testsuite, one testcase per gate: fail is a <failure>, skip a <skipped>; a warning passes
    but says so in <system-out>, since JUnit has no warning state."""
    tally = report.tally()
    suites = ET.Element(
        "testsuites",
        name="curate check",
        tests=str(len(report.results)),
        failures=str(tally["fail"]),
        errors="0",
        skipped=str(tally["skip"]),
    )
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=_xml_text(f"curate check {report.build}"),
        tests=str(len(report.results)),
        failures=str(tally["fail"]),
        errors="0",
        skipped=str(tally["skip"]),
        time="0",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("build", report.build),
        ("config", report.config_from),
        ("baseline", report.baseline or ""),
    ):
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname="curate.gates.rules", name=result.name, time="0")
        if result.status == "fail":
            failure = ET.SubElement(case, "failure", message=_xml_text(result.message), type="gate")
            failure.text = _xml_text(_detail(result))
        elif result.status == "skip":
            ET.SubElement(case, "skipped", message=_xml_text(result.message))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(("WARNING: " if result.status == "warn" else "") + _detail(result))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _detail(result: GateResult) -> str:
    parts = [f"{result.name}: {result.status}", f"value {value_text(result.value, result)}"]
    if result.baseline is not None:
        parts.append(f"baseline {fmt(result.baseline, result.unit)}")
    parts += [
        f"{name} {value_text(level, result)}"
        for name, level in (("warn", result.warn), ("fail", result.fail))
        if level is not None
    ]
    return ", ".join(parts) + f"\n{result.message}"


def _cell(text: str) -> str:
    """One table cell: pipes escaped, every kind of line break (\\r, \\u2028 ...) a space."""
    return " ".join(text.replace("|", "\\|").splitlines())


def to_markdown(report: GateReport) -> str:
    """A heading that says pass/warn/fail, the counts, and one table row per gate."""
    tally = report.tally()
    lines = [
        f"## {ICONS[report.status]} curate check: {report.status.upper()}",
        "",
        f"Build `{_cell(report.build)}` · gates from {_source(report.config_from)}"
        + (f" · baseline `{_cell(report.baseline)}`" if report.baseline else ""),
        "",
        f"{tally['pass']} passed, {tally['warn']} warned, {tally['fail']} failed, "
        f"{tally['skip']} not measured.",
        "",
        "| gate | status | value | warn | fail | detail |",
        "|---|---|---:|---:|---:|---|",
    ]
    for result in report.results:
        cells = [
            f"`{result.name}`",
            f"{ICONS[result.status]} {result.status}",
            value_text(result.value, result),
            value_text(result.warn, result),
            value_text(result.fail, result),
            _cell(result.message),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    measures: dict[str, Any] = report.measures
    lines += [
        "",
        f"Records: {measures['records']:,} · domain {measures['domain']:,} · train {measures['train']:,} · "
        f"eval {measures['eval']:,} · general_eval {measures['general_eval']:,}",
    ]
    return "\n".join(lines) + "\n"


def _source(config_from: str) -> str:
    return "the build's manifest" if config_from == "manifest" else f"`{config_from}`"


def value_text(value: float | None, result: GateResult) -> str:
    """Baseline gates hold a change in rate points; every other gate a value in its own unit."""
    if value is None:
        return "–"
    if result.name.startswith("baseline."):
        return f"{value * 100:+.1f} pts"
    return fmt(value, result.unit)
