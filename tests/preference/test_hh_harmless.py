"""The Anthropic HH-RLHF harmless test pairs built end to end, checked against the facts its
README states (4 empty chosen answers, 2 prompts twice, chosen longer in 44% of pairs)."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.conftest import shared_file
from tests.preference.pairs import build


@pytest.fixture(scope="module")
def hh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = shared_file("hh_harmless_test.jsonl")
    return build(tmp_path_factory.mktemp("hh"), [data])


def test_hh_facts(hh: Path) -> None:
    manifest = orjson.loads((hh / "manifest.json").read_bytes())
    preference = manifest["findings"]["preference"]
    assert preference["kind"] == "preference"
    bias = preference["length_bias"]
    # 9 pairs hold two assistant turns in a row: 4 in the prompt, and the 5 implicit-form rows in an answer
    assert bias["input"]["pairs"] + 9 == 2312
    assert manifest["counts"]["by_reason"]["schema.role-order"] == 9
    assert abs(bias["input"]["chosen_longer_share"] - 0.44) < 0.005
    assert (
        preference["dedup"]["same_prompt_groups"] == 2 and preference["dedup"]["pairs_sharing_a_prompt"] == 4
    )
    frame = pl.read_parquet(hh / "examples.parquet")
    empty = frame.filter(
        pl.col("flags").list.eval(pl.element().struct.field("code") == "quality.empty-answer").list.any()
    )
    assert empty.height == 4 and set(empty["status"].to_list()) == {"rejected"}
    # every record in exactly one place
    lines = sum(
        len((hh / n).read_bytes().splitlines()) for n in ("train.jsonl", "eval.jsonl", "rejected.jsonl")
    )
    assert lines == frame.height == 2312
    # one prompt never on both sides of the split
    kept = frame.filter(pl.col("status").is_in(["train", "eval"]) & pl.col("cluster_id").is_not_null())
    assert kept.group_by("cluster_id").agg(pl.col("status").n_unique())["status"].max() == 1
    # and the leakage stage, which protects the eval side, finds nothing the split let through
    assert manifest["findings"]["leakage"]["leaked"] == 0
