"""Inputs cannot change underneath a build: records kept as spans are read back only from the
file ingest read, and invalid bytes never reach a string column."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.core.errors import InputChanged
from curate.ingest.inputs import InputSpec, ingest
from curate.ingest.store import with_examples


def chat(user: str, assistant: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def records(n: int) -> list[dict]:
    return [
        chat(
            f"How do I reset router model {i} after a power cut?", f"Hold reset on unit {i} for ten seconds."
        )
        for i in range(n)
    ]


def same_length_edit(path: Path, keep_time: bool) -> None:
    """Swap two letters inside an answer: same length, still valid JSON and UTF-8."""
    stat = path.stat()
    data = path.read_bytes()
    at = data.index(b"Hold reset")
    path.write_bytes(data[:at] + b"Hlod" + data[at + 4 :])
    if keep_time:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("keep_time", [False, True], ids=["new-mtime", "mtime-put-back"])
def test_a_same_length_rewrite_between_ingest_and_write_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_curate, keep_time: bool
) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records(30)))
    from curate.engines import local

    finalize = local.finalize

    def edit_then_finalize(frame: pl.DataFrame) -> pl.DataFrame:
        same_length_edit(path, keep_time)
        return finalize(frame)

    monkeypatch.setattr(local, "finalize", edit_then_finalize)
    out = tmp_path / "build"
    code, _, err = run_curate("build", "--input", path, "--out", out)
    assert code == 2
    assert err.strip().splitlines() == [f"curate: error: input changed during the build: {path}"]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["chats.jsonl"]  # no temporary folder left either


def test_a_read_back_after_a_change_raises(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records(3)))
    frame, summaries = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    assert summaries[0].size == path.stat().st_size and summaries[0].mtime_ns == path.stat().st_mtime_ns
    same_length_edit(path, keep_time=False)
    with pytest.raises(InputChanged, match="input changed during the build"):
        with_examples(frame)


def test_invalid_bytes_in_a_verbatim_span_never_reach_a_string_column(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records(2)))
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    assert frame["verbatim"].to_list() == [True, True]
    stat = path.stat()
    data = path.read_bytes()
    at = data.index(b"Hold reset")
    path.write_bytes(data[:at] + b"\xc3(" + data[at + 2 :])  # same length, time put back
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(InputChanged):
        with_examples(frame)


def test_invalid_utf8_inside_a_span_is_rejected_with_its_byte_and_offset(tmp_path: Path, run_curate) -> None:
    path = tmp_path / "chats.jsonl"
    good = orjson.dumps(records(1)[0])
    bad = good.replace(b"Hold reset", b"Hold \xe9eset")
    path.write_bytes(good + b"\n" + bad + b"\n")
    code, _, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 0, err
    rejected = [orjson.loads(line) for line in (tmp_path / "b" / "rejected.jsonl").read_bytes().splitlines()]
    assert len(rejected) == 1 and rejected[0]["line"] == 2
    (reason,) = rejected[0]["reasons"]
    assert reason["code"] == "schema.invalid-utf8"
    offset = bad.index(b"\xe9")
    assert reason["message"] == f"byte 0xE9 at offset {offset} is not valid UTF-8"


def test_a_nan_is_named_as_such(tmp_path: Path, run_curate) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(orjson.dumps(records(1)[0]) + b"\n" + b'{"messages": [], "score": NaN}\n')
    code, _, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 0, err
    rejected = orjson.loads((tmp_path / "b" / "rejected.jsonl").read_bytes().splitlines()[0])
    assert rejected["reasons"][0]["code"] == "schema.invalid-json"
    assert rejected["reasons"][0]["message"].startswith("NaN is not valid JSON")
