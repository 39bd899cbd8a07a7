"""chatcurate: the curation engine.

The library API is ``load_config``, ``build`` and ``check`` (see curate/api.py). They load on first
use: importing this package must stay cheap (no polars, torch, transformers or textual at import
time; a test enforces it), since `curate --help` and the review app import it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from curate.core.version import __version__

__all__ = ["__version__", "build", "check", "load_config"]

if TYPE_CHECKING:
    from curate.api import build, check, load_config


def __getattr__(name: str) -> Any:
    if name in ("build", "check", "load_config"):
        from curate import api  # the engine and polars load only when the API is used

        return getattr(api, name)
    raise AttributeError(f"module 'curate' has no attribute {name!r}")
