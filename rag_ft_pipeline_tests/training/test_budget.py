"""The time budget's arithmetic, and the step timing it rests on measuring the precision it names."""

import logging

import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

from rag_ft_pipeline.training.budget import (
    CALIBRATION_STEPS,
    CPU_DEFAULT_MINUTES,
    activation_bytes,
    auto_precision,
    checkpoint_cadence,
    choose_precision,
    default_budget_minutes,
    full_batch_fits,
    measure_step_seconds,
    plan_steps,
)


def test_steps_are_planned_from_the_measured_speed():
    plan = plan_steps(100, 3, None, budget_minutes=20, seconds_per_step=6.0, precision="fp32")
    assert (plan.steps, plan.limited_by, plan.epochs) == (200, "time budget", 2.0)
    assert plan.estimated_seconds == pytest.approx(1200)
    assert plan_steps(100, 1, None, 20, 6.0, "fp32").limited_by == "epochs"
    assert plan_steps(100, 3, 50, 20, 6.0, "fp32").steps == 50
    assert plan_steps(100, 3, None, None, None, "fp16").steps == 300  # a GPU: the full recipe
    assert default_budget_minutes(None, on_gpu=False) == CPU_DEFAULT_MINUTES
    assert default_budget_minutes(None, on_gpu=True) is None and default_budget_minutes(5, on_gpu=True) == 5


def test_checkpoints_come_per_epoch_for_the_full_recipe_and_every_few_minutes_under_a_short_budget():
    full = plan_steps(100, 3, None, None, None, "bf16")
    assert checkpoint_cadence(full, None) == (100, True)  # each epoch validated, the best one kept
    short = plan_steps(100, 3, None, 20, 10.0, "bf16")  # 120 steps: 1.2 epochs
    assert checkpoint_cadence(short, None) == (30, False)  # every 5 minutes, for resuming; the last is kept
    assert checkpoint_cadence(short, 7) == (7, False)


@pytest.mark.parametrize(
    ("setting", "gpu", "gpu_bf16", "cpu_bf16", "expected"),
    [
        ("auto", True, True, False, "bf16"),  # Ampere and later
        ("auto", True, False, False, "fp16"),  # older GPUs: no bf16 arithmetic
        ("auto", False, False, True, None),  # a CPU with native bf16: measured, not assumed
        ("auto", False, False, False, "fp32"),
        ("fp16", True, True, False, "fp16"),  # a setting is obeyed
        ("bf16", False, False, False, "bf16"),
    ],
)
def test_auto_precision(setting, gpu, gpu_bf16, cpu_bf16, expected):
    assert auto_precision(setting, gpu, gpu_bf16, cpu_bf16) == expected


def test_the_memory_of_a_batch_decides_between_plain_and_cached_mnrl(base_model, monkeypatch):
    # MiniLM (6 layers, 384 wide, 12 heads), 256 texts of 118 tokens: the default batch of FDA pairs,
    # whose step measured 9.3 GB of peak memory (benchmarks/training.py).
    assert 6e9 < activation_bytes(base_model, 256, 118) < 9e9
    assert activation_bytes(base_model, 512, 118) == 2 * activation_bytes(base_model, 256, 118)
    monkeypatch.setattr("rag_ft_pipeline.training.budget.free_memory", lambda: 20 * 2**30)
    assert full_batch_fits(base_model, 256, 118)
    assert not full_batch_fits(base_model, 1024, 256)  # a batch of 512 long pairs: GradCache


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
def test_a_step_is_timed_in_the_precision_it_will_train_in(tmp_path, base_model, bf16):
    # Before: the trainer's own loss context is empty (accelerate autocasts only in `train()`),
    # so "bf16" was timed in fp32, the CPU probe compared fp32 with itself, and plans under-filled.
    pairs = Dataset.from_dict({"anchor": ["what is a PMA?", "who reviews it?"], "positive": ["A PMA is…", "CDRH."]})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path), bf16=bf16, use_cpu=True, per_device_train_batch_size=2, report_to="none"
    )
    # Mini-batches of one: CachedMNRL embeds each text without gradients, then again in backward().
    loss = CachedMultipleNegativesRankingLoss(base_model, mini_batch_size=1)
    trainer = SentenceTransformerTrainer(model=base_model, args=args, train_dataset=pairs, loss=loss)
    autocast: list[bool] = []
    hook = base_model.register_forward_pre_hook(lambda *_: autocast.append(torch.is_autocast_enabled("cpu")))
    try:
        assert measure_step_seconds(trainer) > 0
    finally:
        hook.remove()
    assert autocast == [bf16] * 16  # 2 steps (untimed, timed) x 4 texts x 2 passes


def test_a_run_of_a_few_steps_pays_for_no_precision_probe(monkeypatch):
    monkeypatch.setattr("rag_ft_pipeline.training.budget.on_gpu", lambda: False)
    monkeypatch.setattr("rag_ft_pipeline.training.budget.bf16_supported_on_cpu", lambda: True)

    def probe(precision):
        raise AssertionError(f"a {precision} step was timed")

    log = logging.getLogger("test_budget")
    assert choose_precision("auto", probe, log, steps=CALIBRATION_STEPS + 1) == ("fp32", {})
    with pytest.raises(AssertionError, match="step was timed"):
        choose_precision("auto", probe, log, steps=100)  # a real run: both precisions are timed
