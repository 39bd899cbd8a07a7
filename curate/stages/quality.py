"""quality: placeholder until its issue lands; passes the frame through unchanged."""

from __future__ import annotations

import polars as pl

from curate.context import BuildContext

NAME = "quality"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    return frame
