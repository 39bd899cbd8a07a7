"""Quality signals: one polars expression per signal, combined into a score by the quality stage.

Everything here is vectorised (polars string and list expressions over the whole frame); no
module imports anything heavier than polars, so the checks run wherever the engine runs.
"""
