"""Both commands ask OpenMP for a passive wait before torch loads, and keep the user's own policy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import os, sys
{load}
import torch  # loads OpenMP, which reads the policy now
print(os.environ.get("OMP_WAIT_POLICY"))
"""


def _policy_seen_by_torch(load: str, env_policy: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(load=load)], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "load",
    [
        "import curate.cli",
        # the trainer's main sets it on entry; a run that fails on its data has passed that point
        "from train.cli import main\nmain(['run', '--data', '/nonexistent/build'])",
    ],
)
def test_commands_choose_a_passive_wait_before_torch(load: str) -> None:
    assert _policy_seen_by_torch(load, None) == "PASSIVE"
    assert _policy_seen_by_torch(load, "ACTIVE") == "ACTIVE"


def test_too_late_once_torch_is_loaded() -> None:
    from curate.core.threads import passive_openmp_wait

    code = "import torch\nfrom curate.core.threads import passive_openmp_wait\nprint(passive_openmp_wait())"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    assert callable(passive_openmp_wait)
