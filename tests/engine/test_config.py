"""curate.toml and train.toml through one loader: what a wrong file is told, what a right one means."""

from __future__ import annotations

import json
import tomllib
import typing
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from curate.core.config import CurateConfig, DedupSection, load_config
from curate.core.errors import ConfigError, CurateError
from curate.core.settings import Settings, describe, walk_fields
from tests.conftest import SAMPLES
from train.config import TrainConfig

MODELS: list[type[BaseModel]] = [CurateConfig, TrainConfig]


def _sections(root: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    return [
        (name, info.annotation)
        for name, info in root.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, Settings)
    ]


def _scalar_fields(root: type[BaseModel], kind: type) -> list[tuple[str, str]]:
    """(section, key) of every field of exactly this type, for the curate.toml tables."""
    return [
        (section, name)
        for section, model in _sections(root)
        for name, info in model.model_fields.items()
        if typing.get_origin(info.annotation) is None and info.annotation is kind
    ]


# ---------------------------------------------------------------- documentation


@pytest.mark.parametrize("root", MODELS, ids=lambda m: m.__name__)
def test_every_field_has_a_description(root: type[BaseModel]) -> None:
    undocumented = [name for name, info in walk_fields(root) if not (info.description or "").strip()]
    assert undocumented == [], f"fields without a docstring: {undocumented}"


@pytest.mark.parametrize("root", MODELS, ids=lambda m: m.__name__)
def test_every_default_passes_its_own_checks(root: type[BaseModel]) -> None:
    defaults = root()
    again = root.model_validate(defaults.model_dump())
    assert again.model_dump() == defaults.model_dump()


def test_the_sample_config_lists_every_field() -> None:
    """samples/curate.toml is the user's reference: every key appears there with its comment."""
    sample = tomllib.loads((SAMPLES / "curate.toml").read_text(encoding="utf-8"))
    missing = []
    for name, _ in walk_fields(CurateConfig):
        if name.startswith("gates.") and name.count(".") > 1:
            continue  # a gate's warn and fail are optional by design
        table: Any = sample
        for part in name.split("."):
            if part not in table:
                missing.append(name)
                break
            table = table[part]
    assert missing == [], f"samples/curate.toml lacks {missing}"


def test_describe_says_the_bounds_in_words() -> None:
    size = typing.Annotated[int, Field(ge=1)] | typing.Literal["auto"]  # the shape of a sizing field
    assert describe(size) == 'an integer of at least 1 or one of "auto"'
    fields = DedupSection.model_fields
    assert describe(fields["threshold"].annotation, fields["threshold"]) == "a number above 0 and at most 1"
    assert describe(fields["shingle"].annotation, fields["shingle"]) == "an integer between 1 and 8"
    assert describe(fields["text"].annotation, fields["text"]) == 'one of "all", "user", "assistant"'
    assert describe(fields["exact"].annotation, fields["exact"]) == "true or false"


# ---------------------------------------------------------------- what a wrong file is told


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    path = tmp_path / "curate.toml"
    path.write_text('[dedup]\nthreshold = "high"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.problems == ['[dedup] threshold: expected a number above 0 and at most 1, got "high"']
    assert str(error.value).startswith(f"{path}: [dedup] threshold")


@given(
    field=st.sampled_from(_scalar_fields(CurateConfig, float) + _scalar_fields(CurateConfig, int)),
    text=st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12),
)
@settings(max_examples=60, deadline=None)
def test_a_string_where_a_number_belongs_is_named_with_its_value(field: tuple[str, str], text: str) -> None:
    """Strict numbers: "0.5" in quotes is a string, told back as the user wrote it."""
    section, key = field
    with pytest.raises(ConfigError) as error:
        load_config(None, {section: {key: text}})
    (problem,) = error.value.problems
    assert problem.startswith(f"[{section}] {key}: expected ")
    assert problem.endswith(f", got {json.dumps(text, ensure_ascii=False)}")


@given(field=st.sampled_from(_scalar_fields(CurateConfig, int)))
def test_true_is_not_an_integer(field: tuple[str, str]) -> None:
    section, key = field
    with pytest.raises(ConfigError, match=rf"\[{section}\] {key}: expected an integer.*, got true"):
        load_config(None, {section: {key: True}})


