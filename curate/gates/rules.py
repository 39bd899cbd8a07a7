"""Quality gates: measure a build and hold each measure against its warn and fail levels.

The library behind ``curate check`` (and ``curate build --check``): ``measure`` turns a build's
frame and manifest into plain numbers, ``evaluate`` judges them against ``[gates]`` and, given a
baseline build's numbers, flags rates that got worse. Renderers live in ``curate/gates/outputs.py``.

Rates are shares of the *domain* records (origins input and eval): general data is a supplement
the user does not curate, and benchmarks are protected items, so neither dilutes nor inflates them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl

from curate.core.config import BandLevels, GateLevels, GatesSection, load_config
from curate.core.errors import ConfigError, InputError
from curate.output.build_folder import read_examples, read_manifest, require_build

Status = Literal["pass", "warn", "fail", "skip"]
Direction = Literal["max", "min"]
Unit = Literal["rate", "count", "tokens"]

SEVERITY: Final[dict[str, int]] = {"skip": 0, "pass": 0, "warn": 1, "fail": 2}
DOMAIN_ORIGINS: Final = ("input", "eval")
OUTPUT_STATUSES: Final = ("train", "general_eval")  # what a trainer consumes; eval may match an eval item
DEFAULT_PERCENTILES: Final = ("p50", "p90", "p95", "p99")
PERCENTILE_KEY: Final = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")

# Columns the measures read; anything else in examples.parquet (the text) stays on disk.
FRAME_COLUMNS: Final = ("origin", "status", "reasons", "flags", "tokens", "quality_score", "split")


@dataclass(frozen=True)
class GateSpec:
    name: str
    direction: Direction  # max: a value above a level is bad; min: below
    unit: Unit
    what: str  # one line for reports and JUnit


GATES: Final[tuple[GateSpec, ...]] = (
    GateSpec("invalid_rate", "max", "rate", "domain records rejected by validation (schema.*, length.*)"),
    GateSpec("duplicate_rate", "max", "rate", "domain records rejected as duplicates (dedup.*)"),
    GateSpec("low_quality_rate", "max", "rate", "domain records rejected with quality.low-score"),
    GateSpec("rejected_rate", "max", "rate", "domain records rejected for any reason"),
    GateSpec("leakage_count", "max", "count", "train or general_eval records matching a protected item"),
    GateSpec("leakage_rejected_rate", "max", "rate", "domain records rejected by the leakage stage"),
    GateSpec("min_train", "min", "count", "records in train.jsonl"),
    GateSpec("min_eval", "min", "count", "records in eval.jsonl"),
    GateSpec("general_share", "max", "rate", "share of train records drawn from general data"),
    GateSpec("general_shortfall", "max", "rate", "configured mix ratio minus the general share reached"),
)

# Rates a baseline comparison watches: each is "bad when higher".
BASELINE_RATES: Final = (
    "invalid_rate",
    "duplicate_rate",
    "low_quality_rate",
    "rejected_rate",
    "leakage_rejected_rate",
)


@dataclass
class GateResult:
    name: str
    status: Status
    value: float | None
    warn: float | None
    fail: float | None
    direction: Direction
    unit: Unit
    message: str
    baseline: float | None = None  # the baseline build's value, for baseline.* gates

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GateReport:
    build: str
    config_from: str  # "manifest" or the --config path
    results: list[GateResult]
    measures: dict[str, Any]
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status:
        worst = max((SEVERITY[r.status] for r in self.results), default=0)
        statuses: tuple[Status, ...] = ("pass", "warn", "fail")
        return statuses[worst]

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "fail" else 0

    def tally(self) -> dict[str, int]:
        tally = {"pass": 0, "warn": 0, "fail": 0, "skip": 0}
        for result in self.results:
            tally[result.status] += 1
        return tally

    def as_dict(self) -> dict[str, Any]:
        return {
            "build": self.build,
            "status": self.status,
            "config_from": self.config_from,
            "baseline": self.baseline,
            "tally": self.tally(),
            "gates": [r.as_dict() for r in self.results],
            "measures": self.measures,
            "notes": self.notes,
        }


# ---------------------------------------------------------------- measuring


def load_frame(build: Path) -> pl.DataFrame:
    """The columns of examples.parquet the measures need; a missing or broken file is one line."""
    return read_examples(build, FRAME_COLUMNS, prefixes=("leak_",))


def percentile_keys(gates: GatesSection) -> list[str]:
    keys = dict.fromkeys([*DEFAULT_PERCENTILES, *gates.tokens])
    for key in keys:
        if not PERCENTILE_KEY.match(key):
            raise InputError(
                f"gates.tokens.{key} is not a percentile like p95", None, "use keys p50, p95, p99 ..."
            )
    return sorted(keys, key=lambda k: float(k[1:]))


def _codes(column: str) -> pl.Expr:
    return pl.col(column).list.eval(pl.element().struct.field("code"))


def _has_prefix(column: str, prefix: str) -> pl.Expr:
    return _codes(column).list.eval(pl.element().str.starts_with(prefix)).list.any().fill_null(False)


def leaked_expr(columns: list[str]) -> pl.Expr:
    """Rows the leakage stage marked without rejecting (a reason kept by a reviewer's accept, a flag,
    or a leak_* match column filled in)."""
    marks = [_has_prefix("reasons", "leakage.")]
    if "flags" in columns:
        marks.append(_has_prefix("flags", "leakage."))
    for name in columns:
        if name.startswith("leak_"):
            marks.append(_filled(pl.col(name)))
    return pl.any_horizontal(marks)


def _filled(column: pl.Expr) -> pl.Expr:
    # A leak_* column marks a match by a non-null, non-false, non-empty value, whatever its type.
    as_text = column.cast(pl.Utf8, strict=False)
    return (column.is_not_null() & ~as_text.is_in(["false", "", "0", "[]"])).fill_null(False)


def leakage_methods_note(methods: list[str] | None) -> str:
    """Which leakage methods ran, and what that leaves unlooked-for: a count of 0 without the
    semantic check means no copy was found by words, not that no reworded copy is there."""
    if not methods:
        return "methods not recorded in this build"
    said = f"checked by {', '.join(methods)}"
    if "semantic" not in methods:
        said += "; reworded copies not looked for (semantic check off: build with --semantic)"
    return said


def leakage_checked(findings: dict[str, Any], columns: list[str]) -> bool:
    """Whether the leakage stage looked at this build: a stage turned off still adds its (empty)
    leak_* columns, so its finding's ``enabled: false`` wins over the columns."""
    finding = findings.get("leakage")
    if isinstance(finding, dict) and finding.get("enabled") is False:
        return False
    return finding is not None or any(name.startswith("leak_") for name in columns)


