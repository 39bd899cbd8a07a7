"""The build end to end through the CLI: every input kind, bad input, and whole accounting."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.core.frame import WRITTEN_REASONS_DTYPE

CHAT = {
    "messages": [
        {"role": "user", "content": "How do I reset my thermostat?"},
        {"role": "assistant", "content": "Hold the dial for ten seconds until it blinks."},
    ]
}


WORDS = [
    "thermostat",
    "boiler",
    "radiator",
    "tariff",
    "invoice",
    "refund",
    "warranty",
    "engineer",
    "schedule",
    "battery",
    "hub",
    "sensor",
    "app",
    "password",
    "meter",
    "reading",
    "solar",
    "panel",
    "export",
    "heat",
    "pump",
    "valve",
    "pressure",
    "frost",
    "timer",
    "holiday",
    "mode",
    "account",
    "payment",
    "direct",
    "debit",
    "credit",
    "balance",
    "smart",
    "plug",
    "firmware",
    "update",
    "reset",
    "pairing",
    "bluetooth",
    "wifi",
    "router",
    "signal",
    "range",
    "installer",
    "visit",
    "kitchen",
    "bathroom",
    "hallway",
    "bedroom",
    "garage",
    "loft",
    "cable",
    "screw",
    "bracket",
    "wall",
]


def chat(i: int) -> dict:
    """A conversation that shares no more than chance words with any other index (no near-duplicates)."""
    import random

    rng = random.Random(i)
    question = " ".join(rng.sample(WORDS, 12))
    answer = " ".join(rng.sample(WORDS, 16))
    return {
        "id": f"r{i}",
        "messages": [
            {"role": "user", "content": f"Why is my {question}?"},
            {"role": "assistant", "content": f"Because {answer}."},
        ],
    }


def write_jsonl(path: Path, lines: list[bytes | str | dict]) -> Path:
    with path.open("wb") as handle:
        for line in lines:
            data = orjson.dumps(line) if isinstance(line, dict) else line
            handle.write(data.encode() if isinstance(data, str) else data)
            handle.write(b"\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def assert_accounted(build: Path, expected_records: int) -> dict:
    """Every record is in exactly one of train, eval, general_eval, rejected (or protected)."""
    manifest = orjson.loads((build / "manifest.json").read_bytes())
    status = manifest["counts"]["by_status"]
    written = sum(len(read_jsonl(build / name)) for name in ("train.jsonl", "eval.jsonl", "rejected.jsonl"))
    if (build / "general_eval.jsonl").exists():
        written += len(read_jsonl(build / "general_eval.jsonl"))
    assert written + status.get("protected", 0) == expected_records
    assert sum(status.values()) == expected_records == manifest["counts"]["records"]
    assert sum(i["records"] for i in manifest["inputs"]) == expected_records
    assert sum(manifest["counts"]["by_first_reason"].values()) == status.get("rejected", 0)
    frame = pl.read_parquet(build / "examples.parquet")
    assert frame.height == expected_records
    # categorical in the build's memory; the file holds plain strings, nested ones included
    assert frame.schema["reasons"] == frame.schema["flags"] == WRITTEN_REASONS_DTYPE
    assert not [name for name, dtype in frame.schema.items() if dtype == pl.Categorical]
    assert frame.select(pl.struct("source", "line").n_unique()).item() == expected_records
    return manifest


def test_bad_lines_are_rejected_with_reasons_and_the_build_goes_on(tmp_path: Path, run_curate) -> None:
    lines: list[bytes | str | dict] = [chat(i) for i in range(20)]
    lines += [
        b'{"messages": [{"role": "user", "content": "trunc',
        b'{"messages": [], }',
        b"\xef\xbb\xbf" + orjson.dumps(chat(100)),
        orjson.dumps(chat(101)) + b"\r",
        b'{"messages": [{"role": "user", "content": "a\\u0000b"}, {"role": "assistant", "content": "x"}]}',
        b'{"x": NaN}',
        b"[" * 3000 + b"]" * 3000,
        b'{"messages": [{"role": "user", "content": "' + b"z" * 3_000_000 + b'"}]}',
        b"\xc3\x28 invalid utf8",
        b"   ",
        {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "wrong type"}]},
        {"messages": [{"role": "robot", "content": "hi"}, {"role": "assistant", "content": "x"}]},
        b"42",
    ]
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    config = tmp_path / "curate.toml"
    config.write_text('[build]\ninputs = ["in.jsonl"]\nname = "b"\n[validate]\nmax_line_bytes = 1000000\n')
    code, out, err = run_curate("build", config)
    assert code == 0, err
    build = tmp_path / "build" / "b"
    manifest = assert_accounted(build, len(lines) - 1)  # the blank line holds no record
    assert manifest["inputs"][0]["blank_lines"] == 1
    rejected = {r["line"]: r for r in read_jsonl(build / "rejected.jsonl")}
    expected = {
        21: "schema.invalid-json",
        22: "schema.invalid-json",
        25: "schema.invalid",
        26: "schema.invalid-json",
        27: "schema.too-deep",
        28: "schema.line-too-long",
        29: "schema.invalid-utf8",
        31: "schema.invalid",
        32: "schema.unknown-role",
        33: "schema.not-object",
    }
    for line, code_ in expected.items():
        assert rejected[line]["reasons"][0]["code"] == code_, line
        assert rejected[line]["source"] == str(source)
    assert "raw" in rejected[21] and "example" in rejected[31]
    assert rejected[31]["source_id"] is None
    assert 23 not in rejected and 24 not in rejected  # BOM and CRLF lines are fine
    assert f"{source}:21" in err  # the terminal lists problems with file:line
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "kind", ["jsonl.gz", "json-array", "parquet", "sharegpt-json", "alpaca-jsonl", "hf-disk"]
)
def test_every_input_kind(tmp_path: Path, run_curate, kind: str) -> None:
    rows = [chat(i) for i in range(30)]
    if kind == "jsonl.gz":
        path = tmp_path / "in.jsonl.gz"
        with gzip.open(path, "wb") as handle:
            handle.write(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    elif kind == "json-array":
        path = tmp_path / "in.json"
        path.write_bytes(orjson.dumps(rows))
    elif kind == "parquet":
        path = tmp_path / "in.parquet"
        pl.DataFrame(rows).write_parquet(path)
    elif kind == "sharegpt-json":
        path = tmp_path / "in.json"
        sharegpt = [
            {
                "conversations": [
                    {"from": "human" if m["role"] == "user" else "gpt", "value": m["content"]}
                    for m in r["messages"]
                ]
            }
            for r in rows
        ]
        path.write_text(json.dumps(sharegpt, indent=2))
    elif kind == "alpaca-jsonl":
        path = tmp_path / "in.jsonl"
        write_jsonl(
            path,
            [
                {
                    "instruction": r["messages"][0]["content"],
                    "input": "",
                    "output": r["messages"][1]["content"],
                }
                for r in rows
            ],
        )
    else:
        import datasets

        path = tmp_path / "saved"
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    code, _, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 0, err
    manifest = assert_accounted(tmp_path / "b", 30)
    assert manifest["counts"]["by_status"].get("rejected", 0) == 0
    # The same conversations get the same ids whatever the container or format.
    ids = {r["id"] for name in ("train.jsonl", "eval.jsonl") for r in read_jsonl(tmp_path / "b" / name)}
    from curate.ingest.validate import check_record

    assert ids == {check_record(r).id for r in rows}


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p, "no such file"),
        (lambda p: (p.mkdir(), p)[1], "is a folder"),
        (lambda p: (p.write_bytes(b""), p)[1], "is empty"),
        (lambda p: (p.write_bytes(bytes(range(256)) * 40), p)[1], "not a text file"),
    ],
    ids=["missing", "folder", "empty", "binary"],
)
def test_unreadable_input_exits_2_with_one_line(tmp_path: Path, run_curate, setup, message: str) -> None:
    path = setup(tmp_path / "input.jsonl")
    code, out, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]
    assert not (tmp_path / "b").exists()


def test_config_problems_are_reported_at_once(tmp_path: Path, run_curate) -> None:
    config = tmp_path / "curate.toml"
    config.write_text('[build]\ninputs = "x"\nbogus = 1\n[split]\neval_fraction = "half"\n')
    code, _, err = run_curate("build", config)
    assert code == 2
    assert (
        '[build] inputs: expected a list of strings, got "x"' in err
        and "[build] bogus: unknown key" in err
        and '[split] eval_fraction: expected a number between 0 and 1, got "half"' in err
    )


def test_duplicate_group_never_straddles_and_eval_fraction(tmp_path: Path, run_curate) -> None:
    rows = [chat(i) for i in range(400)]
    rows += [dict(chat(i), id=f"copy{i}") for i in range(0, 400, 10)]  # 40 exact copies
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    code, _, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 0, err
    manifest = assert_accounted(tmp_path / "b", 440)
    assert manifest["counts"]["by_reason"]["dedup.exact"] == 40
    eval_n = manifest["counts"]["by_status"]["eval"]
    assert 5 <= eval_n <= 40  # about 5% of 400
    rejected = read_jsonl(tmp_path / "b" / "rejected.jsonl")
    assert all(r["reasons"][0]["ref"] for r in rejected)  # names the kept record
    frame = pl.read_parquet(tmp_path / "b" / "examples.parquet")
    groups = frame.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").agg(pl.col("status"))
    assert groups.height == 40
    assert all(sorted(s) in (["rejected", "train"], ["eval", "rejected"]) for s in groups["status"].to_list())


def test_eval_copy_in_training_keeps_the_eval_item(tmp_path: Path, run_curate) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", [chat(i) for i in range(10)])
    held = write_jsonl(tmp_path / "eval.jsonl", [chat(3), chat(50)])
    code, _, err = run_curate("build", "--input", train, "--eval", held, "--out", tmp_path / "b")
    assert code == 0, err
    manifest = assert_accounted(tmp_path / "b", 12)
    assert manifest["counts"]["by_status"] == {"eval": 2, "rejected": 1, "train": 9}
    (rejected,) = read_jsonl(tmp_path / "b" / "rejected.jsonl")
    assert rejected["source"] == str(train) and "eval record" in rejected["reasons"][0]["message"]


def test_failed_build_leaves_previous_build_intact(tmp_path: Path, run_curate, monkeypatch) -> None:
    path = write_jsonl(tmp_path / "in.jsonl", [chat(i) for i in range(5)])
    assert run_curate("build", "--input", path, "--out", tmp_path / "b")[0] == 0
    before = (tmp_path / "b" / "manifest.json").read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("curate.output.writers.write_build", explode)
    code, _, err = run_curate("build", "--input", path, "--out", tmp_path / "b")
    assert code == 3 and "disk full" in err
    assert (tmp_path / "b" / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b")] == []


def test_outputs_load_with_datasets(tmp_path: Path, run_curate) -> None:
    import datasets

    path = write_jsonl(tmp_path / "in.jsonl", [chat(i) for i in range(50)])
    assert run_curate("build", "--input", path, "--out", tmp_path / "b")[0] == 0
    loaded = datasets.load_dataset("json", data_files=str(tmp_path / "b" / "train.jsonl"), split="train")
    assert len(loaded) == len(read_jsonl(tmp_path / "b" / "train.jsonl"))
    assert loaded[0]["messages"][0]["role"] == "user"


def test_help_of_every_command_has_an_example(run_curate) -> None:
    from curate.cli import COMMANDS, make_parser

    parser = make_parser()
    for command in COMMANDS:
        name = command.__name__.rsplit(".", 1)[-1]
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])
    for command in COMMANDS:
        name = command.__name__.rsplit(".", 1)[-1]
        sub = parser._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        assert "Example usage" in (sub.epilog or ""), name
