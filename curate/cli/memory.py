"""Ask the allocators to give freed memory back to the system promptly during a build.

A build's stages allocate and free large temporary arrays (tens of MB each, on worker threads).
glibc raises its mmap threshold after such a free, so later arrays of that size come from the
heap of the thread's arena and stay resident when freed; the next stage's peak then sits on top
of memory nobody uses. Fixing the thresholds keeps big arrays on mmap (returned on free) and
bounds the arenas (the effect on a big build's peak: benchmarks/RESULTS.md).
Elsewhere than glibc this does nothing.

Polars allocates through its own jemalloc, which it sets to keep freed pages for 0.5 s and then
to release them lazily (MADV_FREE, still counted as resident until the kernel needs them) for
another second: a stage's freed temporaries were still resident under the next stage's peak.
Polars appends ``_RJEM_MALLOC_CONF`` to its settings when it loads, so ``tune_allocators``
must run before. Purging after 300 ms on jemalloc's background thread lowers a big build's peak;
purging at once (decay 0) lowers it a little more but slows the build far more.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
THRESHOLD_BYTES = 256 << 10
POLARS_JEMALLOC_ENV = "_RJEM_MALLOC_CONF"
POLARS_JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:300,muzzy_decay_ms:0"


def tune_allocators() -> bool:
    """Both allocators' settings; True where each took them (polars' only if not yet loaded).

    A setting the user made in the environment is left as it is.
    """
    polars_loaded = "polars" in sys.modules
    if not polars_loaded:
        os.environ.setdefault(POLARS_JEMALLOC_ENV, POLARS_JEMALLOC_CONF)
    return return_freed_memory() and not polars_loaded


def return_freed_memory() -> bool:
    """Set the allocator's thresholds; True where glibc took them."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (_M_MMAP_THRESHOLD, THRESHOLD_BYTES),
            (_M_TRIM_THRESHOLD, THRESHOLD_BYTES),
            (_M_ARENA_MAX, 2),
        )
    )
