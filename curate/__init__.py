"""chatcurate: the curation engine.

Importing this package must stay cheap: no torch, transformers, sentence-transformers or
textual at module level (a test enforces it). Heavy stacks are imported inside the functions
that need them.
"""

__version__ = "0.1.0"
