"""A reviewer's edit, validated as a fresh record: shared by the build, which applies edits, and the
review app, which refuses to save an edit that the build would not apply."""

from __future__ import annotations

from typing import Any

import orjson

from curate.ingest.validate import check_record


def validate_edit(messages: Any, original: str | None) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """Validate edited messages (or a preference pair's ``{"prompt", "chosen", "rejected"}``) as
    a fresh record, keeping the original's tools and meta (and a pair's scores unless given).

    Returns the checked result's fields or the problems; shared with the review app, which
    refuses to save an edit that the build would not apply.
    """
    pair = isinstance(messages, dict)  # a preference pair's {"prompt", "chosen", "rejected"}
    record: dict[str, Any] = dict(messages) if pair else {"messages": messages}
    try:
        parsed = orjson.loads(original) if original else {}
    except orjson.JSONDecodeError:
        parsed = {}
    for key in ("tools", "meta", *(("score_chosen", "score_rejected") if pair else ())):
        # an edit changes the conversation, not its tools or metadata; a swap swaps the scores itself
        if isinstance(parsed, dict) and key in parsed and key not in record:
            record[key] = parsed[key]
    checked = check_record(record, None if pair else "chat")
    if checked.reasons or checked.example is None:
        return None, list(checked.reasons)
    example = checked.example
    text = example if isinstance(example, str) else orjson.dumps(example).decode()
    decoded = orjson.loads(text)["messages"]
    return {
        "example": text,
        "content_id": checked.id or "",
        "dedup_key": checked.key,
        "n_messages": len(decoded),
        "n_assistant": sum(1 for m in decoded if m.get("role") == "assistant"),
    }, []
