"""Token counting for the length check: the model's tokenizer when there is one, else an estimate.

Exact counts where they decide something, a calibrated estimate elsewhere:
- Small builds (up to ``exact_max_records``) are counted exactly, every row.
- Large builds count exactly every row that could exceed the limit, and a seeded sample that
  calibrates bytes per token on this data; other rows get bytes / that ratio. A token covers at
  least one byte (byte-level BPE), and SentencePiece adds at most one word-boundary token per
  byte, so a row with 2 x bytes + overhead <= limit cannot be too long and needs no exact count.
Without a tokenizer the estimate is ceil(UTF-8 bytes / 4) + 4 per message: about four bytes a
token for English BPE vocabularies, plus a chat template's few tokens around each message.
The column ``tokens_exact`` says which rows were counted exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from tokenizers import Tokenizer

from curate.core.errors import ConfigError
from curate.core.frame import MESSAGES_DTYPE, canonical_examples
from curate.ingest.store import with_examples

PER_MESSAGE_OVERHEAD = 4
BYTES_PER_TOKEN = 4.0
CALIBRATION_ROWS = 2000
DEFAULT_MODEL_FOLDER = "smollm2-135m-instruct"


@dataclass
class TokenizerChoice:
    kind: str  # "tokenizer" or "estimate"
    name: str  # tokenizer.json path, or the estimate's formula
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, **self.stats}


def default_tokenizer_path() -> Path:
    """Where the default model's converted folder lives (prepared once by `make setup`, shared with
    `train run`; see train/models.py)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "chatcurate" / "models" / DEFAULT_MODEL_FOLDER / "tokenizer.json"


def choose_tokenizer(setting: str) -> TokenizerChoice:
    """``auto``: the default model's tokenizer, which ``make setup`` prepares; ``estimate``: the
    documented estimate; anything else: a tokenizer.json or the folder holding one.

    A missing tokenizer is an error, never a silent switch to the estimate: token counts decide
    which rows are too long, so the user chooses the estimate in the config."""
    if setting == "estimate":
        return TokenizerChoice(
            "estimate", f"ceil(utf8_bytes / {BYTES_PER_TOKEN:g}) + {PER_MESSAGE_OVERHEAD} per message"
        )
    if setting == "auto":
        path = default_tokenizer_path()
        if not path.is_file():
            raise ConfigError(
                [
                    f'validate.tokenizer = "auto": the default model\'s tokenizer is not prepared ({path}); '
                    'run `make setup` (or `python -m train.models`), or set [validate] tokenizer = "estimate"'
                ]
            )
        return TokenizerChoice("tokenizer", str(path))
    path = Path(setting)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError([f"validate.tokenizer: no tokenizer.json at {setting}"])
    return TokenizerChoice("tokenizer", str(path))


SLICE_ROWS = 100_000  # examples are decoded this many at a time, so memory stays flat


def count_tokens(
    examples: pl.Series, choice: TokenizerChoice, limit: int, exact_max_records: int, seed: int = 0
) -> tuple[pl.Series, pl.Series]:
    """Tokens per example (null where ``examples`` is null) and whether each count is exact.

    ``examples`` holds canonical example JSON (curate.core.frame's ``example`` column of valid rows).
    """
    sizes = pl.concat(
        [_sizes(examples.slice(start, SLICE_ROWS)) for start in range(0, len(examples), SLICE_ROWS)]
        or [_sizes(examples)]
    )
    return _count(sizes, examples.gather, choice, limit, exact_max_records, seed)


def count_frame_tokens(
    frame: pl.DataFrame, choice: TokenizerChoice, limit: int, exact_max_records: int, seed: int = 0
) -> tuple[pl.Series, pl.Series]:
    """``count_tokens`` for the rows of a build frame, null where a row holds no valid example.

    Sizes come from ingest's ``content_bytes`` where it counted them; only the rows that need
    an exact count (or lack sizes) have their text read (curate.ingest.store).
    """
    valid = pl.col("dedup_key").is_not_null()
    known = frame.select(
        pl.when(valid).then(pl.col("content_bytes")).alias("n_bytes"),
        pl.when(valid).then(pl.col("n_messages").cast(pl.Int64)).alias("n_messages"),
    )
    unknown = np.flatnonzero(frame.select(valid & pl.col("content_bytes").is_null()).to_series().to_numpy())
    if len(unknown):
        counted = _sizes(canonical_examples(with_examples(frame[unknown])))
        known = known.with_columns(
            known[c].clone().scatter(unknown, counted[c]) for c in ("n_bytes", "n_messages")
        )

    def texts(rows: pl.Series) -> pl.Series:
        return canonical_examples(with_examples(frame[rows]))

    return _count(known, texts, choice, limit, exact_max_records, seed)


