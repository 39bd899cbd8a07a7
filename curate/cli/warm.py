"""Compile every numba kernel of a build once, so that the first real build only loads them.

numba caches machine code beside the sources (``cache=True``); compiling all of it takes a while
(benchmarks/RESULTS.md), which ``make setup`` pays here rather than a user's first ``curate build``. A
small build of generated records runs every stage's compiled path: the plain chat scan, the
Python path's neighbours, quality, near dedup, leakage and the writers.

Usage: python -m curate.cli.warm
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import orjson

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.engines.local import run_build
from curate.output.writers import write_build
from curate.stages.dedup.minhash import compile_kernels


def _records() -> list[bytes]:
    lines = []
    for i in range(200):
        answer = f"Item {i}: café, naïve and 1/2 — restart the hub, then wait {i % 7} minutes."
        record = {
            "id": i,
            "messages": [
                {"role": "user", "content": f"How do I fix problem number {i} with the hub?"},
                {"role": "assistant", "content": answer},
            ],
        }
        lines.append(orjson.dumps(record))
    spaced = {"messages": [{"role": "user", "content": "Café?"}, {"role": "assistant", "content": "Yes."}]}
    lines.append(json.dumps(spaced).encode())  # spaces and \u escapes: rewritten when read back
    lines.append(b"{not json")
    return lines


def main() -> None:
    compile_kernels()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "chats.jsonl"
        data.write_bytes(b"\n".join(_records()) + b"\n")
        config = load_config(
            None,
            {"build": {"inputs": [str(data)]}, "validate": {"tokenizer": "estimate"}},
        )
        result = run_build(BuildContext(config))
        out = Path(folder) / "build"
        out.mkdir()
        write_build(result.frame, out)


if __name__ == "__main__":
    main()
