"""Each preference reason code on a planted pair, and every pair accounted for."""

from __future__ import annotations

import copy
from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.preference.pairs import build, codes, pair, question, rows, write_jsonl

BENCHMARK_QUESTION = (
    "A train leaves the station at nine carrying forty passengers and stops at three villages going north"
)
CHAT = {
    "messages": [
        {"role": "user", "content": "Which fuse does the kettle in the kitchen need for safe use?"},
        {
            "role": "assistant",
            "content": "A thirteen amp fuse is the usual choice for a kettle of that size.",
        },
    ]
}


def _swapped(record: dict) -> dict:
    swapped = copy.deepcopy(record)
    swapped["chosen"], swapped["rejected"] = swapped["rejected"], swapped["chosen"]
    return swapped


PLANTED: dict[str, dict] = {
    "identical": {**pair(1), "rejected": pair(1)["chosen"]},
    "identical_after_normalising": {
        **pair(2),
        "rejected": [
            {"role": "assistant", "content": "  " + pair(2)["chosen"][0]["content"].replace(" ", "\n ")}
        ],
    },
    "no_shared_prompt": {
        "chosen": [
            {"role": "user", "content": question(3)},
            {"role": "assistant", "content": "Yes, that works."},
        ],
        "rejected": [
            {"role": "user", "content": question(4)},
            {"role": "assistant", "content": "No, it fails."},
        ],
    },
    "prompt_ends_on_assistant": {
        **pair(5),
        "prompt": [*pair(5)["prompt"], {"role": "assistant", "content": "Let me think about it."}],
    },
    "chosen_has_user_turn": {**pair(6), "chosen": [{"role": "user", "content": "What do you mean?"}]},
    "tie": pair(7, score_chosen=4.0, score_rejected=4.0),
    "empty_chosen": {**pair(8), "chosen": [{"role": "assistant", "content": " \u200b "}]},
    "placeholder_chosen": {**pair(9), "chosen": [{"role": "assistant", "content": "N/A"}]},
    "placeholder_rejected": {**pair(10), "rejected": [{"role": "assistant", "content": "<nooutput>"}]},
    "contradictory_a": pair(11),
    "contradictory_b": _swapped(pair(11)),
    "exact_copy_of_12": pair(12),
    "near_copy_of_13": {
        **pair(13),
        "prompt": [
            {"role": "user", "content": question(13).replace("every single week", "every single week!!")}
        ],
        "chosen": [{"role": "assistant", "content": pair(13)["chosen"][0]["content"].upper()}],
    },
    "chat_in_preference_build": CHAT,
    "benchmark_in_rejected": {
        **pair(14),
        "rejected": [{"role": "assistant", "content": "Well, as they say: " + BENCHMARK_QUESTION}],
    },
}
EXPECTED = {
    "identical": "pref.identical",
    "identical_after_normalising": "pref.identical",
    "no_shared_prompt": "pref.no-shared-prompt",
    "prompt_ends_on_assistant": "pref.role-order",
    "chosen_has_user_turn": "pref.role-order",
    "tie": "pref.tie",
    "empty_chosen": "quality.low-score",
    "placeholder_chosen": "quality.low-score",
    "placeholder_rejected": "pref.rejected-answer",
    "contradictory_a": "pref.contradictory",
    "contradictory_b": "pref.contradictory",
    "exact_copy_of_12": "dedup.exact",
    "near_copy_of_13": "dedup.near",
    "chat_in_preference_build": "pref.wrong-kind",
    "benchmark_in_rejected": "leakage.ngram",
}
CLEAN = 40


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str], Path]:
    tmp = tmp_path_factory.mktemp("planted")
    records = [pair(100 + i) for i in range(CLEAN)] + [pair(12), pair(13)]
    records.append({**pair(99), "prompt": pair(100)["prompt"]})  # a second pair of pair 100's prompt
    lines = {}
    for name, record in PLANTED.items():
        records.append(record)
        lines[len(records)] = name
    data = write_jsonl(tmp / "pairs.jsonl", [*records, "not an object"])
    bench = [
        {"messages": [{"role": "user", "content": BENCHMARK_QUESTION}, {"role": "assistant", "content": "B"}]}
    ]
    benchmark = write_jsonl(tmp / "bench.jsonl", bench)
    folder = build(tmp, [data], "[split]\neval_fraction = 0.3\n", benchmarks=[benchmark])
    return folder, lines, data


