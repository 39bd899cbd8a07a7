#!/usr/bin/env python3
"""Generate the preference sample project (samples/preference/) from the Lumen Grid chats.

    python samples/generate_pairs.py

Each clean support chat (without tool calls) of samples/data/support_chats.jsonl becomes a pair: its
answer is the chosen one; the rejected one is a vague brush-off, a confident wrong answer, or the
answer to another customer's question (so chosen is the longer answer in about half the pairs,
not in all of them). A few pairs are written in the implicit-prompt and plain-text forms; 20 pairs
go to eval_pairs.jsonl, the held-out set the trainer's preference accuracy is measured on. Planted
defects follow, one of each kind the build must catch; their lines, ids and kinds are listed in
samples/preference/data/manifest.json. Stdlib only and seeded: two runs give the same files.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

SEED = 20241207
HERE = Path(__file__).resolve().parent
SOURCE = HERE / "data" / "support_chats.jsonl"
OUT = HERE / "preference" / "data"

VAGUE = [
    "Hard to say really. Maybe try turning it off and on again and see what happens.",
    "I'm not sure about that one, sorry. You could look online or ask someone who knows.",
    "That depends on a lot of things. It might work, it might not, it's difficult to tell.",
    "Probably nothing to worry about. Give it a few days and it will likely sort itself out.",
    "You'll need to check your paperwork for that. I can't really help with the details.",
]
WRONG = [
    " There is no need to contact us about this, and the warranty does not cover it in any case.",
    " Just unplug the Lumen Hub overnight; that resets every setting, which usually fixes it.",
    " You can ignore the app's advice here, it is often wrong about this.",
]


def _clean_chats() -> list[dict[str, Any]]:
    truth = json.loads((HERE / "data" / "manifest.json").read_text())["support_chats.jsonl"]
    clean = set(truth["clean_ids"])
    chats = []
    for raw in SOURCE.read_bytes().splitlines():
        try:  # the planted defects include broken lines; the clean ones are the ones wanted here
            record = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError):
            continue
        if not isinstance(record, dict):
            continue
        messages = record.get("messages")
        if record.get("id") not in clean or not messages or "tools" in record:
            continue
        if messages[-1]["role"] != "assistant" or any(m.get("tool_calls") for m in messages):
            continue
        chats.append(record)
    return chats


def _pair(chat: dict[str, Any], rejected: str) -> dict[str, Any]:
    messages = chat["messages"]
    return {
        "id": chat["id"].replace("sup", "pair"),
        "prompt": messages[:-1],
        "chosen": [messages[-1]],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


def _rejected(rng: random.Random, chat: dict[str, Any], others: list[dict[str, Any]]) -> str:
    answer = chat["messages"][-1]["content"]
    kind = rng.random()
    if kind < 0.4:
        return rng.choice(VAGUE)
    if kind < 0.7:
        first = answer.split(". ")[0].rstrip(".") + "."
        return first + rng.choice(WRONG)
    other = rng.choice([o for o in others if o["messages"][-1]["content"] != answer])
    return str(other["messages"][-1]["content"])


def _implicit(pair: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": pair["id"],
        "chosen": pair["prompt"] + pair["chosen"],
        "rejected": pair["prompt"] + pair["rejected"],
    }


def _text(pair: dict[str, Any]) -> dict[str, Any] | None:
    if len(pair["prompt"]) != 1:
        return None
    return {
        "id": pair["id"],
        "prompt": pair["prompt"][0]["content"],
        "chosen": pair["chosen"][0]["content"],
        "rejected": pair["rejected"][0]["content"],
    }


def _planted(pairs: list[dict[str, Any]], rng: random.Random) -> list[tuple[str, dict[str, Any], str]]:
    """(kind, record, related id) of each planted defect."""
    base = iter(pairs[-30:])  # planted rows are made from pairs that are not written clean

    def take() -> dict[str, Any]:
        return copy.deepcopy(next(base))

    planted: list[tuple[str, dict[str, Any], str]] = []
    for _ in range(2):
        p = take()
        p["rejected"] = copy.deepcopy(p["chosen"])
        planted.append(("identical", p, ""))
    p = take()
    p["rejected"] = [
        {"role": "assistant", "content": "  " + p["chosen"][0]["content"].replace(". ", ".\n\n")}
    ]
    planted.append(("identical", p, ""))
    p = take()
    p["chosen"] = [{"role": "assistant", "content": " "}]
    planted.append(("empty_chosen", p, ""))
    p = take()
    p["chosen"] = [{"role": "assistant", "content": "N/A"}]
    planted.append(("placeholder_chosen", p, ""))
    p = take()
    p["rejected"] = [{"role": "assistant", "content": "<nooutput>"}]
    planted.append(("placeholder_rejected", p, ""))
    p = take()
    p.update(score_chosen=3.0, score_rejected=3.0)
    planted.append(("tie", p, ""))
    p = take()
    q = copy.deepcopy(p)
    q["id"] += "-swapped"
    q["chosen"], q["rejected"] = q["rejected"], q["chosen"]
    planted += [("contradictory", p, q["id"]), ("contradictory", q, p["id"])]
    for clean in pairs[:2]:
        planted.append(("exact_copy", copy.deepcopy(clean), clean["id"]))
    for clean in pairs[2:4]:
        p = copy.deepcopy(clean)
        p["chosen"] = [{"role": "assistant", "content": p["chosen"][0]["content"].replace(". ", ", and ", 1)}]
        planted.append(("near_copy", p, clean["id"]))
    p = take()
    planted.append(
        (
            "no_shared_prompt",
            {
                "id": p["id"],
                "chosen": p["prompt"] + p["chosen"],
                "rejected": [{"role": "user", "content": "Something else entirely."}] + p["rejected"],
            },
            "",
        )
    )
    p = take()
    p["prompt"] = p["prompt"] + [{"role": "assistant", "content": "Let me check that for you."}]
    planted.append(("role_order", p, ""))
    p = take()
    planted.append(("wrong_kind", {"id": p["id"], "messages": p["prompt"] + p["chosen"]}, ""))
    bench = json.loads((HERE / "data" / "benchmark.jsonl").read_text().splitlines()[0])
    p = take()
    p["rejected"] = [{"role": "assistant", "content": "Someone asked me: " + bench["messages"][0]["content"]}]
    planted.append(("benchmark_in_rejected", p, bench["id"]))
    rng.shuffle(planted)
    return planted


def main() -> None:
    rng = random.Random(SEED)
    chats = _clean_chats()
    pairs = [_pair(chat, _rejected(rng, chat, chats)) for chat in chats]
    clean, spare = pairs[:-50], pairs[:-20]  # the last 20 are the eval file
    planted = _planted(spare, rng)
    records: list[tuple[dict[str, Any], str, str]] = []  # record, kind ("clean" or defect), related
    for i, pair in enumerate(clean):
        form: dict[str, Any] | None = pair
        if i % 17 == 5:
            form = _implicit(pair)
        elif i % 19 == 7:
            form = _text(pair) or pair
        records.append((form, "clean", ""))
    # Defects interleaved among the clean rows at seeded places.
    for kind, record, related in planted:
        records.insert(rng.randrange(len(records) + 1), (record, kind, related))
    OUT.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(record, ensure_ascii=False) for record, _, _ in records]
    (OUT / "pairs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    held_out = [json.dumps(pair, ensure_ascii=False) for pair in pairs[-20:]]
    (OUT / "eval_pairs.jsonl").write_text("\n".join(held_out) + "\n", encoding="utf-8")
    truth = {
        "pairs.jsonl": {
            "lines": len(records),
            "clean": sum(1 for _, kind, _ in records if kind == "clean"),
            "planted": [
                {"line": n, "id": record.get("id"), "kind": kind, "related": related}
                for n, (record, kind, related) in enumerate(records, start=1)
                if kind != "clean"
            ],
            "clean_lines": [n for n, (_, kind, _) in enumerate(records, start=1) if kind == "clean"],
        }
    }
    (OUT / "manifest.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(records)} pairs ({truth['pairs.jsonl']['clean']} clean) to {OUT / 'pairs.jsonl'}")


if __name__ == "__main__":
    main()
