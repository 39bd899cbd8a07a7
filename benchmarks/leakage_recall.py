"""Leakage recall on benchmark items planted in real Alpaca rows, against plain 13-gram matching.

    .venv/bin/python benchmarks/leakage_recall.py [--per-kind 100] [--semantic] [--rows 52002]

Plants items of MMLU, GSM8K, HumanEval and TruthfulQA (../shared/data) into Alpaca rows in four
ways (verbatim, embedded in a longer prompt, reformatted, answer changed) plus GSM8K template
rewrites (names and numbers changed), then runs the leakage stage with every benchmark file
protected. Prints recall per kind and the clean Alpaca rows flagged, for the baseline (plain
GPT-3 13-gram matching: no short-item rule, no containment) and for the default stage, with
the time ratio of the two measured in the same run. Clean rows that match are printed so a
reader can judge them: Alpaca itself holds a few genuine copies of benchmark questions.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
BENCHMARKS = ("mmlu_test", "gsm8k_test", "humaneval", "truthfulqa")
KINDS = ("verbatim", "embedded", "reformatted", "answer_changed")

WRAPPERS = (
    "{prompt}\n\nAlso, answer this: {item}",
    "I found this in my homework and I'm stuck.\n{item}\nPlease explain step by step.",
    "{item}\n\nAfter that, {prompt_lower}",
    "Context: a student asked the following.\n\n{item}\n\nWrite a short, friendly reply.",
)
NAMES = ("Omar", "Lucia", "Kenji", "Ingrid", "Tariq", "Zofia", "Mateo", "Aaliyah", "Bjorn", "Chidi")


def read_chat(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    with path.open("rb") as handle:
        for line in handle:
            rows.append(orjson.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def user_text(row: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in row["messages"] if m["role"] == "user")


def answer_text(row: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in row["messages"] if m["role"] == "assistant")


def reformat(item: str, rng: random.Random) -> str:
    """The same item written differently: option labels, case, line breaks, punctuation."""
    text = re.sub(r"(?m)^([A-D])\. ", lambda m: f"({m.group(1).lower()}) ", item)
    text = re.sub(r"\s*\n\s*", " " if rng.random() < 0.5 else " / ", text.strip())
    style = rng.randrange(3)
    if style == 0:
        text = text.upper()
    elif style == 1:
        text = f"**Question:** {text}"
    else:
        text = text.replace(",", " ,").replace("?", " ?")
    return text


def template_rewrite(item: str, rng: random.Random) -> str:
    """GSM8K-style rewrite: every name and number changed, the wording kept."""
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        word = match.group(0)
        if word not in names:
            names[word] = rng.choice([n for n in NAMES if n not in names.values()] or list(NAMES))
        return names[word]

    # Capitalised words after a lower-case word are names (sentence starts are left alone).
    candidates = set(re.findall(r"(?<=[a-z,] )[A-Z][a-z]+", item))
    for word in candidates:
        item = re.sub(rf"\b{word}\b", name, item)
    return re.sub(r"\d+", lambda m: str(max(2, int(m.group(0)) + rng.randint(1, 9))), item)


def plant(
    alpaca: list[dict[str, Any]], benchmarks: dict[str, list[dict[str, Any]]], per_kind: int, seed: int = 0
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Alpaca rows with ``per_kind`` planted items per benchmark and kind; returns rows and
    {row index: "benchmark/kind"} for the planted ones. Each planted item is used once."""
    rng = random.Random(seed)
    rows = [dict(r) for r in alpaca]
    plan = {}
    for name, items in benchmarks.items():
        kinds = [*KINDS, "template"] if name == "gsm8k_test" else list(KINDS)
        plan[name] = (kinds, min(per_kind, len(items) // len(kinds)))  # HumanEval has only 164 items
    # Hosts must be valid rows (Alpaca has 28 empty answers, rejected before leakage runs).
    hosts = [i for i, row in enumerate(rows) if answer_text(row).strip() and user_text(row).strip()]
    slots = rng.sample(hosts, sum(len(kinds) * n for kinds, n in plan.values()))
    labels: dict[int, str] = {}
    at = 0
    for name, items in benchmarks.items():
        kinds, n = plan[name]
        picked = rng.sample(range(len(items)), n * len(kinds))
        for k, kind in enumerate(kinds):
            for item_index in picked[k * n : (k + 1) * n]:
                slot = slots[at]
                at += 1
                host, item = rows[slot], benchmarks[name][item_index]
                question, prompt, reply = user_text(item), user_text(host), answer_text(host)
                if kind == "verbatim":
                    messages = [("user", question), ("assistant", answer_text(item))]
                elif kind == "embedded":
                    wrapper = rng.choice(WRAPPERS)
                    lower = prompt[:1].lower() + prompt[1:]
                    text = wrapper.format(prompt=prompt, prompt_lower=lower, item=question)
                    messages = [("user", text), ("assistant", reply)]
                elif kind == "reformatted":
                    messages = [("user", reformat(question, rng)), ("assistant", answer_text(item))]
                elif kind == "answer_changed":
                    messages = [("user", question), ("assistant", reply)]
                else:
                    messages = [("user", template_rewrite(question, rng)), ("assistant", reply)]
                rows[slot] = {"id": host["id"], "messages": [{"role": r, "content": c} for r, c in messages]}
                labels[slot] = f"{name}/{kind}"
    return rows, labels


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def ingest_frame(train: Path, benchmark_paths: list[Path]) -> pl.DataFrame:
    """The frame as the leakage stage sees it: inputs in the train split, benchmarks protected."""
    from curate.ingest.inputs import InputSpec, ingest

    specs = [InputSpec(str(train), "input")] + [InputSpec(str(p), "benchmark") for p in benchmark_paths]
    frame, _ = ingest(specs, 16_000_000)
    split = pl.when((pl.col("origin") == "input") & (pl.col("status") == "ok")).then(pl.lit("train"))
    return frame.with_columns(split=split.otherwise(pl.lit(None, pl.Utf8)))


def run_stage(frame: pl.DataFrame, semantic: bool = False, **leakage: Any) -> tuple[pl.DataFrame, float]:
    from curate.core.config import CurateConfig, LeakageSection
    from curate.core.context import BuildContext
    from curate.stages.leakage import stage

    config = CurateConfig(leakage=LeakageSection(**leakage))
    ctx = BuildContext(config=config, semantic=semantic)
    started = time.perf_counter()
    out = stage.run(frame, ctx)
    return out, time.perf_counter() - started


def plain_13gram(
    rows: list[dict[str, Any]], benchmarks: dict[str, list[dict[str, Any]]]
) -> tuple[pl.DataFrame, float]:
    """The baseline: GPT-3's rule as usually written, in plain Python. A row leaks when it shares
    one lower-cased 13-word window with a benchmark question; shorter questions never match."""
    word = re.compile(r"\w+")
    started = time.perf_counter()
    grams: dict[tuple[str, ...], str] = {}
    for name, items in benchmarks.items():
        for item in items:
            words = word.findall(user_text(item).lower())
            for i in range(len(words) - 12):
                grams.setdefault(tuple(words[i : i + 13]), f"{name}/{item['id']}")
    methods: list[str | None] = []
    found: list[str | None] = []
    for row in rows:
        words = word.findall("\n".join(m["content"] for m in row["messages"]).lower())
        hit = next(
            (grams[g] for i in range(len(words) - 12) if (g := tuple(words[i : i + 13])) in grams), None
        )
        methods.append("ngram" if hit else None)
        found.append(hit)
    seconds = time.perf_counter() - started
    out = pl.DataFrame(
        {
            "origin": ["input"] * len(rows),
            "line": list(range(1, len(rows) + 1)),
            "leak_method": methods,
            "leak_item": found,
            "leak_span": [""] * len(rows),
        },
        schema={
            "origin": pl.Utf8,
            "line": pl.Int64,
            "leak_method": pl.Utf8,
            "leak_item": pl.Utf8,
            "leak_span": pl.Utf8,
        },
    )
    return out, seconds


def score(out: pl.DataFrame, labels: dict[int, str]) -> dict[str, Any]:
    """Recall per planted kind and the clean rows flagged (input rows are in planted-file order)."""
    rows = out.filter(pl.col("origin") == "input").select("line", "leak_method", "leak_item", "leak_span")
    flagged = {line - 1: (method, item, span) for line, method, item, span in rows.iter_rows() if method}
    per_kind: dict[str, list[int]] = {}
    for slot, label in labels.items():
        kind = label.split("/")[1]
        hit = per_kind.setdefault(kind, [0, 0])
        hit[0] += slot in flagged
        hit[1] += 1
    lexical = {k: v for k, v in per_kind.items() if k != "template"}
    found = sum(v[0] for v in lexical.values())
    total = sum(v[1] for v in lexical.values())
    clean = {slot: hit for slot, hit in flagged.items() if slot not in labels}
    return {"per_kind": per_kind, "recall": found / total if total else 0.0, "clean_flagged": clean}


# The stage reduced to its cheapest rules: 13-gram windows, items under 13 words only as a whole
# user turn or sentence, no containment, no masking.
ONLY_13GRAMS: dict[str, Any] = {"min_words": 13, "near": False, "template": False}


def report(title: str, result: dict[str, Any], seconds: float, baseline_seconds: float) -> None:
    print(f"\n== {title}: {seconds:.2f} s wall ({seconds / baseline_seconds:.2f}x the baseline's time)")
    for kind, (hit, total) in result["per_kind"].items():
        print(f"  {kind:15s} {hit:4d}/{total:<4d} recall {hit / total:.3f}")
    clean = result["clean_flagged"]
    print(f"  recall (four lexical kinds) {result['recall']:.4f}; clean rows flagged: {len(clean)}")
    for slot, (method, item, span) in sorted(clean.items())[:20]:
        print(f"    alpaca line {slot + 1}: {method} {item}: {span[:100]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--per-kind", type=int, default=100, help="items planted per benchmark and kind")
    parser.add_argument("--rows", type=int, default=None, help="Alpaca rows to use (default: all 52,002)")
    parser.add_argument("--semantic", action="store_true", help="also run with embedding similarity")
    parser.add_argument(
        "--repeat", type=int, default=1, help="time each lexical run N times, keep the fastest"
    )
    args = parser.parse_args(argv)
    if not (DATA / "alpaca.jsonl").is_file():
        print(f"skipped: {DATA.resolve()} holds no alpaca.jsonl", file=sys.stderr)
        return 0
    sys.path.insert(0, str(ROOT))
    from curate.ingest.store import with_examples

    alpaca = read_chat(DATA / "alpaca.jsonl", args.rows)
    benchmarks = {name: read_chat(DATA / f"{name}.jsonl") for name in BENCHMARKS}
    rows, labels = plant(alpaca, benchmarks, args.per_kind)
    with tempfile.TemporaryDirectory() as folder:
        train = Path(folder) / "alpaca_planted.jsonl"
        write_jsonl(train, rows)
        # The text is read back now: ingest leaves it in the input file, which goes with the folder.
        frame = with_examples(ingest_frame(train, [DATA / f"{name}.jsonl" for name in BENCHMARKS]))
    n_items = frame.filter(pl.col("origin") == "benchmark").height
    print(f"{len(rows):,} Alpaca rows, {len(labels):,} planted, {n_items:,} protected items")
    base_out, base_seconds = plain_13gram(rows, benchmarks)
    for _ in range(args.repeat - 1):
        base_seconds = min(base_seconds, plain_13gram(rows, benchmarks)[1])
    report(
        "baseline: plain 13-gram in Python (GPT-3 rule)", score(base_out, labels), base_seconds, base_seconds
    )
    runs: list[tuple[str, dict[str, Any], bool]] = [
        ("chatcurate, 13-gram windows + whole-sentence short items, no containment", ONLY_13GRAMS, False),
        ("chatcurate default (short items, containment, masked templates)", {}, False),
    ]
    if args.semantic:  # without masking, so the template rewrites are left to the embeddings
        runs.append(("chatcurate --semantic, template masking off", {"template": False}, True))
    for title, options, semantic in runs:
        out, seconds = run_stage(frame, semantic=semantic, **options)
        for _ in range(0 if semantic else args.repeat - 1):
            seconds = min(seconds, run_stage(frame, **options)[1])
        report(title, score(out, labels), seconds, base_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
