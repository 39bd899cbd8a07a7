"""The allocator settings a build makes are taken on this (glibc) machine and harmless twice."""

from __future__ import annotations

import platform

import pytest

from curate.memory import return_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt thresholds are glibc's")
def test_glibc_takes_the_thresholds() -> None:
    assert return_freed_memory() is True
    assert return_freed_memory() is True
