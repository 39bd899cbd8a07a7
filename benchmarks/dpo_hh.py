"""What a short DPO run learns on real preference pairs: Anthropic HH-RLHF harmless, built and trained.

The baseline is the model before training, measured in the same run on the same held-out pairs: the
preference accuracy (share of eval pairs whose log-probability of the chosen answer, given the prompt,
exceeds the rejected one's) and the mean margin, before and after, with the run's time.

1. `curate build` of ../shared/data/hh_harmless_test.jsonl as a preference build, 5% of the prompt
   groups held out as eval pairs, the sample's general chat data held out for the forgetting measure;
2. `train run --method dpo` on the train pairs (LoRA, the base with the adapter off as reference).

    .venv/bin/python benchmarks/dpo_hh.py                       # 16 steps of 4 pairs, 50 eval pairs
    .venv/bin/python benchmarks/dpo_hh.py --steps 100 --eval-pairs 0   # longer; every eval pair
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "hh_harmless_test.jsonl"
BIN = Path(sys.executable).parent

CURATE_TOML = """
[build]
name = "hh"
out = "{out}"
inputs = ["{data}"]
general = ["{general}"]
kind = "preference"

[split]
eval_fraction = 0.05

[mix]
ratio = 0.0
heldout_fraction = 0.2
heldout_max = 30

[review]
db = "{out}/reviews.sqlite"
"""

# Sized for a 2-core CPU, where a pair costs about ten forward passes (policy forward and backward on
# both answers, the reference forward): most HH pairs fit 256 tokens, and 135M weights need no
# activation checkpointing at that length.
TRAIN_TOML = """
[model]
max_length = 256
gradient_checkpointing = false

[train]
method = "dpo"
max_steps = {steps}
batch_size = 2
grad_accum = 2

[dpo]
beta = 0.1
learning_rate = 0.0005

[eval]
max_examples = {eval_pairs}

[output]
dir = "{out}"
"""


def run(command: list[str]) -> float:
    started = time.perf_counter()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=16, help="optimizer steps of 4 pairs")
    parser.add_argument("--eval-pairs", type=int, default=50, help="held-out pairs measured (0: all)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skipped: {args.data} is absent (the shared data folder)")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        general = ROOT / "samples" / "data" / "general.jsonl"
        (work / "curate.toml").write_text(CURATE_TOML.format(out=work, data=args.data, general=general))
        (work / "train.toml").write_text(
            TRAIN_TOML.format(steps=args.steps, eval_pairs=args.eval_pairs, out=work / "run")
        )
        build_s = run([str(BIN / "curate"), "build", str(work / "curate.toml")])
        counts = json.loads((work / "hh" / "manifest.json").read_text())["counts"]
        train_s = run([str(BIN / "train"), "run", str(work / "train.toml"), "--data", str(work / "hh")])
        m = json.loads((work / "run" / "metrics.json").read_text())
    print(f"build: {build_s:.1f} s; {json.dumps(counts.get('by_reason', {}))}")
    print(
        f"DPO: {m['steps']} steps, {m['train_pairs']} train pairs ({m['epochs']} epochs), {m['eval_pairs']} "
        f"eval pairs; train run {train_s:.0f} s wall (training {m['train_runtime_s']:.0f} s, "
        f"{m['train_cpu_time_s']:.0f} s CPU)"
    )
    print("| | before (base) | after | change |")
    print("|---|---:|---:|---:|")
    for name, key in (("preference accuracy", "preference_accuracy"), ("mean margin", "preference_margin")):
        before, after = m[f"{key}_before"], m[f"{key}_after"]
        print(f"| {name} | {before:.3f} | {after:.3f} | {after - before:+.3f} |")
    gb, ga = m["general_loss_before"], m["general_loss_after"]
    if gb is not None and ga is not None:
        print(f"| general loss (forgetting) | {gb:.3f} | {ga:.3f} | {ga - gb:+.3f} |")
    print(f"DPO loss first/last step: {m['step_losses'][0]:.3f} / {m['step_losses'][-1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
