"""The mix stage: general share of train, held-out slice, accounting, and the build outputs."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.core.config import load_config
from curate.core.errors import ConfigError
from curate.engines.recipe import finalize
from curate.stages import mix
from tests.conftest import SAMPLES
from tests.leakage.frames import chat, context, frame_of


def domain(n: int) -> list[dict]:
    return [
        chat(f"Domain question number {i} about the thermostat?", f"Domain answer {i}.") for i in range(n)
    ]


def general(n: int) -> list[dict]:
    return [chat(f"General question {i}: tell me about topic {i}.", f"General answer {i}.") for i in range(n)]


def run(tmp_path: Path, n_domain: int, n_general: int, **options: object) -> tuple[pl.DataFrame, dict]:
    frame = frame_of(tmp_path, input=domain(n_domain), general=general(n_general))
    frame = frame.with_columns(tokens=pl.col("example").str.len_bytes().cast(pl.Int64))
    ctx = context(mix=dict(options))
    out = mix.run(frame, ctx)
    return finalize(out), ctx.findings["mix"]


def test_general_share_of_train_matches_the_ratio(tmp_path: Path) -> None:
    out, found = run(tmp_path, 90, 50, ratio=0.1)
    status = dict(out.filter(pl.col("origin") == "general").group_by("status").len().iter_rows())
    assert found["general_requested"] == 10  # 0.1 / 0.9 * 90
    assert status == {"train": 10, "general_eval": 2, "rejected": 38}
    assert found["records"] == {"domain": 90, "general": 10}
    assert found["ratio_achieved"] == pytest.approx(0.1)
    not_sampled = out.filter((pl.col("origin") == "general") & (pl.col("status") == "rejected"))
    assert {r["code"] for rs in not_sampled["reasons"] for r in rs} == {"mix.not-sampled"}


def test_token_shares_add_up(tmp_path: Path) -> None:
    out, found = run(tmp_path, 40, 40, ratio=0.2)
    train = out.filter(pl.col("status") == "train")
    assert sum(found["tokens"].values()) == train["tokens"].sum()
    general_tokens = train.filter(pl.col("origin") == "general")["tokens"].sum()
    assert found["tokens"]["general"] == general_tokens
    assert sum(found["token_share"].values()) == pytest.approx(1.0, abs=1e-3)


def test_accounting_covers_every_general_record(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        input=domain(30),
        general=[
            *general(20),
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]},
        ],
    )
    ctx = context(mix={"ratio": 0.2})
    mix.run(frame, ctx)
    books = ctx.findings["mix"]["general_accounting"]
    assert books["records"] == 21
    rejected = sum(books["rejected_before_mix"].values())
    assert books["train"] + books["general_eval"] + books["not_sampled"] + rejected == books["records"]
    assert books["rejected_before_mix"] == {"schema.empty-content": 1}


def test_scarce_general_data_falls_short_unless_oversampling(tmp_path: Path) -> None:
    out, found = run(tmp_path, 90, 5, ratio=0.5)
    assert found["general_eval"] == 1  # even a small set keeps a forgetting probe
    assert found["records"]["general"] == 4 and found["general_short_by"] == 86
    out, found = run(tmp_path, 90, 5, ratio=0.5, oversample=True)
    repeats = out.filter(pl.col("status") == "train")["mix_repeats"].drop_nulls().to_list()
    assert sorted(repeats) == [22, 22, 23, 23] and found["records"]["general"] == 90
    assert found["ratio_achieved"] == pytest.approx(0.5)


def test_heldout_slice_is_capped(tmp_path: Path) -> None:
    _, found = run(tmp_path, 20, 200, ratio=0.1, heldout_fraction=0.2, heldout_max=7)
    assert found["general_eval"] == 7
    _, found = run(tmp_path, 20, 200, ratio=0.1, heldout_max=0)
    assert found["general_eval"] == 0


def test_sample_is_seeded(tmp_path: Path) -> None:
    picked = []
    for seed in (0, 0, 1):
        out, _ = run(tmp_path, 50, 60, ratio=0.2, seed=seed)
        picked.append(
            set(out.filter((pl.col("origin") == "general") & (pl.col("status") != "rejected"))["id"])
        )
    assert picked[0] == picked[1] and picked[0] != picked[2]


def test_without_general_data_nothing_changes(tmp_path: Path) -> None:
    out, found = run(tmp_path, 10, 0)
    assert found["records"] == {"domain": 10, "general": 0} and found["general_eval"] == 0
    assert out["status"].to_list() == ["train"] * 10


def test_ratio_must_be_a_share() -> None:
    with pytest.raises(
        ConfigError, match=r"\[mix\] ratio: expected a number of at least 0 and below 1, got 1.0"
    ):
        load_config(None, {"mix": {"ratio": 1.0}})


def test_build_writes_general_eval_and_composition(tmp_path: Path, run_curate) -> None:
    data = SAMPLES / "data"
    if not (data / "general.jsonl").is_file():
        pytest.skip("samples/data is not generated")
    out = tmp_path / "build"
    config = tmp_path / "curate.toml"  # quality off: this test is about the mix, not the scores
    config.write_text("[quality]\nenabled = false\n")
    code, _, _ = run_curate(
        "build",
        config,
        "--input",
        data / "support_chats.jsonl",
        "--eval",
        data / "eval.jsonl",
        "--general",
        data / "general.jsonl",
        "--out",
        out,
    )
    assert code == 0
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    composition = manifest["mix"]
    held_out = [orjson.loads(line) for line in (out / "general_eval.jsonl").read_text().splitlines()]
    train = [orjson.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    mixed = [r for r in train if r.get("meta", {}).get("source") == "general"]
    assert len(held_out) == composition["general_eval"] > 0
    assert all(r["meta"]["source"] == "general" for r in held_out)
    assert len(mixed) == composition["records"]["general"] > 0
    assert len(train) == composition["records"]["domain"] + composition["records"]["general"]
    assert composition["ratio_achieved"] == pytest.approx(composition["ratio_requested"], abs=0.01)
    books = composition["general_accounting"]
    assert books["records"] == sum(manifest["counts"]["by_origin"]["general"].values()) == 150
    assert manifest["counts"]["by_first_reason"].get("mix.not-sampled") == books["not_sampled"]
