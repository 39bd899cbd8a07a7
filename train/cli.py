"""The ``train`` command: run, inspect-data, chat, compare.

Every ``TrainError`` is caught here, once, and printed as one line; the exit code is 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from train.errors import TrainError

RUN_EXAMPLE = """example:
  train run samples/train.toml --data build/samples --max-steps 30
  train run --data build/samples --model ./my-model --epochs 2 --no-packing --out runs/try2
  train run samples/train.toml --data build/samples --resume
  train run --data build/samples --method qlora       (LoRA on a 4-bit base; needs bitsandbytes)
  train run --data build/pairs --method dpo --max-steps 20   (preference pairs: DPO with LoRA)
  accelerate launch -m train.cli run samples/train.toml --data build/samples   (several GPUs)
"""
INSPECT_EXAMPLE = """example:
  train inspect-data --data build/samples --count 2
"""
CHAT_EXAMPLE = """example:
  train chat --run runs/samples --prompt "How do I reset my password?"
  train chat --run runs/samples            (interactive; an empty line ends)
"""
COMPARE_EXAMPLE = """example:
  train compare --run runs/samples --count 3
"""


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="train",
        description="LoRA fine-tuning on a curated build: what the model gained and what it forgot.",
        epilog="examples:\n  train run samples/train.toml --data build/samples --max-steps 30\n"
        "  train inspect-data --data build/samples\n  train compare --run runs/samples\n"
        "  train chat --run runs/samples --prompt 'Hello'",
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="train a LoRA adapter on BUILD/train.jsonl",
        epilog=RUN_EXAMPLE,
        formatter_class=fmt,
        description="Train a LoRA adapter; flags override the config file.",
    )
    run.add_argument("config", nargs="?", help="train.toml (optional; every field has a default)")
    run.add_argument("--data", help="build folder (train.jsonl, eval.jsonl, manifest.json)")
    run.add_argument("--model", help="'default' (SmolLM2-135M-Instruct), a local folder or a hub id")
    run.add_argument("--out", help="run folder (default runs/<build name>)")
    run.add_argument("--max-steps", type=int, help="optimizer steps (overrides --epochs)")
    run.add_argument("--epochs", type=float, help="passes over the training data")
    run.add_argument("--lr", type=float, help="peak learning rate")
    run.add_argument("--batch-size", type=int, help="rows per forward pass")
    run.add_argument("--grad-accum", type=int, help="forward passes per optimizer step")
    run.add_argument("--max-length", type=int, help="tokens per example (longer ones are truncated)")
    run.add_argument(
        "--method",
        choices=["lora", "qlora", "full", "dpo"],
        help="lora (default), qlora (4-bit base), full (every weight) or dpo (LoRA on preference pairs)",
    )
    run.add_argument(
        "--default-system-prompt",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the system prompt the chat template adds to examples without one",
    )
    run.add_argument(
        "--packing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pack examples into rows (padding-free)",
    )
    run.add_argument("--gradient-checkpointing", action=argparse.BooleanOptionalAction, default=None)
    run.add_argument("--eval-every", type=int, help="steps between eval-loss checks")
    run.add_argument(
        "--early-stopping", type=int, metavar="PATIENCE", help="stop after PATIENCE bad eval checks"
    )
    run.add_argument("--eval-max-examples", type=int, help="cap the examples used for before/after loss")
    run.add_argument("--seed", type=int)
    run.add_argument("--merge", action="store_true", default=None, help="also write merged/ (base + adapter)")
    run.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")

    ins = sub.add_parser(
        "inspect-data",
        help="show examples token by token with their labels",
        epilog=INSPECT_EXAMPLE,
        formatter_class=fmt,
    )
    ins.add_argument("--data", required=True, help="build folder")
    ins.add_argument("--model", default="default", help="model whose tokenizer and chat template to use")
    ins.add_argument("--split", default="train", choices=["train", "eval", "general"])
    ins.add_argument("--count", type=int, default=3, help="examples to show")
    ins.add_argument("--max-length", type=int, default=1024)
    ins.add_argument(
        "--default-system-prompt",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the system prompt the chat template adds to examples without one",
    )

    chat = sub.add_parser(
        "chat", help="answer a prompt with the fine-tuned model", epilog=CHAT_EXAMPLE, formatter_class=fmt
    )
    chat.add_argument("--run", required=True, help="run folder written by `train run`")
    chat.add_argument("--prompt", help="one prompt; without it, an interactive chat")
    chat.add_argument(
        "--max-new-tokens", type=int, default=None, help="default: the run's eval.max_new_tokens"
    )

    cmp_ = sub.add_parser(
        "compare",
        help="base and fine-tuned answers to eval prompts, side by side",
        epilog=COMPARE_EXAMPLE,
        formatter_class=fmt,
    )
    cmp_.add_argument("--run", required=True, help="run folder written by `train run`")
    cmp_.add_argument("--count", type=int, default=None, help="eval prompts to show (default: the config's)")
    cmp_.add_argument("--max-new-tokens", type=int, default=None)
    return parser


def _overrides(ns: argparse.Namespace) -> dict[str, Any]:
    return {
        "data": ns.data,
        "model.name": ns.model,
        "output.dir": ns.out,
        "train.max_steps": ns.max_steps,
        "train.epochs": ns.epochs,
        "train.learning_rate": ns.lr,
        "train.batch_size": ns.batch_size,
        "train.grad_accum": ns.grad_accum,
        "model.max_length": ns.max_length,
        "train.packing": ns.packing,
        "model.gradient_checkpointing": ns.gradient_checkpointing,
        "train.eval_every": ns.eval_every,
        "train.early_stopping_patience": ns.early_stopping,
        "eval.max_examples": ns.eval_max_examples,
        "train.seed": ns.seed,
        "output.merge": ns.merge,
        "train.method": ns.method,
        "model.default_system_prompt": ns.default_system_prompt,
    }


def _quiet_libraries() -> None:
    """Library chatter off, through environment variables so nothing heavy is imported yet."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DATASETS_VERBOSITY", "error")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


