"""Preference-pair stages: the build kind, the pair checks, pair dedup and grouping, the rejected
side's leakage, and the length-bias figures. A pair row is chat-shaped (curate.core.pairs), so the
chat stages judge its prompt and chosen answer; these stages add what only a pair has."""