def test_an_int_is_a_number_and_stays_one_in_the_manifest() -> None:
    config = load_config(None, {"dedup": {"threshold": 1}, "gates": {"min_train": {"warn": 50}}})
    assert config.dedup.threshold == 1.0 and isinstance(config.dedup.threshold, float)
    assert config.as_dict()["gates"]["min_train"] == {"warn": 50.0, "fail": None}


@st.composite
def _typo(draw: st.DrawFn) -> tuple[str, str, str]:
    """(section, key, the key with one letter dropped or two neighbours swapped)."""
    section, model = draw(st.sampled_from(_sections(CurateConfig)))
    key = draw(st.sampled_from([k for k in model.model_fields if len(k) >= 6]))
    i = draw(st.integers(1, len(key) - 2))
    typo = key[:i] + key[i + 1 :] if draw(st.booleans()) else key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    return section, key, typo


@given(_typo())
@settings(max_examples=80, deadline=None)
def test_unknown_key_suggests_the_close_match(case: tuple[str, str, str]) -> None:
    section, key, typo = case
    if typo == key:
        return  # swapping two equal letters changes nothing
    with pytest.raises(ConfigError) as error:
        load_config(None, {section: {typo: 1}})
    (problem,) = error.value.problems
    assert problem.startswith(f"[{section}] {typo}: unknown key; did you mean [{section}] ")
    suggested = problem.rsplit(" ", 1)[1].rstrip("?")
    model = dict(_sections(CurateConfig))[section]
    assert suggested in model.model_fields  # the key itself, or a sibling as close to the typo


def test_unknown_key_examples(tmp_path: Path) -> None:
    path = tmp_path / "curate.toml"
    path.write_text("[dedupe]\nthreshold = 0.5\n[dedup]\ntreshold = 0.5\n[gates]\nspeed = { fail = 1 }\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.problems == [
        "[dedup] treshold: unknown key; did you mean [dedup] threshold?",
        "[gates] speed: unknown key (known: invalid_rate, duplicate_rate, low_quality_rate, "
        "rejected_rate, leakage_count, leakage_rejected_rate, min_train, min_eval, tokens, "
        "general_share, general_shortfall, chosen_longer_share, identical_pair_rate, baseline_margin)",
        "[dedupe]: unknown table; did you mean [dedup]?",
    ]


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "curate.toml"
    path.write_text(
        'colour = "blue"\n'
        '[build]\ninputs = "chats.jsonl"\nformats = { "old.json" = "sharegp" }\n'
        "[dedup]\nnum_perm = 100\nsemantic_batch_size = 0\n"
        '[quality]\nreject_flags = ["quality.pii", "quality.rude"]\n[quality.weights]\npii = 1.5\n'
        "[mix]\nratio = 1\n"
        "[gates.tokens]\nmedian = { warn = 10 }\n"
    )
    with pytest.raises(ConfigError) as error:
        load_config(path)
    problems = error.value.problems
    assert problems[:-1] == [
        '[build] inputs: expected a list of strings, got "chats.jsonl"',
        '[build] formats."old.json": expected one of "auto", "chat", "sharegpt", "alpaca", got "sharegp"',
        "[dedup] num_perm: expected a power of two between 8 and 1024, got 100",
        "[dedup] semantic_batch_size: expected an integer of at least 1, got 0",
        problems[4],  # the registry's quality codes, listed
        "[quality] weights.pii: expected a number between 0 and 1, got 1.5",
        "[mix] ratio: expected a number of at least 0 and below 1, got 1",
        "[gates] tokens: expected percentile keys like p50, p95, p99.9 (not median), "
        'got {"median": {"warn": 10}}',
    ]
    assert problems[4].startswith("[quality] reject_flags[1]: expected a quality flag code (quality.")
    assert problems[4].endswith('got "quality.rude"') and "quality.pii" in problems[4]
    assert problems[-1].startswith("colour: unknown key (known: build, validate,")
    assert str(error.value).startswith(f"{path}: 9 problems: ") and "\n" not in str(error.value)


