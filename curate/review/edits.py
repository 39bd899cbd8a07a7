"""A reviewer's edit, validated as a fresh record: shared by the build, which applies edits, and the
review app, which refuses to save an edit that the build would not apply."""

from __future__ import annotations

from typing import Any

import orjson

from curate.ingest.validate import check_record


def validate_edit(messages: Any, original: str | None) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """Validate edited messages as a fresh record (keeping the original's tools and meta).

    Returns the checked result's fields or the problems; shared with the review app, which
    refuses to save an edit that the build would not apply.
    """
    record: dict[str, Any] = {"messages": messages}
    try:
        parsed = orjson.loads(original) if original else {}
    except orjson.JSONDecodeError:
        parsed = {}
    for key in ("tools", "meta"):  # an edit changes the conversation, not its tools or metadata
        if isinstance(parsed, dict) and key in parsed:
            record[key] = parsed[key]
    checked = check_record(record, "chat")
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
