"""Build stages. Each module exposes ``run(frame, ctx) -> frame``: it may add columns and reject
rows with a reason, and never drops a row. The order lives in curate/engines/local.py."""
