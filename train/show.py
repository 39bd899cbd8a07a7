"""What ``train inspect-data``, ``train chat`` and ``train compare`` print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from train.errors import TrainError


def inspect_data(
    build_path: str, model_name: str, count: int, max_length: int, split: str, console: Console
) -> None:
    """Print examples token by token; trained tokens are green, context tokens dim."""
    from train.data import Renderer, encode_example, load_split, open_build
    from train.models import load_tokenizer, resolve_model

    build = open_build(build_path)
    path = {"train": build.train, "eval": build.eval, "general": build.general}.get(split)
    if path is None:
        raise TrainError(f"the build has no {split} split", where=str(build.path))
    tokenizer = load_tokenizer(resolve_model(model_name))
    renderer = Renderer(tokenizer)
    for row in load_split(path)[:count]:
        enc = encode_example(renderer, row, max_length)
        console.rule(
            f"{row['id']}: {len(enc.input_ids)} tokens, {enc.n_trainable} trained"
            + (f", truncated from {enc.full_length}" if enc.truncated else "")
        )
        text = Text()
        for tok, label in zip(enc.input_ids, enc.labels, strict=True):
            piece = str(tokenizer.decode([tok])).replace("\n", "\\n\n")
            text.append(piece, style="bold green" if label != -100 else "dim")
            text.append("|", style="grey30")
        console.print(text)
        table = Table("pos", "token id", "token", "label", box=None, show_header=True)
        for j, (tok, label) in enumerate(zip(enc.input_ids, enc.labels, strict=True)):
            if j >= 80:
                table.add_row("...", "", f"{len(enc.input_ids) - 80} more", "")
                break
            table.add_row(
                str(j),
                str(tok),
                repr(tokenizer.decode([tok])),
                Text(str(label), style="green") if label != -100 else Text("-100", style="dim"),
            )
        console.print(table)


def read_run(run: str | Path) -> dict[str, Any]:
    folder = Path(run)
    config_path = folder / "train-config.json"
    if not (folder / "adapter").is_dir() or not config_path.is_file():
        raise TrainError(
            "not a finished run folder (no adapter/ or train-config.json)",
            where=str(folder),
            hint="run `train run` first, or pass --run runs/<name>",
        )
    data: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    return data


def load_run_model(run: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """The base model with the run's adapter attached (switch it off with ``disable_adapter()``)."""
    from peft import PeftModel

    from train.models import load_model, load_tokenizer, resolve_model

    info = read_run(run)
    base_path = info.get("model_path") or resolve_model(info["config"]["model"]["name"])
    if not Path(base_path).exists() and info["config"]["model"]["name"] == "default":
        base_path = resolve_model("default")
    tokenizer = load_tokenizer(str(Path(run) / "adapter"))
    base = load_model(str(base_path))
    model = PeftModel.from_pretrained(base, str(Path(run) / "adapter"))
    model.eval()
    return model, tokenizer, info


def chat(run: str, prompt: str | None, max_new_tokens: int, console: Console) -> None:
    from train.evaluate import generate

    model, tokenizer, _ = load_run_model(run)
    if prompt:
        answer = generate(model, tokenizer, [{"role": "user", "content": prompt}], max_new_tokens)
        console.print(f"[bold green]model>[/] {answer}")
        return
    console.print("[dim]type a prompt; an empty line ends the chat[/]")
    history: list[dict[str, Any]] = []
    while text := console.input("[bold]you>[/] ").strip():
        history.append({"role": "user", "content": text})
        answer = generate(model, tokenizer, history, max_new_tokens)
        history.append({"role": "assistant", "content": answer})
        console.print(f"[bold green]model>[/] {answer}")


def compare(run: str, count: int, max_new_tokens: int, console: Console) -> list[dict[str, str]]:
    """Base and fine-tuned answers to the first eval prompts, side by side."""
    from train.data import load_split, open_build
    from train.evaluate import generate, prompt_messages

    model, tokenizer, info = load_run_model(run)
    build = open_build(
        info["build"]["path"] if Path(info["build"]["path"]).is_dir() else info["config"]["data"]
    )
    rows = []
    if info.get("method") == "dpo":
        from train.dpo import load_pairs

        examples = load_pairs(build.eval, keep_id=True)
    else:
        examples = load_split(build.eval)
    for example in examples:
        messages, reference = prompt_messages(example)
        if reference is None or not messages:
            continue
        with model.disable_adapter():
            base = generate(model, tokenizer, messages, max_new_tokens)
        tuned = generate(model, tokenizer, messages, max_new_tokens)
        user = next(
            (m["content"] for m in reversed(messages) if m.get("role") == "user"), messages[-1]["content"]
        )
        rows.append(
            {"id": example["id"], "prompt": user, "base": base, "fine_tuned": tuned, "reference": reference}
        )
        if len(rows) >= count:
            break
    table = Table(title=f"base vs fine-tuned ({run})", show_lines=True, expand=True)
    for name, ratio in (("prompt", 2), ("base", 3), ("fine-tuned", 3), ("reference", 3)):
        table.add_column(name, ratio=ratio, overflow="fold")
    for r in rows:
        table.add_row(_short(r["prompt"]), r["base"], r["fine_tuned"], _short(r["reference"], 400))
    console.print(table)
    return rows


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
