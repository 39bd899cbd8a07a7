"""The Ray instance `curate build --engine ray` starts by itself stays on 127.0.0.1, and goes
away after the build."""

from __future__ import annotations

import os

import pytest

from curate.core.config import RaySection
from curate.engines.ray import LOOPBACK_ENV, session


def test_own_instance_binds_loopback_only() -> None:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install chatcurate[ray])")
    assert not ray.is_initialized()
    before = os.environ.get(LOOPBACK_ENV)
    with session(RaySection(object_store_mb=200)):
        nodes = [n for n in ray.nodes() if n["Alive"]]
        assert [n["NodeManagerAddress"] for n in nodes] == ["127.0.0.1"]
        assert ray.cluster_resources()["CPU"] == (os.cpu_count() or 1)  # sized to the machine
    assert not ray.is_initialized()
    assert os.environ.get(LOOPBACK_ENV) == before  # set only for the processes it started