def test_each_code_on_its_planted_pair(planted: tuple[Path, dict[int, str], Path]) -> None:
    folder, lines, _ = planted
    frame = rows(folder)
    by_line = {row["line"]: row for row in frame.iter_rows(named=True)}
    found = {name: codes(by_line[line]) for line, name in lines.items()}
    missed = {name: found[name] for name, code in EXPECTED.items() if code not in found[name]}
    assert not missed, missed
    flags = {f["code"] for f in by_line[[k for k, v in lines.items() if v == "empty_chosen"][0]]["flags"]}
    assert "quality.empty-answer" in flags
    clean = frame.filter((frame["line"] <= CLEAN) & (pl.col("origin") == "input"))
    assert set(clean["status"].to_list()) <= {"train", "eval"}, clean.filter(
        ~clean["status"].is_in(["train", "eval"])
    )


def test_pairs_of_one_prompt_are_kept_together(planted: tuple[Path, dict[int, str], Path]) -> None:
    folder, _, _ = planted
    frame = rows(folder).filter(pl.col("origin") == "input")
    # pair(100) and the pair sharing its prompt
    same_prompt = frame.filter(pl.col("line").is_in([1, CLEAN + 3]))
    assert same_prompt["status"].n_unique() == 1 and same_prompt["status"][0] in ("train", "eval")
    assert same_prompt["cluster_id"].n_unique() == 1 and same_prompt["cluster_id"][0] is not None


def test_nothing_lost(planted: tuple[Path, dict[int, str], Path]) -> None:
    folder, _, data = planted
    n_lines = len(data.read_bytes().splitlines())  # the benchmark item is protected, never written
    written = {
        name: [orjson.loads(line) for line in (folder / name).read_bytes().splitlines()]
        for name in ("train.jsonl", "eval.jsonl", "rejected.jsonl")
    }
    ids = [r["id"] for records in written.values() for r in records]
    assert len(ids) == n_lines  # exact copies share their content id, so lines are counted
    frame = rows(folder).filter(pl.col("origin") != "benchmark")
    assert sorted(ids) == sorted(frame["id"].to_list())
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert sum(v for k, v in manifest["counts"]["by_status"].items()) == n_lines + 1  # + protected
    assert all(
        {"prompt", "chosen", "rejected"} <= r.keys() for r in written["train.jsonl"] + written["eval.jsonl"]
    )


def test_a_pair_in_an_sft_build_is_the_wrong_kind(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mixed.jsonl", [CHAT, pair(1)])
    folder = build(tmp_path, [data], kind="sft")
    frame = rows(folder)
    assert codes(frame.row(1, named=True)) == {"pref.wrong-kind"}
    assert frame["status"][0] in ("train", "eval")


def test_general_chat_is_allowed_in_a_preference_build(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "pairs.jsonl", [pair(i) for i in range(30)])
    general = write_jsonl(tmp_path / "general.jsonl", [CHAT])
    folder = build(tmp_path, [data], general=[general])
    frame = rows(folder).filter(rows(folder)["origin"] == "general")
    assert "pref.wrong-kind" not in codes(frame.row(0, named=True))


def test_length_bias_gate_and_report(planted: tuple[Path, dict[int, str], Path]) -> None:
    from curate.gates.rules import check_build

    folder, _, _ = planted
    gates = {result.name: result for result in check_build(folder).results}
    bias = orjson.loads((folder / "manifest.json").read_bytes())["findings"]["preference"]["length_bias"]
    # Every planted chosen answer is the longer one: the gate warns above 0.75.
    assert bias["kept"]["chosen_longer_share"] > 0.9
    assert gates["chosen_longer_share"].status == "warn"
    assert gates["chosen_longer_share"].value == bias["kept"]["chosen_longer_share"]
    # 2 identical pairs among the valid ones: above the 1 % warn level
    assert bias["identical_pairs"] == 2 and gates["identical_pair_rate"].status == "warn"
    report = (folder / "report.md").read_text()
    assert "## Preference pairs" in report and "chosen longer" in report
    assert "Length ratio of the kept pairs" in (folder / "report.html").read_text()


def test_chat_build_has_no_pair_gates(tmp_path: Path) -> None:
    from curate.gates.rules import check_build

    data = write_jsonl(tmp_path / "chats.jsonl", [CHAT])
    names = {result.name for result in check_build(build(tmp_path, [data])).results}
    assert "chosen_longer_share" not in names and "identical_pair_rate" not in names
