"""docs/ci.md stays true: its workflow parses, runs `curate check` with flags that exist and keeps the
report whatever the verdict; its [gates] example is a valid config; its gate table names every gate."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from curate.cli import make_parser
from curate.core.config import load_config
from curate.gates.rules import GATES

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def workflow() -> dict:
    yaml = pytest.importorskip("yaml")
    (text,) = blocks("yaml")
    return yaml.safe_load(text)


def steps() -> list[dict]:
    (job,) = workflow()["jobs"].values()
    return job["steps"]


def test_the_workflow_runs_curate_check_with_real_flags() -> None:
    (gate_step,) = [s for s in steps() if "curate check" in s.get("run", "")]
    command = gate_step["run"].replace("\\\n", " ")
    line = next(part for part in command.splitlines() if "curate check" in part)
    words = shlex.split(line.replace('"${baseline[@]}"', "--baseline build/base"))
    args = make_parser().parse_args(words[words.index("curate") + 1 :])
    assert args.command == "check"
    assert args.junit and args.markdown and args.json and args.baseline


def test_the_report_is_kept_even_when_a_gate_fails() -> None:
    uploads = [s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact")]
    assert len(uploads) == 1 and uploads[0]["if"] == "always()"
    kept = uploads[0]["with"]["path"]
    assert "report.html" in kept and "gates/" in kept
    summary = next(s for s in steps() if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert summary["if"].startswith("always()")


def test_the_documented_gates_config_is_valid(tmp_path: Path) -> None:
    (toml,) = blocks("toml")
    config = tmp_path / "curate.toml"
    config.write_text(toml)
    gates = load_config(config).gates
    assert gates.invalid_rate.fail == pytest.approx(0.10)
    assert gates.duplicate_rate.fail is None
    assert set(gates.tokens) == {"p95", "p99"}


def test_the_gate_table_lists_every_gate() -> None:
    text = DOC.read_text()
    for spec in GATES:
        assert f"| `{spec.name}` |" in text, spec.name
