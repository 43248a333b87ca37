"""How long training may take and how it runs on this machine: the precision, whether a batch fits
in memory whole, and a wall-clock budget turned into optimizer steps from the speed of the first
steps of training itself (none is thrown away)."""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import psutil
import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from transformers import TrainerCallback

from rag_ft_pipeline.training.settings import TrainingSettings

# On a CPU the full recipe takes hours for a real corpus; on a GPU it takes minutes.
CPU_DEFAULT_MINUTES = 20.0
CALIBRATION_STEPS = 3  # timed after one untimed step, which pays for allocation and kernel choice
PROBE_BATCH = 8  # pairs in the step that compares fp32 with bf16 on a CPU
CHECKPOINT_MINUTES = 5.0  # under a time budget: a checkpoint about this often, for resuming
# Activations kept for backward, per token, hidden unit and layer, in fp32 (Korthikanti et al. 2022
# count 34 bytes in 16-bit), plus 10 bytes per attention score; measured here within 10%.
ACTIVATION_BYTES, ATTENTION_BYTES = 68, 10
MEMORY_SHARE = 0.5  # of the memory free now: the rest for the model, the optimizer and other work

Precision = Literal["fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class TrainingPlan:
    """How many steps training takes, and what decided it."""

    steps: int
    steps_per_epoch: int
    seconds_per_step: float | None  # measured while training; None when no time budget applied
    budget_minutes: float | None
    limited_by: Literal["epochs", "max_steps", "time budget"]
    precision: Precision
    step_seconds_by_precision: dict[str, float]  # one small step in each precision, when compared
    full_batch: bool = True  # False: GradCache, the batch embedded in mini-batches to fit in memory

    @property
    def epochs(self) -> float:
        return self.steps / self.steps_per_epoch

    @property
    def estimated_seconds(self) -> float | None:
        return self.steps * self.seconds_per_step if self.seconds_per_step else None

    @property
    def calibrated(self) -> bool:
        return self.budget_minutes is None or self.seconds_per_step is not None


def default_budget_minutes(max_train_minutes: float | None, on_gpu: bool) -> float | None:
    """The budget that applies: the setting, else 20 minutes on a CPU and none on a GPU."""
    if max_train_minutes is not None:
        return max_train_minutes
    return None if on_gpu else CPU_DEFAULT_MINUTES


def plan_steps(
    steps_per_epoch: int,
    epochs: int,
    max_steps: int | None,
    budget_minutes: float | None,
    seconds_per_step: float | None,
    precision: Precision,
    step_seconds_by_precision: dict[str, float] | None = None,
    full_batch: bool = True,
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
        full_batch=full_batch,
    )


def checkpoint_cadence(plan: TrainingPlan, every_steps: int | None) -> tuple[int, bool]:
    """Steps between checkpoints (each with a validation), and whether the best of them is kept at
    the end: per epoch, keeping the best, for the full recipe; every few minutes, keeping the last,
    when a budget ends training inside two epochs (the checkpoints are for resuming)."""
    if every_steps:
        return max(1, min(plan.steps, every_steps)), False
    if plan.limited_by != "epochs" and plan.epochs < 2:
        every = CHECKPOINT_MINUTES * 60 / (plan.seconds_per_step or 1)
        return max(1, min(plan.steps, int(every))), False
    return plan.steps_per_epoch, True


def log_every(steps: int) -> int:
    """Steps between log lines: about eight over the run."""
    return max(1, min(steps, 400) // 8)


def activation_bytes(model: SentenceTransformer, texts: int, tokens: int) -> int:
    """Memory that a training step keeps for backward: `texts` texts of `tokens` tokens at once."""
    config = model[0].auto_model.config
    per_text = tokens * (config.hidden_size * ACTIVATION_BYTES + config.num_attention_heads * tokens * ATTENTION_BYTES)
    return config.num_hidden_layers * texts * per_text


def free_memory() -> int:
    return torch.cuda.mem_get_info()[0] if on_gpu() else psutil.virtual_memory().available


def full_batch_fits(model: SentenceTransformer, texts: int, tokens: int) -> bool:
    """Whether a batch can be embedded whole (plain MNRL, the fastest); if not, GradCache embeds it in
    mini-batches, each text twice, at about 1.6 times the time of a step (benchmarks/RESULTS.md)."""
    return activation_bytes(model, texts, tokens) <= MEMORY_SHARE * free_memory()


def auto_precision(setting: str, gpu: bool, gpu_bf16: bool, cpu_bf16: bool) -> Precision | None:
    """The precision "auto" means, or None when only measuring can tell (a CPU with native bf16)."""
    if setting != "auto":
        return setting  # type: ignore[return-value]
    if gpu:
        return "bf16" if gpu_bf16 else "fp16"  # bf16 from Ampere on: fp16's range without a loss scaler
    return None if cpu_bf16 else "fp32"


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


def measure_step_seconds(trainer: SentenceTransformerTrainer, steps: int = 1) -> float:
    """Seconds per training step (forward and backward of the real loss on real batches), the
    median of `steps` timed steps after an untimed one. The weights are not changed. Mixed precision
    is entered here: the trainer leaves autocast to accelerate, which applies it only inside
    `train()`, so without it a bf16 step would be timed in fp32."""
    model = trainer.model
    model.train()
    batches = list(itertools.islice(trainer.get_train_dataloader(), steps + 1))
    times = []
    for inputs in itertools.islice(itertools.cycle(batches), steps + 1):
        started = time.perf_counter()
        inputs = trainer._prepare_inputs(inputs)
        with trainer.accelerator.autocast(), trainer.compute_loss_context_manager():
            trainer.compute_loss(model, inputs).backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def choose_precision(
    setting: str,
    probe_trainer: Callable[[Precision], SentenceTransformerTrainer],
    log: logging.Logger,
    steps: int,
) -> tuple[Precision, dict[str, float]]:
    """The precision to train in; on a CPU with native bf16, "auto" times one small step in fp32 and
    in bf16 and keeps the faster, unless the whole run is a few `steps` (then fp32, safe everywhere)."""
    gpu_bf16 = on_gpu() and torch.cuda.is_bf16_supported()
    chosen = auto_precision(setting, on_gpu(), gpu_bf16, not on_gpu() and bf16_supported_on_cpu())
    if chosen is not None:
        return chosen, {}
    if steps <= 1 + CALIBRATION_STEPS:  # too short for the probe to pay for itself
        return "fp32", {}
    probed = {p: measure_step_seconds(probe_trainer(p)) for p in ("fp32", "bf16")}
    log.info("seconds per small training step: " + ", ".join(f"{p} {s:.2f}" for p, s in probed.items()))
    return min(probed, key=probed.__getitem__), probed  # type: ignore[return-value]


def describe(plan: TrainingPlan) -> str:
    minutes = f", about {plan.estimated_seconds / 60:.1f} min" if plan.estimated_seconds else ""
    budget = f" ({plan.budget_minutes:g} min)" if plan.limited_by == "time budget" else ""
    loss = "" if plan.full_batch else ", in mini-batches (GradCache: the batch does not fit in memory whole)"
    return (
        f"training {plan.steps} steps ({plan.epochs:.2f} epochs of {plan.steps_per_epoch}) in {plan.precision}"
        f"{minutes}{loss}; limited by {plan.limited_by}{budget}"
    )


class StepBudget(TrainerCallback):
    """Turns the time budget into steps while training: the first steps of the run are timed as they
    train, then the number of steps, the learning-rate schedule and the checkpoints are set for the
    plan, which `on_plan` receives (to record it for a resume)."""

    def __init__(
        self,
        plan: TrainingPlan,
        settings: TrainingSettings,
        on_plan: Callable[[TrainingPlan], None],
    ) -> None:
        self.plan, self.settings, self.on_plan = plan, settings, on_plan
        self.steps_seen, self.started = 0, 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        if self.steps_seen == 1:  # the first step pays for allocation; time the next ones
            self.started = time.perf_counter()

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        self.steps_seen += 1
        if self.plan.calibrated or self.steps_seen != 1 + CALIBRATION_STEPS:
            return
        seconds = (time.perf_counter() - self.started) / CALIBRATION_STEPS
        self.plan = plan_steps(
            self.plan.steps_per_epoch,
            self.settings.epochs,
            self.settings.max_steps,
            self.plan.budget_minutes,
            seconds,
            self.plan.precision,
            self.plan.step_seconds_by_precision,
            self.plan.full_batch,
        )
        self.on_plan(self.plan)
        state.max_steps = self.plan.steps
        warmup = args.get_warmup_steps(self.plan.steps)
        scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate may wrap it
        scheduler.lr_lambdas = [_linear_schedule(warmup, self.plan.steps)] * len(scheduler.base_lrs)
        state.save_steps, keep_best = checkpoint_cadence(self.plan, self.settings.checkpoint_every_steps)
        state.eval_steps, state.logging_steps = state.save_steps, log_every(self.plan.steps)
        args.load_best_model_at_end = args.load_best_model_at_end and keep_best
        if state.global_step >= self.plan.steps:  # the budget is already spent: stop as the last step would
            control.should_training_stop = control.should_save = True
            control.should_evaluate = args.eval_strategy != "no"


def _linear_schedule(warmup: int, steps: int) -> Callable[[int], float]:
    """Transformers' linear schedule with warmup, for a number of steps known only once training runs."""
    return lambda step: step / max(1, warmup) if step < warmup else max(0.0, (steps - step) / max(1, steps - warmup))


def initial_plan(
    steps_per_epoch: int,
    settings: TrainingSettings,
    budget_minutes: float | None,
    precision: Precision,
    probed: dict[str, float],
    full_batch: bool,
) -> TrainingPlan:
    """The plan before any step is timed: all epochs or `max_steps`; under a budget, `StepBudget`
    replaces it once the first steps are timed."""
    plan = plan_steps(steps_per_epoch, settings.epochs, settings.max_steps, None, None, precision, probed, full_batch)
    return replace(plan, budget_minutes=budget_minutes)
