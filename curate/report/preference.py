"""The report's preference section: pair dedup and groups, and the length bias (the share of kept
pairs whose chosen answer is longer, and the distribution of the chosen/rejected length ratio)."""

from __future__ import annotations

from html import escape
from typing import Any

from curate.report.charts import horizontal_bars


def pair_summary(findings: dict[str, Any]) -> dict[str, Any] | None:
    preference = findings.get("preference") or {}
    if preference.get("kind") != "preference":
        return None
    return {
        "length_bias": preference.get("length_bias") or {},
        "dedup": preference.get("dedup") or {},
        "rejected_answer_flags": preference.get("rejected_answer_flags") or {},
        "leaked_by_rejected_answer": (findings.get("leakage") or {}).get("leaked_by_rejected_answer", 0),
    }


def _share(value: Any) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _rows(data: dict[str, Any]) -> tuple[list[list[str]], list[tuple[str, int]]]:
    bias = data["length_bias"]
    rows: list[list[str]] = []
    for label, key in (("kept pairs (train + eval)", "kept"), ("every valid input pair", "input")):
        part = bias.get(key) or {}
        if not part.get("pairs"):
            continue
        ratio = part.get("ratio_percentiles", {})
        rows.append(
            [
                label,
                f"{part['pairs']:,}",
                _share(part.get("chosen_longer_share")),
                _share(part.get("chosen_shorter_share")),
                " / ".join(str(ratio.get(k, "–")) for k in ("p5", "p25", "p50", "p75", "p95")),
                f"{part.get('mean_chosen_chars', '–')} / {part.get('mean_rejected_chars', '–')}",
            ]
        )
    histogram = list(((bias.get("kept") or {}).get("ratio_histogram") or {}).items())
    return rows, histogram


HEADER = [
    "pairs",
    "count",
    "chosen longer",
    "chosen shorter",
    "length ratio p5/p25/p50/p75/p95",
    "mean chars",
]


def _facts(data: dict[str, Any]) -> list[tuple[str, Any]]:
    dedup, bias = data["dedup"], data["length_bias"]
    return [
        ("identical pairs (pref.identical)", bias.get("identical_pairs", 0)),
        ("near copies of whole pairs (dedup.near)", dedup.get("near_copies", 0)),
        ("contradictory pairs (pref.contradictory)", dedup.get("contradictory", 0)),
        ("prompts shared by several pairs", dedup.get("same_prompt_groups", 0)),
        ("prompt groups kept on one side of the split", dedup.get("prompt_groups", 0)),
        ("rejected answers empty, placeholder or garbage", sum(data["rejected_answer_flags"].values())),
        ("pairs leaking through their rejected answer", data["leaked_by_rejected_answer"]),
    ]


def markdown(data: dict[str, Any] | None) -> list[str]:
    if not data:
        return []
    rows, histogram = _rows(data)
    lines = ["## Preference pairs", "", "| " + " | ".join(HEADER) + " |", "|---|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "Chosen/rejected length ratio of the kept pairs (characters):", ""]
    lines += ["| ratio | pairs |", "|---|---:|"] + [f"| {label} | {count:,} |" for label, count in histogram]
    lines += ["", "| check | pairs |", "|---|---:|"] + [
        f"| {label} | {value:,} |" for label, value in _facts(data)
    ]
    return [*lines, ""]


def html(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    rows, histogram = _rows(data)
    table = "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in HEADER) + "</tr>"
    table += "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    table += "</table>"
    chart = horizontal_bars(
        [(f"chosen/rejected {label}", count, "kept") for label, count in histogram],
        "Length ratio of the kept pairs (chosen / rejected characters)",
        "pairs",
    )
    facts = "<table>" + "".join(f"<tr><td>{escape(k)}</td><td>{v:,}</td></tr>" for k, v in _facts(data))
    return table + chart + facts + "</table>"
