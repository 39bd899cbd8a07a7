"""Planted preference pairs and a build runner for the preference tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import polars as pl

TOPICS = [
    "thermostat", "boiler", "radiator", "tariff", "invoice", "refund", "warranty", "engineer",
    "schedule", "battery", "sensor", "password", "meter", "solar", "panel", "valve", "pressure",
    "frost", "timer", "holiday", "account", "payment", "balance", "firmware", "router", "ladder",
    "garden", "kettle", "window", "curtain", "bicycle", "helmet", "passport", "ticket", "museum",
    "library", "recipe", "oven", "freezer", "blender",
]  # fmt: skip
VERBS = ["reset", "repair", "replace", "clean", "check", "update", "install", "measure", "order", "cancel"]


def question(i: int) -> str:
    rng = random.Random(i)
    a, b = rng.sample(TOPICS, 2)
    verb = rng.choice(VERBS)
    return f"How should I {verb} the {a} near my {b} when case {i} keeps coming back every single week?"


def answer(i: int, good: bool) -> str:
    rng = random.Random(1000 + i * 2 + good)
    words = " ".join(rng.sample(TOPICS, 8))
    if good:
        return f"Switch it off, then look at the {words} and follow the manual step by step for case {i}."
    return f"Maybe try {words} or ask someone else about case {i}, it is hard to say."


def pair(i: int, **extra: Any) -> dict[str, Any]:
    """A clean conversational pair, distinct for each ``i``."""
    return {
        "prompt": [{"role": "user", "content": question(i)}],
        "chosen": [{"role": "assistant", "content": answer(i, True)}],
        "rejected": [{"role": "assistant", "content": answer(i, False)}],
        **extra,
    }


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def build(
    tmp: Path, inputs: list[Path], extra_toml: str = "", kind: str = "auto", **lists: list[Path]
) -> Path:
    """Build with a config written beside the data; returns the build folder."""
    from curate.cli import main

    def listed(paths: list[Path]) -> str:
        return "[" + ", ".join(f'"{p}"' for p in paths) + "]"

    config = tmp / "curate.toml"
    sections = {
        "build": ['name = "b"', f'out = "{tmp / "out"}"', f"inputs = {listed(inputs)}", f'kind = "{kind}"']
    }
    for key, paths in lists.items():
        sections["build"].append(f"{key} = {listed(paths)}")
    text = "\n".join(f"[{name}]\n" + "\n".join(lines) for name, lines in sections.items())
    text += '\n[validate]\ntokenizer = "estimate"\n[review]\ndb = "reviews.sqlite"\n' + extra_toml
    config.write_text(text)
    assert main(["build", str(config)]) == 0
    return tmp / "out" / "b"


def rows(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "examples.parquet")


def codes(row: dict[str, Any]) -> set[str]:
    return {r["code"] for r in row["reasons"]}
