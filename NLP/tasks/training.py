"""What every NLP task does the same way: a model's training settings in its own section (``teacher.lr``,
``student.epochs``, as in every domain), AdamW with linear warm-up and decay through the Distiller, tables."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn

from kd.common.engine import DistillationMethod, Distiller
from kd.common.utils.errors import ConfigError
from kd.common.utils.plotting import markdown_grid
from kd.common.utils.run_folder import RunFolder

# The training settings every task's teacher and student have in their own sections (what :func:`fit` reads);
# translation's teacher adds label_smoothing. --resume may change them but the batch size (kd.nlp.scripts.launch).
SCHEDULE_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "warmup")


def moved_to_model_sections(teacher_keys: Iterable[str], student_keys: Iterable[str]) -> dict[str, str]:
    """The ``renamed`` entries (old key -> its new name) of the training settings that left ``train:`` for
    ``teacher:`` and ``distill:`` for ``student:``: ``train.lr`` is now ``teacher.lr``, ``distill.epochs``
    ``student.epochs``."""
    why = " (each model's training settings are in its own section, teacher: or student:)"
    return {**{f"train.{key}": f"teacher.{key}{why}" for key in teacher_keys},
            **{f"distill.{key}": f"student.{key}{why}" for key in student_keys}}


def linear_warmup_decay(optimizer: torch.optim.Optimizer, total_steps: int,
                        warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """LR factor rises linearly over ``warmup * total_steps`` steps, then falls linearly to 0 (BERT's schedule)."""
    warm = max(1, int(warmup * total_steps))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def fit(student: nn.Module, method: DistillationMethod, loader, *, epochs: int, lr: float, weight_decay: float,
        warmup: float, device: torch.device, run: RunFolder, teacher: nn.Module | None = None,
        evaluate: Callable[[int], dict] | None = None, resume: bool = False, grad_clip: float = 1.0,
        lr_key: str = "student.lr") -> list[dict]:
    """Train ``student`` (and ``method``'s own parameters) with AdamW through the common :class:`Distiller`;
    ``lr_key`` is the config key of ``lr`` (the advice after a diverging loss names it)."""
    params = [p for p in list(student.parameters()) + list(method.parameters()) if p.requires_grad]
    # float(): the config.yaml of a run saved before exponent numbers were parsed as numbers holds '3e-3' as a string
    optimizer = torch.optim.AdamW(params, lr=float(lr), weight_decay=float(weight_decay))
    scheduler = linear_warmup_decay(optimizer, epochs * len(loader), warmup)
    distiller = Distiller(student.to(device), method.to(device), optimizer, device=device,
                          teacher=teacher.to(device) if teacher is not None and method.needs_teacher else None,
                          scheduler=scheduler, scheduler_interval="step", run=run, grad_clip=grad_clip, log_every=20,
                          resume_advice=f"lower the learning rate and continue from the last checkpoint: --resume "
                                        f"{run.path} {lr_key}=<lower>")
    return distiller.fit(loader, epochs, evaluate=evaluate, resume=resume)


def refuse_empty_splits(splits: dict[str, list], name: str, what: str) -> dict[str, list]:
    """``splits`` as they are, or a ConfigError naming those that hold no ``what`` (an empty or blank file): a run on
    them would train on nothing, or score nothing, and save a model all the same."""
    empty = [split for split, items in splits.items() if not items]
    if empty:
        raise ConfigError(f"data set '{name}' holds no {what} in its {' and '.join(empty)} split"
                          f"{'s' if len(empty) > 1 else ''}; check the files under data.path (or data.train_file)")
    return splits


def evaluation_target(cfg: dict) -> str:
    """What ``evaluate`` scores in the LM and translation tasks: ``evaluate.checkpoint``; without one the teacher,
    ``teacher.checkpoint`` or else the pretrained ``teacher.name`` as it is (the label of the result)."""
    target = cfg["evaluate"].get("checkpoint") or cfg["teacher"].get("checkpoint") or cfg["teacher"].get("name")
    if not target:
        raise ConfigError("pass evaluate.checkpoint=RUN_DIR/checkpoints/model.pt (or the checkpoints/model folder "
                          "of a pretrained model's run), or teacher.name=<hub id> to evaluate a pretrained model as "
                          "it is")
    return target


def results_table(rows: list[dict], columns: list[str]) -> str:
    """The Markdown table of result rows (a run's final metrics, a report's row per model), one column per name in
    ``columns`` (empty where a row lacks it); floats with 2 decimals (4 significant digits under 1)."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    return markdown_grid(columns, [[cell(r.get(c, "")) for c in columns] for r in rows])
