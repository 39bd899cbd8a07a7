"""report.md and report.html of a real build: the numbers match the manifest and the frame, the page
is self-contained and escaped, every table link lands, and a build lacking stages still reports."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.report.charts import PALETTE
from curate.report.write import write_reports
from tests.report.conftest import HOSTILE, PLAN


def manifest_of(build: Path) -> dict:
    return orjson.loads((build / "manifest.json").read_bytes())


def md_table(markdown: str, heading: str) -> list[list[str]]:
    """Rows of the first table under ``heading`` (cells stripped, header and rule left out)."""
    section = markdown.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
        elif rows:
            break
    return rows[2:]


def number(cell: str) -> float:
    return float(cell.replace(",", "").replace("`", ""))


class Page(HTMLParser):
    """Tags, attributes and text of report.html, enough to check structure without a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_the_build_writes_both_reports(report_build: Path) -> None:
    assert (report_build / "report.md").stat().st_size > 0
    assert (report_build / "report.html").stat().st_size > 0


def test_report_md_numbers_match_the_manifest(report_build: Path) -> None:
    manifest = manifest_of(report_build)
    counts = manifest["counts"]
    markdown = (report_build / "report.md").read_text()

    summary = {row[0]: number(row[1]) for row in md_table(markdown, "## Summary")}
    assert summary["records in"] == counts["records"]
    # General rows the mix did not need are counted apart from the rejections.
    not_sampled = counts["by_first_reason"].get("mix.not-sampled", 0)
    assert not_sampled > 0
    assert summary["not sampled (general data the mix did not need)"] == not_sampled
    for status, n in counts["by_status"].items():
        assert summary[status] == n - (not_sampled if status == "rejected" else 0), status
    assert "every record accounted for" in markdown

    reasons = {
        row[0].strip("`"): (number(row[1]), number(row[2])) for row in md_table(markdown, "## Rejections")
    }
    assert {code: first for code, (first, _) in reasons.items()} == counts["by_first_reason"]
    assert {code: anywhere for code, (_, anywhere) in reasons.items()} == counts["by_reason"]
    assert sum(first for first, _ in reasons.values()) == counts["by_status"]["rejected"]
    # The planted defects, by their own reasons.
    assert counts["by_first_reason"]["dedup.exact"] == PLAN.duplicates
    assert counts["by_first_reason"]["leakage.ngram"] == PLAN.leaked


def test_report_md_numbers_match_the_frame(report_build: Path) -> None:
    frame = pl.read_parquet(report_build / "examples.parquet")
    markdown = (report_build / "report.md").read_text()

    tokens = {row[0]: row for row in md_table(markdown, "## Token lengths")}
    train = frame.filter(pl.col("status") == "train")["tokens"]
    assert number(tokens["train"][1]) == train.len()
    assert number(tokens["train"][2]) == train.sum()
    assert number(tokens["train"][4]) == pytest.approx(train.quantile(0.5, "linear"), abs=0.05)
    assert number(tokens["train"][8]) == train.max()
    histogram = md_table(markdown, "Histogram (bins of")
    assert sum(number(row[1]) for row in histogram) == train.len()  # every train record in one bin

    groups = frame.filter(pl.col("cluster_id").is_not_null())
    sizes = md_table(markdown, "## Duplicate groups")
    assert sum(number(row[1]) for row in sizes) == groups["cluster_id"].n_unique()
    assert f"{groups['cluster_id'].n_unique():,} groups hold {groups.height:,} records" in markdown

    mix = {(row[0], row[1]): number(row[2]) for row in md_table(markdown, "## Mix composition")}
    expected = (
        frame.filter(pl.col("status").is_in(["train", "eval", "general_eval"]))
        .group_by("status", "origin")
        .len()
    )
    assert mix == {(s, o): n for s, o, n in expected.iter_rows()}

    leaks = md_table(markdown, "## Leakage matches")
    assert len(leaks) == PLAN.leaked
    assert all(row[3] == "`leakage.ngram`" and "bench.jsonl" in row[4] for row in leaks)


