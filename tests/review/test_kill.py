"""A killed review app loses no decision it made: SIGKILL mid-session, then read the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from curate.review.store import ReviewStore
from tests.tui.builds import make_build

ROOT = Path(__file__).resolve().parents[2]

SESSION = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from tui.app import make_app

    async def main():
        app = make_app(Path(sys.argv[1]), Path(sys.argv[2]), "kim", background=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("a", "r", "space", "space", "A", "y")
            await pilot.pause()
            await pilot.press("e")
            print("decided", flush=True)
            await asyncio.sleep(120)  # a reviewer mid-edit when the terminal dies

    asyncio.run(main())
    """
)


def test_sigkill_mid_session_keeps_every_committed_decision(tmp_path: Path) -> None:
    build = make_build(tmp_path / "build")
    db = tmp_path / "reviews.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(build), str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "decided", child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    assert (tmp_path / "reviews.sqlite-wal").exists()  # the log was never checkpointed or closed
    with ReviewStore(db) as store:
        found = {i: d.action for i, d in store.decisions().items()}
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert found == {
        "a0000000000000001": "accept",
        "a0000000000000002": "reject",
        "a0000000000000003": "accept",
        # a0000000000000004 was marked too, but it is a near duplicate: a bulk accept leaves out
        # the rows whose rejection an accept cannot lift.
    }
