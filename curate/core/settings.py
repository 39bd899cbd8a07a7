"""Typed TOML settings, shared by curate.toml and train.toml: read, check, explain.

Each table of a config file is a pydantic model whose attribute docstrings are its documentation.
Validation is strict where TOML gives a user a choice of types: a number must be written as a number
(an int is fine where a float is expected, a quoted "0.5" is not), true/false as a boolean. Every
problem of a file is reported at once, one line each, naming the key and what was given::

    [dedup] threshold: expected a number above 0 and at most 1, got "high"
    [dedup] treshold: unknown key; did you mean [dedup] threshold?

Relative paths in a file are relative to the file's folder (``ConfigFile.resolve``); paths given as
command-line flags are the CLI's business and stay relative to the working directory.
"""

from __future__ import annotations

import difflib
import inspect
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

import annotated_types
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError
from pydantic.fields import FieldInfo

__all__ = [
    "ConfigFile",
    "Invalid",
    "Relation",
    "Relations",
    "RelativePath",
    "Settings",
    "describe",
    "load_settings",
    "merge",
    "problems_of",
    "read_toml",
    "resolve_paths",
    "walk_fields",
]

M = TypeVar("M", bound=BaseModel)
ErrorFactory = Callable[[list[str], "str | None"], Exception]


class Settings(BaseModel):
    """One table of a config file: every key declared, typed and documented.

    A field is one line plus its docstring; constraints go in ``Field(ge=..., le=...)`` (or an
    ``Annotated`` alias), so the error message can say what is expected. Models stay mutable (tests
    and callers adjust a loaded config), and every assignment is validated like the file.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
        validate_assignment=True,
    )


class ConfigFile(Settings):
    """The whole file: knows the folder its relative paths are relative to."""

    _base_dir: Path = PrivateAttr(default_factory=lambda: Path("."))

    @property
    def base_dir(self) -> Path:
        """The config file's folder (``.`` for a config made without a file)."""
        return self._base_dir

    @base_dir.setter
    def base_dir(self, folder: Path) -> None:
        self._base_dir = Path(folder)

    def resolve(self, path: str) -> str:
        """A path from the config, relative to the config's folder (absolute and hf: paths unchanged)."""
        if path.startswith("hf:") or Path(path).is_absolute():
            return path
        return os.path.normpath(self.base_dir / path)


class RelativePath:
    """``Annotated[str, RelativePath()]``: a path that ``load_settings`` resolves against the file's folder.

    For a tool that works with resolved paths (train); curate keeps paths as written (the manifest
    records them so) and calls ``ConfigFile.resolve`` where it opens them. ``only_if_present``
    is for a field that also takes a name (a model folder or a hub id): it is resolved when it
    starts with ``./`` or ``../`` or names something that exists next to the file; ``names``
    are values never taken for paths.
    """

    def __init__(self, *, only_if_present: bool = False, names: tuple[str, ...] = ()) -> None:
        self.only_if_present = only_if_present
        self.names = names  # values that are names, never paths ("default")

    def __repr__(self) -> str:
        return f"RelativePath(only_if_present={self.only_if_present}, names={self.names})"


class Invalid(ValueError):
    """Raised by a field validator: ``expected`` completes "key: expected ..., got <value>"."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class Relation(NamedTuple):
    """A problem between fields, found by a model validator once each field is valid on its own.

    ``at`` is the key (below the model) the problem is reported at; ``uses`` the other keys the
    check reads, so that it is not reported when one of them was wrong and stood in by its default.
    """

    at: tuple[str, ...]
    text: str
    uses: tuple[tuple[str, ...], ...] = ()


class Relations(ValueError):
    """Raised by a model validator with every ``Relation`` that does not hold."""

    def __init__(self, problems: list[Relation]) -> None:
        super().__init__("; ".join(problem.text for problem in problems))
        self.problems = problems


# ---------------------------------------------------------------- reading


def read_toml(path: Path, error: ErrorFactory) -> dict[str, Any]:
    """The file's tables; a missing or unparsable file is one problem."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise error(["no such config file"], str(path)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error([f"not valid TOML: {exc}"], str(path)) from None


def merge(base: dict[str, Any], over: Mapping[str, Any], depth: int = 64) -> dict[str, Any]:
    """``over`` on top of ``base``: a table in ``over`` updates the table below it (down to ``depth``
    levels, then replaces it); any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if depth > 1 and isinstance(value, Mapping) and isinstance(below, dict):
            out[key] = merge(below, value, depth - 1)
        else:
            out[key] = value
    return out


def load_settings(
    model: type[M],
    data: Mapping[str, Any],
    where: str | None,
    error: ErrorFactory,
) -> M:
    """``data`` checked against ``model``; every problem at once in one ``error(problems, where)``.

    pydantic runs a model's validators only once all its fields are valid, so the relations
    between fields are checked again on ``data`` without the wrong keys (defaults stand in),
    keeping the relations that do not read a key that was wrong.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc, model)
        removed = [key for item in exc.errors() for key in _keys_of(model, item)]
        for _ in range(8):  # each round clears the relations a model validator stopped at
            found = _relations(model, _without(data, removed), removed)
            if not found:
                break
            for key, text in found:
                removed.append(key)
                if text not in problems:
                    problems.append(text)
        raise error(problems, where) from None