def _count(
    sizes: pl.DataFrame,
    texts: Callable[[pl.Series], pl.Series],
    choice: TokenizerChoice,
    limit: int,
    exact_max_records: int,
    seed: int,
) -> tuple[pl.Series, pl.Series]:
    """Counts from per-row sizes (``n_bytes``, ``n_messages``); ``texts`` gives the example
    JSON of the rows counted exactly."""
    overhead = PER_MESSAGE_OVERHEAD * sizes["n_messages"]
    n_bytes = sizes["n_bytes"]
    if choice.kind == "estimate":
        estimate = (n_bytes / BYTES_PER_TOKEN).ceil().cast(pl.Int64) + overhead
        return estimate.alias("tokens"), pl.Series("tokens_exact", [False] * sizes.height, dtype=pl.Boolean)
    rows = pl.DataFrame({"n_bytes": n_bytes, "overhead": overhead}).with_row_index("row")
    present = rows.filter(pl.col("n_bytes").is_not_null())
    if present.height <= exact_max_records:
        chosen = present["row"]
    else:
        risky = present.filter(2 * pl.col("n_bytes") + pl.col("overhead") > limit)["row"]
        sample = present.sample(min(CALIBRATION_ROWS, present.height), seed=seed)["row"]
        chosen = pl.concat([risky, sample]).unique().sort()
    exact = pl.concat(
        [
            _exact_counts(_contents(texts(chosen.slice(start, SLICE_ROWS))), choice.name)
            for start in range(0, len(chosen), SLICE_ROWS)
        ]
        or [pl.Series([], dtype=pl.Int64)]
    )
    rows = rows.join(pl.DataFrame({"row": chosen, "exact_tokens": exact}), on="row", how="left")
    calibration = rows.filter(pl.col("exact_tokens").is_not_null() & (pl.col("n_bytes") > 0))
    ratio = (
        float(calibration["n_bytes"].sum()) / max(1, int(calibration["exact_tokens"].sum()))
        if calibration.height
        else BYTES_PER_TOKEN
    )
    tokens = rows.select(
        pl.coalesce(
            pl.col("exact_tokens") + pl.col("overhead"),
            (pl.col("n_bytes") / ratio).ceil().cast(pl.Int64) + pl.col("overhead"),
        )
    ).to_series()
    is_exact = rows.select(pl.col("exact_tokens").is_not_null()).to_series()
    choice.stats = {"exact_rows": int(is_exact.sum()), "bytes_per_token": round(ratio, 3)}
    return tokens.alias("tokens"), is_exact.alias("tokens_exact")


def _contents(examples: pl.Series) -> pl.Series:
    messages = examples.str.json_decode(MESSAGES_DTYPE).struct.field("messages")
    return messages.list.eval(pl.element().struct.field("content").fill_null(""))


def _sizes(examples: pl.Series) -> pl.DataFrame:
    """UTF-8 bytes of all contents and the message count of each example; nothing else is kept."""
    contents = _contents(examples)
    return pl.DataFrame(
        {
            "n_bytes": contents.list.eval(pl.element().str.len_bytes()).list.sum().cast(pl.Int64),
            "n_messages": contents.list.len().cast(pl.Int64),
        }
    )


def _exact_counts(contents: pl.Series, tokenizer_path: str, batch: int = 8192) -> pl.Series:
    """Sum of content tokens per row (template overhead is added by the caller)."""
    tokenizer = Tokenizer.from_file(tokenizer_path)
    # Flatten (null and empty lists contribute no values), count, and sum back per row.
    texts = contents.explode(empty_as_null=False, keep_nulls=False).to_list()
    counts = np.zeros(len(texts) + 1, dtype=np.int64)
    for start in range(0, len(texts), batch):
        encoded = tokenizer.encode_batch_fast(texts[start : start + batch], add_special_tokens=False)
        counts[start + 1 : start + 1 + len(encoded)] = [len(e.ids) for e in encoded]
    cumulative = np.cumsum(counts)
    lengths = contents.list.len().fill_null(0).to_numpy()
    ends = np.cumsum(lengths)
    return pl.Series(cumulative[ends] - cumulative[ends - lengths], dtype=pl.Int64)
