"""The time budget's arithmetic, and the step timing it rests on measuring the precision it names."""

import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

from rag_ft_pipeline.training.budget import (
    CPU_DEFAULT_MINUTES,
    default_budget_minutes,
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
        assert measure_step_seconds(trainer, steps=1) > 0
    finally:
        hook.remove()
    assert autocast == [bf16] * 16  # 2 steps (untimed, timed) x 4 texts x 2 passes
