"""Leakage detection: does a training example contain an eval or benchmark item?

The stage (curate/stages/leakage/stage.py) is the recipe; this package holds its parts:
``words`` turns texts into hashed word arrays, ``protected`` indexes the protected items,
``lexical`` finds n-gram and shingle-containment matches with integer joins (no per-pair
substring search), ``semantic`` compares sentence embeddings, ``spans`` renders the overlap.
"""
