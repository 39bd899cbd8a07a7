"""Token counting for the length check: the model's tokenizer when there is one, else an estimate.

The estimate, ceil(UTF-8 bytes / 4) + 4 per message, is the usual rule of thumb for English BPE
vocabularies (about four bytes a token) plus a chat template's few tokens around each message.
The real count encodes each message's content with the tokenizer and adds the same per-message
overhead, since the exact template tokens depend on the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.errors import ConfigError

PER_MESSAGE_OVERHEAD = 4
BYTES_PER_TOKEN = 4
DEFAULT_MODEL_FOLDER = "smollm2-135m-instruct"


@dataclass(frozen=True)
class TokenizerChoice:
    kind: str  # "tokenizer" or "estimate"
    name: str  # tokenizer.json path, or the estimate's formula

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name}


def default_tokenizer_path() -> Path:
    """Where `train run` leaves the default model's converted tokenizer (see train/models.py)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "chatcurate" / "models" / DEFAULT_MODEL_FOLDER / "tokenizer.json"


def choose_tokenizer(setting: str) -> TokenizerChoice:
    estimate = TokenizerChoice("estimate", f"ceil(utf8_bytes / {BYTES_PER_TOKEN}) + {PER_MESSAGE_OVERHEAD} per message")
    if setting == "estimate":
        return estimate
    if setting == "auto":
        path = default_tokenizer_path()
        return TokenizerChoice("tokenizer", str(path)) if path.is_file() else estimate
    path = Path(setting)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError([f"validate.tokenizer: no tokenizer.json at {setting}"])
    return TokenizerChoice("tokenizer", str(path))


def count_tokens(messages: pl.Series, choice: TokenizerChoice, batch: int = 8192) -> pl.Series:
    """Tokens per conversation (null where messages is null)."""
    contents = messages.list.eval(pl.element().struct.field("content").fill_null(""))
    n_messages = messages.list.len()
    if choice.kind == "estimate":
        n_bytes = contents.list.eval(pl.element().str.len_bytes()).list.sum()
        return ((n_bytes + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN + PER_MESSAGE_OVERHEAD * n_messages).cast(pl.Int64)
    import numpy as np
    import pyarrow.compute as pc
    from tokenizers import Tokenizer  # light (Rust); only needed for real counts


    tokenizer = Tokenizer.from_file(choice.name)
    # Flatten with arrow (null and empty lists contribute no values), count, and sum back per row.
    texts = pc.list_flatten(contents.to_arrow()).to_pylist()
    counts = np.zeros(len(texts) + 1, dtype=np.int64)
    for start in range(0, len(texts), batch):
        encoded = tokenizer.encode_batch_fast(texts[start : start + batch], add_special_tokens=False)
        counts[start + 1 : start + 1 + len(encoded)] = [len(e.ids) for e in encoded]
    cumulative = np.cumsum(counts)
    lengths = n_messages.fill_null(0).to_numpy()
    ends = np.cumsum(lengths)
    totals = pl.Series(cumulative[ends] - cumulative[ends - lengths], dtype=pl.Int64)
    totals = pl.select(pl.when(n_messages.is_null()).then(None).otherwise(totals)).to_series()
    return (totals + PER_MESSAGE_OVERHEAD * n_messages).cast(pl.Int64)
