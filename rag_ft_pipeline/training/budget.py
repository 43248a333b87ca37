"""How long training may take: a wall-clock budget turned into optimizer steps from the measured
speed of the first steps, and the precision that is fastest on this machine."""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from sentence_transformers import SentenceTransformerTrainer

from rag_ft_pipeline.training.settings import TrainingSettings

# On a CPU the full recipe takes hours for a real corpus; on a GPU it takes minutes.
CPU_DEFAULT_MINUTES = 20.0
CALIBRATION_STEPS = 3  # timed after one untimed step, which pays for allocation and kernel choice
PROBE_BATCH = 8  # pairs in the step that compares fp32 with bf16

Precision = Literal["fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class TrainingPlan:
    """How many steps training takes, and what decided it."""

    steps: int
    steps_per_epoch: int
    seconds_per_step: float | None  # measured; None when no time budget applied
    budget_minutes: float | None
    limited_by: Literal["epochs", "max_steps", "time budget"]
    precision: Precision
    step_seconds_by_precision: dict[str, float]  # one small step in each precision, when compared

    @property
    def epochs(self) -> float:
        return self.steps / self.steps_per_epoch

    @property
    def estimated_seconds(self) -> float | None:
        return self.steps * self.seconds_per_step if self.seconds_per_step else None


def default_budget_minutes(max_train_minutes: float | None, on_gpu: bool) -> float | None:
    """The budget that applies: the setting, else 20 minutes on a CPU and none on a GPU."""
    if max_train_minutes is not None:
        return max_train_minutes
    return None if on_gpu else CPU_DEFAULT_MINUTES


def measure_step_seconds(trainer: SentenceTransformerTrainer, steps: int = CALIBRATION_STEPS) -> float:
    """Seconds per training step (forward and backward of the real loss on real batches), the
    median of `steps` timed steps after an untimed one; a small dataset's batches are reused. The
    model's weights are not changed: no optimizer step is taken and the gradients are dropped.
    Mixed precision is entered here: the trainer leaves autocast to accelerate, which applies it
    to every forward of the model that `train()` prepares, so without it a bf16 step would be timed
    in fp32."""
    model = trainer.model
    model.train()
    batches = list(itertools.islice(trainer.get_train_dataloader(), steps + 1))
    times = []
    for inputs in itertools.islice(itertools.cycle(batches), steps + 1):
        started = time.perf_counter()
        inputs = trainer._prepare_inputs(inputs)
        # Backward too: CachedMNRL embeds again, with gradients, inside `backward()`.
        with trainer.accelerator.autocast(), trainer.compute_loss_context_manager():
            trainer.compute_loss(model, inputs).backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def plan_steps(
    steps_per_epoch: int,
    epochs: int,
    max_steps: int | None,
    budget_minutes: float | None,
    seconds_per_step: float | None,
    precision: Precision,
    step_seconds_by_precision: dict[str, float] | None = None,
) -> TrainingPlan:
    """The fewest of: all epochs, `max_steps`, and the steps that fit the budget at the measured speed."""
    options = {"epochs": steps_per_epoch * epochs}
    if max_steps:
        options["max_steps"] = max_steps
    if budget_minutes is not None and seconds_per_step:
        options["time budget"] = max(1, math.floor(budget_minutes * 60 / seconds_per_step))
    limited_by = min(options, key=options.__getitem__)
    return TrainingPlan(
        steps=options[limited_by],
        steps_per_epoch=steps_per_epoch,
        seconds_per_step=seconds_per_step,
        budget_minutes=budget_minutes,
        limited_by=limited_by,  # type: ignore[arg-type]
        precision=precision,
        step_seconds_by_precision=step_seconds_by_precision or {},
    )


def bf16_supported_on_cpu() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX-512 BF16 or AMX), where autocast can pay off."""
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def on_gpu() -> bool:
    return torch.cuda.is_available()


def plan_training(
    trainer_for: Callable[..., SentenceTransformerTrainer],
    steps_per_epoch: int,
    settings: TrainingSettings,
    log: logging.Logger,
) -> TrainingPlan:
    """Choose the precision and the number of steps. On a CPU with native bf16, "auto" times one
    small step in fp32 and in bf16 and keeps the faster; where a time budget applies, the first full
    steps are timed to turn it into a number of steps."""
    budget = default_budget_minutes(settings.max_train_minutes, on_gpu())
    probed: dict[str, float] = {}
    if on_gpu():
        precision: Precision = "fp16"
    elif settings.precision == "auto" and bf16_supported_on_cpu():
        probed = {p: measure_step_seconds(trainer_for(p, 1, None, PROBE_BATCH), steps=1) for p in ("fp32", "bf16")}
        precision = min(probed, key=probed.__getitem__)  # type: ignore[assignment]
        log.info("seconds per small training step: " + ", ".join(f"{p} {s:.2f}" for p, s in probed.items()))
    else:
        precision = "fp32" if settings.precision == "auto" else settings.precision
    seconds_per_step = measure_step_seconds(trainer_for(precision, 1, None)) if budget is not None else None
    plan = plan_steps(steps_per_epoch, settings.epochs, settings.max_steps, budget, seconds_per_step, precision, probed)
    minutes = f", about {plan.estimated_seconds / 60:.1f} min" if plan.estimated_seconds else ""
    log.info(
        f"training {plan.steps} steps ({plan.epochs:.2f} epochs of {steps_per_epoch}) in {precision}{minutes}; "
        f"limited by {plan.limited_by}" + (f" ({budget:g} min)" if plan.limited_by == "time budget" else "")
    )
    return plan
