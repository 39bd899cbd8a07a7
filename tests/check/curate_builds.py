"""Synthetic chat data and real `curate build` runs for the gate and report tests.

Text is seeded random words, so records are distinct (no accidental near-duplicates) and every
defect is planted on purpose: invalid lines, exact copies, a benchmark question inside a training
example, placeholder answers.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from curate.cli import main

_VOCABULARY = (
    "account billing router printer invoice password login update screen network battery order refund "
    "delivery warranty cable driver install restart backup folder email calendar contract subscription "
    "license monitor keyboard signal storage upgrade payment address profile browser server camera "
    "replace message schedule support ticket office meeting report setting language device tablet phone "
    "laptop window report travel flight hotel booking voucher discount shipment package tracking label "
    "customer manager team project budget estimate deadline review policy access permission security "
    "certificate domain website hosting database query export import format spreadsheet chart table "
    "morning evening weekly monthly quickly carefully usually after before during since until while "
    "green yellow small large heavy light early late simple complex secure public private local remote"
)
WORDS = _VOCABULARY.split()


def sentence(rng: random.Random, low: int = 10, high: int = 16) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize()


def chat(rng: random.Random, index: int) -> dict[str, object]:
    question = f"{sentence(rng)} case {index}?"
    answer = " ".join(f"{sentence(rng)}." for _ in range(3))
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


@dataclass
class Plan:
    """How many of each kind of record go into the input file."""

    good: int = 160
    eval: int = 30
    invalid: int = 0
    duplicates: int = 0
    leaked: int = 0
    placeholders: int = 0
    benchmark: int = 10
    general: int = 0
    seed: int = 0
    # Text that must come out of report.html escaped: it lands in the placeholder records' questions.
    hostile: str = ""


def write_inputs(folder: Path, plan: Plan) -> dict[str, Path]:
    rng = random.Random(plan.seed)
    folder.mkdir(parents=True, exist_ok=True)
    good = [chat(rng, i) for i in range(plan.good)]
    bench = [chat(rng, 10_000 + i) for i in range(plan.benchmark)]
    lines = [json.dumps(c) for c in good]
    lines += [json.dumps(good[i % len(good)]) for i in range(plan.duplicates)]
    for i in range(plan.leaked):
        question = bench[i % len(bench)]["messages"][0]["content"]  # type: ignore[index]
        leaked = chat(rng, 20_000 + i)
        leaked["messages"][0]["content"] = f"Please help. {question}"  # type: ignore[index]
        lines.append(json.dumps(leaked))
    for i in range(plan.placeholders):
        record = chat(rng, 30_000 + i)
        record["messages"][1]["content"] = "N/A"  # type: ignore[index]
        if plan.hostile:
            record["messages"][0]["content"] += " " + plan.hostile  # type: ignore[index]
        lines.append(json.dumps(record))
    bad = ['{"messages": [', '{"messages": []}', '{"messages": [{"role": "user", "content": "hello there"}]}']
    lines += [bad[i % len(bad)] for i in range(plan.invalid)]
    rng.shuffle(lines)
    paths = {
        "input": folder / "chats.jsonl",
        "eval": folder / "eval.jsonl",
        "benchmark": folder / "bench.jsonl",
    }
    paths["input"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["eval"].write_text("".join(json.dumps(chat(rng, 40_000 + i)) + "\n" for i in range(plan.eval)))
    paths["benchmark"].write_text("".join(json.dumps(b) + "\n" for b in bench), encoding="utf-8")
    paths["general"] = folder / "general.jsonl"
    general = "".join(json.dumps(chat(rng, 50_000 + i)) + "\n" for i in range(plan.general))
    paths["general"].write_text(general, encoding="utf-8")
    return paths


def build(folder: Path, plan: Plan, *extra: str) -> Path:
    """Run the real `curate build` on the plan's data; the build folder is ``folder / "build"``."""
    paths = write_inputs(folder / "data", plan)
    out = folder / "build"
    args = ["build", "--input", str(paths["input"]), "--out", str(out)]
    if plan.eval:
        args += ["--eval", str(paths["eval"])]
    if plan.benchmark:
        args += ["--benchmark", str(paths["benchmark"])]
    if plan.general:
        args += ["--general", str(paths["general"])]
    code = main([*args, *extra])
    assert code == 0, f"curate build exited {code}"
    return out
