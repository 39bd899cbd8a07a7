"""Review app (Textual)."""
