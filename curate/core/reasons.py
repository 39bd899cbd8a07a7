"""Reason codes: namespaced kebab-case, the same everywhere (rejected.jsonl, parquet, report, TUI, gates).

Each code belongs to the stage that emits it. A stage may only use codes registered here, so
the set of codes users can filter on or gate on is documented in one place.
"""

from __future__ import annotations

from typing import Final

# code -> (stage, what it means)
REASONS: Final[dict[str, tuple[str, str]]] = {
    # ingest: the line could not become a JSON object
    "schema.invalid-utf8": ("validate", "the line is not valid UTF-8"),
    "schema.invalid-json": ("validate", "the line is not valid JSON"),
    "schema.not-object": ("validate", "the record is not a JSON object"),
    "schema.too-deep": ("validate", "the record nests deeper than the parser allows"),
    "schema.line-too-long": ("validate", "the line is longer than the configured byte limit"),
    "schema.unknown-format": ("validate", "the record is neither chat, ShareGPT nor Alpaca"),
    # validate: JSON Schema and semantic checks
    "schema.invalid": ("validate", "the record does not match its JSON Schema"),
    "schema.no-messages": ("validate", "messages is missing or empty"),
    "schema.unknown-role": ("validate", "a message has a role other than system, user, assistant, tool"),
    "schema.role-order": ("validate", "roles are out of order"),
    "schema.empty-content": ("validate", "a message has empty content"),
    "schema.no-assistant": ("validate", "there is no assistant turn to learn from"),
    "schema.tool-call-id": ("validate", "a tool call has no id, or a tool message answers no call"),
    "schema.bad-weight": ("validate", "an assistant weight is not 0 or 1"),
    # preference pairs (curate/ingest/preference.py, curate/stages/preference/)
    "pref.role-order": (
        "validate",
        "the prompt must end on a user turn; chosen and rejected must be assistant turns",
    ),
    "pref.no-shared-prompt": (
        "validate",
        "the implicit-prompt pair's chosen and rejected share no first message",
    ),
    "pref.wrong-kind": (
        "preference",
        "a record of the other training kind than the build's (sft or preference)",
    ),
    "pref.identical": ("preference", "chosen equals rejected after normalisation: nothing to prefer"),
    "pref.tie": ("preference", "score_chosen equals score_rejected: no preference"),
    "pref.contradictory": ("preference", "another pair has the same prompt with the two answers swapped"),
    "pref.rejected-answer": ("preference", "the rejected answer is empty, a placeholder or garbage"),
    "length.too-long": ("validate", "longer than the configured token limit"),
    # dedup
    "dedup.exact": ("exact_dedup", "exact duplicate of a kept record"),
    "dedup.near": ("near_dedup", "near-duplicate of a kept record"),
    "dedup.semantic": ("near_dedup", "semantic duplicate of a kept record"),
    "dedup.conflicting-answers": ("near_dedup", "the same prompt has different answers"),
    # quality
    "quality.low-score": ("quality", "combined quality score below the threshold"),
    "quality.empty-answer": ("quality", "an answer turn has nothing visible (whitespace or zero-width only)"),
    "quality.placeholder": ("quality", "the answer is a placeholder (N/A, <nooutput>, TODO) or lorem ipsum"),
    "quality.garbage": ("quality", "the answer is symbol soup or has broken encoding (mojibake)"),
    "quality.repetition": ("quality", "the answer repeats itself: many of its word 3-grams recur"),
    "quality.refusal": ("quality", "the answer refuses, or says 'As an AI language model' or the like"),
    "quality.safety-refusal": (
        "quality",
        "flag: the answer declines a harmful request (kept: worth training)",
    ),
    "quality.echo": ("quality", "the answer mostly repeats the prompt"),
    "quality.truncated": ("quality", "the answer stops mid-sentence or leaves a code block open"),
    "quality.missing-media": ("quality", "the answer shows or promises an image, chart or link it lacks"),
    "quality.language-mismatch": ("quality", "the answer is in another language than the prompt, unasked"),
    "quality.short-answer": ("quality", "the answer has fewer words than the configured minimum"),
    "quality.pii": ("quality", "personal data or secrets: emails, phone or card numbers, API keys"),
    "quality.too-long": ("quality", "the answer is longer than the configured character limit"),
    # leakage
    "leakage.ngram": ("leakage", "contains a protected item: a shared 13-word window, or a whole short item"),
    "leakage.near": ("leakage", "contains a reworded or template-rewritten copy of a protected item"),
    "leakage.semantic": ("leakage", "its prompt's embedding is close to a protected item's (--semantic)"),
    # review
    "review.rejected": ("review", "rejected by a reviewer"),
    "review.accepted": ("review", "flag: accepted by a reviewer over soft quality flags (kept as flags)"),
    "review.edited": ("review", "flag: a reviewer's edit replaced the conversation (the id is unchanged)"),
    "review.edit-invalid": ("review", "flag: a reviewer's edit failed validation and was not applied"),
    "review.swapped": ("review", "flag: a reviewer swapped the pair's chosen and rejected answers"),
    "review.not-overridable": ("review", "flag: accept cannot lift a hard (non-quality) rejection"),
    # mix
    "mix.not-sampled": ("mix", "general record not needed for the configured mix ratio"),
}


def stage_of(code: str) -> str:
    """The stage that owns ``code``; quality flags (``quality.*``) belong to the quality stage."""
    if code in REASONS:
        return REASONS[code][0]
    if code.startswith("quality."):
        return "quality"
    raise KeyError(f"unregistered reason code {code!r}: add it to curate/core/reasons.py")


def describe(code: str) -> str:
    return REASONS[code][1] if code in REASONS else code
