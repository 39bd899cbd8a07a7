"""One training run per run folder: a lock file that says who holds it.

Processes started by ``accelerate launch`` or ``torchrun`` share a folder on purpose (only rank 0 takes
the lock); two plain ``train run`` processes pointed at the same folder would overwrite each other's
checkpoints and metrics, so the second one stops and names the first.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from train.errors import TrainError

LOCK_NAME = ".train.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _stale(info: dict[str, object] | None) -> bool:
    """A lock left by a process of this machine that is gone (killed, crashed) does not count."""
    if info is None:
        return True
    pid = info.get("pid")
    return info.get("host") == socket.gethostname() and isinstance(pid, int) and not _alive(pid)


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[Path]:
    """Hold ``folder/.train.lock`` for the duration of the block; refuse if a live process holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "argv": sys.argv,
    }
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            info = _holder(path)
            if _stale(info):
                path.unlink(missing_ok=True)
                continue
            assert info is not None
            raise TrainError(
                f"the run folder is in use by process {info.get('pid')} on {info.get('host')} "
                f"since {info.get('started')}",
                where=str(path),
                hint="wait for it, pass --out for another folder, or start several processes together "
                "with accelerate launch or torchrun",
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(me, fh)
        break
    else:
        raise TrainError("cannot take the run folder's lock", where=str(path), hint="remove the file")
    try:
        yield path
    finally:
        if (_holder(path) or {}).get("pid") == os.getpid():
            path.unlink(missing_ok=True)