def _run(ns: argparse.Namespace, console: Any) -> None:
    from train.config import load_config
    from train.sizing import explicit_settings

    overrides = _overrides(ns)
    cfg = load_config(ns.config, overrides)
    _quiet_libraries()
    if cfg.train.method == "dpo":
        from train.dpo import fit_dpo

        dpo = fit_dpo(cfg, say=console.print, explicit=explicit_settings(ns.config, overrides))
        _print_dpo_metrics(dpo, console)
        return
    from train.dpo import refuse_preference_build
    from train.run import fit, rank_and_world

    refuse_preference_build(cfg)
    metrics = fit(cfg, resume=ns.resume, say=console.print, explicit=explicit_settings(ns.config, overrides))
    if rank_and_world()[0] == 0:
        _print_metrics(metrics, cfg, console)


def _print_dpo_metrics(m: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="what the model learned to prefer and what it forgot (dpo)")
    for name, justify in (("measure", "left"), ("before", "right"), ("after", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_row(
        f"preference accuracy ({m['eval_pairs']} eval pairs)",
        _fmt(m["preference_accuracy_before"]),
        _fmt(m["preference_accuracy_after"]),
    )
    table.add_row(
        "mean log-prob margin", _fmt(m["preference_margin_before"]), _fmt(m["preference_margin_after"])
    )
    general = ("n/a", m["general_loss_reason"] or "") if m["general_loss_before"] is None else None
    table.add_row(
        "general_eval.jsonl loss (forgot)",
        *(general or (_fmt(m["general_loss_before"]), _fmt(m["general_loss_after"]))),
    )
    console.print(table)
    console.print(f"{m['steps']} steps, final DPO loss {m['train_loss']:.4f}, {m['wall_time_s']} s in all")


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _signed(change: float | None, rose: str, fell: str) -> str:
    """A signed change with what it means, so a loss that fell is never read as forgetting."""
    if change is None:
        return "n/a"
    return f"{change:+.4f} ({rose if change > 0 else fell if change < 0 else 'unchanged'})"


def _print_metrics(m: dict[str, Any], cfg: Any, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"what the model gained and what it forgot ({m.get('method', 'lora')})")
    table.add_column("loss per assistant token")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    table.add_column("change (after - before)", justify="right")
    table.add_row(
        "eval.jsonl",
        _fmt(m["eval_loss_before"]),
        _fmt(m["eval_loss_after"]),
        _signed(m["eval_loss_change"], "worse on the task", "learned"),
    )
    if m["general_loss_before"] is None:
        table.add_row("general_eval.jsonl", "n/a", "n/a", m["general_loss_reason"] or "")
    else:
        table.add_row(
            "general_eval.jsonl",
            _fmt(m["general_loss_before"]),
            _fmt(m["general_loss_after"]),
            _signed(m["general_loss_change"], "forgot", "no forgetting: it fell"),
        )
    console.print(table)
    console.print(f"{m['steps']} steps, {m['tokens_per_second']} tokens/s, {m['wall_time_s']} s in all")


def main(argv: Sequence[str] | None = None) -> int:
    from rich.console import Console

    ns = _parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    try:
        if ns.command == "run":
            _run(ns, console)
        elif ns.command == "inspect-data":
            _quiet_libraries()
            from train.show import inspect_data

            inspect_data(
                ns.data, ns.model, ns.count, ns.max_length, ns.split, console, ns.default_system_prompt
            )
        elif ns.command in ("chat", "compare"):
            _quiet_libraries()
            from train import show

            if ns.command == "chat":
                show.chat(ns.run, ns.prompt, ns.max_new_tokens, console)
            else:
                cfg = show.read_run(ns.run)["config"]["eval"]
                show.compare(
                    ns.run,
                    ns.count or cfg["compare_prompts"],
                    ns.max_new_tokens or cfg["max_new_tokens"],
                    console,
                )
    except TrainError as exc:
        from rich.text import Text

        err.print(Text.assemble(("train: error: ", "bold red"), str(exc)), soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
