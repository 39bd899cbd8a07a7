"""The three shapes of a gate report: JUnit XML (CI shows each gate as a test), Markdown (fits
``$GITHUB_STEP_SUMMARY`` and pull-request comments) and JSON (for machines)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import orjson

from curate.gates import GateReport, GateResult, fmt

ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}


def to_json(report: GateReport) -> bytes:
    return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"


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
        name=f"curate check {report.build}",
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
        ET.SubElement(properties, "property", name=name, value=value)
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname="curate.gates", name=result.name, time="0")
        if result.status == "fail":
            failure = ET.SubElement(case, "failure", message=result.message, type="gate")
            failure.text = _detail(result)
        elif result.status == "skip":
            ET.SubElement(case, "skipped", message=result.message)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = ("WARNING: " if result.status == "warn" else "") + _detail(result)
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
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: GateReport) -> str:
    """A heading that says pass/warn/fail, the counts, and one table row per gate."""
    tally = report.tally()
    lines = [
        f"## {ICONS[report.status]} curate check: {report.status.upper()}",
        "",
        f"Build `{report.build}` · gates from {_source(report.config_from)}"
        + (f" · baseline `{report.baseline}`" if report.baseline else ""),
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
