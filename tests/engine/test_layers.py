"""The engine's shape: import edges between curate's subpackages, and no import circle anywhere.

The layer order itself is an import-linter contract in pyproject.toml (`lint-imports`, run by
`make test` and below); this test prints the edges so a reader sees the picture, and fails on any
circle, at the level of subpackages and of single modules.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def _subpackage(module: str) -> str:
    """curate.stages.dedup.near -> stages.dedup; curate.stages.split -> stages.split (each stage is
    a unit of its own); curate.core.frame -> core; curate.api -> api."""
    parts = module.split(".")[1:]
    if parts and parts[0] == "stages" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0] if parts else "(curate)"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node, or with a self-loop (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circle_between_subpackages_or_modules() -> None:
    graph = grimp.build_graph("curate")
    modules = sorted(graph.modules)
    module_edges = {m: graph.find_modules_directly_imported_by(m) for m in modules}
    package_edges: dict[str, set[str]] = defaultdict(set)
    for source, targets in module_edges.items():
        for target in targets:
            a, b = _subpackage(source), _subpackage(target)
            if a != b and a != "(curate)" and b != "(curate)":
                package_edges[a].add(b)
    print("\nimport edges between curate's subpackages:")
    for source in sorted(package_edges):
        print(f"  {source:<18} -> {', '.join(sorted(package_edges[source]))}")
    assert _cycles(package_edges) == [], "subpackages import each other in a circle"
    assert _cycles(module_edges) == [], "modules import each other in a circle"


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter is a dev dependency: pip install -e '.[dev]'"
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