def measure(
    frame: pl.DataFrame, manifest: dict[str, Any], percentiles: list[str] | None = None
) -> dict[str, Any]:
    """Plain numbers about a build; a measure the build could not take is None with a note saying why."""
    columns = frame.columns
    status = pl.col("status")
    domain = pl.col("origin").is_in(DOMAIN_ORIGINS)
    rejected = domain & (status == "rejected")
    stages = pl.col("reasons").list.eval(pl.element().struct.field("stage"))
    exprs = {
        "records": pl.len(),
        "domain": domain.sum(),
        "invalid": (rejected & stages.list.contains("validate").fill_null(False)).sum(),
        "duplicates": (rejected & _has_prefix("reasons", "dedup.")).sum(),
        "low_quality": (
            rejected & _codes("reasons").list.contains("quality.low-score").fill_null(False)
        ).sum(),
        "rejected": rejected.sum(),
        "leakage_rejected": (rejected & _has_prefix("reasons", "leakage.")).sum(),
        "train": (status == "train").sum(),
        "eval": (status == "eval").sum(),
        "general_eval": (status == "general_eval").sum(),
        "train_general": ((status == "train") & (pl.col("origin") == "general")).sum(),
        "leaked": (status.is_in(OUTPUT_STATUSES) & leaked_expr(columns)).sum(),
        "protected_items": status.is_in(["protected", "eval"]).sum(),
        "general": (pl.col("origin") == "general").sum(),
    }
    row = frame.select(**{name: expr.cast(pl.Int64) for name, expr in exprs.items()}).row(0, named=True)
    findings = manifest.get("findings") or {}
    notes: dict[str, str] = {}
    out: dict[str, Any] = {key: int(value) for key, value in row.items()}

    def rate(numerator: int, measured: bool, why: str, name: str) -> float | None:
        if not measured:
            notes[name] = why
            return None
        if row["domain"] == 0:
            notes[name] = "no domain records"
            return None
        return float(numerator / row["domain"])

    dedup_ran = any(key in findings for key in ("exact_dedup", "near_dedup")) or "cluster_id" in columns
    dedup_config = (manifest.get("config") or {}).get("dedup") or {}
    if dedup_config and not any(dedup_config.get(key) for key in ("exact", "near", "semantic")):
        dedup_ran = False  # groups are still found, but nothing is rejected: the rate would read 0
    quality_ran = "quality" in findings or "quality_score" in columns
    leakage_ran = leakage_checked(findings, columns)
    out["invalid_rate"] = rate(row["invalid"], True, "", "invalid_rate")
    out["duplicate_rate"] = rate(
        row["duplicates"], dedup_ran, "dedup did not run or is turned off", "duplicate_rate"
    )
    out["low_quality_rate"] = rate(
        row["low_quality"], quality_ran, "the quality stage did not score", "low_quality_rate"
    )
    out["rejected_rate"] = rate(row["rejected"], True, "", "rejected_rate")
    out["leakage_rejected_rate"] = rate(
        row["leakage_rejected"], leakage_ran, "the leakage stage did not run", "leakage_rejected_rate"
    )
    out["leakage_count"] = row["leaked"] if leakage_ran else None
    out["leakage_methods"] = (findings.get("leakage") or {}).get("methods")
    if leakage_ran:
        notes["leakage_count"] = leakage_methods_note(out["leakage_methods"])
    if not leakage_ran:
        notes["leakage_count"] = (
            f"the leakage stage did not run: {row['protected_items']:,} eval and benchmark items unchecked"
        )
    out["min_train"] = row["train"]
    out["min_eval"] = row["eval"]
    out["general_share"] = row["train_general"] / row["train"] if row["train"] else None
    if not row["train"]:
        notes["general_share"] = "no train records"
    ratio = ((manifest.get("config") or {}).get("mix") or {}).get("ratio")
    out["general_shortfall"] = None
    if not row["general"]:
        notes["general_shortfall"] = "no general data in this build"  # the mix ratio applies only with some
    elif not isinstance(ratio, int | float):
        notes["general_shortfall"] = "no mix ratio in the manifest"
    elif out["general_share"] is None:
        notes["general_shortfall"] = "no train records"
    else:
        out["general_shortfall"] = max(0.0, float(ratio) - out["general_share"])
    out["mix_ratio"] = ratio
    out.update(pair_measures(findings))
    out["tokens"] = _percentiles(frame, percentiles or list(DEFAULT_PERCENTILES))
    if out["tokens"] is None:
        notes["tokens"] = "no token counts for train records"
    out["notes"] = notes
    return out