def test_report_html_is_self_contained_and_escaped(report_build: Path) -> None:
    html = (report_build / "report.html").read_text()
    page = parse(html)
    tags = [tag for tag, _ in page.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:)?//", value), f"<{tag} {name}={value}> fetches from the network"
    assert "<script>" not in html and "onerror=" not in html.replace("onerror=&quot;", "")
    assert HOSTILE in "".join(page.text)  # shown to the reader as text, not run
    charts = [attrs for tag, attrs in page.tags if tag == "svg" and "chart" in (attrs.get("class") or "")]
    kinds = [attrs["class"].split()[-1] for attrs in charts]
    assert (
        kinds.count("chart-columns") == 2 and kinds.count("chart-bars") == 3
    )  # tokens, quality; reasons, groups, mix
    assert sum(1 for tag, attrs in page.tags if tag == "rect" and attrs.get("class") == "bar") > 20


def test_every_example_link_lands(report_build: Path) -> None:
    page = parse((report_build / "report.html").read_text())
    anchors = {attrs["id"] for _, attrs in page.tags if attrs.get("id")}
    links = [
        attrs["href"]
        for tag, attrs in page.tags
        if tag == "a" and (attrs.get("href") or "").startswith("#ex-")
    ]
    frame = pl.read_parquet(report_build / "examples.parquet")
    leaked_ids = frame.filter(pl.col("leak_source").is_not_null())["id"].to_list()
    valid = frame.filter((pl.col("origin") != "benchmark") & pl.col("dedup_key").is_not_null())
    worst_id = valid.sort("quality_score", nulls_last=True)["id"][0]
    assert {f"#ex-{i}" for i in [*leaked_ids, worst_id]} <= set(links)
    assert {link[1:] for link in links} <= anchors


def test_a_build_without_optional_stages_still_reports(report_build: Path, tmp_path: Path) -> None:
    frame = pl.read_parquet(report_build / "examples.parquet")
    optional = [
        c
        for c in frame.columns
        if c.startswith(("q_", "leak_")) or c in ("quality_score", "cluster_id", "tokens")
    ]
    bare = frame.drop(optional)
    manifest = {"counts": manifest_of(report_build)["counts"], "config": {}}
    write_reports(tmp_path, manifest, bare)
    markdown = (tmp_path / "report.md").read_text()
    assert "No token counts in this build." in markdown
    assert "No quality scores in this build" in markdown
    assert "No duplicate clusters in this build." in markdown
    assert "## Rejected examples (up to 3 per reason)" in markdown
    html = (tmp_path / "report.html").read_text()
    assert "No quality scores in this build" in html and "chart-bars" in html


def test_palette_is_what_the_browser_test_looks_for() -> None:
    assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) for colour in PALETTE)
    assert len(set(PALETTE)) == len(PALETTE)


def test_markup_in_any_field_is_escaped(report_build: Path, tmp_path: Path) -> None:
    # Paths, reason messages, flags and leak columns come from input too: poison them all.
    frame = pl.read_parquet(report_build / "examples.parquet")
    poison = pl.lit(HOSTILE)
    poisoned_reason = pl.col("reasons").list.eval(
        pl.struct(
            code=pl.element().struct.field("code"),
            stage=pl.element().struct.field("stage"),
            message=pl.element().struct.field("message") + poison,
            ref=poison,
        )
    )
    frame = frame.with_columns(
        source=poison + pl.col("source"),
        reasons=poisoned_reason,
        leak_item=pl.when(pl.col("leak_item").is_not_null()).then(poison),
        leak_span=pl.when(pl.col("leak_span").is_not_null()).then(poison),
    )
    manifest = manifest_of(report_build)
    manifest["inputs"] = [{**item, "path": HOSTILE + item["path"]} for item in manifest["inputs"]]
    manifest["counts"]["by_reason"] = {HOSTILE: 1, **manifest["counts"]["by_reason"]}
    write_reports(tmp_path, manifest, frame)
    html = (tmp_path / "report.html").read_text()
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;") > 10
