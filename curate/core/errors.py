"""The one error base of the engine, caught once by the CLI and printed as one line."""

from __future__ import annotations


class CurateError(Exception):
    """A user-facing problem: what went wrong, where, and what to do about it.

    The CLI prints ``str(error)`` on one line and exits with ``exit_code``.
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


class InputError(CurateError):
    """An input file that cannot be read at all (missing, a folder, not text)."""


class InputChanged(CurateError):
    """An input file changed between ingest and a later read of it: the build cannot be trusted."""

    def __init__(self, path: str) -> None:
        super().__init__("input changed during the build", path)

    def __str__(self) -> str:
        return f"{self.what}: {self.where}"


class ConfigError(CurateError):
    """A config file with problems; every problem is listed at once."""

    def __init__(self, problems: list[str], where: str | None = None) -> None:
        self.problems = problems
        what = (
            "; ".join(problems) if len(problems) <= 3 else f"{len(problems)} problems: " + "; ".join(problems)
        )
        super().__init__(what, where, "fix the config and run again")
