"""The near-dup stage on hand-made frames: groups, kept records, reasons, flags, accounting."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from curate.core.errors import ConfigError
from curate.stages.dedup import near as near_dedup
from tests.dedup.frames import chat, codes, context, dedup, frame_of, sharegpt

TEXT = (
    "the router keeps dropping the connection every evening so first check the firmware version then "
    "move the unit away from the microwave and finally reset the channel to automatic selection which "
    "usually fixes interference from the neighbours networks if none of that helps call support again "
    "and ask for a replacement unit under the warranty because the radio may be faulty after all this"
)
WORDS = TEXT.split()
ANSWER = " ".join(WORDS[:60])


def rows(frame: pl.DataFrame) -> list[dict]:
    return frame.to_dicts()


def test_variants_form_one_group_named_by_its_smallest_content_id(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        input=[
            chat("My router drops the connection, what can I do?", ANSWER),
            chat("How do I bake bread at home?", "Mix flour, water, salt and yeast, knead, rest and bake."),
            chat("MY ROUTER DROPS THE CONNECTION, WHAT CAN I DO?", "Sure! " + ANSWER),
            chat("my router drops the connection what can i do", ANSWER + " I hope this helps!"),
        ],
    )
    out = rows(dedup(frame))
    assert len(out) == 4
    name = min(out[i]["id"] for i in (0, 2, 3))
    assert [r["cluster_id"] for r in out] == [name, None, name, name]
    assert [r["status"] for r in out] == ["ok", "ok", "rejected", "rejected"]
    for r in out[2:]:
        assert codes(r) == ["dedup.near"]
        reason = r["reasons"][0]
        assert reason["ref"] == out[0]["id"]
        assert reason["message"].startswith("near-duplicate of the kept input record (estimated similarity")


def test_the_stage_never_drops_or_reorders_rows(tmp_path: Path) -> None:
    records = [chat(f"question {i} " + " ".join(WORDS[i : i + 20]), ANSWER) for i in range(30)]
    records.append({"messages": [{"role": "user", "content": "no answer"}]})  # rejected at ingest
    frame = frame_of(tmp_path, input=records, benchmark=[chat("question 1 " + " ".join(WORDS[1:21]), ANSWER)])
    out = dedup(frame)
    assert out.height == frame.height
    assert out["id"].to_list() == frame["id"].to_list()
    assert out["line"].to_list() == frame["line"].to_list()
    assert set(frame.columns) <= set(out.columns)
    assert "_row" not in out.columns


def test_chains_of_near_duplicates_are_one_group(tmp_path: Path) -> None:
    words = [f"w{i}" for i in range(150)]
    # Neighbours share 84 of 112 shingles (Jaccard 0.75, far from the 0.5 threshold, so the
    # LSH bands find them whatever the hash); the ends share 56 of 140 (0.4): only the chain joins them.
    texts = [" ".join(words[s : s + 100]) for s in (0, 14, 28, 42)]
    out = rows(dedup(frame_of(tmp_path, input=[chat("q", t) for t in texts])))
    assert [r["cluster_id"] for r in out] == [min(r["id"] for r in out)] * 4
    assert [r["status"] for r in out] == ["ok", "rejected", "rejected", "rejected"]


def test_exact_copies_join_the_near_group_and_keep_their_exact_reason(tmp_path: Path) -> None:
    original = chat("Why is my router slow?", ANSWER)
    frame = frame_of(
        tmp_path,
        input=[
            chat("WHY is my router slow?", "Certainly! " + ANSWER),
            original,
            original,
            sharegpt("Why is my router slow?", ANSWER),
        ],
    )
    out = rows(dedup(frame))
    assert {r["cluster_id"] for r in out} == {min(r["id"] for r in out)}
    assert codes(out[0]) == []
    assert codes(out[1]) == ["dedup.near"]
    assert codes(out[2]) == ["dedup.exact"] and codes(out[3]) == [
        "dedup.exact"
    ]  # ShareGPT is the same example


def test_eval_records_are_kept_over_input_and_general_over_nothing(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        general=[chat("why is my router slow", ANSWER + " Good luck!")],
        input=[chat("Why is my router slow?", "Sure! " + ANSWER)],
        eval=[chat("Why is my router slow??", ANSWER)],
    )
    out = dedup(frame)
    kept = out.filter(pl.col("status") == "ok")
    assert kept["origin"].to_list() == ["eval"]
    eval_row = out["origin"].to_list().index("eval")
    assert out["cluster_id"].to_list() == [out["id"].min()] * 3
    assert out["status"][eval_row] == "ok"
    assert all("kept eval record" in r["reasons"][0]["message"] for r in rows(out) if r["origin"] != "eval")


def test_quality_score_picks_the_kept_record(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        input=[chat("Why is my router slow?", ANSWER), chat("why is my router slow", "Sure! " + ANSWER)],
    )
    frame = frame.with_columns(quality_score=pl.Series([0.2, 0.9]))
    out = rows(dedup(frame))
    assert [r["status"] for r in out] == ["rejected", "ok"]
    assert [r["cluster_id"] for r in out] == [min(r["id"] for r in out)] * 2


def test_benchmark_rows_and_rejected_rows_take_no_part(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        input=[chat("Why is my router slow?", ANSWER)],
        benchmark=[chat("Why is my router slow?", "Sure! " + ANSWER)],
    )
    frame = frame.with_columns(
        status=pl.when(pl.col("origin") == "benchmark").then(pl.lit("protected")).otherwise("status")
    )
    out = rows(dedup(frame))
    assert [r["cluster_id"] for r in out] == [None, None]
    assert [r["status"] for r in out] == ["ok", "protected"]


def test_unrelated_rows_are_not_grouped(tmp_path: Path) -> None:
    # The same vocabulary in different orders: shared words, almost no shared word 3-grams.
    records = [
        chat(f"Tell me about topic {i}.", " ".join(random.Random(i).sample(WORDS, 30))) for i in range(6)
    ]
    records += [chat("How do I reset my password?", "Open settings, choose account, then reset password.")]
    records += [chat("How do I change my email?", "Open settings, choose account, then change email.")]
    out = dedup(frame_of(tmp_path, input=records))
    assert out["cluster_id"].null_count() == out.height


def test_conflicting_answers_are_flagged_not_rejected(tmp_path: Path) -> None:
    frame = frame_of(
        tmp_path,
        input=[
            chat(
                "Does the Halo Mini work without a hub?",
                "Yes, it pairs directly with your phone over Bluetooth.",
            ),
            chat("does the halo mini work without a hub", "No, it always needs the Lumen Hub to connect."),
            chat("Can I return an installed unit?", ANSWER),
            chat("Can I return an installed unit?", "Sure! " + ANSWER),  # a near-duplicate, not a conflict
        ],
    )
    ctx = context()
    out = rows(dedup(frame, ctx))
    assert [codes(r, "flags") for r in out[:2]] == [["dedup.conflicting-answers"]] * 2
    assert [r["status"] for r in out[:2]] == ["ok", "ok"]
    assert codes(out[2], "flags") == [] and codes(out[3], "flags") == []
    listed = ctx.findings["near_dedup"]["conflicting_answers"]
    assert len(listed) == 1
    assert listed[0]["ids"] == [out[0]["id"], out[1]["id"]]
    assert listed[0]["prompt"].startswith("Does the Halo Mini")
    assert listed[0]["records"][0].endswith("input.jsonl:1")


def test_compared_text_can_be_the_user_turns(tmp_path: Path) -> None:
    records = [
        chat("Explain " + " ".join(WORDS[:30]), "Answer one."),
        chat("explain " + " ".join(WORDS[:30]), "A different answer."),
    ]
    assert dedup(frame_of(tmp_path, input=records), context(text="assistant"))["cluster_id"].null_count() == 2
    out = dedup(frame_of(tmp_path, input=records), context(text="user"))
    assert out["cluster_id"].to_list() == [out["id"].min()] * 2


def test_near_off_keeps_exact_groups_only(tmp_path: Path) -> None:
    records = [chat("Why is my router slow?", ANSWER), chat("why is my router slow", "Sure! " + ANSWER)]
    out = dedup(frame_of(tmp_path, input=records), context(near=False))
    assert out["status"].to_list() == ["ok", "ok"]
    assert out["cluster_id"].null_count() == 2


def test_findings_count_groups(tmp_path: Path) -> None:
    records = [
        chat("Why is my router slow?", ANSWER),
        chat("why is my router slow", "Sure! " + ANSWER),
        chat("Hi", "Hello there, how can I help?"),
    ]
    ctx = context()
    dedup(frame_of(tmp_path, input=records), ctx)
    found = ctx.findings["near_dedup"]
    assert (found["groups"], found["records_in_groups"], found["rejected_near"], found["largest_group"]) == (
        1,
        2,
        1,
        2,
    )
    assert found["settings"]["threshold"] == 0.5


@pytest.mark.parametrize(
    "setting",
    [
        {"shingle": 0},
        {"shingle": 9},
        {"num_perm": 100},
        {"threshold": 0.0},
        {"threshold": 1.5},
        {"text": "system"},
    ],
)
def test_bad_settings_are_config_errors(setting: dict) -> None:
    with pytest.raises(ConfigError) as error:
        context(**setting)
    assert next(iter(setting)) in str(error.value)


def test_stage_name_is_the_timings_key() -> None:
    from curate.engines.recipe import STAGES

    assert ("near_dedup", near_dedup.run) in STAGES
