"""Inputs cut into shards at line boundaries read back as ``ingest`` reads them whole: the same
rows, line numbers, ids, spans and rejections (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
from polars.testing import assert_frame_equal

from curate.ingest.inputs import InputSpec, ingest
from curate.ingest.shards import plan, read_shard

LIMIT = 16_000_000


def _lines(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        record = {
            "messages": [
                {"role": "user", "content": f"q{i} " * (i % 7 + 1)},
                {"role": "assistant", "content": "a"},
            ]
        }
        lines.append(orjson.dumps(record))
    lines[5] = b'{"messages": [}'  # invalid JSON
    lines[41] = b"   "  # blank
    lines[77] = b'{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}'
    lines[120] = b"\xff\xfe not utf-8"
    return lines


def _sharded(spec: InputSpec, shard_bytes: int) -> tuple[pl.DataFrame, int, str | None, int]:
    cut = plan([spec], shard_bytes)
    parts = [read_shard(shard, LIMIT) for shard in cut.shards]
    frame = pl.concat([p.frame for p in parts])
    return frame, sum(p.blank_lines for p in parts), cut.summaries[0].sha256, len(cut.shards)


def test_shards_read_as_ingest_reads_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"\n".join(_lines(400)))  # no newline after the last line
    spec = InputSpec(str(path), "input")
    whole, (summary,) = ingest([spec], LIMIT)
    frame, blank, sha256, shards = _sharded(spec, 1_000)
    assert shards > 10
    assert_frame_equal(frame, whole)
    assert (blank, sha256) == (summary.blank_lines, summary.sha256)
    bad = frame.filter(pl.col("status") == "rejected").select("line").to_series().to_list()
    assert bad == [6, 121]  # file:line of each rejection, across shard boundaries


def test_a_uri_is_read_through_pyarrow_with_its_text(tmp_path: Path) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"\n".join(_lines(200)) + b"\n")
    whole, _ = ingest([InputSpec(str(path), "input")], LIMIT)
    frame, _, _, _ = _sharded(InputSpec(path.as_uri(), "input"), 2_000)
    columns = ["line", "status", "reasons", "dedup_key"]
    assert_frame_equal(frame.select(columns), whole.select(columns))
    valid = frame.filter(pl.col("dedup_key").is_not_null())
    assert valid["id"].to_list() == whole.filter(pl.col("dedup_key").is_not_null())["id"].to_list()
    assert valid["example"].null_count() == 0  # no spans into a file the OS cannot open
