"""The semantic stages' embedding throughput against a bare ``SentenceTransformer.encode`` of the
same texts, in the same run: how much the stages add around the model.

The stages run as a build runs them (exact and near dedup with semantic dedup, the split, and
leakage with the semantic test) on GSM8K train with GSM8K test as the eval set; every text they
hand to the model is recorded. Their semantic time is the difference between the stages with
and without the semantic parts. The bare encode then embeds exactly those texts, batch 64, with
the model already loaded (it is loaded before either is timed). Each is timed by the clock and
by the process's CPU time: on a shared machine the clock says more about the neighbours.

    .venv/bin/python benchmarks/semantic_speed.py               # 2,000 train rows (+ the test set)
    .venv/bin/python benchmarks/semantic_speed.py --rows 0      # all 7,473
    .venv/bin/python benchmarks/semantic_speed.py --rows 100 --eval-rows 100   # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from curate.core.config import load_config  # noqa: E402
from curate.core.context import BuildContext  # noqa: E402
from curate.ingest.inputs import InputSpec, ingest  # noqa: E402
from curate.stages import embeddings, split  # noqa: E402
from curate.stages.dedup import exact as exact_dedup  # noqa: E402
from curate.stages.dedup import near as near_dedup  # noqa: E402
from curate.stages.leakage import stage as leakage  # noqa: E402


def stages(frame: Any, semantic: bool) -> tuple[float, float]:
    """Wall and CPU seconds of the stages, as a build runs them."""
    ctx = BuildContext(config=load_config(None), semantic=semantic)
    started, cpu = time.perf_counter(), time.process_time()
    frame = near_dedup.run(exact_dedup.run(frame, ctx), ctx)
    frame = leakage.run(split.run(frame, ctx), ctx)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2000, help="GSM8K train rows (0: all)")
    parser.add_argument("--eval-rows", type=int, default=0, help="GSM8K test rows (0: all 1,319)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    train, test = args.data / "gsm8k_train.jsonl", args.data / "gsm8k_test.jsonl"
    if not train.is_file() or not test.is_file():
        print(f"skipped: {args.data} has no gsm8k_train.jsonl / gsm8k_test.jsonl (the shared data folder)")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        lines = train.read_bytes().splitlines(keepends=True)
        part = Path(folder) / "train.jsonl"
        part.write_bytes(b"".join(lines[: args.rows] if args.rows else lines))
        held = Path(folder) / "test.jsonl"
        test_lines = test.read_bytes().splitlines(keepends=True)
        held.write_bytes(b"".join(test_lines[: args.eval_rows] if args.eval_rows else test_lines))
        frame, _ = ingest([InputSpec(str(part), "input"), InputSpec(str(held), "eval")], 16 << 20)

        model = embeddings.load_embedder()  # loaded before anything is timed
        import torch  # already loaded with the model

        seen: list[str] = []

        class Recording:
            """The model, noting every text the stages hand it (they bind ``embed`` at import,
            which reads the model through ``load_embedder`` on each call)."""

            def encode(self, texts: list[str], **options: Any) -> Any:
                seen.extend(texts)
                return model.encode(texts, **options)

            def __getattr__(self, name: str) -> Any:  # tokenizer, max_seq_length: the model's
                return getattr(model, name)

        real_loader = embeddings.load_embedder
        embeddings.load_embedder = lambda: Recording()  # type: ignore[assignment]
        plain = stages(frame, semantic=False)
        with_semantic = stages(frame, semantic=True)
        embeddings.load_embedder = real_loader
        stage_wall, stage_cpu = with_semantic[0] - plain[0], with_semantic[1] - plain[1]

        started, cpu = time.perf_counter(), time.process_time()
        model.encode(
            seen, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        bare_wall, bare_cpu = time.perf_counter() - started, time.process_time() - cpu

    print(
        f"rows {frame.height:,}  texts embedded {len(seen):,} ({len(set(seen)):,} distinct)  "
        f"cores {embeddings.available_cores()} of {os.cpu_count()}  torch threads {torch.get_num_threads()}  "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"stages without semantic {plain[0]:.2f}s (CPU {plain[1]:.2f}s)  with {with_semantic[0]:.2f}s")
    for name, wall, cpu_s in (
        ("stage semantic part", stage_wall, stage_cpu),
        ("bare encode", bare_wall, bare_cpu),
    ):
        print(
            f"{name + ':':20} {len(seen) / wall:,.1f} texts/s ({wall:.2f}s); "
            f"by CPU time {len(seen) / cpu_s:,.1f} texts/s ({cpu_s:.2f}s)"
        )
    print(
        f"ratio stage / bare:  {bare_wall / stage_wall:.2f}x by the clock, "
        f"{bare_cpu / stage_cpu:.2f}x by CPU time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
