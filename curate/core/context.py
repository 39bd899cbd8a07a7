"""What every stage gets besides the frame: the config, progress, and a place to leave findings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from curate.core.config import CurateConfig


class Progress(Protocol):
    """A progress sink; the CLI passes a rich one, tests and libraries a silent one."""

    def start(self, description: str, total: int | None = None) -> int: ...
    def advance(self, task: int, amount: int = 1) -> None: ...
    def finish(self, task: int) -> None: ...


class SilentProgress:
    def start(self, description: str, total: int | None = None) -> int:
        return 0

    def advance(self, task: int, amount: int = 1) -> None:
        pass

    def finish(self, task: int) -> None:
        pass


@dataclass
class BuildContext:
    config: CurateConfig
    progress: Progress = field(default_factory=SilentProgress)
    semantic: bool = False  # --semantic: turn on every embedding stage
    # Findings a stage wants in the manifest and report, keyed by stage name (JSON-serialisable).
    findings: dict[str, Any] = field(default_factory=dict)
    # What one stage leaves for a later one in the same build (e.g. the embeddings of texts both
    # semantic stages embed), keyed by what it is; never written out.
    shared: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[int]:
        task = self.progress.start(description, total)
        try:
            yield task
        finally:
            self.progress.finish(task)
