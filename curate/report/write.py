"""report.md and report.html of a build: the same numbers (curate/report/data.py), two renderings.

The build calls ``write_reports`` inside its temporary folder, before the atomic rename, so a
build folder never lacks its report. A finished build's report can be written again from its own
files: ``write_reports(folder, read_manifest(folder), pl.read_parquet(folder / "examples.parquet"))``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from curate.core.errors import CurateError
from curate.gates.rules import evaluate, gates_of, measure, percentile_keys
from curate.report.data import summarise, without_text
from curate.report.html import render_html
from curate.report.markdown import render_markdown


def report_data(manifest: dict[str, Any], frame: pl.DataFrame) -> dict[str, Any]:
    """Every section of the report, plus the build's own gate verdict (None where gates cannot run)."""
    data = summarise(manifest, frame)
    data["gates"] = gate_section(manifest, without_text(frame))
    return data


def gate_section(manifest: dict[str, Any], frame: pl.DataFrame) -> dict[str, Any] | None:
    try:
        gates, _ = gates_of(manifest, "manifest.json", None)
        results = evaluate(measure(frame, manifest, percentile_keys(gates)), gates)
    except CurateError:
        return None  # a gates section the config cannot describe is curate check's error to report
    worst = max((("pass", "warn", "fail").index(r.status) for r in results if r.status != "skip"), default=0)
    return {"status": ("pass", "warn", "fail")[worst], "results": [r.as_dict() for r in results]}


def write_reports(folder: Path, manifest: dict[str, Any], frame: pl.DataFrame) -> None:
    data = report_data(manifest, frame)
    (folder / "report.md").write_text(render_markdown(data), encoding="utf-8")
    (folder / "report.html").write_text(render_html(data), encoding="utf-8")
