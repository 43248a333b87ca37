"""Every training setting, defined once: the `finetuned_model` asset's config is this model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

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
        description="Pairs per batch: with MNRL each query's negatives are the batch's other passages.",
    )
    warmup_ratio: float = Field(
        default=0.1, ge=0, lt=1, description="Share of the steps spent warming the learning rate up."
    )
    loss: Literal["mnrl", "cached_mnrl", "cached_gist"] = Field(
        default="cached_mnrl",
        description="mnrl: MultipleNegativesRankingLoss; "
        "cached_mnrl: GradCache, large batches at the memory of mini_batch_size; "
        "cached_gist: cached_mnrl without the in-batch negatives that the base model scores above the positive "
        "(GISTEmbed: likely false negatives; a step costs about 1.4 times as much).",
    )
    mini_batch_size: int = Field(default=32, ge=1, description="cached losses only: texts encoded at once.")
    loss_directions: Literal["query_to_doc", "all"] = Field(
        default="query_to_doc",
        description="query_to_doc: each query against the batch's passages (MNRL); all: also queries against "
        "queries and passages against passages and queries (GTE's improved contrastive loss), at no extra encoding.",
    )
    hardness_strength: float = Field(
        default=0.0,
        ge=0,
        description="Weight the hardest negatives up: each negative's logit gains this times its own similarity "
        "(no gradient through it); Lan et al. (2025) use 9; 0: off.",
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
        description="Negatives mined per pair with the base model, among all the corpus's chunks; "
        "0 = in-batch negatives only.",
    )
    hard_negative_range_min: int = Field(
        default=10,
        ge=0,
        description="Skip the base model's top ranks when mining: they are often unlabelled positives.",
    )
    hard_negative_range_max: int = Field(
        default=110,
        ge=1,
        description="The deepest rank searched for a negative within the margin: a pair with none by then is "
        "not trained on, and those are the pairs the base model ranks worst, so the window is wide.",
    )
    hard_negative_margin: float = Field(
        default=0.05, ge=0, description="Mine only negatives scoring at most (1 - margin) of the positive's score."
    )
    matryoshka_dims: list[int] = Field(
        default=[], description="e.g. [384, 256, 128, 64]: embeddings that still work cut to these sizes."
    )
    max_train_pairs: int | None = Field(
        default=None, ge=1, description="Budget: a seeded sample of at most this many pairs."
    )
    max_steps: int | None = Field(default=None, ge=1, description="Budget: optimizer steps at most.")
    checkpoint_every_steps: int | None = Field(
        default=None, ge=1, description="None: a checkpoint (and validation) per epoch."
    )
    validation_corpus_size: int = Field(
        default=2000, ge=1, description="Chunks searched when scoring on the validation questions (theirs included)."
    )
    max_train_minutes: float | None = Field(
        default=None,
        gt=0,
        description="Wall-clock budget, turned into steps from the measured speed of the first steps. "
        "None: 20 minutes on a CPU, no limit (all epochs) on a GPU.",
    )
    report_to: Literal["none", "tensorboard", "mlflow", "trackio"] = Field(
        default="none",
        description="Hand the run's loss and validation curves to a tracker as it trains: tensorboard (files in "
        "the run's folder, tensorboard --logdir), mlflow (MLFLOW_TRACKING_URI; pip install mlflow) or trackio "
        "(pip install trackio). The curves are in the asset's metadata either way.",
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        default="auto",
        description="auto: fp16 on a GPU; on a CPU with native bf16, whichever of fp32 and bf16 autocast "
        "measures faster on the first steps; else fp32.",
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

    @model_validator(mode="after")
    def _gist_has_no_loss_variants(self) -> TrainingSettings:
        if self.loss == "cached_gist" and (self.loss_directions != "query_to_doc" or self.hardness_strength):
            raise ValueError("loss_directions and hardness_strength apply to mnrl and cached_mnrl, not cached_gist")
        return self

    @model_validator(mode="after")
    def _mining_window_holds_the_negatives(self) -> TrainingSettings:
        if self.hard_negatives and self.hard_negative_range_max < self.hard_negative_range_min + self.hard_negatives:
            raise ValueError(
                f"hard_negative_range_max ({self.hard_negative_range_max}) leaves no room for {self.hard_negatives} "
                f"negative(s) past hard_negative_range_min ({self.hard_negative_range_min})"
            )
        return self
