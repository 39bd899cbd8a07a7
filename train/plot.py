"""loss.png: training loss per step with the eval and general losses before, during and after."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_losses(path: Path, steps: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    train = [(s["step"], s["loss"]) for s in steps if s.get("loss") is not None]
    if train:
        ax.plot([x for x, _ in train], [y for _, y in train], label="train loss", color="#4c72b0", lw=1.2)
    evals = [(s["step"], s["eval_loss"]) for s in steps if s.get("eval_loss") is not None]
    last = metrics.get("steps") or (train[-1][0] if train else 1)
    if metrics.get("eval_loss_before") is not None:
        evals = [(0, metrics["eval_loss_before"]), *evals]
    if metrics.get("eval_loss_after") is not None:
        evals = [*evals, (last, metrics["eval_loss_after"])]
    if evals:
        ax.plot(
            [x for x, _ in evals], [y for _, y in evals], "o-", label="eval loss (gained)", color="#dd8452"
        )
    if metrics.get("general_loss_before") is not None and metrics.get("general_loss_after") is not None:
        ax.plot(
            [0, last],
            [metrics["general_loss_before"], metrics["general_loss_after"]],
            "s--",
            label="general loss (forgot)",
            color="#55a868",
        )
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss per assistant token")
    ax.set_title("chatcurate train run")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
