"""Every training setting, defined once: the `finetuned_model` asset's config is this model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rag_ft_pipeline.retrieval.embedding import E5_PASSAGE_PROMPT, E5_QUERY_PROMPT, Prompts


class TrainingSettings(BaseModel):
    epochs: int = Field(
        default=3, ge=1, description="Passes over the training pairs, unless the time budget ends it sooner."
    )
    # 4e-5 at batch 128: 2e-5 (best at batch 32) scaled by the square root of the batch's growth.
    learning_rate: float = Field(default=4e-5, gt=0, description="Peak learning rate (AdamW), after a linear warmup.")
    batch_size: int = Field(
        default=128,
        ge=2,
        description="Pairs per batch: with MNRL each query's negatives are the batch's other passages. Embedded "
        "whole when it fits in memory, else in mini-batches (GradCache).",
    )
    warmup_ratio: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the steps spent warming the learning rate up."
    )
    # by_document: most misses on real questions are a wrong passage of the right document
    # (benchmarks/RESULTS.md); on the tuned half it won hit@1 and MRR@10 with both seeds, narrowly.
    batching: Literal["shuffled", "by_document"] = Field(
        default="by_document",
        description="shuffled: pairs from anywhere in a batch; by_document: a batch's pairs come from one or two "
        "documents, so its in-batch negatives are passages about the same subject (hard negatives, for free).",
    )
    hard_negatives: int = Field(
        default=0,
        ge=0,
        description="Negatives mined per pair with the base model among all the corpus's chunks (skipping its "
        "top 10, often unlabelled positives); a pair with none scoring below 95% of its positive is not trained "
        "on. 0 = in-batch negatives only.",
    )
    matryoshka_dims: list[int] = Field(
        default=[], description="e.g. [384, 256, 128, 64]: embeddings that still work cut to these sizes."
    )
    max_train_pairs: int | None = Field(
        default=None, ge=1, description="Budget: a seeded sample of at most this many pairs."
    )
    max_steps: int | None = Field(default=None, ge=1, description="Budget: optimizer steps at most.")
    checkpoint_every_steps: int | None = Field(
        default=None,
        ge=1,
        description="A checkpoint (and validation) every this many steps. None: per epoch, or every ~5 minutes "
        "when a time budget ends training inside two epochs.",
    )
    max_train_minutes: float | None = Field(
        default=None,
        gt=0,
        description="Wall-clock budget, turned into steps from the speed of the first steps of training. "
        "None: 20 minutes on a CPU, no limit (all epochs) on a GPU.",
    )
    report_to: Literal["none", "tensorboard", "mlflow", "trackio"] = Field(
        default="none",
        description="Hand the run's loss and validation curves to a tracker as it trains: tensorboard (files in "
        "the run's folder, tensorboard --logdir), mlflow (MLFLOW_TRACKING_URI; pip install mlflow) or trackio "
        "(pip install trackio). The curves are in the asset's metadata either way.",
    )
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        default="auto",
        description="auto: on a GPU bf16 where it has it (Ampere and later), else fp16; on a CPU with native bf16, "
        "whichever of fp32 and bf16 autocast measures faster on a small step; else fp32.",
    )
    seed: int = Field(default=42, description="Seeds sampling, shuffling and initialization.")
    query_prompt: str | None = Field(
        default=None,
        description="Put before every query in training and whenever the fine-tuned model encodes one; saved "
        "in the model as its 'query' prompt. None: the base model's own; for a base model without one (MiniLM), "
        "E5's 'query: ', which with passage_prompt makes the model asymmetric, queries and passages trained "
        "apart. '': no prompt.",
    )
    passage_prompt: str | None = Field(
        default=None,
        description="Put before every passage in training and whenever the fine-tuned model encodes one (its "
        "index); saved in the model as its 'document' prompt. None: E5's 'passage: ' when the query prompt is "
        "E5's 'query: ', else none (BGE's passages go bare). '': no prompt.",
    )

    def prompts_for(self, base_query_prompt: str | None) -> Prompts:
        """The fine-tuned model's prompts, given the base model's query prompt."""
        query = (base_query_prompt or E5_QUERY_PROMPT) if self.query_prompt is None else self.query_prompt
        if self.passage_prompt is None:
            return Prompts(query or None, E5_PASSAGE_PROMPT if query == E5_QUERY_PROMPT else None)
        return Prompts(query or None, self.passage_prompt or None)