def _percentiles(frame: pl.DataFrame, keys: list[str]) -> dict[str, float] | None:
    if "tokens" not in frame.columns:
        return None
    tokens = frame.filter(pl.col("status") == "train").select(pl.col("tokens").drop_nulls())
    if tokens.height == 0:
        return None
    row = tokens.select(
        **{key: pl.col("tokens").quantile(float(key[1:]) / 100, "linear") for key in keys}
    ).row(0, named=True)
    return {key: round(float(value), 1) for key, value in row.items()}


# ---------------------------------------------------------------- judging


def fmt(value: float | None, unit: Unit) -> str:
    if value is None:
        return "n/a"
    if unit == "rate":
        return f"{value * 100:.1f} %"
    if unit == "tokens":
        return f"{value:,.0f}"
    return f"{value:,.0f}"


def judge(value: float | None, levels: GateLevels, direction: Direction) -> Status:
    if value is None:
        return "skip"

    def beyond(level: float | None) -> bool:
        return level is not None and (value > level if direction == "max" else value < level)

    if beyond(levels.fail):
        return "fail"
    if beyond(levels.warn):
        return "warn"
    return "pass"


def _gate_result(
    spec: GateSpec, value: Any, levels: GateLevels, note: Any, force_warn: bool = False
) -> GateResult:
    status = "warn" if force_warn else judge(value, levels, spec.direction)
    return GateResult(
        spec.name,
        status,
        value,
        levels.warn,
        levels.fail,
        spec.direction,
        spec.unit,
        _message(spec, value, levels, status, note),
    )


def _message(
    spec: GateSpec, value: float | None, levels: GateLevels, status: Status, note: str | None
) -> str:
    if value is None:
        return f"not measured: {note or 'no data'}"
    word = "above" if spec.direction == "max" else "below"
    limits = [
        f"{name} {word} {fmt(level, spec.unit)}"
        for name, level in (("warn", levels.warn), ("fail", levels.fail))
        if level is not None
    ]
    text = f"{fmt(value, spec.unit)}: {spec.what}"
    if note:  # what the number covers, e.g. which leakage methods ran
        text = f"{text} [{note}]"
    return f"{text} ({'; '.join(limits)})" if limits else f"{text} (no levels set: reported only)"


