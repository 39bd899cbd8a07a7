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
    build_path: str,
    model_name: str,
    count: int,
    max_length: int,
    split: str,
    console: Console,
    default_system_prompt: bool = True,
) -> None:
    """Print examples token by token; trained tokens are green, context tokens dim."""
    from train.data import Renderer, encode_example, load_split, open_build
    from train.models import load_tokenizer, resolve_model

    build = open_build(build_path)
    path = {"train": build.train, "eval": build.eval, "general": build.general}.get(split)
    if path is None:
        raise TrainError(f"the build has no {split} split", where=str(build.path))
    tokenizer = load_tokenizer(resolve_model(model_name))
    renderer = Renderer(tokenizer, default_system_prompt)
    added = Renderer(tokenizer).default_system_prompt()
    if added:
        console.print(
            f"[yellow]the chat template adds this system prompt to examples that have none, so it is "
            f"trained into each of them: {added!r}"
            + (
                "; left out here (model.default_system_prompt false)[/]"
                if not default_system_prompt
                else "; set model.default_system_prompt = false in train.toml "
                "(or --no-default-system-prompt) to leave it out[/]"
            )
        )
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
    trained = (folder / "adapter").is_dir() or (folder / "model").is_dir()
    if not trained or not config_path.is_file():
        raise TrainError(
            "not a finished run folder (no adapter/ or model/, or no train-config.json)",
            where=str(folder),
            hint="run `train run` first, or pass --run runs/<name>",
        )
    data: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    return data


def _base_path(info: dict[str, Any]) -> str:
    from train.models import resolve_model

    base_path = info.get("model_path") or resolve_model(info["config"]["model"]["name"])
    if not Path(base_path).exists() and info["config"]["model"]["name"] == "default":
        base_path = resolve_model("default")
    return str(base_path)


def load_run_model(run: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """The base model with the run's adapter attached (switch it off with ``disable_adapter()``).

    A ``full`` run has no adapter: its trained model is returned, and ``base_model`` loads the base.
    """
    from peft import PeftModel

    from train.models import load_model, load_tokenizer

    info = read_run(run)
    if (Path(run) / "model").is_dir() and not (Path(run) / "adapter").is_dir():
        tokenizer = load_tokenizer(str(Path(run) / "model"))
        model = load_model(str(Path(run) / "model")).eval()  # type: ignore[no-untyped-call]
        return model, tokenizer, info
    tokenizer = load_tokenizer(str(Path(run) / "adapter"))
    base = load_model(_base_path(info))
    model = PeftModel.from_pretrained(base, str(Path(run) / "adapter"))
    model.eval()
    return model, tokenizer, info


def _keeps_default_system(info: dict[str, Any]) -> bool:
    return bool(info.get("config", {}).get("model", {}).get("default_system_prompt", True))


def chat(run: str, prompt: str | None, max_new_tokens: int | None, console: Console) -> None:
    from train.evaluate import generate

    model, tokenizer, info = load_run_model(run)
    limit = max_new_tokens or int(info["config"]["eval"]["max_new_tokens"])
    keep = _keeps_default_system(info)
    if prompt:
        answer = generate(model, tokenizer, [{"role": "user", "content": prompt}], limit, keep)
        console.print(f"[bold green]model>[/] {answer}")
        return
    console.print("[dim]type a prompt; an empty line ends the chat[/]")
    history: list[dict[str, Any]] = []
    while text := console.input("[bold]you>[/] ").strip():
        history.append({"role": "user", "content": text})
        answer = generate(model, tokenizer, history, limit, keep)
        history.append({"role": "assistant", "content": answer})
        console.print(f"[bold green]model>[/] {answer}")


def compare(run: str, count: int, max_new_tokens: int, console: Console) -> list[dict[str, str]]:
    """Base and fine-tuned answers to the first eval prompts, side by side."""
    from train.data import load_split, open_build
    from train.evaluate import generate, prompt_messages
    from train.models import load_model

    model, tokenizer, info = load_run_model(run)
    keep = _keeps_default_system(info)
    # a full run has no adapter to switch off: the base model answers from its own copy
    base_model = None if hasattr(model, "disable_adapter") else load_model(_base_path(info)).eval()  # type: ignore[no-untyped-call]
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
        if base_model is None:
            with model.disable_adapter():
                base = generate(model, tokenizer, messages, max_new_tokens, keep)
        else:
            base = generate(base_model, tokenizer, messages, max_new_tokens, keep)
        tuned = generate(model, tokenizer, messages, max_new_tokens, keep)
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
