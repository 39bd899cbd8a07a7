"""report.md and report.html: placeholder until the report issue lands (writes a minimal report.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl


def write_reports(folder: Path, manifest: dict[str, Any], frame: pl.DataFrame) -> None:
    counts = manifest["counts"]
    lines = ["# Build report", "", f"Records in: {counts['records']}", ""]
    lines += [f"- {status}: {n}" for status, n in counts["by_status"].items()]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