def evaluate(
    measures: dict[str, Any],
    gates: GatesSection,
    baseline: dict[str, Any] | None = None,
) -> list[GateResult]:
    """Every gate, in a stable order: the fixed gates, token percentiles, then baseline comparisons."""
    notes: dict[str, str] = measures.get("notes", {})
    results: list[GateResult] = []
    for spec in GATES:
        levels: GateLevels = getattr(gates, spec.name)
        value = measures.get(spec.name)
        # An unchecked build with eval or benchmark items is a hole, not a pass.
        unchecked = spec.name == "leakage_count" and value is None and bool(measures.get("protected_items"))
        results.append(_gate_result(spec, value, levels, notes.get(spec.name), force_warn=unchecked))
    if measures.get("kind") == "preference":
        results.extend(pair_gates(measures, gates))
    tokens = measures.get("tokens") or {}
    for key, levels in sorted(gates.tokens.items(), key=lambda item: float(item[0][1:])):
        spec = GateSpec(f"tokens_{key}", "max", "tokens", f"{key} token length of train records")
        results.append(_gate_result(spec, tokens.get(key), levels, notes.get("tokens")))
    if baseline is not None:
        results.extend(compare(measures, baseline, gates.baseline_margin))
    return results


def compare(measures: dict[str, Any], baseline: dict[str, Any], margin: float) -> list[GateResult]:
    """baseline.<rate>: fails when the rate rose by more than ``margin``, warns past half of it."""
    results = []
    levels = GateLevels(warn=margin / 2, fail=margin)
    for name in BASELINE_RATES:
        now, before = measures.get(name), baseline.get(name)
        delta = None if now is None or before is None else now - before
        status = judge(delta, levels, "max")
        if delta is None:
            message = "not measured in this build or the baseline"
        else:
            message = (
                f"{fmt(before, 'rate')} → {fmt(now, 'rate')} ({delta * 100:+.1f} points; "
                f"warn above +{margin * 50:.1f}, fail above +{margin * 100:.1f})"
            )
        results.append(
            GateResult(
                f"baseline.{name}",
                status,
                delta,
                levels.warn,
                levels.fail,
                "max",
                "rate",
                message,
                baseline=before,
            )
        )
    return results


# ---------------------------------------------------------------- preference builds

PAIR_GATES: Final = (
    GateSpec("chosen_longer_share", "max", "rate", "kept pairs whose chosen answer is the longer one"),
    GateSpec("identical_pair_rate", "max", "rate", "valid pairs whose chosen and rejected are the same"),
)


def pair_measures(findings: dict[str, Any]) -> dict[str, Any]:
    """The preference build's measures (none for a chat build, so its gates are unchanged)."""
    preference = findings.get("preference") or {}
    if preference.get("kind") != "preference":
        return {}
    bias = preference.get("length_bias") or {}
    return {
        "kind": "preference",
        "chosen_longer_share": (bias.get("kept") or {}).get("chosen_longer_share"),
        "identical_pair_rate": bias.get("identical_pair_rate"),
    }


def pair_gates(measures: dict[str, Any], gates: GatesSection) -> list[GateResult]:
    longer, identical = PAIR_GATES
    share = measures.get("chosen_longer_share")
    band: BandLevels = gates.chosen_longer_share
    # Judged on the side the value lies: above one half against the upper levels, else the lower.
    high = share is None or share >= 0.5
    spec = GateSpec(longer.name, "max" if high else "min", "rate", longer.what)
    levels = (
        GateLevels(warn=band.warn_above, fail=band.fail_above)
        if high
        else GateLevels(warn=band.warn_below, fail=band.fail_below)
    )
    return [
        _gate_result(spec, share, levels, "no kept pairs"),
        _gate_result(identical, measures.get("identical_pair_rate"), gates.identical_pair_rate, "no pairs"),
    ]


# ---------------------------------------------------------------- a build folder


def gates_of(manifest: dict[str, Any], where: str, config_path: Path | None) -> tuple[GatesSection, str]:
    """The gates to hold a build to: --config's, else the ones the build was made with."""
    if config_path is not None:
        path = config_path / "curate.toml" if config_path.is_dir() else config_path
        return load_config(path).gates, str(path)
    data = (manifest.get("config") or {}).get("gates") or {}
    try:
        return load_config(None, {"gates": data}).gates, "manifest"
    except ConfigError as error:
        raise ConfigError(error.problems, where) from None


def read_build(build: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    require_build(build)
    return read_manifest(build), load_frame(build)


def check_build(build: Path, config_path: Path | None = None, baseline: Path | None = None) -> GateReport:
    """Measure ``build`` and judge it; with ``baseline``, also compare its rates with that build's."""
    manifest, frame = read_build(build)
    gates, config_from = gates_of(manifest, str(build / "manifest.json"), config_path)
    keys = percentile_keys(gates)
    measures = measure(frame, manifest, keys)
    base_measures = None
    if baseline is not None:
        base_manifest, base_frame = read_build(baseline)
        base_measures = measure(base_frame, base_manifest, keys)
    results = evaluate(measures, gates, base_measures)
    report = GateReport(str(build), config_from, results, measures, str(baseline) if baseline else None)
    if base_measures is not None:
        report.measures = {**measures, "baseline": base_measures}
    return report
