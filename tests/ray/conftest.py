"""Ray for the tests: a local instance (2 CPUs) and a two-node cluster on one machine, both on
127.0.0.1 only, each started once per run by the modules that use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from curate.engines.ray import loopback_only
from curate.engines.recipe import BuildResult
from tests.conftest import shared_file
from tests.ray.builds import build, samples_config, write_alpaca_slice

OBJECT_STORE_BYTES = 300_000_000  # the tests' blocks are small; the machine is shared


def _ray() -> Any:
    return pytest.importorskip("ray", reason="the ray extra is not installed (pip install chatcurate[ray])")


def _assert_loopback(ray: Any, nodes: int) -> None:
    alive = [n for n in ray.nodes() if n["Alive"]]
    assert len(alive) == nodes
    assert {n["NodeManagerAddress"] for n in alive} == {"127.0.0.1"}


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = _ray()
    with loopback_only():  # Ray 2.60 on Linux binds the outward interface otherwise
        ray.init(
            num_cpus=2,
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES,
            log_to_driver=False,
        )
    try:
        _assert_loopback(ray, 1)
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    ray = _ray()
    from ray.cluster_utils import Cluster

    node = {
        "num_cpus": 1,
        "node_ip_address": "127.0.0.1",
        "object_store_memory": OBJECT_STORE_BYTES,
    }
    # The head, the second node and this driver: all on 127.0.0.1 (a driver outside the
    # context would look for its node on the outward interface and wait for ever).
    with loopback_only():
        cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
    try:
        _assert_loopback(ray, 2)
        yield ray
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="session")
def local_samples() -> BuildResult:
    return build(samples_config(), "local")


@pytest.fixture(scope="session")
def alpaca_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    alpaca = shared_file("alpaca.jsonl")
    folder = tmp_path_factory.mktemp("alpaca_slice")
    write_alpaca_slice(alpaca, folder)
    return folder


@pytest.fixture(scope="session")
def local_alpaca(alpaca_folder: Path) -> BuildResult:
    from curate.core.config import load_config

    return build(load_config(alpaca_folder / "curate.toml"), "local")
