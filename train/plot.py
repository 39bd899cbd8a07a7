"""loss.png: training loss per step, eval checks during training, and the before/after measurements.

Before and after are two measurements, not a series: they are drawn as separate markers at step 0 and
at the last step, never joined by a line that would suggest a trend between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_losses(path: Path, steps: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    train = [(s["step"], s["loss"]) for s in steps if s.get("loss") is not None]
    if train:
        ax.plot([x for x, _ in train], [y for _, y in train], label="train loss", color="#4c72b0", lw=1.2)
    last = metrics.get("steps") or (train[-1][0] if train else 1)
    for key, name, color in (("eval", "eval", "#dd8452"), ("general", "general", "#55a868")):
        during = [(s["step"], s[f"{key}_loss"]) for s in steps if s.get(f"{key}_loss") is not None]
        if during:
            ax.plot(
                [x for x, _ in during],
                [y for _, y in during],
                "-",
                color=color,
                lw=1,
                alpha=0.7,
                label=f"{name} loss during training",
            )
        before, after = metrics.get(f"{key}_loss_before"), metrics.get(f"{key}_loss_after")
        if before is not None:
            ax.plot([0], [before], "o", mfc="none", color=color, ms=8, label=f"{name} loss before")
        if after is not None:
            ax.plot([last], [after], "o", color=color, ms=8, label=f"{name} loss after")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss per assistant token")
    ax.set_title(f"chatcurate train run ({metrics.get('method', 'lora')})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
