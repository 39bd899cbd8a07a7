"""Review: apply reviewers' decisions from the review store (see curate/review/store.py).

Runs after every automatic stage, so a decision can see and override what they did, and before
the mix, so the general share is sized on the reviewed train set. Rules, per example id:

- reject: the row is rejected with ``review.rejected`` (reviewer and note in the message), whatever
  its status; benchmark rows (protected) are never touched.
- accept: a row rejected only by soft quality codes (``quality.*``) is restored to "ok"; its
  original reasons move to ``flags`` and a ``review.accepted`` flag says who overrode them. A
  schema, length, dedup or leakage rejection is never lifted (dedup would put a copy back,
  leakage would train on a protected item): the row gets a ``review.not-overridable`` flag.
- edit: the edited conversation is validated again (curate.review.edits.validate_edit) and replaces
  ``example``, with the same override rule as accept. The row keeps the id the reviewer edited,
  so the decision stays keyed on the next build; its new content id is in the manifest. An edit
  that fails validation is not applied (``review.edit-invalid`` flag).

A restored or edited row is checked again for what the earlier stages would have caught: over
the token limit (``length.too-long``) or an exact copy of another usable row (``dedup.exact``).
- swap (preference pairs): the pair's chosen and rejected answers change places; recorded with
  the resulting pair, so it is applied like an edit (``review.swapped`` flag, id unchanged).

The other row-level checks (quality, near dedup, leakage) run again on edited rows right after
this stage (curate.engines.edit_rechecks: they are other stages' code, which a stage does not
import). A failing edit is rejected with that stage's own code and keeps its ``review.edited`` flag.
The ``review`` column says which decision applied (accepted | rejected | edited | swapped), ``reviewer`` who.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import LABEL, REASONS_DTYPE, canonical_examples, flag, reject
from curate.ingest.store import SPAN_COLUMNS, with_examples
from curate.review.edits import validate_edit
from curate.review.rules import OVERRIDABLE_PREFIX
from curate.review.store import Decision, open_for_build
from curate.stages.tokens import choose_tokenizer, count_tokens

NAME = "review"

MAX_LISTED = 1_000  # ids listed per decision kind in the manifest; the counts are always exact


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    frame = with_review_columns(frame)
    section = ctx.config.review
    path = Path(ctx.config.resolve(section.db))
    if not section.apply:
        ctx.findings[NAME] = {"store": str(path), "applied": False}
        return frame
    decisions = open_for_build(path)
    if decisions is None:
        ctx.findings[NAME] = {"store": str(path), "applied": False, "decisions": 0}
        return frame
    frame, summary = apply_decisions(frame, decisions, ctx)
    ctx.findings[NAME] = {"store": str(path), "applied": True, **summary}
    return frame


def with_review_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The decision and reviewer columns, null until a decision applies. Categorical: nearly all
    null, and a null string still costs 16 bytes a row."""
    return frame.with_columns(review=pl.lit(None, LABEL), reviewer=pl.lit(None, LABEL))


