"""The frame's contract, checked with pandera at every stage boundary of a real build."""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.core.frame import ORIGINS, STATUSES
from curate.core.pairs import PAIR_FORMATS
from curate.engines.recipe import STAGES, finalize, input_specs
from curate.ingest.inputs import ingest
from tests.conftest import SAMPLES

REASON_CODE = r"^[a-z]+\.[a-z0-9-]+$"

BASE = pa.DataFrameSchema(
    {
        "id": pa.Column(pl.Utf8, nullable=False),
        # Columns of a few values are categorical in the frame (frame.LABEL), strings in the files.
        "source": pa.Column(pl.Categorical, nullable=False),
        "line": pa.Column(pl.Int64, pa.Check.ge(1)),
        "source_id": pa.Column(pl.Utf8, nullable=True),
        "origin": pa.Column(pl.Categorical, pa.Check.isin(ORIGINS)),
        "format": pa.Column(
            pl.Categorical, pa.Check.isin(["chat", "sharegpt", "alpaca", *PAIR_FORMATS]), nullable=True
        ),
        "status": pa.Column(pl.Categorical, pa.Check.isin(STATUSES)),
        "example": pa.Column(pl.Utf8, nullable=True),
        "raw": pa.Column(pl.Utf8, nullable=True),
        "dedup_key": pa.Column(pl.Int64, nullable=True),
    },
    checks=[
        # A row is rejected exactly when it has a reason.
        pa.Check(
            lambda data: data.lazyframe.select(
                (pl.col("status") == "rejected") == (pl.col("reasons").list.len() > 0)
            ),
            name="rejected-iff-reasons",
        ),
        # Every reason code is namespaced kebab-case.
        pa.Check(
            lambda data: data.lazyframe.select(
                pl.col("reasons")
                .list.eval(pl.element().struct.field("code").str.contains(REASON_CODE))
                .list.all()
            ),
            name="reason-codes",
        ),
        # The parsed record, its span in the input file, or the raw text is kept, never none.
        pa.Check(
            lambda data: data.lazyframe.select(
                pl.col("example").is_not_null()
                | pl.col("raw").is_not_null()
                | pl.col("span_start").is_not_null()
            ),
            name="example-or-raw",
        ),
    ],
    strict=False,
)


@pytest.fixture(scope="module")
def sample_context() -> BuildContext:
    config_path = SAMPLES / "curate.toml"
    if not config_path.exists():
        pytest.skip("samples/curate.toml is not there yet")
    return BuildContext(config=load_config(config_path))


def test_schema_holds_at_every_stage_boundary(sample_context: BuildContext) -> None:
    frame, _ = ingest(input_specs(sample_context), sample_context.config.validate.max_line_bytes)
    BASE.validate(frame)
    rows = frame.height
    for name, stage in STAGES:
        frame = stage(frame, sample_context)
        BASE.validate(frame)
        assert frame.height == rows, f"stage {name} dropped rows"
    frame = finalize(frame)
    BASE.validate(frame)
    assert set(frame["status"].unique()) <= {"train", "eval", "general_eval", "rejected", "protected"}


def test_schema_catches_a_broken_frame() -> None:
    broken = pl.DataFrame(
        {
            "id": ["a"],
            "source": ["f"],
            "line": [0],
            "source_id": [None],
            "origin": ["input"],
            "format": ["chat"],
            "status": ["rejected"],
            "example": [None],
            "raw": [None],
            "dedup_key": [None],
            "reasons": [[]],
        },
        schema_overrides={
            "source_id": pl.Utf8,
            "example": pl.Utf8,
            "raw": pl.Utf8,
            "dedup_key": pl.Int64,
            "reasons": pl.List(pl.Struct({"code": pl.Utf8})),
        },
    )
    with pytest.raises(pa.errors.SchemaError):
        BASE.validate(broken)


def test_paths_resolve_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    config_path = tmp_path / "sub" / "curate.toml"
    config_path.write_text('[build]\ninputs = ["data/a.jsonl"]\n')
    config = load_config(config_path)
    assert input_specs(BuildContext(config=config))[0].path == str(tmp_path / "sub" / "data" / "a.jsonl")
