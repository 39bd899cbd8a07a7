"""The preference sample (samples/preference/): every planted defect caught by its code, every
clean pair kept, and the length-bias gate warning as planted (its rejected answers are mostly
short brush-offs). samples/preference/data/manifest.json is the generator's ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.conftest import SAMPLES

PAIRS = SAMPLES / "preference"
CAUGHT_BY = {
    "identical": {"pref.identical"},
    "empty_chosen": {"quality.low-score"},
    "placeholder_chosen": {"quality.low-score"},
    "placeholder_rejected": {"pref.rejected-answer"},
    "tie": {"pref.tie"},
    "contradictory": {"pref.contradictory"},
    "exact_copy": {"dedup.exact"},
    "near_copy": {"dedup.near"},
    "no_shared_prompt": {"pref.no-shared-prompt"},
    "role_order": {"pref.role-order"},
    "wrong_kind": {"pref.wrong-kind"},
    "benchmark_in_rejected": {"leakage.ngram", "leakage.near"},
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from curate.cli import main

    config = PAIRS / "curate.toml"
    text = config.read_text().replace('tokenizer = "auto"', 'tokenizer = "estimate"')
    text = text.replace('"data/', f'"{PAIRS}/data/').replace('"../data/', f'"{SAMPLES}/data/')
    text = text.replace('db = "../../reviews.sqlite"', 'db = "reviews.sqlite"')
    copy = tmp_path_factory.mktemp("pairs") / "curate.toml"
    copy.write_text(text)
    out = copy.parent / "build"
    assert main(["build", str(copy), "--out", str(out)]) == 0
    return out


def test_every_planted_defect_is_caught_and_every_clean_pair_kept(sample: Path) -> None:
    truth = orjson.loads((PAIRS / "data" / "manifest.json").read_bytes())["pairs.jsonl"]
    frame = pl.read_parquet(sample / "examples.parquet").filter(pl.col("source").str.ends_with("pairs.jsonl"))
    frame = frame.filter(~pl.col("source").str.ends_with("eval_pairs.jsonl"))
    assert frame.height == truth["lines"]
    by_line = {row["line"]: row for row in frame.iter_rows(named=True)}
    missed = [
        (p["line"], p["kind"], [r["code"] for r in by_line[p["line"]]["reasons"]])
        for p in truth["planted"]
        if not CAUGHT_BY[p["kind"]] & {r["code"] for r in by_line[p["line"]]["reasons"]}
    ]
    assert not missed
    lost = [(n, by_line[n]["reasons"]) for n in truth["clean_lines"] if by_line[n]["status"] != "train"]
    assert not lost
    assert set(frame["format"].to_list()) == {"preference", "preference-implicit", "preference-text", "chat"}


def test_sample_gates(sample: Path) -> None:
    from curate.gates.rules import check_build

    report = check_build(sample)
    status = {r.name: r.status for r in report.results}
    assert status["chosen_longer_share"] == "warn"  # planted: brush-off rejected answers are short
    assert report.exit_code == 0
    trl = [orjson.loads(line) for line in (sample / "eval.jsonl").read_bytes().splitlines()]
    assert len(trl) == 20 and all({"prompt", "chosen", "rejected"} <= set(row) for row in trl)


def test_frame_schema_holds_at_every_stage_boundary_of_a_pair_build() -> None:
    from curate.core.config import load_config
    from curate.core.context import BuildContext
    from curate.engines.recipe import STAGES, finalize, input_specs
    from curate.ingest.inputs import ingest
    from tests.engine.test_frame_schema import BASE

    config = load_config(
        PAIRS / "curate.toml", {"validate": {"tokenizer": "estimate"}, "review": {"apply": False}}
    )
    ctx = BuildContext(config=config)
    frame, _ = ingest(input_specs(ctx), config.validate.max_line_bytes)
    rows = frame.height
    for name, stage in STAGES:
        frame = stage(frame, ctx)
        BASE.validate(frame)
        assert frame.height == rows, f"stage {name} dropped rows"
    BASE.validate(finalize(frame))