def apply_decisions(
    frame: pl.DataFrame, decisions: dict[str, Decision], ctx: BuildContext
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Apply the decisions in force to the frame; the frame and a JSON-serialisable summary."""
    if "review" not in frame.columns:
        frame = with_review_columns(frame)
    present = set(frame.filter(pl.col("status") != "protected")["id"].to_list())
    in_force = {i: d for i, d in decisions.items() if i in present}
    by_action: dict[str, dict[str, Decision]] = {"accept": {}, "reject": {}, "edit": {}, "swap": {}}
    for example_id, decision in in_force.items():
        by_action[decision.action][example_id] = decision
    summary: dict[str, Any] = {
        "decisions": len(decisions),
        "not_in_build": len(decisions) - len(in_force),
        "not_applied": [],
    }
    frame = frame.with_row_index("_review_row")

    frame, summary["rejected"] = _apply_rejects(frame, by_action["reject"])
    # A swap is an edit of a pair whose answers change places: it carries the swapped pair.
    edits, invalid = _validated_edits(frame, {**by_action["edit"], **by_action["swap"]})
    for example_id, problem in invalid.items():
        summary["not_applied"].append(
            {"id": example_id, "decision": in_force[example_id].action, "why": problem}
        )
    if invalid:
        frame = flag(
            frame,
            _id_in(invalid) & _not_protected(),
            "review.edit-invalid",
            _per_id_message(invalid, "edit not applied: {}"),
        )
    keep = {**by_action["accept"], **{i: e.decision for i, e in edits.items()}}
    frame, restored, blocked = _apply_accepts(frame, keep)
    for example_id in blocked:
        summary["not_applied"].append(
            {"id": example_id, "decision": keep[example_id].action, "why": "rejected by a hard reason"}
        )
    frame, edited = _apply_edits(frame, edits, ctx)
    frame = _recheck(frame, restored, {e["id"] for e in edited}, ctx)
    summary["accepted"] = sorted(set(by_action["accept"]) - set(blocked))
    summary["restored"] = len(restored)
    summary["edited"] = [e for e in edited if e.get("decision") != "swap"]
    swapped = [e for e in edited if e.get("decision") == "swap"]
    if swapped:  # only preference builds have any: chat builds' summaries stay as they were
        summary["swapped"] = swapped
    summary["counts"] = {
        "accepted": len(summary["accepted"]),
        "rejected": len(summary["rejected"]),
        "edited": len(summary["edited"]),
        **({"swapped": len(swapped)} if swapped else {}),
        "not_applied": len(summary["not_applied"]),
    }
    # Edits are listed in full (each changed a training example); bulk accepts and rejects can
    # cover a whole build, so their id lists stop at MAX_LISTED and say so.
    for key in ("accepted", "rejected", "not_applied"):
        if len(summary[key]) > MAX_LISTED:
            summary[key] = summary[key][:MAX_LISTED]
            summary[f"{key}_truncated"] = True
    return frame.drop("_review_row"), summary


def _id_in(ids: dict[str, Any] | set[str]) -> pl.Expr:
    return pl.col("id").is_in(sorted(ids))


def _not_protected() -> pl.Expr:
    return pl.col("status") != "protected"


def _per_id_message(values: dict[str, str], template: str) -> pl.Expr:
    mapping = {key: template.format(value) for key, value in values.items()}
    return pl.col("id").replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def _who(decision: Decision) -> str:
    return f"{decision.reviewer or 'a reviewer'}" + (f": {decision.note}" if decision.note else "")


def _mark(frame: pl.DataFrame, mask: pl.Expr, label: str, decisions: dict[str, Decision]) -> pl.DataFrame:
    reviewers = {i: d.reviewer for i, d in decisions.items()}
    return frame.with_columns(
        review=pl.when(mask).then(pl.lit(label, LABEL)).otherwise(pl.col("review")),
        reviewer=pl.when(mask)
        .then(pl.col("id").replace_strict(reviewers, default=None, return_dtype=LABEL))
        .otherwise(pl.col("reviewer")),
    )


def _apply_rejects(frame: pl.DataFrame, rejects: dict[str, Decision]) -> tuple[pl.DataFrame, list[str]]:
    if not rejects:
        return frame, []
    mask = _id_in(rejects) & _not_protected()
    messages = {i: _who(d) for i, d in rejects.items()}
    frame = reject(
        frame,
        mask,
        "review.rejected",
        _per_id_message(messages, "rejected by {}"),
        ref=pl.col("id").replace_strict(
            {i: d.reviewer for i, d in rejects.items()}, default=None, return_dtype=pl.Utf8
        ),
    )
    return _mark(frame, mask, "rejected", rejects), sorted(rejects)


@dataclass(frozen=True, slots=True)
class Edited:
    """A reviewer's edit after validation: the canonical example and what derives from it."""

    decision: Decision
    example: str  # canonical example JSON
    content_id: str
    dedup_key: int | None
    n_messages: int
    n_assistant: int


def _validated_edits(
    frame: pl.DataFrame, edits: dict[str, Decision]
) -> tuple[dict[str, Edited], dict[str, str]]:
    """Edited examples that pass validation again, and the problems of those that do not."""
    if not edits:
        return {}, {}
    originals = dict(
        with_examples(frame.filter(_id_in(edits)).unique("id", keep="first"))
        .select("id", "example")
        .iter_rows()
    )
    valid: dict[str, Edited] = {}
    invalid: dict[str, str] = {}
    for example_id, decision in edits.items():
        fields, problems = validate_edit(decision.messages, originals.get(example_id))
        if fields is None:
            invalid[example_id] = "; ".join(f"{code}: {message}" for code, message in problems)
        else:
            valid[example_id] = Edited(decision=decision, **fields)
    return valid, invalid


def _apply_accepts(
    frame: pl.DataFrame, keep: dict[str, Decision]
) -> tuple[pl.DataFrame, set[int], list[str]]:
    """Restore soft-rejected rows; flag hard-rejected ones. Returns the restored row numbers."""
    if not keep:
        return frame, set(), []
    chosen = _id_in(keep) & _not_protected()
    codes = pl.col("reasons").list.eval(pl.element().struct.field("code"))
    soft_only = codes.list.eval(pl.element().str.starts_with(OVERRIDABLE_PREFIX)).list.all()
    restorable = chosen & (pl.col("status") == "rejected") & soft_only
    hard = chosen & (pl.col("status") == "rejected") & ~soft_only
    blocked = sorted(set(frame.filter(hard)["id"].to_list()))
    restored = set(frame.filter(restorable)["_review_row"].to_list())
    overridden = pl.col("reasons").list.eval(pl.element().struct.field("code")).list.join(", ")
    note = pl.concat_str(
        [
            pl.lit("accepted by "),
            pl.col("id").replace_strict({i: _who(d) for i, d in keep.items()}, default=""),
            pl.lit(" over "),
            overridden,
        ]
    )
    accepted_flag = pl.struct(
        code=pl.lit("review.accepted"),
        stage=pl.lit("review"),
        message=note.cast(LABEL),
        ref=pl.lit(None, pl.Utf8),
    )
    frame = frame.with_columns(
        flags=pl.when(restorable)
        .then(pl.col("flags").list.concat(pl.col("reasons")).list.concat(pl.concat_list(accepted_flag)))
        .otherwise(pl.col("flags")),
        reasons=pl.when(restorable).then(pl.lit([], dtype=REASONS_DTYPE)).otherwise(pl.col("reasons")),
        status=pl.when(restorable).then(pl.lit("ok")).otherwise(pl.col("status")),
    )
    frame = flag(
        frame,
        hard,
        "review.not-overridable",
        _per_id_message({i: d.action for i, d in keep.items()}, "{} not applied: rejected by a hard reason"),
    )
    accepts = {i: d for i, d in keep.items() if d.action == "accept"}
    frame = _mark(frame, _id_in(accepts) & chosen & ~hard, "accepted", accepts)
    return frame, restored, blocked


def _apply_edits(
    frame: pl.DataFrame, edits: dict[str, Edited], ctx: BuildContext
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Substitute the edited conversations on usable rows; recompute what derives from them."""
    target = _id_in(edits) & (pl.col("status") == "ok")
    applied = sorted(set(frame.filter(target)["id"].to_list())) if edits else []
    if not applied:
        return frame, []
    target = _id_in(set(applied)) & (pl.col("status") == "ok")

    def patched(column: str, values: dict[str, Any], dtype: pl.DataType) -> pl.Expr:
        new = pl.col("id").replace_strict(values, default=None, return_dtype=dtype)
        return pl.when(target).then(new).otherwise(pl.col(column)).alias(column)

    chosen = {i: edits[i] for i in applied}
    frame = frame.with_columns(
        patched("example", {i: e.example for i, e in chosen.items()}, pl.Utf8()),
        patched("dedup_key", {i: e.dedup_key for i, e in chosen.items()}, pl.Int64()),
        patched("n_messages", {i: e.n_messages for i, e in chosen.items()}, pl.Int32()),
        patched("n_assistant", {i: e.n_assistant for i, e in chosen.items()}, pl.Int32()),
        # The edited text lives in ``example`` now, not in the input file.
        *(
            pl.when(target).then(None).otherwise(pl.col(c)).alias(c)
            for c in SPAN_COLUMNS
            if c in frame.columns
        ),
    )
    if "tokens" in frame.columns:
        choice = choose_tokenizer(ctx.config.validate.tokenizer)
        rows = frame.filter(target)
        # Edits are few: count every one exactly (exact_max_records = their number).
        tokens, exact = count_tokens(
            canonical_examples(rows),
            choice,
            ctx.config.validate.max_tokens,
            rows.height,
            ctx.config.split.seed,
        )
        row_numbers = rows["_review_row"].to_list()
        updates: dict[str, tuple[dict[Any, Any], pl.DataType]] = {
            "tokens": (dict(zip(row_numbers, tokens.to_list(), strict=True)), pl.Int64())
        }
        if "tokens_exact" in frame.columns:
            updates["tokens_exact"] = (dict(zip(row_numbers, exact.to_list(), strict=True)), pl.Boolean())
        frame = frame.with_columns(
            pl.when(target)
            .then(pl.col("_review_row").replace_strict(values, default=None, return_dtype=dtype))
            .otherwise(pl.col(name))
            .alias(name)
            for name, (values, dtype) in updates.items()
        )
    for action, code, label, verb in (
        ("edit", "review.edited", "edited", "edited"),
        ("swap", "review.swapped", "swapped", "chosen and rejected swapped"),
    ):
        decisions = {i: e.decision for i, e in chosen.items() if e.decision.action == action}
        if not decisions:
            continue
        these = target & _id_in(decisions)
        message = _per_id_message({i: _who(d) for i, d in decisions.items()}, verb + " by {}")
        frame = _mark(flag(frame, these, code, message), these, label, decisions)
    return frame, [
        {
            "id": i,
            "edited_id": e.content_id,
            "reviewer": e.decision.reviewer,
            "at": e.decision.at,
            **({"decision": "swap"} if e.decision.action == "swap" else {}),
        }
        for i, e in chosen.items()
    ]


def _recheck(frame: pl.DataFrame, rows: set[int], edited: set[str], ctx: BuildContext) -> pl.DataFrame:
    """Catch what the earlier stages would have caught on rows the review brought back or changed."""
    if not rows and not edited:
        return frame
    touched = (pl.col("_review_row").is_in(sorted(rows)) | _id_in(edited)) & (pl.col("status") == "ok")
    if "tokens" in frame.columns:
        limit = ctx.config.validate.max_tokens
        frame = reject(
            frame,
            touched & (pl.col("tokens") > limit),
            "length.too-long",
            pl.format("{} tokens after review; the limit is {}", pl.col("tokens"), pl.lit(limit)),
        )
    if ctx.config.dedup.exact:
        usable = frame.filter((pl.col("status") == "ok") & pl.col("dedup_key").is_not_null())
        usable = usable.with_columns(_touched=touched).sort("_touched", "_review_row")
        firsts = usable.group_by("dedup_key", maintain_order=True).agg(
            pl.col("id").first().alias("_kept_id"), pl.col("_review_row").first().alias("_kept_row")
        )
        clashes = (
            usable.filter(pl.col("_touched"))
            .join(firsts, on="dedup_key")
            .filter(pl.col("_kept_row") != pl.col("_review_row"))
        )
        if clashes.height:
            kept = dict(clashes.select("_review_row", "_kept_id").iter_rows())
            frame = reject(
                frame,
                pl.col("_review_row").is_in(sorted(kept)),
                "dedup.exact",
                pl.format(
                    "after review: exact duplicate of {}",
                    pl.col("_review_row").replace_strict(kept, default=None, return_dtype=pl.Utf8),
                ),
                ref=pl.col("_review_row").replace_strict(kept, default=None, return_dtype=pl.Utf8),
            )
    return frame
