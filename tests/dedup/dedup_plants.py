"""A labelled near-duplicate set planted into real Alpaca rows (tests and the accuracy benchmark).

Variants mimic how duplicates really arrive: re-cased or re-spaced copies, a few words edited
in a long answer, a chat model's "Sure!" opener or "Hope this helps!" closer, and the same
example in ShareGPT format. Each variant is labelled with the row it copies, so recall and
the share of unplanted rows that end up grouped can be measured.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

ALPACA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "alpaca.jsonl"

PREFIXES = [
    "Sure!",
    "Sure! Here you go:",
    "Certainly!",
    "Of course!",
    "Absolutely, here is my answer.",
    "Great question!",
    "Happy to help.",
    "Here's what I came up with:",
]
SUFFIXES = [
    "I hope this helps!",
    "Let me know if you have any other questions.",
    "Hope that helps!",
    "Feel free to ask if you need anything else.",
    "Good luck!",
]
KINDS = ("case", "whitespace", "edit", "prefix", "suffix", "sharegpt")
LONG_ANSWER_WORDS = 50  # "a few words edited" only makes a near-duplicate of a long answer
FILLER_WORDS = ["very", "quite", "also", "really", "simply", "often", "usually", "indeed", "now"]


@dataclass(frozen=True)
class Planted:
    records: list[dict[str, Any]]  # originals and variants, shuffled, as JSONL records
    pairs: list[tuple[int, int, str]]  # (variant index, original index, kind) into records
    planted: set[int]  # indices that take part in a planted pair


def load_alpaca(limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    with ALPACA.open("rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            if all(m["content"].strip() for m in record["messages"]):
                rows.append(record)
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _answer(record: dict[str, Any]) -> str:
    return str(record["messages"][-1]["content"])


def _with_answer(record: dict[str, Any], answer: str) -> dict[str, Any]:
    messages = [dict(m) for m in record["messages"]]
    messages[-1]["content"] = answer
    return {"messages": messages}


def _recase(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    how = rng.choice(["lower", "upper", "title", "swapfirst"])
    messages = []
    for m in record["messages"]:
        text = m["content"]
        if how == "lower":
            text = text.lower()
        elif how == "upper":
            text = text.upper()
        elif how == "title":
            text = text.title()
        else:
            text = text[:1].swapcase() + text[1:]
        messages.append({"role": m["role"], "content": text})
    return {"messages": messages}


def _respace(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    messages = []
    for m in record["messages"]:
        words = m["content"].split(" ")
        spaced = "".join(w + rng.choice([" ", " ", "  ", "\n", "\t "]) for w in words).rstrip()
        messages.append({"role": m["role"], "content": " " + spaced + rng.choice(["", "\n", "  \n"])})
    return {"messages": messages}


def _edit(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    words = _answer(record).split(" ")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(words))
        action = rng.choice(["replace", "delete", "insert"])
        if action == "replace":
            words[at] = rng.choice(FILLER_WORDS)
        elif action == "delete" and len(words) > 1:
            del words[at]
        else:
            words.insert(at, rng.choice(FILLER_WORDS))
    return _with_answer(record, " ".join(words))


def _sharegpt(record: dict[str, Any]) -> dict[str, Any]:
    names = {"user": "human", "assistant": "gpt", "system": "system"}
    return {"conversations": [{"from": names[m["role"]], "value": m["content"]} for m in record["messages"]]}


def variant(record: dict[str, Any], kind: str, rng: random.Random) -> dict[str, Any]:
    if kind == "case":
        return _recase(record, rng)
    if kind == "whitespace":
        return _respace(record, rng)
    if kind == "edit":
        return _edit(record, rng)
    if kind == "prefix":
        return _with_answer(record, rng.choice(PREFIXES) + rng.choice([" ", "\n\n"]) + _answer(record))
    if kind == "suffix":
        return _with_answer(record, _answer(record) + rng.choice([" ", "\n\n"]) + rng.choice(SUFFIXES))
    if kind == "sharegpt":
        return _sharegpt(record)
    raise ValueError(kind)


def plant(rows: list[dict[str, Any]], fraction: float, seed: int = 0) -> Planted:
    """Copy ``fraction`` of ``rows`` once each as a variant of a random kind, then shuffle."""
    rng = random.Random(seed)
    chosen = rng.sample(range(len(rows)), int(len(rows) * fraction))
    records: list[dict[str, Any]] = [{"messages": r["messages"]} for r in rows]
    labels: list[tuple[int, int, str]] = []
    for index in chosen:
        long_answer = len(_answer(rows[index]).split()) >= LONG_ANSWER_WORDS
        kinds = KINDS if long_answer else tuple(k for k in KINDS if k != "edit")
        kind = rng.choice(kinds)
        labels.append((len(records), index, kind))
        records.append(variant(rows[index], kind, rng))
    order = list(range(len(records)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    shuffled = [records[old] for old in order]
    pairs = [(position[v], position[o], kind) for v, o, kind in labels]
    planted = {i for v, o, _ in pairs for i in (v, o)}
    return Planted(shuffled, pairs, planted)


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