def test_bad_toml_and_missing_file_are_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "curate.toml"
    path.write_text("[dedup\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(CurateError, match=r"nope.toml: no such config file \(check the path"):
        load_config(tmp_path / "nope.toml")


def test_the_cli_prints_one_line_and_exits_2(tmp_path: Path, run_curate) -> None:
    path = tmp_path / "curate.toml"
    path.write_text('[build]\ninputs = ["x.jsonl"]\n[dedup]\ntreshold = 0.5\n[split]\nseed = "one"\n')
    code, _, err = run_curate("build", path)
    assert code == 2
    assert err.strip() == (
        f'curate: error: {path}: [split] seed: expected an integer, got "one"; '
        "[dedup] treshold: unknown key; did you mean [dedup] threshold? (fix the config and run again)"
    )


# ---------------------------------------------------------------- what a right file means


def test_loader_keeps_the_manifest_config_and_hash() -> None:
    """The manifest records as_dict() and hash(): a loader change must not move them.

    Update the hashes only when a field is added or a default changes on purpose (and say so).
    """
    defaults = load_config(None)
    assert defaults.as_dict()["gates"]["min_train"] == {"warn": 100, "fail": 10}  # ints, as written
    assert orjson.dumps(defaults.as_dict()["gates"]["min_train"]) == b'{"warn":100,"fail":10}'
    # [build] kind and the pair gates (chosen_longer_share, identical_pair_rate), [build] engine and
    # [ray] added on purpose
    assert defaults.hash() == "9a8c048a1b82c687"
    assert load_config(SAMPLES / "curate.toml").hash() == "4ec6a41788500ee1"


def test_manifest_gates_load_back() -> None:
    """`curate check` without --config re-reads the gates from the manifest's JSON."""
    gates = orjson.loads(orjson.dumps(load_config(SAMPLES / "curate.toml").as_dict()))["gates"]
    assert load_config(None, {"gates": gates}).gates == load_config(SAMPLES / "curate.toml").gates


def test_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = tmp_path / "project" / "conf"
    config_dir.mkdir(parents=True)
    path = config_dir / "curate.toml"
    path.write_text('[build]\ninputs = ["../data/in.jsonl", "hf:org/set", "/abs/x.jsonl"]\n')
    monkeypatch.chdir(tmp_path)
    config = load_config(Path("project/conf/curate.toml"))
    assert config.build.inputs[0] == "../data/in.jsonl"  # recorded as written
    assert [config.resolve(p) for p in config.build.inputs] == [
        str(Path("project") / "data" / "in.jsonl"),
        "hf:org/set",
        "/abs/x.jsonl",
    ]
    assert config.resolve(config.review.db) == str(Path("project") / "conf" / "reviews.sqlite")


def _chat(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"How do I pair remote number {i} with the hub in the hallway?"},
            {
                "role": "assistant",
                "content": f"Hold button {i} for five seconds until the light blinks twice.",
            },
        ]
    }


def test_a_build_reads_file_paths_from_the_config_folder_and_flags_from_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_curate
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "in.jsonl").write_bytes(b"".join(orjson.dumps(_chat(i)) + b"\n" for i in range(30)))
    (project / "conf").mkdir()
    config = project / "conf" / "curate.toml"
    config.write_text(
        '[build]\nname = "b"\nout = "../builds"\ninputs = ["../data/in.jsonl"]\n'
        '[validate]\ntokenizer = "estimate"\n[review]\napply = false\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = run_curate("build", config)
    assert code == 0, err
    (read,) = orjson.loads((project / "builds" / "b" / "manifest.json").read_bytes())["inputs"]
    assert Path(read["path"]).resolve() == project / "data" / "in.jsonl" and read["records"] == 30
    # a flag's path is the working directory's
    (elsewhere / "more.jsonl").write_bytes(orjson.dumps(_chat(99)) + b"\n")
    code, _, err = run_curate("build", config, "--input", "more.jsonl", "--out", "flagged")
    assert code == 0, err
    manifest = orjson.loads((elsewhere / "flagged" / "manifest.json").read_bytes())
    assert manifest["config"]["build"]["inputs"] == [str(elsewhere / "more.jsonl")]
