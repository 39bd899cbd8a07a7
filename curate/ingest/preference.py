"""Preference pairs at ingest: detect the three pair formats, validate them, make the canonical pair.

Formats (per record, beside the chat formats): TRL's conversational ``{"prompt", "chosen",
"rejected"}`` (lists of messages), the implicit-prompt form ``{"chosen", "rejected"}`` (two whole
conversations whose shared prefix is the prompt) and the plain-text form (three strings). Optional
``score_chosen`` and ``score_rejected`` are kept.

An empty answer is not a schema problem here: the quality signals judge both answers (so the
build reports ``quality.empty-answer`` for a pair with an empty chosen answer, as for a chat).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema

from curate.core.pairs import Pair, pair_format, pair_json
from curate.core.records import _canonical_message, load_schema

Reason = tuple[str, str]


@cache
def _validator(fmt: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(fmt))


# curate.ingest.validate.semantic_problems, passed in by validate (which imports this module)
ChatChecks = Callable[[list[dict[str, Any]]], list[Reason]]


def to_pair(record: dict[str, Any], chat_checks: ChatChecks) -> tuple[str, Pair | None, list[Reason]]:
    """The record's pair format, its pair (None when invalid) and the reasons it is invalid;
    ``chat_checks`` judges the prompt and each side as a conversation."""
    fmt = pair_format(record)
    try:
        _validator(fmt)(record)
    except fastjsonschema.JsonSchemaValueException as error:
        return fmt, None, [_schema_reason(fmt, error)]
    if fmt == "preference-text":
        prompt = [{"role": "user", "content": record["prompt"]}]
        chosen = [{"role": "assistant", "content": record["chosen"]}]
        rejected = [{"role": "assistant", "content": record["rejected"]}]
    elif fmt == "preference":
        prompt, chosen, rejected = (_messages(record[key]) for key in ("prompt", "chosen", "rejected"))
    else:
        whole_chosen, whole_rejected = _messages(record["chosen"]), _messages(record["rejected"])
        shared = _shared_prefix(whole_chosen, whole_rejected)
        if shared == 0:
            return fmt, None, [("pref.no-shared-prompt", "chosen and rejected share no first message")]
        if shared == len(whole_chosen) == len(whole_rejected):
            # The same conversation twice: split at the last user turn so pref.identical names it.
            shared = _last_user(whole_chosen) + 1 or len(whole_chosen)
        prompt, chosen, rejected = whole_chosen[:shared], whole_chosen[shared:], whole_rejected[shared:]
    meta = dict(record["meta"]) if isinstance(record.get("meta"), dict) else {}
    meta.update({k: v for k, v in record.items() if k not in _PAIR_KEYS})
    pair = Pair(
        prompt, chosen, rejected, record.get("score_chosen"), record.get("score_rejected"), meta or None
    )
    problems = pair_problems(pair, chat_checks)
    return fmt, (None if problems else pair), problems


_PAIR_KEYS = frozenset({"prompt", "chosen", "rejected", "score_chosen", "score_rejected", "id", "meta"})


def _messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_canonical_message(m) for m in messages]


def _shared_prefix(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> int:
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


def _last_user(messages: list[dict[str, Any]]) -> int:
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    return users[-1] if users else -1


def pair_problems(pair: Pair, semantic_problems: ChatChecks) -> list[Reason]:
    """What a schema cannot say: the prompt is a valid conversation ending on a user turn, and
    each answer is assistant turns only."""
    problems: list[Reason] = []
    if not pair.prompt:
        problems.append(("pref.role-order", "the prompt is empty"))
    elif pair.prompt[-1]["role"] != "user":
        problems.append(
            ("pref.role-order", f"the prompt's last turn is {pair.prompt[-1]['role']}; it must be user")
        )
    for side, answer in (("chosen", pair.chosen), ("rejected", pair.rejected)):
        if not answer:
            problems.append(("pref.role-order", f"{side} has no turn after the prompt"))
        others = sorted({m["role"] for m in answer} - {"assistant"})
        if others:
            problems.append(
                ("pref.role-order", f"{side} holds {', '.join(others)} turns; it must be assistant turns")
            )
    if problems:
        return problems
    # The prompt as a chat (with the chosen answer, so "no assistant turn" cannot fire): role
    # order, empty prompt turns, NUL characters. Empty answers are left to the quality signals.
    for reason in semantic_problems([*pair.prompt, *pair.chosen]):
        if reason[0] == "schema.empty-content" and not reason[1].startswith(_prompt_indices(pair)):
            continue
        problems.append(reason)
    offset = len(pair.prompt)
    for code, message in semantic_problems([*pair.prompt, *pair.rejected]):
        if code != "schema.empty-content" and _index_of(message) >= offset:
            problems.append((code, f"rejected side: {message}"))
    return problems


def _index_of(message: str) -> int:
    """The message index a semantic problem names (``messages[3] ...``), -1 where none."""
    if not message.startswith("messages["):
        return -1
    return int(message[len("messages[") : message.index("]")])


def _prompt_indices(pair: Pair) -> tuple[str, ...]:
    return tuple(f"messages[{i}] " for i in range(len(pair.prompt)))


def _schema_reason(fmt: str, error: fastjsonschema.JsonSchemaValueException) -> Reason:
    where = (error.name or "data").replace("data.", "", 1)
    if error.rule == "enum" and where.endswith(".role"):
        return "schema.unknown-role", f"{where} is {error.value!r}; expected one of {error.rule_definition}"
    if error.rule == "required" and where == "data":
        missing = ", ".join(sorted(set(error.rule_definition) - set(error.value or {})))
        return "schema.invalid", f"{fmt} record is missing {missing}"
    return "schema.invalid", f"{fmt} record: {error.message.replace('data.', '', 1)}"


def checked_pair(pair: Pair) -> tuple[str, str, int, int, int]:
    """Example JSON, content id, dedup key, messages and assistant turns of a valid pair."""
    text, pair_id, key = pair_json(pair)
    messages = [*pair.prompt, *pair.chosen]
    return text, pair_id, key, len(messages), sum(1 for m in messages if m["role"] == "assistant")
