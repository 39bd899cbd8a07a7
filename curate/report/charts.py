"""Inline SVG charts for report.html, drawn from plain numbers: no JavaScript, no fonts or files to
fetch, so the report opens offline and a build does not pay for a plotting library.

Colours are fixed (PALETTE) so a test can find drawn bars by their pixels in a screenshot.
"""

from __future__ import annotations

from html import escape
from typing import Any, Final

PALETTE: Final[tuple[str, ...]] = (
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#9d755d",
)
SERIES_COLOURS: Final[dict[str, str]] = {
    "train": PALETTE[0],
    "eval": PALETTE[1],
    "general_eval": PALETTE[2],
    "kept": PALETTE[0],
    "rejected": PALETTE[3],
    "low score": PALETTE[3],
    "rejected (other)": PALETTE[5],
    "input": PALETTE[0],
    "general": PALETTE[2],
    "groups": PALETTE[4],
    "reasons": PALETTE[3],
    "unused": PALETTE[6],
}
WIDTH: Final = 640
AXIS: Final = "#555"
GRID: Final = "#ddd"
FONT: Final = 'font-family="system-ui, sans-serif" font-size="11"'


def colour_of(series: str, index: int = 0) -> str:
    return SERIES_COLOURS.get(series, PALETTE[index % len(PALETTE)])


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):  # each splits into 4 round ticks
        if factor * magnitude >= value:
            return float(factor * magnitude)
    return float(10.0 * magnitude)


def _open(height: int, title: str, kind: str) -> list[str]:
    label = escape(title, quote=True)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" aria-label="{label}" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" {FONT}>',
        f"<title>{escape(title)}</title>",
    ]


def _legend(series: list[str], x: int, y: int) -> list[str]:
    parts = []
    for i, name in enumerate(series):
        offset = x - (len(series) - i) * 110
        parts.append(f'<rect x="{offset}" y="{y}" width="10" height="10" fill="{colour_of(name, i)}"/>')
        parts.append(f'<text x="{offset + 14}" y="{y + 9}">{escape(name)}</text>')
    return parts


def empty_chart(title: str, why: str) -> str:
    """A placeholder that says why there is nothing to draw (a stage that did not run)."""
    parts = _open(60, title, "empty")
    parts.append(f'<text x="10" y="34" fill="{AXIS}">{escape(why)}</text></svg>')
    return "".join(parts)


def stacked_columns(
    bins: list[dict[str, Any]],
    series: list[str],
    title: str,
    x_label: str,
    y_label: str = "records",
    height: int = 260,
) -> str:
    """A histogram: one column per bin, stacked by series (train/eval, kept/rejected)."""
    if not bins or not any(sum(b["counts"].values()) for b in bins):
        return empty_chart(title, "no data")
    left, right, top, bottom = 56, 12, 28, 52
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    totals = [sum(int(v) for v in b["counts"].values()) for b in bins]
    ceiling = _nice_max(max(totals))
    slot = plot_w / len(bins)
    parts = _open(height, title, "columns")
    parts += _axes(left, top, plot_w, plot_h, ceiling, y_label)
    every = max(1, round(len(bins) / 8))
    for i, item in enumerate(bins):
        x = left + i * slot + slot * 0.08
        y = float(top + plot_h)
        counts: dict[str, int] = item["counts"]
        for j, name in enumerate(series):
            n = int(counts.get(name, 0))
            if n <= 0:
                continue
            h = plot_h * n / ceiling
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.84:.1f}" height="{h:.1f}" '
                f'fill="{colour_of(name, j)}">'
                f"<title>{escape(str(item['label']))}: {n:,} {escape(name)}</title></rect>"
            )
        if i % every == 0:
            cx = left + (i + 0.5) * slot
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                f"{escape(str(item['label']).split('–')[0])}</text>"
            )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 22}" text-anchor="middle">{escape(x_label)}</text>'
    )
    parts += _legend(series, WIDTH - right, 8)
    parts.append("</svg>")
    return "".join(parts)


def _axes(left: int, top: int, plot_w: float, plot_h: float, ceiling: float, y_label: str) -> list[str]:
    parts = []
    for k in range(5):
        value = ceiling * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h:.1f}" stroke="{AXIS}"/>'
        f'<text transform="translate(12 {top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    return parts


def horizontal_bars(items: list[tuple[str, int, str]], title: str, unit: str = "records") -> str:
    """Labelled bars, one per row: (label, value, colour key)."""
    items = [item for item in items if item[1] > 0]
    if not items:
        return empty_chart(title, f"no {unit}")
    label_w, right, top, row = 230, 70, 10, 24
    height = top * 2 + row * len(items)
    bar_room = WIDTH - label_w - right
    ceiling = max(value for _, value, _ in items)
    parts = _open(height, title, "bars")
    for i, (label, value, key) in enumerate(items):
        y = top + i * row
        w = max(1.0, bar_room * value / ceiling)
        text = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(text)}</text>')
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
            f'fill="{colour_of(key, i)}"><title>{escape(label)}: {value:,} {escape(unit)}</title></rect>'
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)
