"""report.md: the report's numbers as Markdown tables, for terminals and pull requests."""

from __future__ import annotations

from typing import Any

from curate.gates.rules import fmt
from curate.report import preference

STATUS_ORDER = ("train", "eval", "general_eval", "protected", "rejected")
ICONS = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
NOT_CHECKED = "Not checked: the leakage stage did not run (`[leakage] enabled = false`)."


def _cell(value: Any) -> str:
    """Pipes escaped, line breaks of every kind a space, and ``<`` escaped so that a message quoting
    markup shows as text in a rendered pull request instead of vanishing as an HTML tag."""
    text = "–" if value is None else str(value)
    return " ".join(text.replace("|", "\\|").replace("<", "\\<").splitlines())


def _table(header: list[str], rows: list[list[Any]], right: set[int] | None = None) -> list[str]:
    right = right or set()
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("–" if value is None else str(value))


def _pct(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f} %" if whole else "–"


def render_markdown(data: dict[str, Any]) -> str:
    lines = ["# Build report", ""]
    lines += [
        f"Created {data.get('created_at') or '–'} · config `{data.get('config_hash') or '–'}`"
        + (f" · tokens by {data['tokenizer'].get('kind')}" if data.get("tokenizer") else ""),
        "",
    ]
    lines += _summary(data) + _gates(data) + _inputs(data) + _reasons(data) + _tokens(data) + _quality(data)
    lines += _groups(data) + preference.markdown(data.get("preference"))
    lines += _mix(data) + _leakage(data) + _worst(data) + _timings(data)
    return "\n".join(lines).rstrip() + "\n"


def _summary(data: dict[str, Any]) -> list[str]:
    by_status: dict[str, int] = data["by_status"]
    total = data["records"]
    rows = [["records in", _n(total), "100.0 %"]]
    not_sampled = data.get("not_sampled", 0)
    for status in (*STATUS_ORDER, *sorted(set(by_status) - set(STATUS_ORDER))):
        if status in by_status or status in ("train", "eval", "rejected"):
            count = by_status.get(status, 0) - (not_sampled if status == "rejected" else 0)
            rows.append([status, _n(count), _pct(count, total)])
    if not_sampled:
        rows.append(
            ["not sampled (general data the mix did not need)", _n(not_sampled), _pct(not_sampled, total)]
        )
    accounted = sum(by_status.values())
    note = (
        "every record accounted for"
        if accounted == total
        else f"{total - accounted:,} records unaccounted for"
    )
    return [
        "## Summary",
        "",
        *_table(["", "records", "share"], rows, {1, 2}),
        f"{_n(accounted)} of {_n(total)}: {note}.",
        "",
    ]


def _gates(data: dict[str, Any]) -> list[str]:
    gates = data.get("gates")
    if not gates:
        return []
    rows = [
        [f"`{r['name']}`", f"{ICONS[r['status']]} {r['status']}", _gate_value(r), r["message"]]
        for r in gates["results"]
    ]
    head = f"## Gates: {ICONS[gates['status']]} {gates['status']}"
    return [
        head,
        "",
        "The build's own `[gates]`; `curate check` gives the exit code.",
        "",
        *_table(["gate", "status", "value", "detail"], rows, {2}),
    ]


def _gate_value(result: dict[str, Any]) -> str:
    return fmt(result["value"], result["unit"])


def _inputs(data: dict[str, Any]) -> list[str]:
    if not data["inputs"]:
        return []
    rows = [
        [f"`{i['path']}`", i["origin"], _n(i["records"]), (i.get("sha256") or "")[:12]]
        for i in data["inputs"]
    ]
    return ["## Inputs", "", *_table(["path", "origin", "records", "sha256"], rows, {2})]


def _reasons(data: dict[str, Any]) -> list[str]:
    lines = ["## Rejections by reason", ""]
    if not data["reasons"]:
        return lines + ["No record was rejected.", ""]
    rows = [[f"`{r['code']}`", _n(r["first"]), _n(r["any"]), r["meaning"]] for r in data["reasons"]]
    lines += _table(["reason", "first reason", "carrying it", "meaning"], rows, {1, 2})
    lines += ["*First reason* adds up to the rejected count; a record may carry several reasons.", ""]
    if data["flags"]:
        lines += [
            "### Soft flags",
            "",
            *_table(
                ["flag", "records", "meaning", "example"],
                [[f"`{f['code']}`", _n(f["records"]), f["meaning"], _flag_example(f)] for f in data["flags"]],
                {1},
            ),
        ]
    return lines


def _tokens(data: dict[str, Any]) -> list[str]:
    tokens = data.get("tokens")
    lines = ["## Token lengths", ""]
    if not tokens:
        return lines + ["No token counts in this build.", ""]
    keys = ["records", "total", "mean", "p50", "p90", "p95", "p99", "max"]
    rows = [
        [s["status"], *(_n(s[k]) if not isinstance(s[k], float) else f"{s[k]:,.1f}" for k in keys)]
        for s in tokens["stats"]
    ]
    lines += _table(["split", *keys], rows, set(range(1, len(keys) + 1)))
    series = tokens["series"]
    bins = [[b["label"], *(_n(b["counts"].get(s, 0)) for s in series)] for b in tokens["bins"]]
    lines += [f"Histogram (bins of {tokens['step']:,} tokens; the last bin holds the tail):", ""]
    return lines + _table(["tokens", *series], bins, set(range(1, len(series) + 1)))


