"""What a question generator is: chunk text in, (query, positive) pairs out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionPair:
    query: str
    positive: str  # the text the model learns to match with the query


@dataclass(frozen=True)
class Generation:
    pairs: list[QuestionPair]
    prompt_tokens: int = 0
    completion_tokens: int = 0


class QuestionGenerator(ABC):
    """Turns a chunk into zero or more training pairs; zero for chunks with nothing to ask."""

    name: str
    concurrency: int = 1  # chunks in flight at once
    # Extractive generators take queries from the text itself, so a filter against copied
    # text does not apply to them.
    extractive: bool = False

    @abstractmethod
    def fingerprint(self) -> str:
        """The generator and every setting that changes its output: part of the cache key."""

    @abstractmethod
    def generate(self, text: str) -> Generation: ...

    def estimate_prompt_tokens(self, text: str) -> int:
        return 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated cost in US dollars."""
        return 0.0
