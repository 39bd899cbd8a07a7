"""The one error base of the trainer, caught once by ``train/cli.py`` and printed as one line."""

from __future__ import annotations

from curate.core.errors import CurateError


class TrainError(CurateError):
    """A user-facing problem of the trainer: what, where, what to do (one line, exit code 2).

    It shares the engine's error contract; a separate base lets `train` catch only its own.
    """


class ConfigError(TrainError):
    """A train.toml or a set of flags with problems; every problem is listed at once."""

    def __init__(self, problems: list[str], where: str | None = None) -> None:
        self.problems = problems
        head = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the config: "
        super().__init__(head + "; ".join(problems), where, "fix them and run again")


class DataError(TrainError):
    """A build folder or an example that cannot be trained on."""


class ModelError(TrainError):
    """A model that cannot be found, converted or loaded."""