def _quality(data: dict[str, Any]) -> list[str]:
    quality = data.get("quality")
    lines = ["## Quality scores", ""]
    if not quality:
        return lines + ["No quality scores in this build (the quality stage did not score).", ""]
    stats = quality["stats"]
    lines += _table(
        ["records", "mean", "p10", "p50", "p90"],
        [[_n(stats["records"]), stats["mean"], stats["p10"], stats["p50"], stats["p90"]]],
        {0, 1, 2, 3, 4},
    )
    series = quality["series"]
    rows = [
        [b["label"], *(_n(b["counts"][s]) for s in series)]
        for b in quality["bins"]
        if any(b["counts"].values())
    ]
    right = set(range(1, len(series) + 1))
    lines += [
        "Histogram (lower bin edge; benchmark items left out):",
        "",
        *_table(["score ≥", *series], rows, right),
    ]
    if quality["signals"]:
        lines += ["Signals: " + ", ".join(f"`{s}`" for s in quality["signals"]), ""]
    return lines


def _groups(data: dict[str, Any]) -> list[str]:
    groups = data.get("groups")
    lines = ["## Duplicate groups", ""]
    if not groups:
        return lines + ["No duplicate clusters in this build.", ""]
    lines += [
        f"{_n(groups['groups'])} groups hold {_n(groups['records_in_groups'])} records "
        "(the kept one included).",
        "",
    ]
    lines += _table(["group size", "groups"], [[b["label"], _n(b["groups"])] for b in groups["buckets"]], {1})
    if groups["largest"]:
        rows = [[_n(g["size"]), f"`{g['id']}`", f"{g['source']}:{g['line']}"] for g in groups["largest"]]
        lines += [
            "Largest groups (by their kept record):",
            "",
            *_table(["size", "kept id", "where"], rows, {0}),
        ]
    return lines


def _mix(data: dict[str, Any]) -> list[str]:
    mix = data["mix"]
    lines = ["## Mix composition", ""]
    if not mix["rows"]:
        return lines + ["No output records.", ""]
    lines += _table(
        ["split", "origin", "records"],
        [[r["split"], r["origin"], _n(r["records"])] for r in mix["rows"]],
        {2},
    )
    share = fmt(mix["general_share"], "rate")
    ratio = fmt(mix["ratio"], "rate") if isinstance(mix["ratio"], int | float) else "–"
    return lines + [f"General share of train: {share} (configured mix ratio {ratio}).", ""]


def _leakage(data: dict[str, Any]) -> list[str]:
    leakage = data["leakage"]
    lines = ["## Leakage matches", ""]
    checked = leakage.get("checked", True)
    if checked and leakage.get("methods"):
        lines += [f"Methods: {leakage['methods']}.", ""]
    if not leakage["total"]:
        said = "No record matched a protected item." if checked else NOT_CHECKED
        return lines + [said, ""]
    lines += [
        f"{_n(leakage['total'])} records matched a protected item"
        + (f" (first {len(leakage['rows'])} shown)" if leakage["total"] > len(leakage["rows"]) else "")
        + ".",
        "",
    ]
    rows = [
        [
            f"`{r['id']}`",
            f"{r['source']}:{r['line']}",
            r["status"],
            f"`{r['code']}`",
            r["matched"],
            r["message"],
        ]
        for r in leakage["rows"]
    ]
    return lines + _table(["id", "where", "status", "reason", "matched", "detail"], rows)


def _worst(data: dict[str, Any]) -> list[str]:
    worst = data["worst"]
    by_score = worst["by"] == "quality_score"
    title = (
        "## Worst examples (lowest quality score)"
        if by_score
        else "## Rejected examples (up to 3 per reason)"
    )
    lines = [title, ""]
    if not worst["rows"]:
        return lines + ["None.", ""]
    rows = [
        [
            f"`{r['id']}`",
            f"{r['source']}:{r['line']}",
            r["status"],
            r["quality_score"] if by_score else ", ".join(r["reasons"]),
            r["message"],
        ]
        for r in worst["rows"]
    ]
    return lines + _table(["id", "where", "status", "score" if by_score else "reasons", "detail"], rows)


def _timings(data: dict[str, Any]) -> list[str]:
    timings: dict[str, float] = data.get("timings") or {}
    if not timings:
        return []
    rows = [[name, f"{seconds:.2f}"] for name, seconds in timings.items()]
    rows.append(["**total**", f"{sum(timings.values()):.2f}"])
    return ["## Timings", "", *_table(["stage", "seconds"], rows, {1})]


def _flag_example(flag: dict[str, Any]) -> str:
    if not flag.get("examples"):
        return ""
    first = flag["examples"][0]
    excerpt = f" «{first['excerpt']}»" if first.get("excerpt") else ""
    return f"{first['where']}: {first['text']}{excerpt}"
