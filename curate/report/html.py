"""report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Every piece of data text goes through ``html.escape``: example content is untrusted input and may
hold markup. Tables link each record to its entry in the examples appendix (``#ex-<id>``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from curate.gates.rules import fmt
from curate.report import preference
from curate.report.charts import colour_of, horizontal_bars, stacked_columns
from curate.report.markdown import NOT_CHECKED, STATUS_ORDER

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#cfd8dc}nav{padding:8px 28px;background:#eceff1;position:sticky;top:0}
nav a{margin-right:14px;color:#37474f}main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:17px;margin:4px 0 10px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #eee;padding:4px 10px;text-align:left;vertical-align:top}
td:last-child{overflow-wrap:anywhere}td:not(:last-child){white-space:nowrap}
table{max-width:100%}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #e0e0e0;border-radius:6px;padding:8px 14px;
min-width:110px;background:#fff}.card b{display:block;font-size:20px}.pass{color:#2e7d32}.warn{color:#b26a00}
.fail{color:#c62828}.skip{color:#777}.note{color:#666}details{border-bottom:1px solid #eee;padding:6px 0}
details:target{background:#fff8e1}pre{white-space:pre-wrap;word-break:break-word;margin:4px 0 8px;
background:#f5f5f5;padding:6px 8px;border-radius:4px}.role{font-weight:600;color:#455a64}
.charts{display:flex;flex-wrap:wrap;gap:16px}svg.chart{background:#fff;max-width:100%;height:auto}
"""


def e(value: Any) -> str:
    return escape("–" if value is None else str(value), quote=True)


def _n(value: Any) -> str:
    return (
        f"{value:,}"
        if isinstance(value, int)
        else (f"{value:,.1f}" if isinstance(value, float) else e(value))
    )


def _where(source: Any, line: Any) -> str:
    """file:line with the file's name only; the full path is the cell's tooltip (and in Summary)."""
    path = str(source)
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return f'<span title="{e(path)}">{e(name)}:{e(line)}</span>'


def _id_link(example_id: str, known: dict[str, Any]) -> str:
    text = f"<code>{e(example_id)}</code>"
    return f'<a href="#ex-{e(example_id)}">{text}</a>' if example_id in known else text


