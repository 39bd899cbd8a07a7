"""`curate check` through the real CLI: exit codes, JUnit XML, Markdown, JSON, --config, --baseline."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.gates.rules import BASELINE_RATES, GATES
from tests.check.conftest import BAD, GOOD
from tests.check.curate_builds import Plan, build

FIXED_GATES = [spec.name for spec in GATES]


def domain_records(plan: Plan) -> int:
    return plan.good + plan.eval + plan.invalid + plan.duplicates + plan.leaked + plan.placeholders


def outputs(tmp_path: Path) -> list[str]:
    return [
        "--junit",
        str(tmp_path / "g.xml"),
        "--markdown",
        str(tmp_path / "g.md"),
        "--json",
        str(tmp_path / "g.json"),
    ]


def test_a_sound_build_passes_and_reports_every_gate(good_build: Path, tmp_path: Path, run_curate) -> None:
    code, out, err = run_curate("check", good_build, *outputs(tmp_path))
    assert code == 0, out + err
    report = json.loads((tmp_path / "g.json").read_text())
    assert report["status"] in ("pass", "warn")
    by_name = {gate["name"]: gate for gate in report["gates"]}
    assert [n for n in by_name if not n.startswith("tokens_")] == FIXED_GATES
    assert "tokens_p95" in by_name
    # The measures are the planted defects over the domain records, nothing rounder.
    domain = domain_records(GOOD)
    assert by_name["invalid_rate"]["value"] == pytest.approx(GOOD.invalid / domain)
    assert by_name["duplicate_rate"]["value"] == pytest.approx(GOOD.duplicates / domain)
    assert by_name["leakage_rejected_rate"]["value"] == pytest.approx(GOOD.leaked / domain)
    assert by_name["low_quality_rate"]["value"] == pytest.approx(GOOD.placeholders / domain)
    assert by_name["leakage_count"] == {**by_name["leakage_count"], "value": 0, "status": "pass"}
    assert by_name["min_eval"]["value"] == GOOD.eval
    train = pl.read_parquet(good_build / "examples.parquet").filter(pl.col("status") == "train")
    assert by_name["min_train"]["value"] == train.height
    assert by_name["tokens_p95"]["value"] == pytest.approx(train["tokens"].quantile(0.95, "linear"), abs=0.05)
    assert "PASS" in out or "WARN" in out


def test_junit_has_one_testcase_per_gate(good_build: Path, tmp_path: Path, run_curate) -> None:
    run_curate("check", good_build, *outputs(tmp_path))
    root = ET.parse(tmp_path / "g.xml").getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    gates = json.loads((tmp_path / "g.json").read_text())["gates"]
    assert [c.get("name") for c in cases] == [g["name"] for g in gates]
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == 0 == len(suite.findall("testcase/failure"))
    assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped"))


def test_an_obviously_bad_build_fails(bad_build: Path, tmp_path: Path, run_curate) -> None:
    code, out, _ = run_curate("check", bad_build, *outputs(tmp_path))
    assert code == 1
    report = json.loads((tmp_path / "g.json").read_text())
    assert report["status"] == "fail"
    failed = {g["name"] for g in report["gates"] if g["status"] == "fail"}
    status = {g["name"]: g["status"] for g in report["gates"]}
    assert "invalid_rate" in failed
    assert status["duplicate_rate"] == "warn"  # 20 of 70: above 15 %, below 50 %
    invalid = next(g for g in report["gates"] if g["name"] == "invalid_rate")
    assert invalid["value"] == pytest.approx(BAD.invalid / domain_records(BAD))
    assert "invalid_rate" in out

    suite = ET.parse(tmp_path / "g.xml").getroot().find("testsuite")
    failures = {case.get("name") for case in suite.findall("testcase") if case.find("failure") is not None}
    assert failures == failed
    assert int(suite.get("failures")) == len(failed)

    markdown = (tmp_path / "g.md").read_text()
    assert markdown.startswith("## ❌ curate check: FAIL")
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(rows) == len(report["gates"])
    assert any(row.startswith("| `invalid_rate` | ❌ fail |") for row in rows)
    assert len(markdown.encode()) < 1024 * 1024  # $GITHUB_STEP_SUMMARY's limit per step


def test_config_flag_replaces_the_builds_gates(good_build: Path, tmp_path: Path, run_curate) -> None:
    config = tmp_path / "strict.toml"
    config.write_text("[gates]\nmin_train = { fail = 100000 }\ninvalid_rate = {}\n")
    code, _, _ = run_curate("check", good_build, "--config", config, "--json", tmp_path / "g.json")
    assert code == 1
    gates = {g["name"]: g for g in json.loads((tmp_path / "g.json").read_text())["gates"]}
    assert gates["min_train"]["status"] == "fail" and gates["min_train"]["warn"] is None
    assert gates["invalid_rate"]["status"] == "pass"  # a table without levels only reports
    assert [n for n, g in gates.items() if g["status"] == "fail"] == ["min_train"]


def test_gates_come_from_the_builds_manifest(tmp_path: Path, run_curate) -> None:
    folder = tmp_path / "strict"
    folder.mkdir()
    (folder / "curate.toml").write_text("[gates]\nmin_eval = { fail = 1000 }\n")
    out = build(folder, Plan(good=40, eval=5, benchmark=0, seed=3), str(folder / "curate.toml"))
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    assert manifest["config"]["gates"]["min_eval"] == {"warn": None, "fail": 1000}
    code, _, _ = run_curate("check", out, "--json", tmp_path / "g.json")
    assert code == 1
    failed = [
        g["name"] for g in json.loads((tmp_path / "g.json").read_text())["gates"] if g["status"] == "fail"
    ]
    assert failed == ["min_eval"]


def test_build_check_runs_the_gates_after_the_build(tmp_path: Path, run_curate) -> None:
    from tests.check.curate_builds import write_inputs

    paths = write_inputs(tmp_path / "data", BAD)
    code, out, _ = run_curate("build", "--input", paths["input"], "--out", tmp_path / "b", "--check")
    assert code == 1
    assert (tmp_path / "b" / "manifest.json").is_file()  # the build itself is kept
    assert "FAIL" in out


def test_baseline_flags_a_rate_that_got_worse(
    good_build: Path, bad_build: Path, tmp_path: Path, run_curate
) -> None:
    code, _, _ = run_curate("check", good_build, "--baseline", good_build, "--json", tmp_path / "same.json")
    assert code == 0
    same = {g["name"]: g for g in json.loads((tmp_path / "same.json").read_text())["gates"]}
    for name in BASELINE_RATES:
        assert same[f"baseline.{name}"]["value"] == 0 and same[f"baseline.{name}"]["status"] == "pass"

    # The bad build's own gates are relaxed, so only the comparison can fail it.
    config = tmp_path / "lenient.toml"
    config.write_text(
        "[gates]\ninvalid_rate = {}\nduplicate_rate = {}\nrejected_rate = {}\nmin_train = {}\nmin_eval = {}\n"
    )
    code, _, _ = run_curate(
        "check", bad_build, "--config", config, "--baseline", good_build, "--json", tmp_path / "worse.json"
    )
    assert code == 1
    report = json.loads((tmp_path / "worse.json").read_text())
    gates = {g["name"]: g for g in report["gates"]}
    invalid = gates["baseline.invalid_rate"]
    assert invalid["status"] == "fail"
    assert invalid["baseline"] == pytest.approx(GOOD.invalid / domain_records(GOOD))
    assert invalid["value"] == pytest.approx(BAD.invalid / domain_records(BAD) - invalid["baseline"])
    assert {n for n, g in gates.items() if g["status"] == "fail"} <= {f"baseline.{r}" for r in BASELINE_RATES}

    # A rate better than the baseline's passes (the bad build had no placeholders or leaks, so
    # those two rates are worse in the good build and may warn).
    run_curate("check", good_build, "--baseline", bad_build, "--json", tmp_path / "better.json")
    better = {g["name"]: g for g in json.loads((tmp_path / "better.json").read_text())["gates"]}
    for name in ("invalid_rate", "duplicate_rate", "rejected_rate"):
        assert better[f"baseline.{name}"]["value"] < 0
        assert better[f"baseline.{name}"]["status"] == "pass"


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("missing", "no such build folder"),
        ("no-manifest", "no manifest.json"),
        ("bad-manifest", "manifest.json is not valid JSON"),
        ("no-parquet", "no examples.parquet"),
        ("bad-parquet", "examples.parquet cannot be read"),
    ],
)
def test_unreadable_build_exits_2_with_one_line(
    good_build: Path, tmp_path: Path, run_curate, damage: str, expected: str
) -> None:
    target = tmp_path / "copy"
    if damage != "missing":
        shutil.copytree(good_build, target)
    if damage == "no-manifest":
        (target / "manifest.json").unlink()
    elif damage == "bad-manifest":
        (target / "manifest.json").write_text("{not json")
    elif damage == "no-parquet":
        (target / "examples.parquet").unlink()
    elif damage == "bad-parquet":
        (target / "examples.parquet").write_bytes(b"PAR1 this is not parquet")
    code, out, err = run_curate("check", target)
    assert code == 2
    assert expected in err and str(target) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "config_text, expected",
    [
        ("[gates\n", "not valid TOML"),
        ("[gates]\nno_such_gate = { fail = 1 }\n", "[gates] no_such_gate: unknown key"),
        (
            "[gates]\ninvalid_rate = { fail = 'high' }\n",
            '[gates] invalid_rate.fail: expected a number, got "high"',
        ),
        (
            "[gates.tokens]\nmedian = { fail = 10 }\n",
            "[gates] tokens: expected percentile keys like p50, p95, p99.9",
        ),
    ],
)
def test_bad_config_exits_2(
    good_build: Path, tmp_path: Path, run_curate, config_text: str, expected: str
) -> None:
    config = tmp_path / "curate.toml"
    config.write_text(config_text)
    code, _, err = run_curate("check", good_build, "--config", config)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_bad_usage_exits_2(good_build: Path, tmp_path: Path, run_curate) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_curate("check")
    assert exit_info.value.code == 2
    code, _, err = run_curate("check", good_build, "--baseline", tmp_path / "nowhere")
    assert code == 2 and "no such build folder" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_curate("check", good_build, "--junit", blocker / "g.xml")
    assert code == 2 and "cannot write" in err


def test_a_build_with_leakage_off_warns_that_nothing_was_checked(tmp_path: Path, run_curate) -> None:
    folder = tmp_path / "noleak"
    folder.mkdir()
    (folder / "curate.toml").write_text("[leakage]\nenabled = false\n")
    out = build(folder, Plan(good=120, eval=20, leaked=2, benchmark=4, seed=4), str(folder / "curate.toml"))
    code, _, _ = run_curate("check", out, "--json", tmp_path / "g.json")
    assert code == 0  # a warning, not a failure: the user turned the stage off on purpose
    gates = {g["name"]: g for g in json.loads((tmp_path / "g.json").read_text())["gates"]}
    assert gates["leakage_count"]["status"] == "warn" and gates["leakage_count"]["value"] is None
    assert "unchecked" in gates["leakage_count"]["message"]
    assert gates["leakage_rejected_rate"]["status"] == "skip"
    assert "Not checked: the leakage stage did not run" in (out / "report.md").read_text()
