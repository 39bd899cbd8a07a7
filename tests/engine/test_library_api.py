"""The library API as the README shows it: the example runs as written, on a copy of the samples."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

import curate

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## As a library") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's library section has no python example"
    return match.group(1)


def test_readme_library_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "samples", tmp_path / "samples", ignore=shutil.ignore_patterns("*.py"))
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        exec(compile(_readme_example(), "README.md", "exec"), {})
    finally:
        os.chdir(old)
    printed = capsys.readouterr().out
    folder = tmp_path / "build" / "from-python"
    assert (folder / "train.jsonl").stat().st_size > 0 and (folder / "manifest.json").is_file()
    assert "'train':" in printed and "rejected" in printed
    assert re.search(r"^(pass|warn|fail) ", printed, re.M), printed


def test_api_is_loaded_on_first_use_only() -> None:
    assert curate.build is curate.api.build and curate.check is curate.api.check
    with pytest.raises(AttributeError):
        _ = curate.not_a_function  # type: ignore[attr-defined]


def test_build_then_check_from_python(tmp_path: Path) -> None:
    data = tmp_path / "chats.jsonl"
    rows = [
        f'{{"messages": [{{"role": "user", "content": "How do I restart router {i}?"}}, '
        f'{{"role": "assistant", "content": "Hold button {i} for ten seconds, then wait."}}]}}'
        for i in range(30)
    ]
    data.write_text("\n".join([*rows, rows[0], "{broken"]) + "\n")
    config = curate.load_config(
        None, {"build": {"inputs": [str(data)]}, "validate": {"tokenizer": "estimate"}}
    )
    outcome = curate.build(config, out=tmp_path / "out")
    counts = outcome.manifest["counts"]["by_status"]
    assert sum(counts.values()) == 32
    codes = outcome.frame.select(outcome.frame["reasons"].list.eval(pl.element().struct.field("code")))
    found = set(codes.to_series().explode().drop_nulls().to_list())
    assert {"schema.invalid-json", "dedup.exact"} <= found
    report = curate.check(outcome.folder)
    assert {r.name for r in report.results} >= {"invalid_rate", "duplicate_rate"}
