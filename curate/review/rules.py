"""Which decisions can take effect: shared by the build that applies them and the review app
that records them, so the app never shows a decision as applied when the build will drop it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# Only soft quality rejections may be lifted by a reviewer: a schema or length rejection means
# the record cannot be trained on as it is, a dedup one would put a copy back, a leakage one
# would train on a protected item.
OVERRIDABLE_PREFIX: Final = "quality."


def hard_codes(codes: Iterable[str]) -> list[str]:
    """The rejection codes an accept cannot lift (an edit may, by replacing the conversation,
    only for quality; see ``accept_refusal``)."""
    return [code for code in codes if not code.startswith(OVERRIDABLE_PREFIX)]


def accept_refusal(status: str | None, codes: Iterable[str]) -> str | None:
    """Why an accept of a row with this status and these rejection codes cannot take effect;
    None where it can."""
    if status == "protected":
        return "benchmark items are protected and never written"
    if status != "rejected":
        return None
    hard = hard_codes(codes)
    if not hard:
        return None
    return f"rejected by {', '.join(sorted(set(hard)))}: only quality rejections can be accepted"
