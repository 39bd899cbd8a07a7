"""`import curate` (and the build path) must not pull in the heavy stacks."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "textual", "peft", "datasets")


def imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_import_curate_is_light() -> None:
    modules = imported_after("import curate")
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_build_command_modules_are_light() -> None:
    modules = imported_after("import curate.cli, curate.pipeline, curate.commands.build")
    heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
    assert heavy == [], (
        f"the CLI imports {heavy} at start-up; import them inside the functions that need them"
    )
