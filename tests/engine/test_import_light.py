"""`import curate` (and the build path) must not pull in the heavy stacks."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import orjson

HEAVY = ("torch", "transformers", "sentence_transformers", "textual", "peft", "datasets", "ray")


def imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_import_curate_is_light() -> None:
    modules = imported_after("import curate")
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_build_command_modules_are_light() -> None:
    modules = imported_after("import curate.cli, curate.engines.local, curate.api")
    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert heavy == [], (
        f"the CLI imports {heavy} at start-up; import them inside the functions that need them"
    )


def _chat(question: str, answer: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


def _modules_after_build(argv: list[str]) -> list[str]:
    """Run `curate` with ``argv`` in a fresh interpreter; the modules it had loaded by the end."""
    code = (
        "import sys\n"
        "from curate.cli import main\n"
        f"code = main({argv!r})\n"
        "print('modules:', code, ' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    (report,) = [line for line in result.stdout.splitlines() if line.startswith("modules:")]
    exit_code, *modules = report.split()[1:]
    assert exit_code == "0", result.stdout + result.stderr
    return modules


def _write_jsonl(path: Path, records: list[object], extra: bytes = b"") -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records) + extra)
    return path


# The one module that needs ctypes: it calls glibc's mallopt to tune the allocator.
CTYPES_ALLOWED = {"curate/cli/memory.py"}


def test_strings_reach_polars_through_pyarrow_not_a_ctypes_binding() -> None:
    """Strings go to polars through pyarrow (curate.ingest.strings), which lets them be checked
    as UTF-8 first; a home-made Arrow C-interface binding over ctypes did not, and held the
    buffers' lifetime by hand. No module may bring such a binding back."""
    root = Path(__file__).resolve().parents[2]
    users: set[str] = set()
    exporters: set[str] = set()
    for folder in ("curate", "tui", "train"):
        for path in (root / folder).rglob("*.py"):
            source = path.read_text()
            for node in ast.walk(ast.parse(source)):
                if (
                    isinstance(node, ast.Import) and any(a.name.split(".")[0] == "ctypes" for a in node.names)
                ) or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ctypes"):
                    users.add(str(path.relative_to(root)))
            if "__arrow_c_array__" in source or "__arrow_c_stream__" in source:
                exporters.add(str(path.relative_to(root)))
    assert users <= CTYPES_ALLOWED
    assert exporters == set()


def test_import_curate_and_its_cli_leave_pyarrow_unloaded() -> None:
    """`curate --help` and the library import stay quick: the build path loads pyarrow when it
    first makes a string column (curate.ingest.strings), not at import."""
    for statement in ("import curate", "import curate.cli"):
        loaded = sorted(m for m in imported_after(statement) if m.split(".")[0] == "pyarrow")
        assert loaded == [], f"{statement} imported {loaded[:3]}"


def test_a_jsonl_build_runs_light(tmp_path: Path) -> None:
    """A JSONL build through every path (plain chat lines kept as spans in the file, ShareGPT and
    Alpaca records converted, a duplicate, a broken line, eval, benchmark and general files, so
    that leakage, mix and every writer run) loads none of the heavy stacks.
    """
    chats = [
        _chat(f"How do I reset thermostat number {i} after a power cut?", f"Hold dial {i} down.")
        for i in range(40)
    ]
    sharegpt = {
        "conversations": [
            {"from": "human", "value": "Where is the boiler fuse?"},
            {"from": "gpt", "value": "Under the panel."},
        ]
    }
    alpaca = {"instruction": "Name a warm colour.", "input": "", "output": "Orange is a warm colour."}
    inputs = _write_jsonl(tmp_path / "in.jsonl", [*chats, chats[0], sharegpt, alpaca], b"{not json\n")
    held_out = _write_jsonl(
        tmp_path / "eval.jsonl", [_chat("How do I bleed a radiator safely?", "Use a radiator key.")]
    )
    protected = _write_jsonl(tmp_path / "bench.jsonl", [_chat("What is seven times eight?", "Fifty-six.")])
    general = _write_jsonl(
        tmp_path / "general.jsonl", [_chat(f"Tell me fact {i}.", f"Fact {i} is true.") for i in range(5)]
    )
    out = tmp_path / "build"
    argv = [
        "build",
        "--input",
        inputs,
        "--eval",
        held_out,
        "--benchmark",
        protected,
        "--general",
        general,
        "--out",
        out,
    ]
    modules = _modules_after_build([str(a) for a in argv])
    assert (out / "train.jsonl").stat().st_size > 0 and (out / "examples.parquet").exists()
    loaded = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert loaded == [], f"a JSONL build imported {loaded}: import them inside the functions that need them"


def test_a_build_never_imports_torch_or_the_trainer(tmp_path: Path) -> None:
    """The default model is prepared by `make setup`; a build reads its tokenizer.json only."""
    inputs = _write_jsonl(tmp_path / "in.jsonl", [_chat(f"Question {i}?", f"Answer {i}.") for i in range(5)])
    modules = _modules_after_build(["build", "--input", str(inputs), "--out", str(tmp_path / "out")])
    assert not {m for m in modules if m.split(".")[0] in ("torch", "train", "transformers")}


def test_missing_default_model_is_one_line_not_a_silent_estimate(tmp_path: Path) -> None:
    inputs = _write_jsonl(tmp_path / "in.jsonl", [_chat("Question?", "Answer.")])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "empty-cache")}
    argv = ["build", "--input", str(inputs), "--out", str(tmp_path / "out")]
    code = f"import sys\nfrom curate.cli import main\nsys.exit(main({argv!r}))\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "make setup" in lines[0] and 'tokenizer = "estimate"' in lines[0]
    assert not (tmp_path / "out").exists()
