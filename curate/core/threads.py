"""OpenMP worker threads that sleep when idle instead of spinning.

torch (and numba's OpenMP layer) keep their worker threads spinning for a while after each
parallel region, so the next region starts a little sooner. On a machine whose cores are shared
with other processes that spinning takes the cores the work needs: a forward pass of the default
model used several times the CPU of a passive wait on a loaded 2-core machine, and embedding a
build's texts about a fifth more (benchmarks/RESULTS.md). A passive wait costs little when the
machine is idle, so the commands choose it.

OpenMP reads the policy once, when the runtime loads, so this must run before torch is imported.
A policy the user set in the environment is kept.
"""

from __future__ import annotations

import os
import sys

OMP_WAIT_ENV = "OMP_WAIT_POLICY"


def passive_openmp_wait() -> bool:
    """Ask for a passive OpenMP wait; True where it can still take effect (torch not yet loaded)."""
    if "torch" in sys.modules:
        return False
    os.environ.setdefault(OMP_WAIT_ENV, "PASSIVE")
    return True