def _table(header: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """Cells arrive already escaped (or as trusted markup built here)."""
    numeric = numeric or set()
    head = "".join(
        f'<th class="n">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(data: dict[str, Any]) -> str:
    sections = [
        ("summary", "Summary", _summary(data)),
        ("gates", "Gates", _gates(data)),
        ("reasons", "Rejections", _reasons(data)),
        ("tokens", "Token lengths", _tokens(data)),
        ("quality", "Quality scores", _quality(data)),
        ("groups", "Duplicate groups", _groups(data)),
        ("preference", "Preference pairs", preference.html(data.get("preference"))),
        ("mix", "Mix composition", _mix(data)),
        ("leakage", "Leakage matches", _leakage(data)),
        ("worst", "Worst examples", _worst(data)),
        ("examples", "Examples", _examples(data)),
    ]
    nav = "".join(f'<a href="#{key}">{e(title)}</a>' for key, title, body in sections if body)
    body = "".join(
        f'<section id="{key}"><h2>{e(title)}</h2>{html}</section>' for key, title, html in sections if html
    )
    created = e(data.get("created_at"))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Build report</title><style>{CSS}</style></head><body>"
        f"<header><h1>Build report</h1><p>created {created} · config {e(data.get('config_hash'))}</p>"
        "</header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def _summary(data: dict[str, Any]) -> str:
    by_status: dict[str, int] = data["by_status"]
    cards = [("records in", data["records"])]
    not_sampled = data.get("not_sampled", 0)
    cards += [
        (s, by_status.get(s, 0) - (not_sampled if s == "rejected" else 0))
        for s in STATUS_ORDER
        if s in by_status or s in ("train", "eval", "rejected")
    ]
    if not_sampled:
        cards.append(("not sampled (mix)", not_sampled))
    html = (
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{_n(v)}</b>{e(k)}</div>' for k, v in cards)
        + "</div>"
    )
    accounted = sum(by_status.values())
    note = "every record accounted for" if accounted == data["records"] else "records unaccounted for!"
    html += f'<p class="note">{_n(accounted)} of {_n(data["records"])}: {e(note)}</p>'
    if data["inputs"]:
        rows = [
            [
                f"<code>{e(i['path'])}</code>",
                e(i["origin"]),
                _n(i["records"]),
                f"<code>{e((i.get('sha256') or '')[:12])}</code>",
            ]
            for i in data["inputs"]
        ]
        html += _table(["input", "origin", "records", "sha256"], rows, {2})
    return html


def _gates(data: dict[str, Any]) -> str:
    gates = data.get("gates")
    if not gates:
        return ""
    rows = [
        [
            f"<code>{e(r['name'])}</code>",
            f'<span class="{e(r["status"])}">{e(r["status"])}</span>',
            e(fmt(r["value"], r["unit"])),
            e(r["message"]),
        ]
        for r in gates["results"]
    ]
    verdict = f'<p>The build\'s own gates: <b class="{e(gates["status"])}">{e(gates["status"])}</b></p>'
    return verdict + _table(["gate", "status", "value", "detail"], rows, {2})


def _reasons(data: dict[str, Any]) -> str:
    reasons = data["reasons"]
    if not reasons:
        return "<p>No record was rejected.</p>"
    chart = horizontal_bars(
        # General records the mix did not need are accounted for, not defects: a neutral colour.
        [(r["code"], r["first"], "unused" if r["code"].startswith("mix.") else "reasons") for r in reasons],
        "Rejections by first reason",
    )
    rows = [[f"<code>{e(r['code'])}</code>", _n(r["first"]), _n(r["any"]), e(r["meaning"])] for r in reasons]
    html = chart + _table(["reason", "first reason", "carrying it", "meaning"], rows, {1, 2})
    if data["flags"]:
        html += "<h3>Soft flags</h3>" + _table(
            ["flag", "records", "meaning", "examples"],
            [
                [
                    f"<code>{e(f['code'])}</code>",
                    _n(f["records"]),
                    e(f["meaning"]),
                    _flag_examples(f["examples"]),
                ]
                for f in data["flags"]
            ],
            {1},
        )
    return html


def _tokens(data: dict[str, Any]) -> str:
    tokens = data.get("tokens")
    if not tokens:
        return '<p class="note">No token counts in this build.</p>'
    chart = stacked_columns(
        tokens["bins"],
        tokens["series"],
        "Token lengths of output records",
        f"tokens (bins of {tokens['step']:,}; last bin: the tail)",
    )
    keys = ["records", "total", "mean", "p50", "p90", "p95", "p99", "max"]
    rows = [[e(s["status"]), *(_n(s[k]) for k in keys)] for s in tokens["stats"]]
    return chart + _table(["split", *keys], rows, set(range(1, len(keys) + 1)))


def _quality(data: dict[str, Any]) -> str:
    quality = data.get("quality")
    if not quality:
        return '<p class="note">No quality scores in this build (the quality stage did not score).</p>'
    chart = stacked_columns(quality["bins"], quality["series"], "Quality scores", "quality score")
    s = quality["stats"]
    html = chart + _table(
        ["records", "mean", "p10", "p50", "p90"],
        [[_n(s["records"]), e(s["mean"]), e(s["p10"]), e(s["p50"]), e(s["p90"])]],
        {0, 1, 2, 3, 4},
    )
    if quality["signals"]:
        html += "<p>Signals: " + ", ".join(f"<code>{e(x)}</code>" for x in quality["signals"]) + "</p>"
    return html


def _groups(data: dict[str, Any]) -> str:
    groups = data.get("groups")
    if not groups:
        return '<p class="note">No duplicate clusters in this build.</p>'
    chart = horizontal_bars(
        [(f"size {b['label']}", b["groups"], "groups") for b in groups["buckets"]],
        "Duplicate groups by size",
        unit="groups",
    )
    held = _n(groups["records_in_groups"])
    html = f"<p>{_n(groups['groups'])} groups hold {held} records (the kept one included).</p>"
    html += chart
    if groups["largest"]:
        rows = [
            [_n(g["size"]), f"<code>{e(g['id'])}</code>", _where(g["source"], g["line"])]
            for g in groups["largest"]
        ]
        html += _table(["size", "kept id", "where"], rows, {0})
    return html


def _mix(data: dict[str, Any]) -> str:
    mix = data["mix"]
    if not mix["rows"]:
        return "<p>No output records.</p>"
    chart = horizontal_bars(
        [(f"{r['split']} ← {r['origin']}", r["records"], r["origin"]) for r in mix["rows"]],
        "Output records by split and origin",
    )
    ratio = fmt(mix["ratio"], "rate") if isinstance(mix["ratio"], int | float) else "–"
    legend = " ".join(
        f'<span style="color:{colour_of(o)}">■</span> {e(o)}'
        for o in sorted({r["origin"] for r in mix["rows"]})
    )
    return (
        chart + f"<p>{legend}</p><p>General share of train: <b>{e(fmt(mix['general_share'], 'rate'))}</b> "
        f"(configured mix ratio {e(ratio)}).</p>"
    )


def _leakage(data: dict[str, Any]) -> str:
    leakage = data["leakage"]
    checked = leakage.get("checked", True)
    methods = (
        f'<p class="note">Methods: {e(leakage["methods"])}.</p>' if checked and leakage.get("methods") else ""
    )
    if not leakage["total"]:
        said = "No record matched a protected item." if checked else NOT_CHECKED
        return f"<p>{e(said)}</p>{methods}"
    known = data["examples"]
    rows = [
        [
            _id_link(r["id"], known),
            _where(r["source"], r["line"]),
            e(r["status"]),
            f"<code>{e(r['code'])}</code>",
            e(r["matched"]),
            e(r["message"]),
        ]
        for r in leakage["rows"]
    ]
    shown = f" (first {len(rows)} shown)" if leakage["total"] > len(rows) else ""
    return (
        methods
        + f"<p>{_n(leakage['total'])} records matched a protected item{e(shown)}.</p>"
        + _table(["id", "where", "status", "reason", "matched", "detail"], rows)
    )


def _worst(data: dict[str, Any]) -> str:
    worst = data["worst"]
    if not worst["rows"]:
        return "<p>None.</p>"
    by_score = worst["by"] == "quality_score"
    known = data["examples"]
    rows = [
        [
            _id_link(r["id"], known),
            _where(r["source"], r["line"]),
            e(r["status"]),
            e(r["quality_score"]) if by_score else e(", ".join(r["reasons"])),
            e(r["message"]),
        ]
        for r in worst["rows"]
    ]
    intro = (
        "Lowest quality scores."
        if by_score
        else "No quality scores: rejected records, up to 3 per first reason."
    )
    return f"<p>{e(intro)}</p>" + _table(
        ["id", "where", "status", "score" if by_score else "reasons", "detail"], rows
    )


def _examples(data: dict[str, Any]) -> str:
    examples: dict[str, Any] = data["examples"]
    if not examples:
        return ""
    parts = []
    for example_id, item in examples.items():
        messages = "".join(
            f'<div class="role">{e(m["role"])}</div><pre>{e(m["content"])}</pre>' for m in item["messages"]
        )
        parts.append(
            f'<details id="ex-{e(example_id)}"><summary><code>{e(example_id)}</code> '
            f"{e(item['source'])}:{e(item['line'])}</summary>{messages}</details>"
        )
    return "".join(parts)


def _flag_examples(examples: list[dict[str, Any]]) -> str:
    items = []
    for x in examples:
        excerpt = f" <q>{e(x['excerpt'])}</q>" if x.get("excerpt") else ""
        items.append(f"<li><code>{e(x['where'])}</code> {e(x['text'])}{excerpt}</li>")
    return f'<ul class="examples">{"".join(items)}</ul>' if items else ""
