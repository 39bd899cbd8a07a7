"""The eval split is keyed by content: a record keeps its side however other data is added,
removed or reordered; only a change in its own duplicate group may move it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.stages import split
from tests.dedup.frames import chat, dedup, frame_of

VOCAB = [f"{a}{b}" for a in "bcdfghjklmnprstvwz" for b in ("ay", "eo", "iu", "ox", "un", "er", "al")]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words))


def records_with_groups(sizes: list[int], seed: int) -> list[dict[str, Any]]:
    """One group per size: an original and ``size - 1`` copies, alternately exact and reworded
    (a prefix), so both exact and near dedup make the groups."""
    rng = random.Random(seed)
    out = []
    for group, size in enumerate(sizes):
        question, answer = f"case {group}: " + sentence(rng, 12), sentence(rng, 60)
        out.append(chat(question, answer))
        for copy in range(1, size):
            out.append(chat(question, answer) if copy % 2 else chat(question, "Sure! " + answer))
    return out


def unrelated(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [chat(f"other {i}: " + sentence(rng, 12), sentence(rng, 60)) for i in range(n)]


def sides(tmp_path: Path, records: list[dict[str, Any]], name: str) -> dict[str, str]:
    """Each record's side (by content id) after dedup and split, as the build runs them."""
    folder = tmp_path / name
    folder.mkdir()
    ctx = BuildContext(config=load_config(None, {"split": {"eval_fraction": 0.3, "seed": 7}}))
    out = split.run(dedup(frame_of(folder, input=records), ctx), ctx)
    pairs = out.select("id", pl.col("split").cast(pl.Utf8)).unique().rows()
    result = dict(pairs)
    assert len(result) == len(pairs), "copies of one record landed on both sides"
    return result


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 4), min_size=20, max_size=60), seed=st.integers(0, 1000))
def test_every_unchanged_group_keeps_its_side_when_unrelated_data_moves(
    tmp_path_factory: Any, sizes: list[int], seed: int
) -> None:
    tmp_path = tmp_path_factory.mktemp("split")
    base = records_with_groups(sizes, seed)
    others = unrelated(1_000, seed + 1)
    shuffled = base + others
    random.Random(seed).shuffle(shuffled)
    before = sides(tmp_path, base, "base")
    assert set(before.values()) == {"train", "eval"} or len(sizes) < 5
    for name, records in (("prepended", others + base), ("appended", base + others), ("shuffled", shuffled)):
        after = sides(tmp_path, records, name)
        moved = [record for record, side in before.items() if after[record] != side]
        assert moved == [], f"{name}: {len(moved)} of {len(before)} records changed side"


def test_cluster_id_is_the_smallest_content_id_of_the_group(tmp_path: Path) -> None:
    records = records_with_groups([3, 1, 2], seed=1)
    out = dedup(frame_of(tmp_path, input=records))
    assert out.schema["cluster_id"] == pl.Utf8
    grouped = out.filter(pl.col("cluster_id").is_not_null())
    named = grouped.group_by("cluster_id").agg(pl.col("id").min().alias("smallest"))
    assert named.height == 2
    assert (named["cluster_id"] == named["smallest"]).all()


def test_the_manifest_says_how_many_eval_records_of_a_baseline_changed_side(
    tmp_path: Path, run_curate
) -> None:
    import orjson

    base = records_with_groups([1, 2, 3, 1, 2] * 6, seed=5)
    config = tmp_path / "curate.toml"
    config.write_text("[split]\neval_fraction = 0.3\nseed = 7\n\n[quality]\nenabled = false\n")
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in base))
    code, _, err = run_curate("build", config, "--input", first, "--out", tmp_path / "a")
    assert code == 0, err
    grown = tmp_path / "grown.jsonl"
    grown.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in unrelated(200, 9) + base))
    code, _, err = run_curate(
        "build", config, "--input", grown, "--out", tmp_path / "b", "--baseline", tmp_path / "a"
    )
    assert code == 0, err
    found = orjson.loads((tmp_path / "b" / "manifest.json").read_bytes())["split"]["baseline"]
    assert found["eval_before"] > 0
    assert found["still_eval"] == found["eval_before"] and found["changed_side"] == 0

    # Another seed moves records, and the manifest says why.
    config.write_text("[split]\neval_fraction = 0.3\nseed = 8\n\n[quality]\nenabled = false\n")
    code, _, err = run_curate(
        "build", config, "--input", grown, "--out", tmp_path / "c", "--baseline", tmp_path / "a"
    )
    assert code == 0, err
    found = orjson.loads((tmp_path / "c" / "manifest.json").read_bytes())["split"]["baseline"]
    assert found["changed_side"] > 0
    assert found["changed_side_why"] == {
        "split settings changed (eval_fraction or seed)": found["changed_side"]
    }
