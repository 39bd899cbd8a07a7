"""The one error base of the trainer, caught once by ``train/cli.py`` and printed as one line."""

from __future__ import annotations


class TrainError(Exception):
    """A user-facing problem: what went wrong, where, and what to do about it.

    The CLI prints ``str(error)`` on one line and exits with ``exit_code`` (2: a user error).
    """

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        return f"{text} ({self.hint})" if self.hint else text


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