def _relations(
    model: type[BaseModel], data: dict[str, Any], removed: list[tuple[str | int, ...]]
) -> list[tuple[tuple[str | int, ...], str]]:
    """The relations that fail on ``data`` and read no removed key: (key, problem line)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        found = []
        for item in exc.errors():
            cause = (item.get("ctx") or {}).get("error")
            if not isinstance(cause, Relations):
                continue
            path = _walk(model, tuple(item["loc"]))[0]
            for relation in cause.problems:
                keys = [(*path, *key) for key in (relation.at, *relation.uses)]
                if not any(_overlaps(key, bad) for key in keys for bad in removed):
                    found.append((keys[0], f"{_where(model, keys[0])}: {relation.text}"))
        return found
    return []


def _keys_of(model: type[BaseModel], item: Mapping[str, Any]) -> list[tuple[str | int, ...]]:
    """The keys an error is about: its location, or for failed relations the keys they report at."""
    path = _walk(model, tuple(item["loc"]))[0]
    cause = (item.get("ctx") or {}).get("error")
    if isinstance(cause, Relations):
        return [(*path, *relation.at) for relation in cause.problems]
    return [path]


def _overlaps(key: tuple[str | int, ...], bad: tuple[str | int, ...]) -> bool:
    """One key path lies on the other (a wrong table spoils its keys, a wrong key its table's check)."""
    n = min(len(key), len(bad))
    return key[:n] == bad[:n]


def _without(data: Mapping[str, Any], paths: list[tuple[str | int, ...]]) -> dict[str, Any]:
    """``data`` less the keys at ``paths`` (a path into a list drops the whole list)."""
    out = dict(data)
    for path in paths:
        keys: list[str] = []
        for part in path:
            if not isinstance(part, str):
                break
            keys.append(part)
        table: Any = out
        for key in keys[:-1]:
            if not isinstance(table.get(key), dict):
                break
            table[key] = dict(table[key])
            table = table[key]
        else:
            if keys:
                table.pop(keys[-1], None)
    return out


def resolve_paths(model: type[BaseModel], data: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` with every ``RelativePath`` field given as a string resolved against ``base``."""
    out = dict(data)
    for name, info in model.model_fields.items():
        value = out.get(name)
        target = _model_of(info.annotation)
        if target is not None and isinstance(value, dict):
            out[name] = resolve_paths(target, value, base)
            continue
        marker = next((m for m in info.metadata if isinstance(m, RelativePath)), None)
        if marker is None or not isinstance(value, str) or not value or Path(value).is_absolute():
            continue
        if value in marker.names:
            continue
        if marker.only_if_present and not (value.startswith(("./", "../")) or (base / value).exists()):
            continue
        out[name] = os.path.normpath(base / value)
    return out


# ---------------------------------------------------------------- explaining


def problems_of(error: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per problem, in the models' field order; a key with several errors (a union) once."""
    seen: dict[str, str] = {}
    for item in error.errors(include_url=False):
        for where, text in _explain(item, root):
            seen.setdefault(where, f"{where}: {text}")
    return list(seen.values())


def _explain(item: Mapping[str, Any], root: type[BaseModel]) -> Iterable[tuple[str, str]]:
    loc = tuple(item["loc"])
    kind = item["type"]
    given = item.get("input")
    path, annotation, info, owner = _walk(root, loc)
    cause = (item.get("ctx") or {}).get("error")
    if isinstance(cause, Relations):
        for relation in cause.problems:
            yield _where(root, (*path, *relation.at)), relation.text
        return
    where = _where(root, path)
    if kind == "extra_forbidden" and len(path) == 1 and isinstance(given, dict):
        where = f"[{_key(str(path[0]))}]"
    if kind == "extra_forbidden" and owner is not None:
        yield where, _unknown(root, path, owner, given)
    elif isinstance(cause, Invalid):
        yield where, f"expected {cause.expected}, got {_show(given)}"
    elif cause is not None:
        yield where, f"{cause}, got {_show(given)}"
    elif annotation is None:
        yield where, f"{item['msg']}, got {_show(given)}"
    else:
        yield where, f"expected {describe(annotation, info)}, got {_show(given)}"


def _walk(
    root: type[BaseModel], loc: tuple[Any, ...]
) -> tuple[tuple[str | int, ...], Any, FieldInfo | None, type[BaseModel] | None]:
    """Follow an error location through the models: (path as the user wrote it, annotation, field, owner).

    Steps pydantic adds that are not keys (a union member's name) end the walk: the problem is
    then the field's. ``owner`` is the model an unknown key was found in.
    """
    annotation: Any = root
    info: FieldInfo | None = None
    path: list[str | int] = []
    for part in loc:
        model = _model_of(annotation)
        base = _strip(annotation)[0]
        origin = typing.get_origin(base)
        if model is not None and isinstance(part, str):
            if part not in model.model_fields:
                return (*path, part), None, None, model
            info = model.model_fields[part]
            annotation = info.annotation
        elif origin is dict and isinstance(part, str) and not part.startswith("["):
            annotation, info = typing.get_args(base)[1], None
        elif origin is list and isinstance(part, int):
            annotation, info = typing.get_args(base)[0], None
        else:
            break
        path.append(part)
    return tuple(path), annotation, info, None


def _where(root: type[BaseModel], path: tuple[str | int, ...]) -> str:
    """``[section] key.sub[2]`` for a key in a table, the bare key at the top of the file."""
    if not path:
        return "config"
    head, rest = path[0], path[1:]
    if isinstance(head, str) and head in root.model_fields and _is_table(root.model_fields[head].annotation):
        section = f"[{_key(head)}]"
        return f"{section} {_dotted(rest)}" if rest else section
    return _dotted(path)


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{_key(part)}" if text else _key(part))
    return text


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _unknown(root: type[BaseModel], path: tuple[str | int, ...], owner: type[BaseModel], given: Any) -> str:
    name = str(path[-1])
    what = "unknown table" if isinstance(given, dict) and len(path) == 1 else "unknown key"
    known = list(owner.model_fields)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
    if close:
        return f"{what}; did you mean {_where(root, (*path[:-1], close[0]))}?"
    return f"{what} (known: {', '.join(known)})"


def _show(value: Any, limit: int = 60) -> str:
    """A value as the user wrote it in TOML (near enough): strings quoted, true/false lower-case."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- what a field expects


def describe(annotation: Any, info: FieldInfo | None = None) -> str:
    """What a field accepts, in words: "a number between 0 and 1", "one of "all", "user"", "a table"."""
    base, metadata = _strip(annotation)
    if info is not None:
        metadata = [*info.metadata, *metadata]
    origin = typing.get_origin(base)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(base) if a is not type(None)]
        return " or ".join(describe(option) for option in options)
    if origin is Literal:
        return "one of " + ", ".join(_show(option) for option in typing.get_args(base))
    if base is bool:
        return "true or false"
    if base is int:
        return "an integer" + _bounds(metadata)
    if base is float:
        return "a number" + _bounds(metadata)
    if base is str:
        return "a string"
    if origin is list:
        item = describe(typing.get_args(base)[0])
        plural = {"a string": "strings", "an integer": "integers", "a number": "numbers", "a table": "tables"}
        return f"a list of {plural[item]}" if item in plural else "a list"
    if origin is dict or _model_of(base) is not None:
        return "a table"
    return getattr(base, "__name__", str(base))


def _bounds(metadata: Iterable[Any]) -> str:
    low: tuple[str, float] | None = None
    high: tuple[str, float] | None = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = ("ge", float(m.ge))  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Gt):
            low = ("gt", float(m.gt))  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            high = ("le", float(m.le))  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Lt):
            high = ("lt", float(m.lt))  # type: ignore[arg-type]
    words = {"ge": "at least {}", "gt": "above {}", "le": "at most {}", "lt": "below {}"}
    if low and high and (low[0], high[0]) == ("ge", "le"):
        return f" between {_num(low[1])} and {_num(high[1])}"
    if low == ("ge", 0.0) and high is None:
        return " of 0 or more"
    parts = [words[kind].format(_num(value)) for kind, value in (b for b in (low, high) if b)]
    if not parts:
        return ""
    return (" of " if parts[0].startswith("at ") else " ") + " and ".join(parts)


def _num(value: float) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------- model introspection


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, m...]`` -> (T, [m...]); ``T | None`` -> T (TOML has no null)."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is Annotated:
        for item in annotation.__metadata__:  # Field(ge=1) inside Annotated carries its bounds
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = annotation.__origin__
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(options) == 1:
            return _strip(options[0])[0], metadata
    return annotation, metadata


def _model_of(annotation: Any) -> type[BaseModel] | None:
    base = _strip(annotation)[0]
    return base if inspect.isclass(base) and issubclass(base, BaseModel) else None


def _is_table(annotation: Any) -> bool:
    return _model_of(annotation) is not None


def walk_fields(model: type[BaseModel], prefix: str = "") -> Iterable[tuple[str, FieldInfo]]:
    """Every field of ``model`` and of the models below it, as (dotted name, field)."""
    for name, info in model.model_fields.items():
        yield f"{prefix}{name}", info
        below = _model_of(info.annotation)
        if below is None and typing.get_origin(_strip(info.annotation)[0]) is dict:
            below = _model_of(typing.get_args(_strip(info.annotation)[0])[1])
        if below is not None:
            yield from walk_fields(below, f"{prefix}{name}.")
