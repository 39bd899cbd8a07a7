"""The canonical preference pair: how a pair is held in the frame, its content id and dedup keys.

A pair row's ``example`` is chat-shaped so that every chat stage reads it as the conversation the
model should learn: ``messages`` is the prompt followed by the chosen answer. The rest of the pair
rides along under keys the chat stages skip::

    {"messages": [*prompt, *chosen], "prompt_turns": k, "rejected": [...],
     "score_chosen"?: x, "score_rejected"?: y, "meta"?: {...}}

Quality, length and leakage therefore judge the chosen side as they judge a chat; the preference
stages (curate.stages.preference) add what only a pair has. ``to_trl`` turns the row back into
TRL's conversational preference format for train.jsonl and eval.jsonl.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Final

import orjson
import xxhash

# Format names in the frame's ``format`` column; a row is a pair exactly when its format is one of these.
PAIR_FORMATS: Final[tuple[str, ...]] = ("preference", "preference-implicit", "preference-text")
Kind = str  # "sft" | "preference"


def is_pair_record(record: dict[str, Any]) -> bool:
    """A record that looks like a preference pair (so it is judged as one, not as unknown)."""
    return "chosen" in record and "rejected" in record


def pair_format(record: dict[str, Any]) -> str:
    if "prompt" not in record:
        return "preference-implicit"
    return "preference-text" if isinstance(record["prompt"], str) else "preference"


@dataclass(frozen=True)
class Pair:
    prompt: list[dict[str, Any]]
    chosen: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    score_chosen: float | None = None
    score_rejected: float | None = None
    meta: dict[str, Any] | None = None

    def example(self) -> dict[str, Any]:
        """The chat-shaped example the frame holds (see the module docstring)."""
        return {
            "messages": [*self.prompt, *self.chosen],
            "prompt_turns": len(self.prompt),
            "rejected": self.rejected,
            **self.optional_fields(),
        }

    def optional_fields(self) -> dict[str, Any]:
        """The scores and meta the pair came with, only those given."""
        fields: dict[str, Any] = {}
        if self.score_chosen is not None:
            fields["score_chosen"] = self.score_chosen
        if self.score_rejected is not None:
            fields["score_rejected"] = self.score_rejected
        if self.meta:
            fields["meta"] = self.meta
        return fields

    def swapped(self) -> Pair:
        return Pair(
            self.prompt, self.rejected, self.chosen, self.score_rejected, self.score_chosen, self.meta
        )


def pair_of(example: dict[str, Any]) -> Pair:
    """The pair held in a frame example (the inverse of ``Pair.example``)."""
    k = int(example["prompt_turns"])
    messages = example["messages"]
    return Pair(
        messages[:k],
        messages[k:],
        example["rejected"],
        example.get("score_chosen"),
        example.get("score_rejected"),
        example.get("meta"),
    )


def trl_record(pair: Pair) -> dict[str, Any]:
    """The pair as TRL's conversational record (what a reviewer's edit or swap records)."""
    record: dict[str, Any] = {"prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected}
    if pair.score_chosen is not None:
        record["score_chosen"] = pair.score_chosen
    if pair.score_rejected is not None:
        record["score_rejected"] = pair.score_rejected
    return record


def swapped_record(example_json: str) -> dict[str, Any]:
    """A frame example's pair with chosen and rejected (and their scores) exchanged."""
    return trl_record(pair_of(orjson.loads(example_json)).swapped())


def is_pair_example(example: dict[str, Any]) -> bool:
    return "prompt_turns" in example and "rejected" in example


def pair_json(pair: Pair) -> tuple[str, str, int]:
    """The frame example serialised once, the pair's content id and its exact-dedup key."""
    prompt, chosen, rejected = (orjson.dumps(part) for part in (pair.prompt, pair.chosen, pair.rejected))
    # Prefixed so that no pair ever shares an id with a chat; scores and meta are not content.
    identity = b"\x1e".join((b"pair", prompt, chosen, rejected))
    return (
        orjson.dumps(pair.example(), default=str).decode(),
        xxhash.xxh3_128_hexdigest(identity)[:16],
        pair_key(pair),
    )


def normalised(messages: list[dict[str, Any]]) -> str:
    """Roles and text, NFC and whitespace-collapsed: what makes two turns "the same"."""
    parts: list[str] = []
    for message in messages:
        content = message.get("content") or ""
        if not content.isascii():
            content = unicodedata.normalize("NFC", content)
        parts.append(message["role"])
        parts.append(" ".join(content.split()))
    return "\x1f".join(parts)


def _signed(digest: int) -> int:
    return digest - (1 << 64) if digest >= (1 << 63) else digest


def text_key(text: str) -> int:
    """A signed 64-bit key of a normalised text (polars holds it as Int64)."""
    return _signed(xxhash.xxh3_64_intdigest(text.encode()))


def pair_key(pair: Pair) -> int:
    """Exact-duplicate key of a whole pair: a copy of the prompt and both answers."""
    return text_key("\x1d".join(normalised(part) for part in (pair.prompt, pair.chosen, pair.rejected)))


def to_trl(row_id: str, example_json: str) -> bytes:
    """One train/eval line in TRL's conversational preference format, the id first."""
    example = orjson.loads(example_json)
    pair = pair_of(example)
    line: dict[str, Any] = {
        "id": row_id,
        "prompt": pair.prompt,
        "chosen": pair.chosen,
        "rejected": pair.rejected,
        **pair.optional_fields(),
    }
    return orjson.dumps(line)
