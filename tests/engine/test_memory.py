"""The allocator settings a build makes: taken on this (glibc) machine, harmless twice, and made
for polars before it loads."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from curate.cli.memory import POLARS_JEMALLOC_CONF, POLARS_JEMALLOC_ENV, return_freed_memory, tune_allocators


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_glibc_takes_the_thresholds() -> None:
    assert return_freed_memory() is True
    assert return_freed_memory() is True


def _tuned_environment(preset: str | None) -> str:
    """What ``_RJEM_MALLOC_CONF`` holds once the CLI has loaded: polars puts its own defaults in
    front of the setting when it loads, so a setting made first ends the value."""
    env = {k: v for k, v in os.environ.items() if k != POLARS_JEMALLOC_ENV}
    if preset is not None:
        env[POLARS_JEMALLOC_ENV] = preset
    code = (
        "import os, sys\n"
        "import curate.cli  # tunes the allocators, then imports the commands and polars\n"
        "assert 'polars' in sys.modules\n"
        f"print(os.environ[{POLARS_JEMALLOC_ENV!r}])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_polars_allocator_is_set_before_polars_loads() -> None:
    # Polars puts its own defaults first; the later settings are the ones jemalloc keeps.
    assert _tuned_environment(None).endswith(f",{POLARS_JEMALLOC_CONF}")


def test_a_users_allocator_setting_is_kept() -> None:
    assert _tuned_environment("dirty_decay_ms:0").endswith(",dirty_decay_ms:0")


def test_too_late_once_polars_is_loaded() -> None:
    import polars  # noqa: F401  (this test process has it already; the setting can no longer apply)

    assert tune_allocators() is False
